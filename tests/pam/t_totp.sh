#!/bin/bash
# Decision-table rows 12 and 13: when enrolled users are asked for a code,
# and how the code is checked (format, digits, window, replay).
# Each accepted code must come from a new step, so successive successful
# sign-ins of one user run at +30s, +60s ... (SD_FAKETIME), never at an
# earlier offset than the last one.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
sd_service login
sd_service sudo

HOST=$(hostname)
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'

# The step a code computed now (under SD_FAKETIME) belongs to.
step_now() {
	local off=${SD_FAKETIME:-+0}
	off=${off#+}
	echo $((($(date +%s) + off) / 30))
}

# ---------------------------------------------------------------- admins
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "enroll alice"

sd_wait_step
code=$(sd_code "$SECRET_A")
sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result success "admin: correct code accepted"
expect_in "Verification code for alice@$HOST: " "admin: prompted (default prompt names user@host)"
expect_log "admin: log" user=alice role=admin service=sshd rhost=192.0.2.7 decision=allow \
	reason=totp-admin rule=12
expect_state alice "^location 192\.0\.2\.0/24 $ISO\$" "admin: location remembered"
expect_state alice "^last_totp $ISO\$" "admin: last_totp recorded"
expect_state_not alice "^failures " "admin: no failures"

sd_wait_step
code=$(SD_FAKETIME=+30 sd_code "$SECRET_A")
SD_FAKETIME=+30 sd_pam -I rhost=192.0.2.99 sshd alice <<<"$code"
expect_result success "admin: same /24 again: correct code accepted"
expect_in "Verification code for alice@" "admin: prompted again from the same /24"
expect_log "admin: log from the same /24" user=alice decision=allow reason=totp-admin

wrong=$(SD_FAKETIME=+30 sd_wrong_code "$SECRET_A")
SD_FAKETIME=+30 sd_pam -I rhost=192.0.2.99 sshd alice <<<"$wrong"
expect_result "$AUTH_ERR" "admin: wrong code denied"
expect_in "Wrong verification code." "admin: told the code was wrong"
expect_log "admin: wrong code log" user=alice decision=deny reason=totp-wrong-code
expect_state alice "^failures 1\$" "admin: failures 1 after a wrong code"
expect_state_not alice "^locked_until " "admin: not locked after one failure"

# Replay: an accepted code is refused afterwards, on every service. (The
# older step must stay inside the window for the whole block.)
sd_wait_step 10
prev=$(SD_FAKETIME=+60 sd_code "$SECRET_A" -30)
code=$(SD_FAKETIME=+60 sd_code "$SECRET_A")
want_step=$(SD_FAKETIME=+60 step_now)
SD_FAKETIME=+60 sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result success "replay: code accepted once (sshd)"
expect_state alice "^last_step $want_step\$" "replay: last_step is the step of the accepted code"
expect_state_not alice "^failures " "replay: success clears failures"
SD_FAKETIME=+60 sd_pam -I rhost=192.0.2.7 login alice <<<"$code"
expect_result "$AUTH_ERR" "replay: same code refused on another service (login)"
expect_in "already used" "replay: user told the code was used"
expect_log "replay: log (login)" user=alice service=login decision=deny reason=totp-replay
SD_FAKETIME=+60 sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result "$AUTH_ERR" "replay: same code refused again on sshd"
expect_log "replay: log (sshd)" service=sshd decision=deny reason=totp-replay
SD_FAKETIME=+60 sd_pam -I rhost=192.0.2.7 sshd alice <<<"$prev"
expect_result "$AUTH_ERR" "replay: an older step inside the window is refused"
expect_log "replay: older step log" decision=deny reason=totp-replay
expect_state alice "^failures 3\$" "replay: every refused code counts as a failure"

# Root (uid 0) and a wheel member are admins too: prompted from anywhere.
sd_ctl enroll ed --secret "$SECRET_B"
sd_pam sshd ed </dev/null
expect_result "$AUTH_ERR" "admin: ed without a code is denied"
expect_in "Verification code for ed@" "admin: wheel member prompted"
expect_log "admin: ed log" user=ed role=admin reason=conversation-failed

# ---------------------------------------------------------------- users and locations
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 0 "enroll bob"

sd_wait_step
code=$(sd_code "$SECRET_B")
sd_pam -I rhost=192.0.2.7 sshd bob <<<"$code"
expect_result success "location: first sign-in from 192.0.2.7 with a code"
expect_in "Verification code for bob@" "location: prompted from a new location"
expect_log "location: new-location log" user=bob role=user rhost=192.0.2.7 decision=allow \
	reason=totp-new-location rule=12
expect_state bob "^location 192\.0\.2\.0/24 $ISO\$" "location: 192.0.2.0/24 remembered"

before=$(snapshot)
sd_pam -I rhost=192.0.2.99 sshd bob </dev/null
expect_result success "location: same /24 (192.0.2.99) allowed"
expect_not_in "Verification code" "location: same /24 not prompted"
expect_log "location: known-location log" user=bob rhost=192.0.2.99 decision=allow \
	reason=known-location rule=13
if [ "$(snapshot)" = "$before" ]; then
	pass "location: known location writes nothing"
else
	fail "location: known location changed the state directory"
fi
sd_pam -I rhost=::ffff:192.0.2.50 sshd bob </dev/null
expect_result success "location: IPv4-mapped address in the same /24 not prompted"

sd_pam -I rhost=198.51.100.7 sshd bob </dev/null
expect_result "$AUTH_ERR" "location: other network without a code denied"
expect_in "Verification code for bob@" "location: other network (198.51.100.7) prompted"
expect_log "location: other network log" rhost=198.51.100.7 decision=deny reason=conversation-failed
sd_wait_step
code=$(SD_FAKETIME=+30 sd_code "$SECRET_B")
SD_FAKETIME=+30 sd_pam -I rhost=198.51.100.7 sshd bob <<<"$code"
expect_result success "location: other network with a code"
expect_log "location: other network reason" decision=allow reason=totp-new-location
expect_state bob "^location 198\.51\.100\.0/24 $ISO\$" "location: 198.51.100.0/24 remembered"
expect_state bob "^location 192\.0\.2\.0/24 $ISO\$" "location: the first one is kept"

# IPv6: the /64.
sd_wait_step
code=$(SD_FAKETIME=+60 sd_code "$SECRET_B")
SD_FAKETIME=+60 sd_pam -I rhost=2001:db8:1:2::5 sshd bob <<<"$code"
expect_result success "ipv6: first sign-in from 2001:db8:1:2::5 with a code"
expect_in "Verification code for bob@" "ipv6: prompted"
expect_log "ipv6: log" rhost=2001:db8:1:2::5 decision=allow reason=totp-new-location
expect_state bob "^location 2001:db8:1:2::/64 $ISO\$" "ipv6: the /64 remembered"
before=$(snapshot)
SD_FAKETIME=+60 sd_pam -I rhost=2001:db8:1:2::9 sshd bob </dev/null
expect_result success "ipv6: same /64 (2001:db8:1:2::9) allowed"
expect_not_in "Verification code" "ipv6: same /64 not prompted"
expect_log "ipv6: known log" decision=allow reason=known-location
if [ "$(snapshot)" = "$before" ]; then
	pass "ipv6: known /64 writes nothing"
else
	fail "ipv6: known /64 changed the state directory"
fi
SD_FAKETIME=+60 sd_pam -I rhost=2001:db8:1:3::9 sshd bob </dev/null
expect_in "Verification code for bob@" "ipv6: another /64 prompted"
expect_result "$AUTH_ERR" "ipv6: another /64 without a code denied"

# No PAM_RHOST: the location is "local".
sd_wait_step
code=$(SD_FAKETIME=+90 sd_code "$SECRET_B")
SD_FAKETIME=+90 sd_pam sshd bob <<<"$code"
expect_result success "local: sign-in without rhost with a code"
expect_in "Verification code for bob@" "local: prompted the first time"
expect_log "local: log" user=bob rhost=- decision=allow reason=totp-new-location
expect_state bob "^location local $ISO\$" "local: location \"local\" remembered"
SD_FAKETIME=+90 sd_pam sshd bob </dev/null
expect_result success "local: second local sign-in allowed"
expect_not_in "Verification code" "local: second local sign-in not prompted"
expect_log "local: known log" rhost=- decision=allow reason=known-location
# A client whose host name is "local" is somewhere else, not the console.
SD_FAKETIME=+90 sd_pam -I rhost=LOCAL sshd bob </dev/null
expect_in "Verification code for bob@" "local: a remote host named \"LOCAL\" is not the local location"

# A host name that is not an address is its own location (case-insensitive).
sd_wait_step
code=$(SD_FAKETIME=+120 sd_code "$SECRET_B")
SD_FAKETIME=+120 sd_pam -I rhost=WS1.Example.com sshd bob <<<"$code"
expect_result success "hostname: sign-in from a host name with a code"
expect_state bob "^location host:ws1\.example\.com $ISO\$" "hostname: lower-cased host name remembered"
SD_FAKETIME=+120 sd_pam -I rhost=ws1.example.COM sshd bob </dev/null
expect_result success "hostname: same host, other case, not prompted"
expect_not_in "Verification code" "hostname: no prompt"

# Privileged services: every time, even from a known location.
SD_FAKETIME=+120 sd_pam sudo bob </dev/null
expect_in "Verification code for bob@" "privileged: sudo prompts from a known location"
expect_result "$AUTH_ERR" "privileged: sudo without a code denied"
expect_log "privileged: log" user=bob service=sudo class=privileged rhost=- decision=deny
sd_wait_step
code=$(SD_FAKETIME=+150 sd_code "$SECRET_B")
SD_FAKETIME=+150 sd_pam sudo bob <<<"$code"
expect_result success "privileged: sudo with a code"
expect_log "privileged: reason" user=bob service=sudo decision=allow reason=totp-privileged rule=12
SD_FAKETIME=+150 sd_pam sudo bob <<<"$code"
expect_result "$AUTH_ERR" "privileged: sudo again with the same code (replay) denied"
expect_log "privileged: replay reason" service=sudo decision=deny reason=totp-replay
sd_ctl unlock bob

# Flagged compromised and enrolled: prompted even from a known location.
SD_FAKETIME=+150 sd_pam sshd bob </dev/null
expect_result success "compromised: before the flag, known location not prompted"
sd_ctl flag bob --reason "test"
expect_rc 0 "flag bob"
expect_state bob "^compromised $ISO test\$" "compromised: flag recorded"
sd_wait_step
code=$(SD_FAKETIME=+180 sd_code "$SECRET_B")
SD_FAKETIME=+180 sd_pam sshd bob <<<"$code"
expect_result success "compromised: correct code accepted"
expect_in "Verification code for bob@" "compromised: prompted from a known location"
expect_log "compromised: reason" user=bob decision=allow reason=totp-compromised rule=12
SD_FAKETIME=+180 sd_pam sshd bob </dev/null
expect_in "Verification code for bob@" "compromised: prompted every time while flagged"
sd_ctl dismiss bob
SD_FAKETIME=+180 sd_pam sshd bob </dev/null
expect_result success "compromised: dismissed: known location not prompted again"
expect_not_in "Verification code" "compromised: dismissed: no prompt"

# ---------------------------------------------------------------- trusted networks
sd_config 'risk = { trusted_networks = ["203.0.113.0/24"]; };'
before=$(snapshot)
SD_FAKETIME=+180 sd_pam -I rhost=203.0.113.5 sshd bob </dev/null
expect_result success "trusted: never-seen address in a trusted network allowed"
expect_not_in "Verification code" "trusted: no prompt"
expect_log "trusted: log" user=bob rhost=203.0.113.5 decision=allow rule=13
if [ "$(snapshot)" = "$before" ]; then
	pass "trusted: nothing written"
else
	fail "trusted: state changed"
fi
expect_state_not bob "^location 203\.0\.113\." "trusted: not added to known locations"
SD_FAKETIME=+180 sd_pam -I rhost=203.0.114.5 sshd bob </dev/null
expect_in "Verification code for bob@" "trusted: address outside the trusted network prompted"
expect_log "trusted: outside log" decision=deny reason=conversation-failed
SD_FAKETIME=+60 sd_pam -I rhost=203.0.113.5 sshd alice </dev/null
expect_in "Verification code for alice@" "trusted: admins are still prompted on a trusted network"
expect_log "trusted: admin log" user=alice decision=deny reason=conversation-failed
sd_config

# ---------------------------------------------------------------- remember_days
sd_ctl enroll dave --secret "$SECRET_A"
sd_wait_step
code=$(sd_code "$SECRET_A")
sd_pam -I rhost=192.0.2.7 sshd dave <<<"$code"
expect_result success "remember: dave signs in from 192.0.2.7"
SD_FAKETIME=+29d sd_pam -I rhost=192.0.2.8 sshd dave </dev/null
expect_result success "remember: at +29d the location is still known"
expect_not_in "Verification code" "remember: no prompt at +29d"
expect_log "remember: +29d log" user=dave decision=allow reason=known-location
SD_FAKETIME=+31d sd_pam -I rhost=192.0.2.8 sshd dave </dev/null
expect_in "Verification code for dave@" "remember: at +31d the location has expired (prompted)"
expect_result "$AUTH_ERR" "remember: at +31d denied without a code"
sd_wait_step
code=$(SD_FAKETIME=+31d sd_code "$SECRET_A")
SD_FAKETIME=+31d sd_pam -I rhost=192.0.2.8 sshd dave <<<"$code"
expect_result success "remember: at +31d a code is accepted"
expect_log "remember: +31d reason" user=dave decision=allow reason=totp-new-location
d31=$(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=+31d date -u +%F)
expect_state dave "^location 192\.0\.2\.0/24 ${d31}T" "remember: location time renewed"
SD_FAKETIME=+33d sd_pam -I rhost=192.0.2.8 sshd dave </dev/null
expect_result success "remember: 2 days later still known (remember_days 30)"
sd_config 'risk = { remember_days = 1; };'
SD_FAKETIME=+33d sd_pam -I rhost=192.0.2.8 sshd dave </dev/null
expect_in "Verification code for dave@" "remember: remember_days = 1: prompted 2 days later"
expect_log "remember: remember_days = 1 log" user=dave decision=deny reason=conversation-failed
sd_config

# ---------------------------------------------------------------- input checks
sd_config 'lockout = { max_failures = 20; };'
sd_ctl enroll svc --secret "$SECRET_B"
sd_wait_step 12
code=$(sd_code "$SECRET_B")
n=0
for bad in "${code:0:5}" "${code}0" "${code:0:5}a" "" "$code " " $code" "${code:0:3} ${code:3}" \
	"+${code:1}" "${code:0:5}$(printf '\xd9\xa3')"; do
	n=$((n + 1))
	sd_pam -I rhost=192.0.2.7 sshd svc <<<"$bad"
	expect_result "$AUTH_ERR" "input: '$bad' denied"
	expect_log "input: '$bad' log" user=svc decision=deny reason=totp-wrong-code
	expect_state svc "^failures $n\$" "input: '$bad' counted as failure $n"
done
sd_pam -I rhost=192.0.2.7 sshd svc <<<"$code"
expect_result success "input: the exact code is then accepted"
expect_state_not svc "^failures " "input: failures cleared"
sd_config

# ---------------------------------------------------------------- digits, issuer
sd_config 'totp = { digits = 8; };'
sd_ctl enroll carol --secret "$SECRET_A"
expect_in "digits=8" "digits = 8: enrolment URI says 8 digits"
sd_wait_step
code8=$(sd_code "$SECRET_A" 0 --digits=8)
code6=$(sd_code "$SECRET_A" 0)
sd_pam -I rhost=192.0.2.7 sshd carol <<<"$code6"
expect_result "$AUTH_ERR" "digits = 8: a 6-digit code is refused"
expect_log "digits = 8: 6-digit log" user=carol decision=deny reason=totp-wrong-code
sd_pam -I rhost=192.0.2.7 sshd carol <<<"$code8"
expect_result success "digits = 8: the 8-digit code is accepted"
expect_log "digits = 8: log (earlier failure counted)" user=carol decision=allow reason=totp-failures
sd_config

sd_config 'totp = { issuer = "ExampleCorp"; };'
sd_ctl enroll root --secret "$SECRET_B"
sd_pam -I rhost=192.0.2.7 sshd root </dev/null
expect_in "Verification code (ExampleCorp) for root: " "issuer: prompt names the issuer"
expect_not_in "root@$HOST" "issuer: prompt without the host name"
sd_config

# ---------------------------------------------------------------- window
# window = 1 (default): one step either side, not two. (sudo: prompted
# every time, whatever the location.)
sd_ctl enroll bg --secret "$SECRET_A"
sd_wait_step 10
prev_step=$(($(date +%s) / 30 - 1))
sd_pam sudo bg <<<"$(sd_code "$SECRET_A" -60)"
expect_result "$AUTH_ERR" "window 1: a code two steps old is refused"
expect_log "window 1: two steps old log" user=bg reason=totp-wrong-code
sd_pam sudo bg <<<"$(sd_code "$SECRET_A" -30)"
expect_result success "window 1: the previous step's code is accepted"
expect_state bg "^last_step $prev_step\$" "window 1: last_step is the previous step"
sd_pam sudo bg <<<"$(sd_code "$SECRET_A" 30)"
expect_result success "window 1: the next step's code is accepted"
sd_pam sudo bg <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "window 1: the current code after the next one is a replay"
expect_log "window 1: replay log" user=bg reason=totp-replay

# window = 0: only the current step.
sd_config 'totp = { window = 0; };'
sd_ctl reset bg
sd_ctl enroll bg --secret "$SECRET_A"
sd_wait_step 10
sd_pam sudo bg <<<"$(sd_code "$SECRET_A" -30)"
expect_result "$AUTH_ERR" "window 0: the previous step's code is refused"
expect_log "window 0: previous step log" user=bg decision=deny reason=totp-wrong-code
sd_pam sudo bg <<<"$(sd_code "$SECRET_A" 30)"
expect_result "$AUTH_ERR" "window 0: the next step's code is refused"
sd_pam sudo bg <<<"$(sd_code "$SECRET_A")"
expect_result success "window 0: the current code is accepted"
sd_config

finish
