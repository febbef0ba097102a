#!/bin/bash
# Leaked-password check through PAM: a local HTTPS range server with a
# throwaway CA, the password put in the stack by pam_set_items (standing in
# for the password module, from the PAM_AUTHTOK environment variable), the
# compromised path through TOTP, the account phase and a password change,
# and every failure mode under on_error allow and deny. Only 127.0.0.1.
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null || [ ! -x /usr/bin/python3 ]; then
	echo "SKIP: needs openssl and python3"
	exit 77
fi
SETITEMS=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so
sh "$top_srcdir/tests/pam/leaked_certs.sh" "$T/tls" >/dev/null || { echo "cert setup failed"; exit 1; }

LEAKED_PW='Summer2024!'
CLEAN_PW=correct-horse-battery-staple-7391
sha() { printf '%s' "$1" | sha1sum | awk '{print toupper($1)}'; }

# The range file for the leaked password's prefix: its suffix with a count,
# padding (count 0), other suffixes, CRLF line ends as the real service.
mkdir -p "$T/range"
h=$(sha "$LEAKED_PW")
{
	printf '%s:0\r\n' 0000000000000000000000000000000000A "$(sha "$CLEAN_PW" | cut -c6-)"
	printf '%s:42\r\n' "$(printf '%s' "$h" | cut -c6- | tr 'A-F' 'a-f')"
	printf '%s:3\r\n' 11111111111111111111111111111111111
} >"$T/range/$(printf '%s' "$h" | cut -c1-5)"
hc=$(sha "$CLEAN_PW")
printf '%s:0\r\n22222222222222222222222222222222222:5\r\n' "$(printf '%s' "$hc" | cut -c6-)" \
	>"$T/range/$(printf '%s' "$hc" | cut -c1-5)"

SERVER=
start_server() { # MODE [CERT]
	[ -n "$SERVER" ] && stop_server
	rm -f "$T/port"
	/usr/bin/python3 "$top_srcdir/tests/pam/https_server.py" --port-file "$T/port" \
		--cert "$T/tls/${2:-server}.crt" --key "$T/tls/${2:-server}.key" --mode "$1" \
		--dir "$T/range" --log "$T/server.log" --max-seconds 300 &
	SERVER=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
	PORT=$(cat "$T/port")
}
stop_server() {
	kill "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	SERVER=
}
trap 'stop_server; cleanup' EXIT

# conf ON_ERROR [extra leaked keys]
conf() {
	sd_config "leaked = { check = true; url = \"https://127.0.0.1:$PORT/range/\";
		ca_file = \"$T/tls/ca.crt\"; timeout_ms = 1000; on_error = \"$1\"; ${2:-} };"
}

for s in sshd login; do
	cat >"$T/svc/$s" <<SVC
auth [success=ok default=die] $SETITEMS
auth [success=1 ignore=2 default=die] $MODULE config=$CONF
auth requisite pam_deny.so
auth [default=done] pam_echo.so SD-RESULT=success
auth [default=done] pam_echo.so SD-RESULT=ignore
account [success=1 ignore=2 default=die] $MODULE config=$CONF
account requisite pam_deny.so
account [default=done] pam_echo.so SD-RESULT=success
account [default=done] pam_echo.so SD-RESULT=ignore
SVC
done
# The password stack as pam_secdefaults(8) documents it: pam_set_items
# stands in for the module asking for the new password, pam_permit for the
# one that sets it.
cat >"$T/svc/passwd" <<SVC
password requisite $SETITEMS
password requisite $MODULE config=$CONF
password required pam_permit.so
password optional $MODULE config=$CONF
SVC
chpw() { # USER NEWPASSWORD
	OUT=$(PAM_AUTHTOK="$2" SD_TIMEOUT=20 sd_env pamtester -v passwd "$1" chauthtok 2>&1)
	RC=$?
}

start_server normal
conf allow
sd_ctl enroll bob --secret "$SECRET_A" --no-qr
sd_ctl enroll dave --secret "$SECRET_B" --no-qr

# A clean password: one request with a 5-hex prefix and padding asked for.
: >"$T/server.log"
PAM_AUTHTOK=$CLEAN_PW sd_pam -I rhost=192.0.2.7 login bob <<<"$(sd_code "$SECRET_A")"
expect_result success "clean password: sign-in goes on"
if grep -q "^REQUEST /range/$(printf '%s' "$hc" | cut -c1-5)\$" "$T/server.log" &&
	grep -q '^prefix=ok' "$T/server.log" && grep -q '^padding=yes' "$T/server.log"; then
	pass "only the 5-hex prefix is sent, with Add-Padding"
else OUT=$(cat "$T/server.log"); fail "request shape"; fi
if grep -q "$(printf '%s' "$hc" | cut -c6-15)" "$T/server.log"; then
	OUT=$(cat "$T/server.log"); fail "the hash suffix never leaves the process"
else pass "the hash suffix never leaves the process"; fi
expect_not_in "$CLEAN_PW" "the password is in no log line"
if grep -q '^compromised' "$T/state/users/bob"; then fail "clean password flagged"; else
	pass "clean password not flagged"; fi

# A leaked password flags the account; enrolled, so TOTP is required.
sd_wait_step
PAM_AUTHTOK=$LEAKED_PW sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$SECRET_B")"
expect_result success "leaked password, enrolled: TOTP passed"
expect_log "leaked: TOTP required because compromised" user=dave decision=allow reason=totp-compromised
expect_state dave "^compromised [0-9T:-]*Z password found in leaked-password list\$" \
	"leaked: flagged with the reason and time"
expect_not_in "$LEAKED_PW" "the leaked password is in no log line"
# The account phase forces a password change right after TOTP.
sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$NEW_AUTHTOK" "leaked: account phase asks for a new password after TOTP"
# ... but not without a recent TOTP.
SD_FAKETIME=+10m sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$PERM_DENIED" "leaked: account phase denies without a recent TOTP"
# The change: another leaked password is refused, a clean one accepted.
chpw dave "$LEAKED_PW"
if [ "$RC" -ne 0 ] && printf '%s' "$OUT" | grep -q "appeared in a data breach"; then
	pass "chauthtok: a leaked new password is refused with a clear message"
else fail "chauthtok: leaked new password"; fi
expect_state_not dave "^password_reset" "chauthtok: a refused change records nothing"
chpw dave "$CLEAN_PW"
expect_rc 0 "chauthtok: a clean new password is accepted"
expect_state dave "^password_reset yes\$" "chauthtok: the change is recorded"
expect_state dave "^compromised " "chauthtok: the flag stays until an admin dismisses it"
sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$PERM_DENIED" "after the change: denied until dismissal"
expect_log "after the change: reason" decision=deny reason=compromised-awaiting-dismissal
sd_ctl status dave --json
expect_in '"compromised_reason": "password found in leaked-password list"' "status shows why"
sd_ctl dismiss dave
sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result success "after dismiss: the account phase allows"

# auto_dismiss_on_reset clears the flag with the change.
conf allow "auto_dismiss_on_reset = true;"
sd_ctl flag dave --reason "test"
chpw dave "$CLEAN_PW"
expect_rc 0 "auto_dismiss_on_reset: change accepted"
expect_state_not dave "^compromised" "auto_dismiss_on_reset: flag cleared by the change"

# Not enrolled and leaked: denied without a prompt, told to contact an admin.
conf allow
PAM_AUTHTOK=$LEAKED_PW sd_pam -I rhost=192.0.2.7 sshd carol </dev/null
expect_result "$AUTH_ERR" "leaked, not enrolled: denied"
expect_in "contact an administrator" "leaked, not enrolled: told to contact an admin"
expect_not_in "Verification code" "leaked, not enrolled: no prompt"

# Environment proxies never apply: the request still goes direct.
: >"$T/server.log"
OUT=$(http_proxy=http://127.0.0.1:1 https_proxy=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1 \
	HTTPS_PROXY=http://127.0.0.1:1 PAM_AUTHTOK=$CLEAN_PW SD_TIMEOUT=20 sd_env pamtester -v login \
	alice authenticate 2>&1 </dev/null)
if grep -q '^REQUEST /range/' "$T/server.log"; then
	pass "environment proxy variables are ignored"
else fail "environment proxy variables are ignored"; fi

# Failures: allow goes on (logged, not flagged), deny refuses.
fault() { # MODE [CERT] DESCRIPTION
	local mode=$1 cert=$2 desc=$3 t0 t1
	start_server "$mode" "$cert"
	for policy in allow deny; do
		conf "$policy"
		t0=$(date +%s%N)
		PAM_AUTHTOK=$LEAKED_PW sd_pam -I rhost=192.0.2.7 sshd alice </dev/null
		t1=$(date +%s%N)
		if [ "$policy" = allow ]; then
			expect_result success "$desc, on_error allow: sign-in goes on"
		else
			expect_result "$AUTH_ERR" "$desc, on_error deny: refused"
			expect_log "$desc, on_error deny: reason" decision=deny reason=leaked-check-failed
		fi
		expect_in "leaked" "$desc, $policy: the failure is logged"
		expect_state_not alice "^compromised" "$desc, $policy: an error never flags"
		if [ $(((t1 - t0) / 1000000)) -lt 2500 ]; then
			pass "$desc, $policy: bounded by the timeout"
		else OUT="$(((t1 - t0) / 1000000)) ms"; fail "$desc: took too long"; fi
	done
}
fault status500 server "HTTP 500"
fault garbage server "garbage reply"
fault huge server "10 MiB reply"
fault hang server "server that never answers"
fault redirect server "redirect to http"
fault normal wrong "wrong certificate"
stop_server
conf allow
PORT=1
fault_down() {
	for policy in allow deny; do
		sd_config "leaked = { check = true; url = \"https://127.0.0.1:1/range/\"; timeout_ms = 500; on_error = \"$policy\"; };"
		PAM_AUTHTOK=$LEAKED_PW sd_pam -I rhost=192.0.2.7 sshd alice </dev/null
		if [ "$policy" = allow ]; then expect_result success "server down, allow: goes on"
		else expect_result "$AUTH_ERR" "server down, deny: refused"; fi
	done
}
fault_down
finish
