#!/bin/bash
# The account phase (pam_sm_acct_mgmt): legacy, noninteractive, grace,
# compromised accounts; and row 9 of the auth phase for a compromised user
# who is not enrolled.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
sd_service imap
sd_service cron

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
COMPROMISED_MSG="compromised: contact an administrator"

# Legacy services are refused; only the attempt is recorded (once a day, for
# the rollout report: t_rollout.sh), no grace clock.
sd_pam imap bob acct_mgmt
expect_result "$PERM_DENIED" "legacy: account phase denied"
expect_log "legacy: log" user=bob service=imap class=legacy decision=deny reason=legacy-service
expect_state_not bob '^grace_start ' "legacy: no grace clock started"
expect_state bob "^legacy_service imap $ISO\$" "legacy: the attempt is recorded for the report"
sd_ctl enroll dave --secret "$SECRET_A"
sd_pam imap dave acct_mgmt
expect_result "$PERM_DENIED" "legacy: denied for an enrolled user too"
sd_pam imap alice acct_mgmt
expect_result "$PERM_DENIED" "legacy: denied for an admin too"

# Noninteractive services: the module abstains and records nothing.
before=$(snapshot)
sd_pam cron bob acct_mgmt
expect_result ignore "noninteractive: account phase abstains"
expect_log "noninteractive: log" user=bob service=cron class=noninteractive decision=ignore \
	reason=noninteractive
expect_state_not bob '^grace_start ' "noninteractive: no grace clock started"
if [ "$(snapshot)" = "$before" ]; then
	pass "noninteractive: nothing written"
else
	fail "noninteractive: the state changed"
fi

# Not enrolled, in grace: allowed, and the clock starts.
sd_pam sshd bob acct_mgmt
expect_result success "grace: unenrolled user allowed in the account phase"
expect_log "grace: log" user=bob role=user service=sshd decision=allow reason=grace rule=10
expect_state bob "^grace_start $ISO\$" "grace: acct_mgmt starts the grace clock"
# In enforce mode a sign-in that changes nothing writes nothing, not even
# an observation (those ride on writes made anyway: t_rollout.sh).
before=$(snapshot)
SD_FAKETIME=+13d sd_pam sshd bob acct_mgmt
expect_result success "grace: still allowed at +13d"
if [ "$(snapshot)" = "$before" ]; then
	pass "grace: a second acct_mgmt writes nothing"
else
	fail "grace: a second acct_mgmt changed the state"
fi

# Not enrolled, grace over: denied.
SD_FAKETIME=+15d sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "grace over: account phase denied"
expect_log "grace over: log" user=bob decision=deny reason=grace-expired rule=11
expect_state bob "^grace_ended $ISO\$" "grace over: grace_ended recorded"
sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "grace over: still denied with the real clock"

# Enrolled: allowed, nothing written.
before=$(snapshot)
sd_pam sshd dave acct_mgmt
expect_result success "enrolled: account phase allowed"
expect_log "enrolled: log" user=dave decision=allow reason=enrolled rule=13
if [ "$(snapshot)" = "$before" ]; then
	pass "enrolled: acct_mgmt writes nothing"
else
	fail "enrolled: acct_mgmt changed the state"
fi
sd_ctl enroll alice --secret "$SECRET_B"
sd_pam -I rhost=198.51.100.7 sshd alice acct_mgmt
expect_result success "enrolled: admin allowed in the account phase (no prompt there)"
expect_not_in "Verification code" "enrolled: the account phase never prompts"

# Compromised, enrolled, TOTP passed just now: a new password is required.
sd_ctl flag dave --reason "found in a leak"
expect_rc 0 "compromised: flag dave"
sd_pam sshd dave acct_mgmt
expect_result "$PERM_DENIED" "compromised: no TOTP passed yet: denied"
expect_log "compromised: no TOTP log" user=dave decision=deny reason=compromised rule=9
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_result success "compromised: auth with a code passes"
expect_log "compromised: auth log" user=dave decision=allow reason=totp-compromised
sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$NEW_AUTHTOK" "compromised: recent TOTP: new password required"
expect_in "Your password may be compromised: change it now." "compromised: user told to change it"
expect_log "compromised: new-authtok log" user=dave decision=new-authtok \
	reason=compromised-change-password rule=9
SD_FAKETIME=+4m sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$NEW_AUTHTOK" "compromised: still a password change 4 minutes later"
SD_FAKETIME=+10m sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result "$PERM_DENIED" "compromised: TOTP 10 minutes ago: denied"
expect_log "compromised: stale TOTP log" user=dave decision=deny reason=compromised rule=9
expect_not_in "change it now" "compromised: no password-change message when denied"
expect_state dave "^compromised $ISO found in a leak\$" "compromised: flag kept"

# Compromised and not enrolled: auth denied without a prompt (row 9).
sd_ctl flag carol
expect_rc 0 "compromised, not enrolled: flag carol"
sd_pam -I rhost=192.0.2.7 sshd carol </dev/null
expect_result "$AUTH_ERR" "compromised, not enrolled: auth denied"
expect_not_in "Verification code" "compromised, not enrolled: no prompt"
expect_in "$COMPROMISED_MSG" "compromised, not enrolled: told to contact an administrator"
expect_not_in "Two-step verification will be required" "compromised, not enrolled: no grace message"
expect_log "compromised, not enrolled: log" user=carol decision=deny \
	reason=compromised-not-enrolled rule=9
expect_state_not carol "^grace_start " "compromised, not enrolled: no grace clock started"
sd_pam sshd carol acct_mgmt
expect_result "$PERM_DENIED" "compromised, not enrolled: account phase denied"
expect_log "compromised, not enrolled: account log" user=carol decision=deny reason=compromised

# Dismissed: back to normal.
sd_ctl dismiss dave
expect_rc 0 "dismiss dave"
expect_state_not dave "^compromised " "dismiss: flag cleared"
sd_pam -I rhost=192.0.2.7 sshd dave acct_mgmt
expect_result success "dismiss: account phase allowed again"
expect_log "dismiss: log" user=dave decision=allow reason=enrolled rule=13
sd_ctl dismiss carol
sd_pam sshd carol acct_mgmt
expect_result success "dismiss: unenrolled user back in grace"
expect_log "dismiss: grace log" user=carol decision=allow reason=grace

finish
