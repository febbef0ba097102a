#!/bin/bash
# Fleet mode as it is meant to run: a real 3-member etcd cluster on
# 127.0.0.1 that serves clients over https and requires client certificates
# (--client-cert-auth; the peers talk plain http on loopback), with a
# throwaway CA made here. The module signs in over mutual TLS; without a
# client certificate, with one from another CA, or without trusting the
# members' CA, users who need state are denied (never accepted) with a log
# line that says why, and break-glass still gets in. secdefaultsctl check
# refuses plain http to a non-loopback endpoint and a private key that
# others can read.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd_lib.sh"

etcd_require
if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: openssl not installable (tools/install-deps installs it)"
	exit 77
fi

PKI=$T/pki
etcd_tls_material "$PKI"
OUT=$(openssl verify -CAfile "$PKI/ca.crt" "$PKI/server.crt" "$PKI/client.crt" 2>&1) RC=$?
expect_rc 0 "setup: a test CA, server and client certificates"

ETCD_TLS_DIR=$PKI
etcd_init 3
etcd_start 0
etcd_start 1
etcd_start 2
etcd_wait_healthy 0 1 2
OUT=$(etcd_curl "https://127.0.0.1:${CPORT[0]}/health" 2>&1) RC=$?
expect_in '"health":"true"' "setup: 3-member etcd cluster is up over https with a client certificate"
OUT=$(curl -s --noproxy '*' --cacert "$PKI/ca.crt" -m 5 -X POST -d '{"key":"eA=="}' \
	"https://127.0.0.1:${CPORT[1]}/v3/kv/range" 2>&1) RC=$?
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q header; then
	pass "setup: the cluster refuses a client without a certificate (curl rc $RC)"
else
	fail "setup: the cluster refuses a client without a certificate"
fi

EPS=$(etcd_endpoints)
ROLES='roles = { breakglass_users = ["bg"]; exempt_users = ["svc"]; };'
# tls_conf NAME [ETCD-TLS-KEYS] [ENDPOINTS]: a host configuration, $T/conf.NAME,
# with the given ca_file/cert_file/key_file settings (default: the good ones).
GOOD_TLS="ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/client.key\";"
tls_conf() {
	local name=$1 tls=${2-$GOOD_TLS} eps=${3:-$EPS}
	mkdir -p "$T/state.$name"
	chmod 0700 "$T/state.$name"
	{
		printf 'state_dir = "%s";\n' "$T/state.$name"
		printf 'state_backend = "etcd";\n'
		printf 'etcd = { endpoints = [%s]; prefix = "/sdtls/"; %s timeout_ms = 1500; };\n' \
			"$eps" "$tls"
		printf '%s\n' "$ROLES" 'enrollment = { at_login = false; };'
	} >"$T/conf.$name"
	chmod 0644 "$T/conf.$name"
	CONF=$T/conf.$name
	sd_service "h$name"
}
ctl() { # ctl NAME ARGS...
	local h=$1
	shift
	CONF=$T/conf.$h sd_ctl "$@"
}
# state_of USER: the state key of USER as the cluster has it (base64 value)
state_of() {
	OUT=$(etcd_curl -m 5 -X POST -d "{\"key\":\"$(printf '/sdtls/state/%s' "$1" | base64 -w0)\"}" \
		"https://127.0.0.1:${CPORT[2]}/v3/kv/range" 2>&1) RC=$?
}

# ---- the normal setup: mutual TLS ------------------------------------------

tls_conf good
ctl good check
expect_rc 0 "check: an https etcd configuration with a client certificate is accepted"
expect_in "OK" "check: says OK"

ctl good enroll alice --secret "$SECRET_A" --no-qr
expect_rc 0 "mTLS: enrol alice through the cluster"
ctl good status alice --json
expect_in '"enrolled": true' "mTLS: status reads alice back over TLS"
state_of alice
expect_in '"kvs"' "mTLS: alice's state is in the cluster"
expect_no_file "$T/state.good/users/alice" "mTLS: nothing in the host's state_dir"

sd_wait_step
sd_pam hgood alice <<<"$(sd_code "$SECRET_A")"
expect_result success "mTLS: admin TOTP sign-in works"
expect_log "mTLS: allowed because of TOTP" user=alice role=admin decision=allow reason=totp-admin
code_used=$(sd_code "$SECRET_A")
sd_pam hgood alice <<<"$code_used"
expect_result "$AUTH_ERR" "mTLS: the same code again is refused (replay guard in etcd)"
expect_log "mTLS: replay logged" user=alice decision=deny reason=totp-replay
sd_pam hgood alice <<<"$(sd_wrong_code "$SECRET_A")"
expect_result "$AUTH_ERR" "mTLS: a wrong code is refused"
expect_log "mTLS: wrong code logged" user=alice decision=deny reason=totp-wrong-code
ctl good status alice --json
expect_in '"failures": 2' "mTLS: the replay and the wrong code were counted in etcd"
ctl good unlock alice
expect_rc 0 "mTLS: unlock through the cluster"

sd_pam hgood bob
expect_result success "mTLS: a user in grace is allowed (the clock starts)"
expect_in "you have 14 days left" "mTLS: grace message"
state_of bob
expect_in '"kvs"' "mTLS: bob's grace clock is in the cluster"

# ---- TLS failures deny, never accept ----------------------------------------

# fresh_alice: forget alice's replay guard (reset, enrol again) so that the
# current step's code can be accepted once more.
fresh_alice() {
	ctl good reset alice
	ctl good enroll alice --secret "$SECRET_A" --no-qr
	[ "$RC" -eq 0 ] || fail "setup: enrol alice again"
}

# tls_denied NAME DESC WHY PATTERN: alice (TOTP), bob (grace) and dave (new)
# are denied through host NAME, the log says WHY and PATTERN; break-glass
# and exempt users still get in.
tls_denied() {
	local name=$1 desc=$2 why=$3 pat=$4 code
	fresh_alice
	sd_wait_step
	code=$(sd_code "$SECRET_A")
	sd_pam "h$name" alice <<<"$code"
	expect_result "$AUTH_ERR" "$desc: an admin with a valid code is denied"
	expect_log "$desc: decision logged as a state error" user=alice decision=deny reason=state-error
	expect_in "$why" "$desc: the log says why ($why)"
	expect_in "$pat" "$desc: the log names the TLS problem ($pat)"
	expect_not_in "Verification code" "$desc: no code is asked for without the state"
	sd_pam "h$name" bob
	expect_result "$AUTH_ERR" "$desc: a user in grace is denied"
	expect_log "$desc: grace user's decision" user=bob decision=deny reason=state-error
	sd_pam "h$name" dave
	expect_result "$AUTH_ERR" "$desc: a new user is denied (never treated as new)"
	sd_pam "h$name" bob acct_mgmt
	if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q "SD-RESULT="; then
		pass "$desc: the account phase denies too"
	else
		fail "$desc: the account phase denies too"
	fi
	sd_pam "h$name" bg
	expect_result ignore "$desc: break-glass still gets in (abstains before the store)"
	expect_log "$desc: break-glass use is logged" user=bg decision=ignore reason=breakglass
	sd_pam "h$name" svc
	expect_result ignore "$desc: an exempt user is not affected"
	ctl "$name" status alice --json
	expect_rc 1 "$desc: status fails rather than showing nothing"
	ctl good status alice --json
	expect_in '"failures": 0' "$desc: the denied sign-ins changed nothing in etcd"
	# The code was not spent: the good host still accepts it.
	sd_pam hgood alice <<<"$code"
	expect_result success "$desc: the refused code was not used up; the good host accepts it"
}

tls_conf nocert "ca_file = \"$PKI/ca.crt\";"
ctl nocert check
expect_rc 0 "no client cert: check accepts the configuration (the cluster decides)"
# The member refuses the handshake; what libcurl reports depends on when
# the alert arrives ("alert bad certificate", or only "getpeername() failed"
# when the connection is already gone): the log names the endpoint.
tls_denied nocert "no client cert" "etcd unavailable (3 endpoints tried)" "https://127.0.0.1:"

tls_conf othercert "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/other-client.crt\"; key_file = \"$PKI/other-client.key\";"
tls_denied othercert "client cert from another CA" "etcd unavailable (3 endpoints tried)" "https://127.0.0.1:"

tls_conf wrongca "ca_file = \"$PKI/other-ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/client.key\";"
tls_denied wrongca "server not trusted (wrong ca_file)" "etcd unavailable (3 endpoints tried)" "certificate"

tls_conf sysca "cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/client.key\";"
tls_denied sysca "server not trusted (system CAs only)" "etcd unavailable (3 endpoints tried)" "certificate"

tls_conf nokey "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/missing.key\";"
tls_denied nokey "missing key file" "etcd: key file $PKI/missing.key" "No such file"

# ---- the private key must be the host's alone ------------------------------

cp "$PKI/client.key" "$T/readable.key"
chmod 0644 "$T/readable.key"
tls_conf readable "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/readable.key\";"
ctl readable check
expect_rc 1 "key file: check refuses a key that others can read"
expect_in "readable.key" "key file: check names the key file"
expect_in "0600" "key file: check says what to do"
tls_denied readable "key file mode 0644" "etcd: key file $T/readable.key has mode 0644" "chmod 0600"

chmod 0640 "$T/readable.key"
ctl readable check
expect_rc 1 "key file: check refuses a group-readable key"

chmod 0600 "$T/readable.key"
chown 1002:1002 "$T/readable.key"
ctl readable check
expect_rc 1 "key file: check refuses a key owned by another user"
expect_in "owned by" "key file: check says who must own it"
sd_wait_step
sd_pam hreadable alice <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "key file: a key owned by another user denies"

chown 0:0 "$T/readable.key"
fresh_alice
ln -s "$T/readable.key" "$T/link.key"
tls_conf link "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/link.key\";"
ctl link check
expect_rc 0 "key file: a root-owned 0600 key behind a symlink is accepted"
ctl readable check
expect_rc 0 "key file: the same key at mode 0600, owned by root, is accepted"
sd_wait_step
sd_pam hreadable alice <<<"$(sd_code "$SECRET_A")"
expect_result success "key file: sign-in works with the corrected key"

# The key is read once, through the descriptor that was checked, and given
# to libcurl from memory (never reopened by name): what is checked is what
# is used. A file that is not a plain key of sane size is refused up front.
: >"$T/empty.key"
chmod 0600 "$T/empty.key"
tls_conf emptykey "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/empty.key\";"
ctl emptykey check
expect_rc 1 "key file: check refuses an empty key file"
tls_denied emptykey "empty key file" "etcd: key file $T/empty.key: empty" "empty"
head -c 70000 /dev/zero >"$T/big.key"
chmod 0600 "$T/big.key"
tls_conf bigkey "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/big.key\";"
ctl bigkey check
expect_rc 1 "key file: check refuses a 70,000-byte key file"
expect_in "too large" "key file: check says the key file is too large"
mkfifo -m 0600 "$T/fifo.key"
tls_conf fifokey "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/fifo.key\";"
ctl fifokey check # a hang would end in timeout's 124 after 20 s
expect_rc 1 "key file: check refuses a FIFO without waiting for a writer"
expect_in "not a regular file" "key file: check says a FIFO is not a regular file"
# A key with a second hard link (someone else's name for the same file).
cp "$PKI/client.key" "$T/linked.key"
chmod 0600 "$T/linked.key"
ln "$T/linked.key" "$T/linked2.key"
tls_conf linked "ca_file = \"$PKI/ca.crt\"; cert_file = \"$PKI/client.crt\"; key_file = \"$T/linked.key\";"
ctl linked check
expect_rc 1 "key file: check refuses a key file with two hard links"
expect_in "2 hard links" "key file: check says why"
rm -f "$T/linked2.key"
ctl linked check
expect_rc 0 "key file: the same file with one link is accepted"
# cert_file holding certificate and key, no key_file: the key comes from it.
cat "$PKI/client.crt" "$PKI/client.key" >"$T/combined.pem"
chmod 0600 "$T/combined.pem"
tls_conf combined "ca_file = \"$PKI/ca.crt\"; cert_file = \"$T/combined.pem\";"
ctl combined check
expect_rc 0 "key file: cert_file with the key in it is accepted"
fresh_alice
sd_wait_step
sd_pam hcombined alice <<<"$(sd_code "$SECRET_A")"
expect_result success "key file: sign-in with certificate and key in cert_file"
chmod 0644 "$T/combined.pem"
ctl combined check
expect_rc 1 "key file: cert_file holding the key is checked like key_file (mode 0644 refused)"

# ---- plain http only for loopback -------------------------------------------

tls_conf remote "$GOOD_TLS" '"http://192.0.2.10:2379"'
ctl remote check
expect_rc 1 "check: plain http to a non-loopback endpoint is refused"
expect_in "plain http:// is allowed only for loopback" "check: says http is for loopback only"
expect_in "conf.remote:" "check: names the file and line"
tls_conf remote2 "$GOOD_TLS" "$EPS, \"http://10.1.2.3:2379/\""
ctl remote2 check
expect_rc 1 "check: one plain-http remote endpoint among https ones is refused"
tls_conf remote3 "$GOOD_TLS" '"https://192.0.2.10:2379", "https://etcd1.example.net:2379"'
ctl remote3 check
expect_rc 0 "check: https to remote endpoints is accepted"
tls_conf remote4 "$GOOD_TLS" '"ftp://127.0.0.1:2379"'
ctl remote4 check
expect_rc 1 "check: a scheme other than http/https is refused"

# ---- still fine afterwards --------------------------------------------------

fresh_alice
sd_wait_step
sd_pam hgood alice <<<"$(sd_code "$SECRET_A")"
expect_result success "after the failures: admin sign-in over mTLS still works"

finish
