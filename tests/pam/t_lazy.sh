#!/bin/bash
# libcurl, libcrypto and libqrencode are loaded on first use (src/lib/lazy.c):
# the module does not link them, a sign-in with the default config never
# maps them (the dynamic loader's own record, LD_DEBUG=files, of the process
# that ran the stack), the leaked-password check loads libcurl and libcrypto
# and still works, enrolment at sign-in loads libqrencode and draws the
# code. A library that cannot be loaded (dlopen made to fail by the fault
# shim) denies the leaked check and the etcd store with a message naming it,
# and leaves enrolment with the key and the URI.
. "$(dirname "$0")/lib.sh"

soname() { sed -n "s/^#define SD_$1_SONAME \"\\(.*\\)\"\$/\\1/p" "$top_builddir/config.h"; }
CURL_SO=$(soname CURL)
CRYPTO_SO=$(soname CRYPTO)
QR_SO=$(soname QRENCODE)
BLOCK=$'\xe2\x96\x88' # U+2588 FULL BLOCK, drawn by the QR code
SETITEMS=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so
SHIM="$top_builddir/.libs/libfaultinject.so"
# The fault shim replaces malloc: not with a sanitizer runtime or valgrind.
FAULTS=yes
if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then FAULTS=; fi
printf 'frank:x:1010:1010:Frank User:/home/frank:/bin/sh\n' >>"$T/passwd"
printf 'frank:x:1010:\n' >>"$T/group"
[ -f "$SHIM" ] || { echo "# $TEST_NAME: no $SHIM (make check builds it)"; exit 77; }
expect_denied() {
	if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q "SD-RESULT=success"; then pass "$1"; else
		fail "$1 (expected a refusal)"; fi
}

# ---- the module's dynamic section ---------------------------------------
OUT=$(readelf -d "$MODULE" | grep '(NEEDED)')
RC=$?
expect_rc 0 "readelf lists the module's NEEDED entries"
for lib in libcurl libcrypto libssl libqrencode; do
	expect_not_in "[$lib." "the module does not link $lib"
done
OUT=$(nm -D --undefined-only "$MODULE" | grep -E ' (curl_|EVP_|QRcode_)' || true)
if [ -z "$OUT" ]; then pass "no libcurl, libcrypto or libqrencode symbol left undefined"; else
	fail "undefined symbols of the lazily loaded libraries"; fi

# ---- which libraries a sign-in maps ---------------------------------------
# LOADED: the libraries the dynamic loader initialised in the pamtester
# process of the last sd_pam/sd_pam_enrol LD (one path a line).
LD_PREFIX="env LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld ${SD_WRAP_PREFIX:-}"
loaded_after() {
	LOADED=$(cat "$T"/ld.* 2>/dev/null | sed -n 's/.*calling init: //p')
	rm -f "$T"/ld.*
}
expect_loaded() { # SONAME yes|no WHAT
	local got=no
	printf '%s\n' "$LOADED" | grep -q "/$1\$" && got=yes
	if [ "$got" = "$2" ]; then pass "$3"; else
		OUT=$LOADED
		fail "$3"
	fi
}

sd_config
sd_service sshd
for u in alice dave ed; do
	sd_ctl enroll "$u" --secret "$SECRET_A" --no-qr
	expect_rc 0 "setup: $u enrolled"
done

# Default config, an admin's code: no lazy library.
SD_WRAP_PREFIX=$LD_PREFIX sd_pam -I rhost=192.0.2.7 sshd alice <<<"$(sd_code "$SECRET_A")"
loaded_after
expect_result success "default config: alice signs in with her code"
expect_loaded pam_secdefaults.so yes "default config: LD_DEBUG saw the module loaded"
expect_loaded "$CURL_SO" no "default config: $CURL_SO is not loaded"
expect_loaded "$CRYPTO_SO" no "default config: $CRYPTO_SO is not loaded"
expect_loaded "$QR_SO" no "default config: $QR_SO is not loaded"

# Enrolment at sign-in (bob, in grace): libqrencode only, and the code drawn.
SD_WRAP_PREFIX=$LD_PREFIX sd_pam_enrol skip -I rhost=192.0.2.7 sshd bob
loaded_after
expect_result success "enrolment offer: skipped in grace"
expect_in "$BLOCK" "enrolment offer: the QR code is drawn"
expect_loaded "$QR_SO" yes "enrolment offer: $QR_SO is loaded"
expect_loaded "$CURL_SO" no "enrolment offer: $CURL_SO is not loaded"

# The leaked-password check: libcurl and libcrypto, and it works.
if command -v openssl >/dev/null && [ -x /usr/bin/python3 ]; then
	sh "$top_srcdir/tests/pam/leaked_certs.sh" "$T/tls" >/dev/null || fail "cert setup"
	LEAKED_PW='Summer2024!'
	h=$(printf '%s' "$LEAKED_PW" | sha1sum | awk '{print toupper($1)}')
	mkdir -p "$T/range"
	printf '%s:42\r\n' "$(printf '%s' "$h" | cut -c6-)" >"$T/range/$(printf '%s' "$h" | cut -c1-5)"
	/usr/bin/python3 "$top_srcdir/tests/pam/https_server.py" --port-file "$T/port" \
		--cert "$T/tls/server.crt" --key "$T/tls/server.key" --mode normal \
		--dir "$T/range" --log "$T/server.log" --max-seconds 120 &
	SERVER=$!
	trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; cleanup' EXIT
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
	PORT=$(cat "$T/port")
	sd_config "leaked = { check = true; url = \"https://127.0.0.1:$PORT/range/\";
		ca_file = \"$T/tls/ca.crt\"; timeout_ms = 2000; on_error = \"deny\"; };"
	cat >"$T/svc/login" <<SVC
auth [success=ok default=die] $SETITEMS
auth [success=1 ignore=2 default=die] $MODULE config=$CONF
auth requisite pam_deny.so
auth [default=done] pam_echo.so SD-RESULT=success
auth [default=done] pam_echo.so SD-RESULT=ignore
SVC
	PAM_AUTHTOK=$LEAKED_PW SD_WRAP_PREFIX=$LD_PREFIX sd_pam -I rhost=192.0.2.7 login dave \
		<<<"$(sd_code "$SECRET_A")"
	loaded_after
	expect_result success "leaked check: dave, enrolled, passes with TOTP"
	expect_log "leaked check: the password was found" user=dave reason=totp-compromised
	expect_loaded "$CURL_SO" yes "leaked check: $CURL_SO is loaded"
	expect_loaded "$CRYPTO_SO" yes "leaked check: $CRYPTO_SO is loaded"
	expect_loaded "$QR_SO" no "leaked check: $QR_SO is not loaded"

	# libcurl cannot be loaded: an error, never "not leaked"; on_error deny.
	if [ -n "$FAULTS" ]; then
		PAM_AUTHTOK=$LEAKED_PW SD_PRELOAD_FIRST="$SHIM" SD_FAULT_FUNCS=dlopen \
			SD_FAULT_N=1 sd_pam -I rhost=192.0.2.7 login ed <<<"$(sd_code "$SECRET_A")"
		expect_denied "leaked check, $CURL_SO cannot be loaded: denied"
		expect_in "cannot load $CURL_SO" "leaked check, $CURL_SO cannot be loaded: the log names it"
	fi
else
	echo "# leaked check skipped: needs openssl and python3"
fi

if [ -z "$FAULTS" ]; then
	echo "# $TEST_NAME: the cases with dlopen made to fail are skipped under sanitizers/valgrind (the fault shim replaces malloc)"
	finish
fi

# Enrolment when libqrencode cannot be loaded: key and URI, no code.
sd_config
SD_PRELOAD_FIRST="$SHIM" SD_FAULT_FUNCS=dlopen SD_FAULT_N=1 \
	sd_pam_enrol skip -I rhost=192.0.2.7 sshd frank
expect_result success "enrolment, $QR_SO cannot be loaded: skipped in grace as before"
expect_in "or enter the key" "enrolment, $QR_SO cannot be loaded: the key is shown"
expect_in "otpauth://totp/" "enrolment, $QR_SO cannot be loaded: the URI is shown"
expect_not_in "$BLOCK" "enrolment, $QR_SO cannot be loaded: no QR code"
expect_in "no QR code: cannot load $QR_SO" "enrolment, $QR_SO cannot be loaded: the log says why"

# The etcd store when libcurl cannot be loaded: denied before any request.
sd_config 'state_backend = "etcd";' 'etcd = { endpoints = [ "http://127.0.0.1:9" ]; };'
SD_PRELOAD_FIRST="$SHIM" SD_FAULT_FUNCS=dlopen SD_FAULT_N=1 \
	sd_pam -I rhost=192.0.2.7 sshd alice <<<"$(sd_code "$SECRET_A")"
expect_denied "etcd store, $CURL_SO cannot be loaded: denied"
expect_in "etcd: cannot load $CURL_SO" "etcd store, $CURL_SO cannot be loaded: the log names it"
finish
