#!/bin/bash
# secdefaultsctl: usage and exit codes, check, enroll, status (table and
# JSON), flag, dismiss, unlock, reset, explain, and refusing to change
# anything while the configuration has problems.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

# Enrolment at sign-in is switched off: these tests are about the state
# files and the admin command, and a grace sign-in should just pass.
NOOFFER='enrollment = { at_login = false; };'
sd_config "$NOOFFER"
sd_service sshd
U=$T/state/users
S=$T/state/secrets
PY=/usr/bin/python3

# ctl_raw ARGS...: secdefaultsctl without the --config that sd_ctl adds.
# shellcheck disable=SC2120
ctl_raw() {
	OUT=$(sd_env timeout 20 ${SD_WRAP_PREFIX:-} "$CTL" "$@" 2>&1)
	RC=$?
	return 0
}

# tree: every entry under the state directory with type, mode, size, mtime
# and a checksum of each file: equal before and after = nothing changed.
tree() {
	(cd "$T/state" && find . -printf '%p %y %m %s %T@\n' | sort &&
		find . -type f -exec md5sum {} + | sort)
}

expect_tree() { # expect_tree SAVED DESC
	local now
	now=$(tree)
	if [ "$now" = "$1" ]; then pass "$2"; else
		OUT="$OUT
---- state changed:
$(diff <(echo "$1") <(echo "$now"))"
		fail "$2"
	fi
}

expect_out_re() { # expect_out_re ERE DESC
	if printf '%s\n' "$OUT" | grep -qE -- "$1"; then pass "$2"; else fail "$2 (no line matching /$1/)"; fi
}

TIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'

# ---- Usage -----------------------------------------------------------------

ctl_raw
expect_rc 2 "usage: no arguments exit 2"
expect_in "usage:" "usage: no arguments print the usage"
sd_ctl
expect_rc 2 "usage: --config without a verb exits 2"
sd_ctl frobnicate bob
expect_rc 2 "usage: unknown verb exits 2"
expect_in 'unknown verb "frobnicate"' "usage: unknown verb is named"
sd_ctl status --bogus
expect_rc 2 "usage: unknown option exits 2"
sd_ctl enroll
expect_rc 2 "usage: enroll without a user exits 2"

# ---- check -----------------------------------------------------------------

sd_ctl check
expect_rc 0 "check: clean config exits 0"
expect_in "OK" "check: clean config says OK"
sd_config 'grace_days = 14;' 'totp = { digits = 7; };' 'bogus = 1;'
sd_ctl check
expect_rc 1 "check: bad config exits 1"
expect_in "secdefaults.conf:3:" "check: problem reported with file:line (3)"
expect_in "secdefaults.conf:4:" "check: every problem reported with file:line (4)"
expect_not_in "OK" "check: bad config does not say OK"
sd_config 'grace_days = 14' 'x = '
sd_ctl check
expect_rc 1 "check: syntax error exits 1"
expect_out_re 'secdefaults\.conf:[0-9]+:' "check: syntax error reported with file:line"
mv "$CONF" "$CONF.away"
sd_ctl check
expect_rc 1 "check: missing file exits 1"
expect_not_in "OK" "check: missing file does not say OK"
mv "$CONF.away" "$CONF"
sd_config "$NOOFFER"
sd_ctl check
expect_rc 0 "check: repaired config exits 0 again"

# ---- enroll ----------------------------------------------------------------

# Give bob a grace clock that started 10 days ago, so that reset (below) can
# show it restarting.
SD_FAKETIME=-10d sd_pam sshd bob </dev/null
expect_result success "setup: bob's grace clock started 10 days ago"
grace_old=$(sed -n 's/^grace_start //p' "$U/bob")

sd_ctl enroll bob --secret "$SECRET_A"
expect_rc 0 "enroll: bob with --secret exits 0"
expect_out_re '^otpauth://totp/[^?]*:bob\?' "enroll: prints an otpauth://totp/ URI for bob"
expect_in "secret=$SECRET_A" "enroll: URI carries the secret"
expect_out_re '[?&]issuer=[^&]+' "enroll: URI has an issuer"
expect_in "algorithm=SHA1" "enroll: URI has algorithm=SHA1"
expect_in "digits=6" "enroll: URI has digits=6"
expect_in "period=30" "enroll: URI has period=30"
expect_state bob "^enrolled $TIME_RE\$" "enroll: state shows enrolled"
expect_state bob "^grace_start $grace_old\$" "enroll: grace clock kept"
OUT=$(stat -c '%a %u %F' "$S/bob" 2>&1) RC=-
if [ "$OUT" = "600 0 regular file" ]; then pass "enroll: secrets/bob is a 0600 root file"; else
	fail "enroll: secrets/bob is a 0600 root file"
fi
if grep -q "$SECRET_A" "$U/bob"; then
	OUT=$(cat "$U/bob") RC=-
	fail "enroll: the secret is not in the inspectable state"
else
	pass "enroll: the secret is not in the inspectable state"
fi

before=$(tree)
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 1 "enroll: again exits 1"
expect_in "already enrolled" "enroll: again says already enrolled"
expect_not_in "otpauth://" "enroll: again prints no URI"
expect_tree "$before" "enroll: again changes nothing"

sd_ctl enroll bob --secret "$SECRET_B" --force
expect_rc 0 "enroll --force: exits 0"
expect_in "secret=$SECRET_B" "enroll --force: URI carries the new secret"
sd_wait_step
sd_pam sshd bob <<<"$(sd_code "$SECRET_B")"
expect_result success "enroll --force: a code from the new secret signs bob in"

before=$(tree)
sd_ctl enroll bob --force --secret 'not*base32'
expect_rc 1 "enroll: bad base32 exits 1"
expect_in "base32" "enroll: bad base32 is explained"
expect_tree "$before" "enroll: bad base32 changes nothing"
sd_ctl enroll bob --force --secret JBSWY3DP
expect_rc 1 "enroll: too short a secret exits 1"
expect_in "too short" "enroll: too short is explained"
expect_tree "$before" "enroll: too short a secret changes nothing"
sd_ctl enroll nosuchuser --secret "$SECRET_A"
expect_rc 1 "enroll: unknown user exits 1"
expect_in 'unknown user "nosuchuser"' "enroll: unknown user is named"
expect_tree "$before" "enroll: unknown user creates nothing"
sd_ctl enroll ../x --secret "$SECRET_A"
expect_rc 1 "enroll: invalid name ../x exits 1"
expect_in "invalid user name" "enroll: invalid name is explained"
expect_tree "$before" "enroll: invalid name creates nothing in state"
expect_no_file "$T/x" "enroll: invalid name creates nothing next to state"

# Without --secret: a generated 160-bit secret, 32 base32 characters.
sd_ctl enroll dave
expect_rc 0 "enroll: generated secret exits 0"
gen=$(printf '%s\n' "$OUT" | sed -n 's/^otpauth:.*[?&]secret=\([^&]*\).*/\1/p')
if printf '%s' "$gen" | grep -qE '^[A-Z2-7]{32}$'; then pass "enroll: generated secret is 32 base32 characters"; else
	fail "enroll: generated secret is 32 base32 characters ('$gen')"
fi
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$gen")"
expect_result success "enroll: a code from the generated secret signs dave in"
sd_ctl enroll ed
gen2=$(printf '%s\n' "$OUT" | sed -n 's/^otpauth:.*[?&]secret=\([^&]*\).*/\1/p')
if [ -n "$gen2" ] && [ "$gen2" != "$gen" ]; then pass "enroll: two generated secrets differ"; else
	fail "enroll: two generated secrets differ"
fi
sd_ctl reset ed
expect_rc 0 "setup: ed forgotten again"

# ---- States for status: alice in grace, bob locked, dave flagged -----------

sd_pam sshd alice </dev/null
expect_result success "setup: alice (admin, not enrolled) signs in in grace"
wrong=$(sd_wrong_code "$SECRET_B")
for _ in 1 2 3 4 5; do
	sd_pam -I rhost=203.0.113.9 sshd bob <<<"$wrong"
done
expect_state bob '^failures 5$' "setup: bob has 5 failures"
expect_state bob "^locked_until $TIME_RE\$" "setup: bob is locked"
sd_ctl flag dave --reason 'phished "twice"'
expect_rc 0 "setup: dave flagged"

# ---- status ----------------------------------------------------------------

sd_ctl status
expect_rc 0 "status: exits 0"
hdr=$(printf '%s\n' "$OUT" | grep -av PWRAP | head -n 1)
rows=$(printf '%s\n' "$OUT" | grep -av PWRAP | sed 1d | awk '{print $1}' | tr '\n' ' ')
case $hdr in
USER*ROLE*ENROLLED*) pass "status: header line first" ;;
*) fail "status: header line first" ;;
esac
if [ "$rows" = "alice bob dave " ]; then pass "status: users sorted (alice bob dave)"; else
	fail "status: users sorted (got '$rows')"
fi
expect_out_re '^bob +user +yes ' "status: bob is an enrolled user"
expect_out_re '^alice +admin +no +14d ' "status: alice is an admin in grace, 14 days left"
expect_out_re "^dave +user +yes .*$TIME_RE" "status: dave shows the compromised time"

sd_ctl status --json
expect_rc 0 "status --json: exits 0"
json=$(printf '%s\n' "$OUT" | grep -av PWRAP)
OUT=$(printf '%s\n' "$json" | "$PY" -c '
import json, re, sys
d = json.load(sys.stdin)
T = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
errs = []
def need(cond, what):
    if not cond:
        errs.append(what)
users = [u.get("user") for u in d]
need(users == ["alice", "bob", "dave"], "users %r" % users)
by = {u.get("user"): u for u in d}
for u in d:
    for k in ("user", "role", "enrolled", "grace", "failures", "locked_until",
              "compromised", "last_totp", "locations"):
        need(k in u, "%s lacks %s" % (u.get("user"), k))
a, b, v = by.get("alice", {}), by.get("bob", {}), by.get("dave", {})
need(a.get("role") == "admin", "alice role")
need(a.get("enrolled") is False, "alice enrolled")
need(a.get("grace") == "14d", "alice grace %r" % a.get("grace"))
need(a.get("failures") == 0, "alice failures")
need(a.get("locked_until") is None, "alice locked_until")
need(a.get("compromised") is False, "alice compromised")
need(a.get("last_totp") is None, "alice last_totp")
need(a.get("locations") == [], "alice locations")
need(b.get("role") == "user", "bob role")
need(b.get("enrolled") is True, "bob enrolled")
need(b.get("failures") == 5, "bob failures %r" % b.get("failures"))
need(isinstance(b.get("locked_until"), str) and T.match(b["locked_until"]), "bob locked_until")
need(b.get("compromised") is False, "bob compromised")
need(isinstance(b.get("last_totp"), str) and T.match(b["last_totp"]), "bob last_totp")
need([l.get("network") for l in b.get("locations", [])] == ["local"], "bob locations %r" % b.get("locations"))
need(v.get("enrolled") is True, "dave enrolled")
need(v.get("failures") == 0, "dave failures")
need(v.get("locked_until") is None, "dave locked_until")
need(v.get("compromised") is True, "dave compromised")
need(v.get("compromised_reason", "phished \"twice\"") == "phished \"twice\"", "dave reason %r" % v.get("compromised_reason"))
need(isinstance(v.get("last_totp"), str) and T.match(v["last_totp"]), "dave last_totp")
locs = v.get("locations", [])
need([l.get("network") for l in locs] == ["192.0.2.0/24"], "dave locations %r" % locs)
need(all(T.match(l.get("last_totp", "")) for l in locs), "dave location times")
print("\n".join(errs) if errs else "all right")
sys.exit(1 if errs else 0)
' 2>&1)
RC=$?
if [ $RC -eq 0 ]; then pass "status --json: parses, with the right fields and values for alice, bob, dave"; else
	OUT="$OUT
$json"
	fail "status --json: parses, with the right fields and values"
fi
sd_ctl status bob --json
json=$(printf '%s\n' "$OUT" | grep -av PWRAP)
OUT=$(printf '%s\n' "$json" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert [u["user"] for u in d] == ["bob"]' 2>&1)
RC=$?
if [ $RC -eq 0 ]; then pass "status USER --json: only that user"; else fail "status USER --json: only that user"; fi
sd_ctl status nosuchuser
expect_rc 1 "status: unknown user exits 1"

# JSON is UTF-8 (RFC 8259): a reason with a byte that is not UTF-8 is either
# refused by flag or escaped by status --json, never copied raw.
sd_ctl flag alice --reason "$(printf 'bad\377byte')"
if [ "$RC" -eq 0 ]; then
	sd_ctl status alice --json
	json=$(printf '%s\n' "$OUT" | grep -av PWRAP)
	OUT=$(printf '%s\n' "$json" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))
assert d[0]["compromised"] is True
' 2>&1)
	RC=$?
	if [ $RC -eq 0 ]; then pass "status --json: a non-UTF-8 reason still gives valid UTF-8 JSON"; else
		OUT="$OUT
$(printf '%s\n' "$json" | od -c | grep -a -B1 -A1 377)"
		fail "status --json: a non-UTF-8 reason still gives valid UTF-8 JSON"
	fi
else
	pass "flag: a reason that is not UTF-8 is refused"
fi
sd_ctl dismiss alice
expect_rc 0 "setup: alice dismissed again"

# ---- flag / dismiss / unlock -----------------------------------------------

sd_ctl flag bob --reason "leaked on paste site"
expect_rc 0 "flag: exits 0"
expect_state bob "^compromised $TIME_RE leaked on paste site\$" "flag: state has compromised <time> <reason>"
before=$(tree)
sd_ctl flag bob --reason "$(printf 'two\nlines')"
expect_rc 1 "flag: a reason with a newline exits 1"
expect_tree "$before" "flag: a reason with a newline changes nothing"
sd_ctl flag bob --reason "$(head -c 200 /dev/zero | tr '\0' x)"
expect_rc 1 "flag: a 200-byte reason exits 1"
expect_tree "$before" "flag: a too long reason changes nothing"
sd_ctl flag nosuchuser
expect_rc 1 "flag: unknown user exits 1"
expect_tree "$before" "flag: unknown user changes nothing"
sd_ctl dismiss bob
expect_rc 0 "dismiss: exits 0"
expect_state_not bob '^compromised' "dismiss: flag cleared"
expect_state bob '^failures 5$' "dismiss: failures untouched"

sd_ctl unlock bob
expect_rc 0 "unlock: exits 0"
expect_state_not bob '^failures' "unlock: failures cleared"
expect_state_not bob '^locked_until' "unlock: locked_until cleared"
expect_state bob "^enrolled $TIME_RE\$" "unlock: enrolment kept"
sd_wait_step
sd_pam sshd bob <<<"$(sd_code "$SECRET_B" 30)"
expect_result success "unlock: bob signs in with a code again"

# ---- explain ---------------------------------------------------------------

before=$(tree)
snap=$(snapshot)
sd_ctl explain bob --service sshd --rhost 192.0.2.7
expect_rc 0 "explain: exits 0"
expect_out_re '^  rule 12 .*DECIDES$' "explain: new network for bob decided by rule 12"
expect_out_re '^decision: prompt \(reason totp-new-location' "explain: decision line"
expect_in "location: 192.0.2.0/24" "explain: location from --rhost"
expect_tree "$before" "explain: nothing changed"
if [ "$(snapshot)" = "$snap" ]; then pass "explain: snapshot unchanged"; else fail "explain: snapshot unchanged"; fi
sd_ctl explain root --service sshd
expect_rc 0 "explain: user without state exits 0"
expect_out_re '^  rule 10 .*DECIDES$' "explain: user without state is in grace (rule 10)"
expect_in "decision:" "explain: user without state has a decision line"
expect_tree "$before" "explain: user without state gets no file"
if [ "$(snapshot)" = "$snap" ]; then pass "explain: user without state: snapshot unchanged"; else
	fail "explain: user without state: snapshot unchanged"
fi
expect_no_file "$U/root" "explain: no users/root"
expect_no_file "$T/state/locks/root" "explain: no locks/root"
# With a state directory that does not exist yet, explain and status create
# nothing at all.
printf 'state_dir = "%s";\n' "$T/fresh" >"$CONF"
sd_ctl explain root --service sshd
expect_rc 0 "explain: state directory missing exits 0"
expect_in "decision:" "explain: state directory missing still decides"
sd_ctl status
expect_rc 0 "status: state directory missing exits 0"
expect_no_file "$T/fresh" "explain/status: no state directory created"
sd_config "$NOOFFER"
sd_ctl explain bob --service imap
expect_out_re '^  rule 6 service class legacy +DECIDES$' "explain: imap decided by rule 6 (legacy)"
expect_in "decision: deny (reason legacy-service" "explain: imap denied"
expect_tree "$before" "explain: imap changed nothing"

# ---- A configuration with problems: explain says so, nothing changes ---------

sd_config 'grace_days = 14;' 'totp = { digits = 7; };'
sd_ctl explain bob --service sshd
expect_in "config: " "explain: bad config: problems shown"
expect_in "secdefaults.conf:3:" "explain: bad config: problem with file:line"
expect_out_re '^  rule 2 .*DECIDES$' "explain: bad config decided by rule 2"
expect_in "decision: deny (reason config-error" "explain: bad config denies"
expect_tree "$before" "explain: bad config changed nothing"
for cmd in "enroll bob --secret $SECRET_A --force" "enroll dave --force" "enroll alice" "reset bob" \
	"unlock bob" "flag bob" "flag alice --reason x" "dismiss dave"; do
	# shellcheck disable=SC2086
	sd_ctl $cmd
	expect_rc 1 "bad config: '$cmd' exits 1"
	expect_in "nothing changed" "bad config: '$cmd' says nothing changed"
	expect_tree "$before" "bad config: '$cmd' changes nothing"
done
sd_config "$NOOFFER"

# ---- reset -----------------------------------------------------------------

sd_ctl reset bob
expect_rc 0 "reset: exits 0"
expect_no_file "$U/bob" "reset: users/bob removed"
expect_no_file "$S/bob" "reset: secrets/bob removed"
sd_ctl status bob
expect_out_re '^bob +user +no +not-started ' "reset: status shows bob not enrolled, grace not started"
t0=$(date +%s)
sd_pam sshd bob </dev/null
expect_result success "reset: bob's next sign-in is in grace"
expect_in "14 days left" "reset: a fresh 14-day grace period"
grace_new=$(sed -n 's/^grace_start //p' "$U/bob" 2>/dev/null)
gs=$(date -u -d "$grace_new" +%s 2>/dev/null || echo 0)
OUT="old $grace_old new $grace_new" RC=-
if [ "$grace_new" != "$grace_old" ] && [ "$gs" -ge $((t0 - 2)) ] && [ "$gs" -le $(($(date +%s) + 2)) ]; then
	pass "reset: the grace clock restarted at that sign-in"
else
	fail "reset: the grace clock restarted at that sign-in"
fi
expect_state_not bob '^enrolled' "reset: bob is no longer enrolled"
before=$(tree)
sd_ctl reset ../x
expect_rc 1 "reset: invalid name ../x exits 1"
expect_tree "$before" "reset: invalid name changes nothing"
# A user removed from NSS can still be forgotten (the files are named by
# the old name).
printf '# removed user\nversion 1\nenrolled 2026-01-01T00:00:00Z\n' >"$U/ghost"
cp -p "$S/dave" "$S/ghost"
chmod 0600 "$U/ghost"
sd_ctl reset ghost
expect_rc 0 "reset: a user NSS no longer knows exits 0"
expect_no_file "$U/ghost" "reset: removed user's state gone"
expect_no_file "$S/ghost" "reset: removed user's secret gone"

finish
