#!/bin/bash
# Decision-table rows 10 and 11: the grace period of users who have not
# registered for TOTP, in the auth and the account phase. Most of it runs
# with enrollment.at_login = false (grace, then the administrator command);
# the end checks the same clock with enrolment at sign-in (the default).
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

NOLOGIN='enrollment = { at_login = false; };'
sd_config "$NOLOGIN"
sd_service sshd

# Content, mtime and inode of a file: a rewrite changes at least one.
stamp() {
	{ cat "$1"; stat -c '%y %i' "$1"; } 2>&1 | md5sum
}

# The UTC date SD_FAKETIME (or now) points at.
fake_date() {
	if [ -n "${1:-}" ]; then
		env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" date -u +%F
	else
		date -u +%F
	fi
}

GRACE_MSG="Two-step verification will be required"

# First successful sign-in starts the clock.
expect_no_file "$T/state/users/bob" "no state before the first sign-in"
sd_pam sshd bob
expect_result success "row 10: first sign-in of an unenrolled user is allowed"
expect_in "you have 14 days left to set it up" "row 10: user told 14 days are left"
expect_log "row 10: log" user=bob role=user decision=allow reason=grace rule=10
expect_state bob "^grace_start $(fake_date)T" "row 10: grace_start written at the first sign-in"
expect_state_not bob "^(grace_ended|enrolled|failures|locked_until) " "row 10: nothing else recorded"
before=$(stamp "$T/state/users/bob")
start_line=$(grep '^grace_start ' "$T/state/users/bob")

# A second sign-in changes nothing.
sd_pam sshd bob
expect_result success "row 10: second sign-in allowed"
expect_in "you have 14 days left" "row 10: still 14 days on the same day"
if [ "$(stamp "$T/state/users/bob")" = "$before" ]; then
	pass "row 10: second sign-in writes nothing (content, mtime, inode)"
else
	fail "row 10: second sign-in rewrote the state file"
fi

# Days left count down.
SD_FAKETIME=+10d sd_pam sshd bob
expect_result success "row 10: allowed at +10d"
expect_in "you have 4 days left to set it up" "row 10: 4 days left at +10d"
expect_log "row 10: log at +10d" decision=allow reason=grace
if [ "$(grep '^grace_start ' "$T/state/users/bob")" = "$start_line" ]; then
	pass "row 10: grace_start is not moved by later sign-ins"
else
	fail "row 10: grace_start moved"
fi
SD_FAKETIME=+13d sd_pam sshd bob
expect_in "you have 1 day left to set it up" "row 10: singular on the last day"

# Grace over: denied with the admin command, and the end is recorded.
SD_FAKETIME=+15d sd_pam sshd bob
expect_result "$AUTH_ERR" "row 11: denied at +15d"
expect_in "secdefaultsctl enroll bob" "row 11: message names the admin command"
expect_not_in "$GRACE_MSG" "row 11: no days-left message"
expect_not_in "Verification code" "row 11: no prompt"
expect_log "row 11: log" user=bob decision=deny reason=grace-expired rule=11
expect_state bob "^grace_ended $(fake_date +15d)T" "row 11: grace_ended recorded"
expect_state bob "^grace_start ${start_line#grace_start }\$" "row 11: grace_start kept"

# Setting the clock back does not reopen grace.
SD_FAKETIME=+1d sd_pam sshd bob
expect_result "$AUTH_ERR" "row 11: still denied with the clock set back to +1d"
expect_log "row 11: log with the clock set back" decision=deny reason=grace-expired
sd_pam sshd bob
expect_result "$AUTH_ERR" "row 11: still denied at the real time"
sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "row 11: account phase denied after grace ended"

# The account phase starts the clock for a user who never ran auth
# (SSH public key), and denies after grace.
sd_pam sshd dave acct_mgmt
expect_result success "account: unenrolled user in grace allowed"
expect_log "account: log" user=dave decision=allow reason=grace rule=10
expect_state dave "^grace_start $(fake_date)T" "account: grace_start written by acct_mgmt"
SD_FAKETIME=+10d sd_pam sshd dave acct_mgmt
expect_result success "account: still allowed at +10d"
SD_FAKETIME=+15d sd_pam sshd dave acct_mgmt
expect_result "$PERM_DENIED" "account: denied after grace (+15d)"
expect_log "account: log after grace" user=dave decision=deny reason=grace-expired rule=11
expect_state dave "^grace_ended $(fake_date +15d)T" "account: grace_ended recorded"
sd_pam sshd dave
expect_result "$AUTH_ERR" "account: auth denied too once grace ran out"

# An enrolled user is not subject to grace, even one whose grace ran out.
sd_ctl enroll bob --secret "$SECRET_A"
expect_rc 0 "enroll bob after his grace ran out"
sd_wait_step
code=$(SD_FAKETIME=+20d sd_code "$SECRET_A")
SD_FAKETIME=+20d sd_pam sshd bob <<<"$code"
expect_result success "enrolled: signs in at +20d with a code"
expect_in "Verification code" "enrolled: TOTP instead of the grace rule"
expect_log "enrolled: log" user=bob decision=allow reason=totp-new-location rule=12
expect_not_in "$GRACE_MSG" "enrolled: no grace message"
SD_FAKETIME=+20d sd_pam sshd bob acct_mgmt
expect_result success "enrolled: account phase allowed at +20d"
expect_log "enrolled: account log" user=bob decision=allow reason=enrolled rule=13

# An enrolled user who never signed in before: no grace clock at all.
sd_ctl enroll svc --secret "$SECRET_B"
sd_wait_step
code=$(SD_FAKETIME=+40d sd_code "$SECRET_B")
SD_FAKETIME=+40d sd_pam sshd svc <<<"$code"
expect_result success "enrolled: never-seen enrolled user signs in at +40d"
expect_state_not svc "^grace_(start|ended) " "enrolled: no grace clock for an enrolled user"

# grace_days = 0: no grace at all.
sd_config "$NOLOGIN" 'grace_days = 0;'
sd_pam sshd carol
expect_result "$AUTH_ERR" "grace_days = 0: denied at the first sign-in"
expect_in "secdefaultsctl enroll carol" "grace_days = 0: told the admin command"
expect_not_in "$GRACE_MSG" "grace_days = 0: no days-left message"
expect_log "grace_days = 0: log" user=carol decision=deny reason=grace-expired rule=11
expect_state_not carol "^grace_start " "grace_days = 0: no clock started"
sd_pam sshd ed acct_mgmt
expect_result "$PERM_DENIED" "grace_days = 0: account phase denied too"

# grace_days = 3 is honoured.
sd_config "$NOLOGIN" 'grace_days = 3;'
sd_pam sshd bg
expect_result success "grace_days = 3: first sign-in allowed"
expect_in "you have 3 days left" "grace_days = 3: 3 days left"
SD_FAKETIME=+2d sd_pam sshd bg
expect_result success "grace_days = 3: allowed at +2d"
expect_in "you have 1 day left" "grace_days = 3: 1 day left at +2d"
SD_FAKETIME=+3d sd_pam sshd bg
expect_result "$AUTH_ERR" "grace_days = 3: denied at +3d"
expect_log "grace_days = 3: log" user=bg decision=deny reason=grace-expired

# enrollment.at_login = true (the default): the same clock, with enrolment
# offered at sign-in during grace (an empty answer skips) and required after.
sd_config
OFFER="Set up two-step verification now (14 days left before it is required)."
sd_pam -I rhost=192.0.2.7 sshd alice <<<""
expect_result success "at_login: in grace, an empty answer skips set-up"
expect_in "$OFFER" "at_login: offer names the days left"
expect_in "Code from the app to finish set-up (Enter to skip): " "at_login: skippable prompt"
expect_log "at_login: skipped log" user=alice role=admin decision=allow reason=grace-enroll-skipped \
	rule=10
expect_state alice "^grace_start $(fake_date)T" "at_login: the offer starts the clock"
expect_state_not alice "^enrolled " "at_login: skipping does not enrol"
key=$(printf '%s\n' "$OUT" | sed -n 's/.*or enter the key \([A-Z2-7]\{16,\}\).*/\1/p' | head -n 1)
if [ -n "$key" ]; then
	pass "at_login: the key is shown"
else
	fail "at_login: no key in the offer"
fi
expect_no_file "$T/state/secrets/alice" "at_login: an offer not taken stores no key"
before=$(snapshot)
sd_pam -I rhost=192.0.2.7 sshd alice </dev/null
expect_result success "at_login: in grace, a client that cannot answer is let in"
expect_not_in "or enter the key $key" "at_login: every offer shows a new key"
if [ "$(snapshot)" = "$before" ]; then
	pass "at_login: a second offer writes nothing"
else
	fail "at_login: a second offer changed the state directory"
fi
SD_FAKETIME=+10d sd_pam -I rhost=192.0.2.7 sshd alice <<<""
expect_in "(4 days left before it is required)" "at_login: 4 days left at +10d"

SD_FAKETIME=+15d sd_pam -I rhost=192.0.2.7 sshd alice <<<""
expect_result "$AUTH_ERR" "at_login: after grace, skipping is refused"
expect_in "Two-step verification is required. Set it up now to sign in." "at_login: told it is required"
expect_in "Code from the app to finish set-up: " "at_login: prompt without a skip"
expect_log "at_login: refused log" user=alice decision=deny reason=enroll-required rule=11
expect_state alice "^grace_ended $(fake_date +15d)T" "at_login: grace_ended recorded"
sd_wait_step
SD_FAKETIME=+15d sd_pam_enrol wrong -I rhost=192.0.2.7 sshd alice
expect_rc 1 "at_login: a wrong first code is refused"
expect_log "at_login: wrong code log" user=alice decision=deny reason=enroll-wrong-code rule=11
expect_state alice "^failures 1\$" "at_login: the wrong code counts as a failure"
expect_state_not alice "^enrolled " "at_login: not enrolled by a wrong code"
expect_no_file "$T/state/secrets/alice" "at_login: no key stored after a wrong code"
SD_FAKETIME=+15d sd_pam_enrol code -I rhost=192.0.2.7 sshd alice
expect_rc 0 "at_login: after grace, the first code finishes set-up and admits"
expect_log "at_login: enrolled log" user=alice decision=allow reason=enrolled-at-login rule=11
expect_state alice "^enrolled $(fake_date +15d)T" "at_login: enrolled recorded"
expect_state_not alice "^failures " "at_login: failures cleared"
if grep -q "^key $KEY\$" "$T/state/secrets/alice"; then
	pass "at_login: the key shown is the key stored"
else
	fail "at_login: stored key differs from the key shown"
fi
SD_FAKETIME=+15d sd_pam -I rhost=192.0.2.7 sshd alice acct_mgmt
expect_result success "at_login: account phase allowed once enrolled"
sd_pam -I rhost=192.0.2.7 sshd root acct_mgmt
SD_FAKETIME=+15d sd_pam -I rhost=192.0.2.7 sshd root acct_mgmt
expect_result "$PERM_DENIED" "at_login: the account phase never offers: denied after grace"

finish
