#!/bin/bash
# Safe rollout: report-only mode on every decision-table row (beyond what
# t_config.sh covers), the observation fields it records and nothing else,
# the switch to enforce behaving as a fresh install, `secdefaultsctl report`
# (table and JSON) over a state directory filled by real sign-ins, and
# `secdefaultsctl revoke` against sessions started here under test users.
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
U=$T/state/users
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
TODAY=$(date -u +%Y-%m-%d)
OBS='^(last_seen|last_seen_standard|last_seen_privileged|last_seen_legacy|legacy_service) '

# Every process this test starts as a test user; killed by pid at the end.
PIDS=()
P=
rollout_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$P" ] && rm -rf "$P"
	cleanup
}
trap rollout_cleanup EXIT

# The state without the observation keys (and without the comment), as the
# module sees it (secdefaultsctl show: the file's "counters" id is not shown).
non_obs() {
	sd_state_text "$1" | grep -vE "$OBS" | grep -v '^#'
}

state_value() { # state_value USER KEY
	sd_state_text "$1" | sed -n "s/^$2 //p"
}

expect_eq() { # expect_eq GOT WANT DESC
	if [ "$1" = "$2" ]; then pass "$3"; else
		OUT="got:  $1
want: $2" RC=-
		fail "$3"
	fi
}

expect_out_line() { # expect_out_line LINE DESC: OUT has exactly this line
	if printf '%s\n' "$OUT" | grep -qxF -- "$1"; then pass "$2"; else fail "$2 (no line \"$1\")"; fi
}

# json EXPR: evaluate a Python expression over the JSON in OUT (as "d").
json() {
	printf '%s\n' "$OUT" | grep -av PWRAP | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>&1
}

# Users of this test on top of lib.sh's: gina (admin through sudo), hank (a
# user), ivy (exempt through her primary group batch).
cat >>"$T/passwd" <<PW
gina:x:1008:1008:Gina Admin:/home/gina:/bin/sh
hank:x:1009:1009:Hank User:/home/hank:/bin/sh
ivy:x:1010:2000:Ivy Batch:/home/ivy:/bin/sh
PW
sed -i 's/^sudo:x:27:alice$/sudo:x:27:alice,gina/' "$T/group"
printf 'gina:x:1008:\nhank:x:1009:\n' >>"$T/group"

ROLES='roles = { exempt_users = ["svc"]; exempt_groups = ["batch"]; breakglass_users = ["bg"]; };'
for s in sshd imap pop3 sudo cron; do sd_service "$s"; done

# ============================================================================
# Report-only on the rows t_config.sh does not cover: each abstains, logs the
# would-* decision and shows no prompt.
# ============================================================================
RO='mode = "report-only";'
sd_config "$RO" "$ROLES"

no_prompt() { # no_prompt DESC
	if printf '%s' "$OUT" | grep -qE 'Verification code|two-step|Code from the app'; then
		fail "$1 (a prompt or message was shown)"
	else
		pass "$1"
	fi
}

# Row 1: disabled.
sd_config 'enabled = false;' "$RO"
sd_pam sshd bob
expect_result ignore "row 1 report-only: disabled abstains"
sd_config "$RO" "$ROLES"
# Row 3: invalid name.
sd_pam sshd .hidden
expect_result ignore "row 3 report-only: invalid name abstains"
expect_log "row 3 report-only: would-deny" decision=would-deny reason=invalid-user rule=3
expect_no_file "$U" "row 3 report-only: no state created"
# Row 5: exempt by name and by group.
sd_pam sshd svc
expect_result ignore "row 5 report-only: exempt abstains"
expect_log "row 5 report-only: exempt logged" user=svc decision=ignore reason=exempt
sd_pam sshd carol
expect_log "row 5 report-only: exempt by group logged" user=carol decision=ignore reason=exempt
# Row 7: noninteractive.
sd_pam cron bob
expect_result ignore "row 7 report-only: noninteractive abstains"
expect_log "row 7 report-only: logged" decision=ignore reason=noninteractive rule=7
expect_no_file "$U/bob" "row 7 report-only: a cron run records nothing"
expect_no_file "$U/svc" "row 5 report-only: exempt users get no state"
expect_no_file "$U/carol" "row 5 report-only: exempt-by-group users get no state"

# Row 8: corrupt state.
mkdir -p "$U" && chmod 0700 "$U"
printf 'version 1\nshoe_size 42\n' >"$U/hank"
chmod 0600 "$U/hank"
corrupt=$(md5sum <"$U/hank")
sd_pam sshd hank
expect_result ignore "row 8 report-only: corrupt state abstains"
expect_log "row 8 report-only: would-deny" user=hank decision=would-deny reason=state-error rule=8
expect_eq "$(md5sum <"$U/hank")" "$corrupt" "row 8 report-only: corrupt state left as it is"
sd_pam imap hank
expect_result ignore "row 8 report-only: legacy attempt with corrupt state abstains"
expect_eq "$(md5sum <"$U/hank")" "$corrupt" "row 8 report-only: a legacy attempt does not rewrite it"
rm -f "$U/hank"

# Row 9: locked, with a code offered on stdin that is never asked for.
sd_ctl enroll dave --secret "$SECRET_A"
expect_rc 0 "enrol dave"
{
	printf 'version 1\n'
	state_value dave enrolled | sed 's/^/enrolled /'
	printf 'failures 5\nlocked_until %s\n' "$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)"
	printf 'location 192.0.2.0/24 %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$U/dave.new"
chmod 0600 "$U/dave.new" && mv "$U/dave.new" "$U/dave"
before=$(non_obs dave)
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_result ignore "row 9 report-only: locked user abstains"
expect_log "row 9 report-only: would-deny locked" user=dave decision=would-deny reason=locked rule=9
no_prompt "row 9 report-only: no prompt"
expect_eq "$(non_obs dave)" "$before" "row 9 report-only: failures and lock untouched"
expect_state dave "^last_seen $ISO\$" "row 9 report-only: last_seen recorded"
expect_state dave "^last_seen_standard $ISO\$" "row 9 report-only: last_seen_standard recorded"
expect_state_not dave '^last_seen_(privileged|legacy) ' "row 9 report-only: no other class"

# Row 9: compromised and not enrolled.
sd_ctl flag hank --reason "test flag"
before=$(non_obs hank)
sd_pam sshd hank
expect_result ignore "row 9 report-only: compromised, not enrolled abstains"
expect_log "row 9 report-only: would-deny compromised" user=hank decision=would-deny \
	reason=compromised-not-enrolled rule=9
sd_pam sshd hank acct_mgmt
expect_result ignore "account report-only: compromised abstains"
expect_log "account report-only: would-deny compromised" user=hank decision=would-deny \
	reason=compromised
expect_eq "$(non_obs hank)" "$before" "row 9 report-only: flag untouched"
sd_ctl reset hank

# Row 11: grace over (the clock was started in enforce mode 15 days ago).
sd_config "$ROLES"
SD_FAKETIME=-15d sd_pam sshd bob </dev/null
expect_result success "row 11 setup: grace started 15 days ago in enforce mode"
sd_config "$RO" "$ROLES"
before=$(non_obs bob)
sd_pam sshd bob </dev/null
expect_result ignore "row 11 report-only: grace over abstains"
expect_log "row 11 report-only: would-deny" user=bob decision=would-deny reason=grace-expired rule=11
no_prompt "row 11 report-only: no enrolment prompt"
sd_pam sshd bob acct_mgmt
expect_result ignore "row 11 report-only: account phase abstains"
expect_log "row 11 report-only: account would-deny" decision=would-deny reason=grace-expired
expect_eq "$(non_obs bob)" "$before" "row 11 report-only: grace_ended not recorded"
expect_state_not bob '^grace_ended ' "row 11 report-only: no grace_ended line"
sd_ctl reset bob

# Rows 12 and 13 for a user: new location prompts, privileged prompts, a
# known location allows; nothing but observations is written.
sd_config "$ROLES"
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_state dave '^locked_until ' "rows 12-13 setup: dave still locked (enforce)"
sd_ctl unlock dave
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_result success "rows 12-13 setup: dave signs in with a code from 192.0.2.0/24"
sd_config "$RO" "$ROLES"
before=$(non_obs dave)
sd_pam -I rhost=192.0.2.9 sshd dave </dev/null
expect_result ignore "row 13 report-only: known location abstains"
expect_log "row 13 report-only: would-allow" user=dave decision=would-allow reason=known-location \
	rule=13
sd_pam -I rhost=198.51.100.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_result ignore "row 12 report-only: new location abstains"
expect_log "row 12 report-only: would-prompt" decision=would-prompt reason=totp-new-location rule=12
no_prompt "row 12 report-only: new location not prompted"
sd_pam -I rhost=192.0.2.9 sudo dave </dev/null
expect_result ignore "row 12 report-only: privileged abstains"
expect_log "row 12 report-only: privileged would-prompt" user=dave class=privileged \
	decision=would-prompt reason=totp-privileged rule=12
no_prompt "row 12 report-only: privileged not prompted"
expect_eq "$(non_obs dave)" "$before" "rows 12-13 report-only: step, locations, failures untouched"
expect_state_not dave '^location 198\.51\.100\.' "row 12 report-only: the new network is not remembered"
expect_state dave "^last_seen_privileged ${TODAY}T" "row 12 report-only: privileged sign-in observed"

# Legacy in report-only: the service name and time are recorded, nothing else.
sd_pam imap bob
expect_log "legacy report-only: would-deny" user=bob decision=would-deny reason=legacy-service
lines=$(sd_state_text bob | grep -v '^#' | grep -vE "$OBS" | tr '\n' ' ')
expect_eq "$lines" "version 1 " "legacy report-only: the state holds only observation keys"
expect_state bob "^legacy_service imap ${TODAY}T" "legacy report-only: imap recorded"
expect_state bob "^last_seen_legacy ${TODAY}T" "legacy report-only: class legacy recorded"
expect_state bob "^last_seen ${TODAY}T" "legacy report-only: last_seen recorded"
expect_state_not bob '^last_seen_standard ' "legacy report-only: no standard sign-in"

# Once a day: a second sign-in the same day writes nothing; the next day
# moves the times (and only them).
snap=$(snapshot)
sd_pam imap bob
sd_pam imap bob acct_mgmt
expect_eq "$(snapshot)" "$snap" "observe: a second attempt the same day writes nothing"
SD_FAKETIME=+1d sd_pam imap bob
expect_state bob "^legacy_service imap $(date -u -d '+1 day' +%Y-%m-%d)T" \
	"observe: the next day moves the legacy time"
expect_state bob "^last_seen $(date -u -d '+1 day' +%Y-%m-%d)T" "observe: and last_seen"
n=$(grep -c '^legacy_service ' "$U/bob")
expect_eq "$n" 1 "observe: one line per legacy service"
# At most 8 legacy services, the oldest makes room.
for i in 1 2 3 4 5 6 7 8; do
	sd_service "legacy$i" service_tag=legacy
	SD_FAKETIME=+$((i + 1))d sd_pam "legacy$i" bob
done
expect_eq "$(grep -c '^legacy_service ' "$U/bob")" 8 "observe: at most 8 legacy services kept"
expect_state_not bob '^legacy_service imap ' "observe: the oldest (imap) made room"
expect_state bob '^legacy_service legacy8 ' "observe: the newest is kept"
sd_ctl status bob
expect_rc 0 "observe: status still reads the state"
sd_ctl reset bob
expect_no_file "$T/state/users/nosuchuser" "observe: unknown users get no file"

# Enforce mode records a legacy attempt too, once a day.
sd_config "$ROLES"
sd_pam imap bob
expect_result "$AUTH_ERR" "enforce: legacy refused"
expect_state bob "^legacy_service imap ${TODAY}T" "enforce: the legacy attempt is recorded"
expect_state_not bob '^grace_start ' "enforce: no grace clock from a legacy attempt"
snap=$(snapshot)
sd_pam imap bob
expect_eq "$(snapshot)" "$snap" "enforce: a second legacy attempt the same day writes nothing"
sd_ctl reset bob

# ============================================================================
# report-only, then enforce: the same as a fresh enforce install.
# ============================================================================
sd_config "$RO" "$ROLES"
sd_pam -I rhost=192.0.2.7 sshd hank </dev/null
SD_FAKETIME=+20d sd_pam -I rhost=192.0.2.7 sshd hank </dev/null
expect_log "switch: seen 20 days on, still would-allow in grace" decision=would-allow reason=grace
expect_state hank "^last_seen $(date -u -d '+20 days' +%Y-%m-%d)T" "switch: last_seen 20 days on"
expect_state_not hank '^grace_start ' "switch: no grace clock in report-only"
sd_config "$ROLES"
t0=$(date +%s)
sd_pam -I rhost=192.0.2.7 sshd hank </dev/null
expect_result success "switch: first enforced sign-in allowed (grace)"
expect_in "14 days left" "switch: the full grace period is left"
gs=$(date -u -d "$(state_value hank grace_start)" +%s)
if [ $((gs - t0)) -ge -2 ] && [ $((gs - t0)) -le 5 ]; then
	pass "switch: grace starts at the first enforced sign-in"
else
	fail "switch: grace_start $(state_value hank grace_start) is not now"
fi
SD_FAKETIME=+13d sd_pam -I rhost=192.0.2.7 sshd hank </dev/null
expect_result success "switch: still in grace 13 days later"
SD_FAKETIME=+15d sd_pam -I rhost=192.0.2.7 sshd hank </dev/null
expect_result "$AUTH_ERR" "switch: grace over 15 days after the switch"
sd_ctl reset hank
sd_ctl reset dave

# ============================================================================
# The readiness report, from real sign-ins in report-only mode.
# ============================================================================
sd_config "$RO" "$ROLES"
rm -rf "$T/state"
mkdir -m 0700 "$T/state"
sd_ctl enroll dave --secret "$SECRET_A"
sd_ctl enroll gina --secret "$SECRET_B"
sd_ctl enroll ivy --secret "$SECRET_A"
SD_FAKETIME=-40d sd_pam imap dave
SD_FAKETIME=-40d sd_pam -I rhost=192.0.2.7 sshd hank
sd_pam -I rhost=192.0.2.7 sshd alice </dev/null
sd_pam sudo ed </dev/null
sd_pam imap bob
sd_pam imap bob
sd_pam pop3 bob
sd_pam -I rhost=192.0.2.7 sshd bob </dev/null
sd_pam -I rhost=192.0.2.7 sshd dave </dev/null
sd_pam -I rhost=192.0.2.7 sshd gina </dev/null
sd_pam -I rhost=192.0.2.7 sshd carol </dev/null
sd_pam -I rhost=192.0.2.7 sshd svc </dev/null
sd_pam -I rhost=192.0.2.7 sshd bg </dev/null
expect_no_file "$U/carol" "report setup: exempt carol has no state"
expect_no_file "$U/bg" "report setup: break-glass bg has no state"

sd_ctl report
expect_rc 0 "report: exits 0"
expect_out_line "users with state:     7 (6 covered, 0 unknown to NSS, 0 unreadable)" \
	"report: 7 users with state, 6 covered"
expect_out_line "seen:                 5 (standard 4, privileged 1, legacy 1)" \
	"report: 5 seen in 30 days, by class"
expect_out_line "enrolled:             2 of 6 covered (2 of 5 seen)" "report: enrolment counts"
expect_out_line "admins not enrolled:  2" "report: 2 admins not enrolled"
if printf '%s\n' "$OUT" | grep -qE "^  alice +last seen ${TODAY}T"; then
	pass "report: alice listed with her last sign-in"
else fail "report: alice not listed"; fi
if printf '%s\n' "$OUT" | grep -qE "^  ed +last seen ${TODAY}T"; then
	pass "report: ed listed (seen on sudo)"
else fail "report: ed not listed"; fi
expect_not_in "  gina " "report: enrolled admin gina not listed"
expect_out_line "legacy services:      1 user" "report: one user of legacy services"
if printf '%s\n' "$OUT" | grep -qE "^  imap +bob +last use ${TODAY}T"; then
	pass "report: imap used by bob"
else fail "report: imap/bob line"; fi
if printf '%s\n' "$OUT" | grep -qE "^  pop3 +bob +last use ${TODAY}T"; then
	pass "report: pop3 used by bob"
else fail "report: pop3/bob line"; fi
expect_not_in " dave " "report: dave's imap use 40 days ago is outside the window"
expect_out_line "break-glass accounts: 1" "report: one break-glass account"
expect_out_line "  bg" "report: bg listed"
expect_out_line "exempt accounts:      3" "report: three exempt accounts"
if printf '%s\n' "$OUT" | grep -qE '^  carol +group batch$'; then pass "report: carol exempt by group"; else
	fail "report: carol line"; fi
if printf '%s\n' "$OUT" | grep -qE '^  ivy +group batch \(has state\)$'; then
	pass "report: ivy exempt by primary group"
else fail "report: ivy line"; fi
if printf '%s\n' "$OUT" | grep -qE '^  svc +exempt_users$'; then pass "report: svc exempt by name"; else
	fail "report: svc line"; fi
expect_out_line "verdict: not ready: 2 admins not enrolled (alice, ed); 1 user of legacy services (bob)" \
	"report: verdict names the admins first, then legacy users"
expect_in "mode report-only, window 30 days" "report: mode and window shown"

sd_ctl report --json
expect_rc 0 "report --json: exits 0"
expect_eq "$(json 'd["mode"], d["days"]')" "('report-only', 30)" "json: mode and days"
expect_eq "$(json 'd["users_with_state"], d["covered"], d["unknown_users"], d["unreadable"]')" \
	"(7, 6, 0, [])" "json: user counts"
expect_eq "$(json 'd["seen"], d["seen_by_class"]')" \
	"(5, {'standard': 4, 'privileged': 1, 'legacy': 1})" "json: seen by class"
expect_eq "$(json 'd["enrolled"], d["seen_enrolled"]')" "(2, 2)" "json: enrolled"
expect_eq "$(json '[a["user"] for a in d["admins_not_enrolled"]]')" "['alice', 'ed']" \
	"json: admins not enrolled"
expect_eq "$(json 'd["admins_not_enrolled"][0]["last_seen"][:11]')" "${TODAY}T" \
	"json: alice's last_seen"
expect_eq "$(json '[(s["service"], [u["user"] for u in s["users"]]) for s in d["legacy_services"]]')" \
	"[('imap', ['bob']), ('pop3', ['bob'])]" "json: legacy services per service"
expect_eq "$(json 'd["legacy_services"][0]["users"][0]["last_use"][:11]')" "${TODAY}T" \
	"json: last use of imap"
expect_eq "$(json 'd["legacy_users"]')" "1" "json: legacy user count"
expect_eq "$(json 'd["breakglass"]')" "['bg']" "json: break-glass accounts"
expect_eq "$(json '[(e["user"], e["reason"], e["has_state"]) for e in d["exempt"]]')" \
	"[('carol', 'group batch', False), ('ivy', 'group batch', True), ('svc', 'exempt_users', False)]" \
	"json: exempt accounts with reasons"
expect_eq "$(json 'd["ready"], d["verdict"]')" \
	"(False, 'not ready: 2 admins not enrolled (alice, ed); 1 user of legacy services (bob)')" \
	"json: verdict"
expect_eq "$(json 'd["generated"][:11]')" "${TODAY}T" "json: generated now"

# A wider window takes in hank and dave's old imap use.
sd_ctl report --days 60 --json
expect_eq "$(json 'd["days"], d["seen"], d["legacy_users"]')" "(60, 6, 2)" "json --days 60: counts"
expect_eq "$(json '[(s["service"], [u["user"] for u in s["users"]]) for s in d["legacy_services"]]')" \
	"[('imap', ['bob', 'dave']), ('pop3', ['bob'])]" "json --days 60: dave's imap use listed"
sd_ctl report --days 0
expect_rc 1 "report: --days 0 refused"
sd_ctl report --bogus
expect_rc 2 "report: unknown option is a usage error"

# An admin group member who never signed in is listed as never seen; an
# unreadable state file is something to fix too.
sed -i 's/^sudo:x:27:alice,gina$/sudo:x:27:alice,gina,hank/' "$T/group"
printf 'version 1\nshoe_size 42\n' >"$U/root" && chmod 0600 "$U/root"
sd_ctl report
expect_rc 0 "report: corrupt state still reports"
if printf '%s\n' "$OUT" | grep -qE '^  hank +last seen '; then pass "report: new admin hank listed"; else
	fail "report: hank not listed as admin"; fi
expect_out_line "unreadable state:     root" "report: the unreadable state is named"
expect_in "verdict: not ready: 3 admins not enrolled (alice, ed, hank); 1 user of legacy services (bob); 1 unreadable state file (root)" \
	"report: verdict lists every problem"
rm -f "$U/root"
sed -i 's/^sudo:x:27:alice,gina,hank$/sudo:x:27:alice,gina,frank/' "$T/group"
echo 'frank:x:1011:1011:Frank Admin:/home/frank:/bin/sh' >>"$T/passwd"
sd_ctl report --json
expect_eq "$(json '[(a["user"], a["last_seen"]) for a in d["admins_not_enrolled"]][-1]')" \
	"('frank', None)" "json: an admin without state is listed, never seen"
sed -i 's/^sudo:x:27:alice,gina,frank$/sudo:x:27:alice,gina/' "$T/group"

# Fixing it: enrol the admins; a month later bob's legacy use has aged out.
sd_ctl enroll alice --secret "$SECRET_B"
sd_ctl enroll ed --secret "$SECRET_B"
sd_config "$ROLES"
SD_FAKETIME=+31d sd_ctl report
expect_in "mode enforce" "report: works in enforce mode"
expect_out_line "admins not enrolled:  0" "report: no admin left to enrol"
expect_out_line "legacy services:      0 users" "report: no legacy use in the window"
expect_out_line "verdict: ready" "report: ready"
SD_FAKETIME=+31d sd_ctl report --json
expect_eq "$(json 'd["ready"], d["verdict"], d["mode"]')" "(True, 'ready', 'enforce')" "json: ready"

# Many users: passwd is enumerated once instead of looked up user by user
# (more than 256 users with state); the answers are the same. x002's primary
# group is sudo (an admin), x003's is batch (exempt).
mkdir -m 0700 "$T/big" "$T/big/users"
"$PY" - "$T" <<'PYGEN'
import os, sys, time
t = sys.argv[1]
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
with open(t + "/passwd", "a") as pw:
    for i in range(1, 301):
        gid = {2: 27, 3: 2000}.get(i, 5000 + i)
        pw.write("x%03d:x:%d:%d::/:/bin/sh\n" % (i, 5000 + i, gid))
        lines = ["version 1"]
        if i % 3 == 0:
            lines.append("enrolled " + now)
        if i % 2 == 0:
            lines += ["last_seen " + now, "last_seen_standard " + now]
        fd = os.open("%s/big/users/x%03d" % (t, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, ("\n".join(lines) + "\n").encode())
        os.close(fd)
PYGEN
sed -i 's/^sudo:x:27:alice,gina$/sudo:x:27:alice,gina,x001/' "$T/group"
printf 'state_dir = "%s";\n%s\n' "$T/big" "$ROLES" >"$CONF"
sd_ctl report --json
expect_eq "$(json 'd["users_with_state"], d["covered"], d["seen"], d["enrolled"], d["seen_enrolled"]')" \
	"(300, 299, 150, 99, 50)" "many users: counts"
expect_eq "$(json '[a["user"] for a in d["admins_not_enrolled"]]')" \
	"['alice', 'ed', 'gina', 'x001', 'x002']" \
	"many users: admins by group list and by primary group (and members without state)"
expect_eq "$(json '[e["user"] for e in d["exempt"] if e["has_state"]]')" "['x003']" \
	"many users: exempt by primary group"
sed -i 's/^sudo:x:27:alice,gina,x001$/sudo:x:27:alice,gina/' "$T/group"

# ============================================================================
# explain says which mode is active and what enforce mode would do.
# ============================================================================
sd_config "$RO" "$ROLES"
sd_ctl explain bob --service imap
expect_in "mode:     report-only" "explain: report-only mode named"
expect_in "decision: report-only: the module abstains; enforce would: deny (reason legacy-service" \
	"explain: report-only decision line"
sd_ctl explain alice --service sshd --rhost 198.51.100.7
expect_in "enforce would: prompt (reason totp-admin, TOTP because admin)" \
	"explain: report-only, enforce would prompt an admin"
sd_config "$ROLES"
sd_ctl explain bob --service imap
expect_in "decision: deny (reason legacy-service" "explain: enforce decision line unchanged"
expect_not_in "report-only" "explain: enforce says nothing of report-only"

# ============================================================================
# revoke, against sessions started here as test users whose uids no user of
# this host has. A fake loginctl that fails stands in for "no logind", so
# the test is the same on hosts that run systemd-logind.
# ============================================================================
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! command -v expect >/dev/null; then
	echo "# revoke tests skipped: they need root, setpriv and expect"
	finish
fi
free_uid() { # the first uid from $1 up that neither the host nor our passwd knows
	local u=$1
	while getent passwd "$u" >/dev/null || grep -q "^[^:]*:x:$u:" "$T/passwd" ||
		ps -eo uid= | grep -qx " *$u"; do
		u=$((u + 1))
	done
	echo "$u"
}
RU=$(free_uid 42001)
RX=$(free_uid $((RU + 1)))
RB=$(free_uid $((RX + 1)))
cat >>"$T/passwd" <<PW
revu:x:$RU:$RU:Revoke User:/nonexistent:/bin/sh
revx:x:$RX:$RX:Revoke Exempt:/nonexistent:/bin/sh
revb:x:$RB:$RB:Revoke Breakglass:/nonexistent:/bin/sh
PW
printf 'revu:x:%s:\nrevx:x:%s:\nrevb:x:%s:\n' "$RU" "$RX" "$RB" >>"$T/group"
sd_config 'roles = { exempt_users = ["revx"]; breakglass_users = ["revb"]; };'
P=$(mktemp -d /tmp/sdrevoke.XXXXXX)
chmod 0755 "$P"
mkdir -m 0755 "$P/nologind" "$P/logind"
printf '#!/bin/sh\nexit 1\n' >"$P/nologind/loginctl"
chmod 0755 "$P/nologind/loginctl"

# start_session UID [nohup]: a process in a session of its own as UID;
# its pid (the session leader) in LAST.
start_session() {
	if [ "${2:-}" = nohup ]; then
		setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
			/bin/bash -c 'trap "" HUP; exec sleep 300' </dev/null >/dev/null 2>&1 &
	else
		setsid setpriv --reuid="$1" --regid="$1" --clear-groups sleep 300 \
			</dev/null >/dev/null 2>&1 &
	fi
	LAST=$!
	disown "$LAST" # no "Hangup"/"Killed" job notices from bash
	PIDS+=("$LAST")
	local n=0
	# Ready once it runs sleep as UID and leads its own session.
	until [ "$(awk '{print $6}' "/proc/$LAST/stat" 2>/dev/null)" = "$LAST" ] &&
		grep -q "^Uid:[[:space:]]*$1[[:space:]]" "/proc/$LAST/status" 2>/dev/null &&
		[ "$(cat "/proc/$LAST/comm" 2>/dev/null)" = sleep ]; do
		n=$((n + 1))
		[ $n -gt 100 ] && break
		sleep 0.05
	done
}

alive() { # alive PID: running and not a zombie
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

expect_alive() {
	if alive "$1"; then pass "$2"; else OUT="pid $1" RC=- fail "$2 (pid $1 is gone)"; fi
}

expect_gone() {
	local n=0
	while alive "$1" && [ $n -lt 20 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if alive "$1"; then OUT="pid $1" RC=- fail "$2 (pid $1 still runs)"; else pass "$2"; fi
}

nologind_ctl() {
	PATH="$P/nologind:$PATH" sd_ctl "$@"
}

# Only revu has state (a sign-in) and revx (from before the exemption): --all
# must never reach the fake users above, whose uids a host may well use.
rm -rf "$T/state"
mkdir -m 0700 "$T/state"
sd_pam -I rhost=192.0.2.7 sshd revu </dev/null
sd_ctl enroll revx --secret "$SECRET_A"
expect_file "$U/revu" "revoke setup: revu has state"
expect_file "$U/revx" "revoke setup: revx has state"

start_session "$RU"
u1=$LAST
start_session "$RU" nohup
u2=$LAST
start_session "$RX"
x1=$LAST
start_session "$RB"
b1=$LAST
expect_alive "$u1" "revoke setup: revu session 1 runs"
expect_alive "$u2" "revoke setup: revu session 2 (ignores SIGHUP) runs"

# Without --yes and without a terminal: list, refuse, end nothing.
nologind_ctl revoke revu </dev/null
expect_rc 1 "revoke: no terminal, no --yes: exit 1"
expect_in "would end session $u1 of revu (uid $RU): leader pid $u1 (sleep)" "revoke: lists session 1"
expect_in "would end session $u2 of revu (uid $RU): leader pid $u2 (sleep)" "revoke: lists session 2"
expect_in "not on a terminal: nothing ended (run again with --yes)" "revoke: refuses without a terminal"
expect_alive "$u1" "revoke: refused: session 1 still runs"
expect_alive "$u2" "revoke: refused: session 2 still runs"

# On a terminal, answering no ends nothing.
cat >"$P/confirm.exp" <<'EXP'
set timeout 20
set answer [lindex $argv 0]
spawn -noecho {*}[lrange $argv 1 end]
expect -ex "End these sessions? \[y/N\] " { send "$answer\r" }
expect eof
catch wait r
exit [lindex $r 3]
EXP
confirm() { # confirm ANSWER ARGS...: secdefaultsctl on a terminal, answering ANSWER
	local answer=$1
	shift
	OUT=$(set -o pipefail
		PATH="$P/nologind:$PATH" timeout 30 expect -f "$P/confirm.exp" -- "$answer" \
		env LD_PRELOAD="${SD_PRELOAD_FIRST:+$SD_PRELOAD_FIRST }libnss_wrapper.so" NSS_WRAPPER_PASSWD="$T/passwd" \
		NSS_WRAPPER_GROUP="$T/group" "$CTL" --config "$CONF" "$@" 2>&1 | tr -d '\r')
	RC=$?
}
confirm n revoke revu
expect_rc 1 "revoke: answering no exits 1"
expect_in "nothing ended" "revoke: answering no ends nothing"
expect_alive "$u1" "revoke: answered no: session 1 still runs"

# Exempt and break-glass accounts are refused by name.
nologind_ctl revoke revx --yes
expect_rc 1 "revoke: exempt user refused"
expect_in "revx is exempt: its sessions are never revoked" "revoke: says why (exempt)"
nologind_ctl revoke revb --yes
expect_rc 1 "revoke: break-glass user refused"
expect_in "revb is a break-glass account" "revoke: says why (break-glass)"
nologind_ctl revoke nosuchuser --yes
expect_rc 1 "revoke: unknown user refused"
nologind_ctl revoke
expect_rc 2 "revoke: no user is a usage error"
nologind_ctl revoke revu --all
expect_rc 2 "revoke: a user and --all is a usage error"

# On a terminal, answering yes ends them: SIGHUP, then SIGKILL for the one
# that ignores it.
confirm y revoke revu
expect_rc 0 "revoke: answering yes exits 0"
expect_in "ended session $u1 of revu: pid $u1 (sleep) hung up (SIGHUP)" "revoke: session 1 hung up"
expect_in "ended session $u2 of revu: pid $u2 (sleep) killed (SIGKILL)" \
	"revoke: session 2 ignored SIGHUP and was killed"
expect_in "2 sessions ended" "revoke: count of ended sessions"
expect_gone "$u1" "revoke: session 1 is gone"
expect_gone "$u2" "revoke: session 2 is gone"
expect_alive "$x1" "revoke: the exempt user's session is untouched"
expect_alive "$b1" "revoke: the break-glass user's session is untouched"

# --all --yes: every user with state but the exempt (revx has state) and
# break-glass ones.
start_session "$RU"
u3=$LAST
nologind_ctl revoke --all --yes
expect_rc 0 "revoke --all --yes: exit 0"
expect_in "not revoked: revx (exempt)" "revoke --all: the exempt user with state is skipped"
expect_in "ended session $u3 of revu: pid $u3 (sleep) hung up (SIGHUP)" "revoke --all: revu's session ended"
expect_gone "$u3" "revoke --all: revu's session is gone"
expect_alive "$x1" "revoke --all: exempt session untouched"
expect_alive "$b1" "revoke --all: break-glass session untouched"
nologind_ctl revoke --all --yes
expect_in "nothing to end" "revoke --all: nothing left to end"

# Never the caller's own session: revu runs revoke from a session of its
# own (its shell becomes the command: the session leader) while another
# session of revu runs; a job in the caller's session is left alone too.
start_session "$RU"
u4=$LAST
cp "$T/passwd" "$T/group" "$P/"
chmod 0644 "$P/passwd" "$P/group"
printf 'state_dir = "%s";\nroles = { exempt_users = ["revx"]; breakglass_users = ["revb"]; };\n' \
	"$T/state" >"$P/conf"
chmod 0644 "$P/conf"
mkdir -m 0777 "$P/w"
OUT=$(PATH="$P/nologind:$PATH" setsid setpriv --reuid="$RU" --regid="$RU" --clear-groups \
	env LD_PRELOAD="${SD_PRELOAD_FIRST:+$SD_PRELOAD_FIRST }libnss_wrapper.so" NSS_WRAPPER_PASSWD="$P/passwd" NSS_WRAPPER_GROUP="$P/group" \
	/bin/bash -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! >"$0/w/member"; exec "$1" --config "$0/conf" revoke revu --yes' \
	"$P" "$CTL" </dev/null 2>&1)
RC=$?
member=$(cat "$P/w/member" 2>/dev/null)
[ -n "$member" ] && PIDS+=("$member")
expect_rc 0 "revoke: run by revu from its own session exits 0"
expect_in "ended session $u4 of revu" "revoke: revu's other session ended"
expect_not_in "of revu: pid $member " "revoke: the caller's own session is not touched"
expect_gone "$u4" "revoke: the other session is gone"
expect_alive "$member" "revoke: the job in the caller's session still runs"
kill -KILL "$member" 2>/dev/null

# With systemd-logind (a fake loginctl here): whole users through
# terminate-user; when the caller's own session is the user's, only the
# other sessions, one by one.
cat >"$P/logind/loginctl" <<SH
#!/bin/sh
echo "\$*" >>"$P/loginctl.log"
case "\$1" in
list-sessions) printf '%s\n' "     7 $RU revu seat0 tty2" "     8 $RU revu - pts/1" \
	"     9 $RX revx - pts/2" "    10 0 root - pts/3"; exit 0 ;;
terminate-user|terminate-session) exit 0 ;;
esac
exit 1
SH
chmod 0755 "$P/logind/loginctl"
PATH="$P/logind:$PATH" sd_ctl revoke revu </dev/null
expect_rc 1 "logind: no terminal, no --yes: exit 1"
expect_in "would end logind session 7 of revu (uid $RU)" "logind: lists session 7"
expect_in "would end logind session 8 of revu (uid $RU)" "logind: lists session 8"
expect_not_in "session 9" "logind: the exempt user's session is not listed"
if grep -q terminate "$P/loginctl.log"; then fail "logind: refused run terminated something"; else
	pass "logind: refused run terminates nothing"; fi
PATH="$P/logind:$PATH" sd_ctl revoke revu --yes
expect_rc 0 "logind: revoke --yes exits 0"
expect_in "ended 2 logind sessions of revu (loginctl terminate-user)" "logind: terminate-user used"
expect_eq "$(grep terminate "$P/loginctl.log")" "terminate-user $RU" "logind: loginctl terminate-user UID"
: >"$P/loginctl.log"
XDG_SESSION_ID=7 PATH="$P/logind:$PATH" sd_ctl revoke revu --yes
expect_in "leaving logind session 7 of revu alone: it is yours" "logind: the caller's session is spared"
expect_eq "$(grep terminate "$P/loginctl.log")" "terminate-session 8" \
	"logind: only the other session is terminated"
: >"$P/loginctl.log"
PATH="$P/logind:$PATH" sd_ctl revoke --all --yes
expect_eq "$(grep terminate "$P/loginctl.log")" "terminate-user $RU" \
	"logind --all: only revu (revx exempt, root has no state)"

expect_alive "$x1" "revoke: at the end the exempt session still runs"
expect_alive "$b1" "revoke: at the end the break-glass session still runs"
finish
