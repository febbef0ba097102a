#!/bin/bash
# Lockout: lockout.max_failures consecutive wrong codes lock TOTP sign-in for
# lockout.lock_minutes (row 9); earlier failures force a prompt (row 12);
# secdefaultsctl unlock; the account phase never resets the counters.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
sd_service login
sd_service sudo

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'

# The value of KEY in USER's state file.
state_value() {
	sd_state_text "$1" | sed -n "s/^$2 //p"
}

# expect_near EPOCH WANT SLACK DESC
expect_near() {
	local got=$1 want=$2 slack=$3
	if [ -n "$got" ] && [ $((got - want)) -le "$slack" ] && [ $((want - got)) -le "$slack" ]; then
		pass "$4"
	else
		fail "$4 (got ${got:-nothing}, want $want +- $slack)"
	fi
}

# ---------------------------------------------------------------- 5 wrong codes
sd_ctl enroll dave --secret "$SECRET_A"
expect_rc 0 "enroll dave"
svcs=(sshd sshd sshd login login)
for n in 1 2 3 4 5; do
	svc=${svcs[n - 1]}
	t_before=$(date +%s)
	sd_pam -I rhost=198.51.100.7 "$svc" dave <<<"$(sd_wrong_code "$SECRET_A")"
	expect_result "$AUTH_ERR" "failure $n ($svc): wrong code denied"
	expect_in "Verification code for dave@" "failure $n: prompted"
	expect_log "failure $n: log" user=dave service="$svc" decision=deny reason=totp-wrong-code
	expect_state dave "^failures $n\$" "failure $n: failures $n in state"
	if [ $n -lt 5 ]; then
		expect_not_in "locked until" "failure $n: not locked yet"
		expect_state_not dave "^locked_until " "failure $n: no locked_until yet"
	fi
done
expect_in "Too many failures: locked until " "failure 5: the reply says locked until"
expect_state dave "^locked_until $ISO\$" "failure 5: locked_until in state"
until_iso=$(state_value dave locked_until)
expect_near "$(date -u -d "$until_iso" +%s)" $((t_before + 900)) 5 "failure 5: locked for 15 minutes"
expect_in "locked until $until_iso." "failure 5: the reply names the time in the state"

# Locked: the right code gets no prompt.
before=$(snapshot)
sd_wait_step
sd_pam -I rhost=198.51.100.7 sshd dave <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "locked: right code denied"
expect_not_in "Verification code" "locked: no prompt"
expect_in "try again after $until_iso." "locked: told when to try again"
expect_log "locked: log" user=dave decision=deny reason=locked rule=9
if [ "$(snapshot)" = "$before" ]; then
	pass "locked: a refused sign-in while locked writes nothing"
else
	fail "locked: state changed while locked"
fi
sd_pam sudo dave </dev/null
expect_result "$AUTH_ERR" "locked: privileged service denied too"
expect_not_in "Verification code" "locked: no prompt on sudo"
expect_log "locked: sudo log" service=sudo decision=deny reason=locked
sd_wait_step
SD_FAKETIME=+14m sd_pam -I rhost=198.51.100.7 sshd dave <<<"$(SD_FAKETIME=+14m sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "locked: still denied at +14m"
expect_log "locked: +14m log" decision=deny reason=locked

# After lock_minutes: the right code works and the counters are cleared.
sd_wait_step
SD_FAKETIME=+16m sd_pam -I rhost=198.51.100.7 sshd dave <<<"$(SD_FAKETIME=+16m sd_code "$SECRET_A")"
expect_result success "unlocked at +16m: right code accepted"
expect_in "Verification code for dave@" "unlocked at +16m: prompted"
expect_log "unlocked at +16m: log" user=dave decision=allow rule=12
expect_state_not dave "^failures " "unlocked at +16m: failures cleared"
expect_state_not dave "^locked_until " "unlocked at +16m: locked_until cleared"

# ---------------------------------------------------------------- configurable
sd_config 'lockout = { max_failures = 2; lock_minutes = 1; };'
sd_ctl enroll carol --secret "$SECRET_B"
sd_pam -I rhost=198.51.100.7 sshd carol <<<"$(sd_wrong_code "$SECRET_B")"
expect_result "$AUTH_ERR" "max_failures = 2: first wrong code denied"
expect_state carol "^failures 1\$" "max_failures = 2: failures 1"
expect_state_not carol "^locked_until " "max_failures = 2: not locked after one"
t_before=$(date +%s)
sd_pam -I rhost=198.51.100.7 sshd carol <<<"$(sd_wrong_code "$SECRET_B")"
expect_result "$AUTH_ERR" "max_failures = 2: second wrong code denied"
expect_in "locked until" "max_failures = 2: locked after two"
expect_state carol "^failures 2\$" "max_failures = 2: failures 2"
expect_near "$(date -u -d "$(state_value carol locked_until)" +%s)" $((t_before + 60)) 5 \
	"lock_minutes = 1: locked for one minute"
sd_wait_step
sd_pam -I rhost=198.51.100.7 sshd carol <<<"$(sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "lock_minutes = 1: right code denied while locked"
expect_log "lock_minutes = 1: log" user=carol reason=locked
sd_wait_step
SD_FAKETIME=+2m sd_pam -I rhost=198.51.100.7 sshd carol <<<"$(SD_FAKETIME=+2m sd_code "$SECRET_B")"
expect_result success "lock_minutes = 1: right code accepted at +2m"
expect_state_not carol "^(failures|locked_until) " "lock_minutes = 1: counters cleared"
sd_config

# ---------------------------------------------------------------- unlock
sd_ctl enroll bob --secret "$SECRET_B"
for n in 1 2 3 4 5; do
	sd_pam -I rhost=192.0.2.7 sshd bob <<<"$(sd_wrong_code "$SECRET_B")"
done
expect_state bob "^failures 5\$" "unlock: bob has 5 failures"
expect_state bob "^locked_until " "unlock: bob is locked"
sd_pam -I rhost=192.0.2.7 sshd bob </dev/null
expect_log "unlock: bob is refused" user=bob decision=deny reason=locked
sd_ctl unlock bob
expect_rc 0 "unlock: secdefaultsctl unlock bob succeeds"
expect_state_not bob "^(failures|locked_until) " "unlock: counters cleared in state"
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd bob <<<"$(sd_code "$SECRET_B")"
expect_result success "unlock: right code accepted at once"
expect_log "unlock: no failures left (reason is the location)" user=bob decision=allow \
	reason=totp-new-location

# ---------------------------------------------------------------- failures force a prompt
sd_pam -I rhost=192.0.2.8 sshd bob </dev/null
expect_result success "failures: known location not prompted before a failure"
expect_not_in "Verification code" "failures: no prompt before a failure"
sd_pam -I rhost=198.51.100.9 sshd bob <<<"$(sd_wrong_code "$SECRET_B")"
expect_result "$AUTH_ERR" "failures: one wrong code from elsewhere"
expect_state bob "^failures 1\$" "failures: failures 1"
sd_pam -I rhost=192.0.2.8 sshd bob </dev/null
expect_in "Verification code for bob@" "failures: known location prompted after a failure"
expect_result "$AUTH_ERR" "failures: denied without a code"
expect_log "failures: log" user=bob decision=deny reason=conversation-failed
sd_wait_step
SD_FAKETIME=+30 sd_pam -I rhost=192.0.2.8 sshd bob <<<"$(SD_FAKETIME=+30 sd_code "$SECRET_B")"
expect_result success "failures: right code from the known location"
expect_log "failures: reason" user=bob decision=allow reason=totp-failures rule=12
expect_state_not bob "^failures " "failures: cleared by a right code"
SD_FAKETIME=+30 sd_pam -I rhost=192.0.2.8 sshd bob </dev/null
expect_result success "failures: known location not prompted again"
expect_not_in "Verification code" "failures: no prompt after the counter was cleared"

# ---------------------------------------------------------------- account phase
sd_ctl enroll bg --secret "$SECRET_A"
sd_pam -I rhost=192.0.2.7 sshd bg <<<"$(sd_wrong_code "$SECRET_A")"
expect_state bg "^failures 1\$" "account: bg has 1 failure"
before=$(snapshot)
sd_pam -I rhost=192.0.2.7 sshd bg acct_mgmt
expect_result success "account: enrolled user passes the account phase"
expect_log "account: log" user=bg decision=allow reason=enrolled
expect_state bg "^failures 1\$" "account: failures still 1 after acct_mgmt"
if [ "$(snapshot)" = "$before" ]; then
	pass "account: acct_mgmt wrote nothing"
else
	fail "account: acct_mgmt changed the state"
fi
for n in 2 3 4 5; do
	sd_pam -I rhost=192.0.2.7 sshd bg <<<"$(sd_wrong_code "$SECRET_A")"
done
expect_state bg "^failures 5\$" "account: bg locked with 5 failures"
lock=$(state_value bg locked_until)
sd_pam -I rhost=192.0.2.7 sshd bg acct_mgmt
SD_FAKETIME=+16m sd_pam -I rhost=192.0.2.7 sshd bg acct_mgmt
expect_state bg "^failures 5\$" "account: failures still 5 after acct_mgmt (locked and after the lock)"
expect_state bg "^locked_until $lock\$" "account: locked_until untouched by acct_mgmt"

finish
