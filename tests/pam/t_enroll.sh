#!/bin/bash
# Enrolment at sign-in (enrollment.at_login, the default): the offer in grace
# (URI, key, QR code; an empty answer or a silent client skips; a new key at
# every offer, stored only once a code proves it), the first code that
# completes enrolment and its replay guard, the mandatory flow after grace,
# at_login = false, the account phase, and `secdefaultsctl enroll` over an
# enrolled user. Sign-ins that must answer with a code for the key shown in
# the same session go through sd_pam_enrol (expect).
. "$(dirname "$0")/lib.sh"

# More plain users than lib.sh has, so every case starts from a fresh one.
cat >>"$T/passwd" <<PW
frank:x:1010:1010:Frank User:/home/frank:/bin/sh
gina:x:1011:1011:Gina User:/home/gina:/bin/sh
PW
printf 'frank:x:1010:\ngina:x:1011:\n' >>"$T/group"

sd_config
sd_service sshd
sd_service sudo

RH=192.0.2.7
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
OFFER_PROMPT="Code from the app to finish set-up (Enter to skip): "
REQUIRED_PROMPT="Code from the app to finish set-up: "
BLOCK=$'\xe2\x96\x88' # U+2588 FULL BLOCK

expect_eq() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (\"$1\" != \"$2\")"; fi
}

# The otpauth URI, the key shown in the text, and the stored secret.
uri_of() {
	printf '%s\n' "$OUT" | grep -o 'otpauth://totp/[^[:space:]]*' | head -n 1
}
uri_secret() {
	printf '%s\n' "$1" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p'
}
shown_key() {
	printf '%s\n' "$OUT" | sed -n 's/.*or enter the key \([A-Z2-7]\{16,\}\).*/\1/p' | head -n 1
}
stored_key() {
	sed -n 's/^key //p' "$T/state/secrets/$1" 2>/dev/null
}
sum_of() {
	md5sum <"$1" 2>/dev/null
}
# The step the (possibly shifted) clock is in now.
step_now() {
	local off=0
	case ${SD_FAKETIME:-} in
	+*d) off=$((${SD_FAKETIME//[+d]/} * 86400)) ;;
	+*) off=${SD_FAKETIME#+} ;;
	esac
	echo $((($(date +%s) + off) / 30))
}
fake_date() {
	env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="${1:-+0}" date -u +%F
}
# Only the syslog lines of OUT.
logs_of() {
	printf '%s\n' "$OUT" | grep 'SYSLOG('
}

# ---- The offer in grace, skipped with an empty answer ---------------------
sd_pam -I rhost=$RH sshd bob <<<""
expect_result success "offer: an empty answer in grace lets bob in"
expect_in "Set up two-step verification now (14 days left before it is required)." \
	"offer: bob is told the days left"
expect_in "$OFFER_PROMPT" "offer: the prompt says Enter skips"
expect_log "offer: skipped is logged" user=bob role=user service=sshd decision=allow \
	reason=grace-enroll-skipped rule=10
uri=$(uri_of)
key1=$(shown_key)
if printf '%s' "$uri" | grep -qE '^otpauth://totp/[^:?]+:bob\?secret=[A-Z2-7]{32}&issuer=[^&]+&algorithm=SHA1&digits=6&period=30$'; then
	pass "offer: the otpauth URI for bob is shown"
else
	fail "offer: no well-formed otpauth URI for bob (got \"$uri\")"
fi
[ -n "$key1" ] && pass "offer: the key is shown as text" || fail "offer: no key shown"
expect_eq "$(uri_secret "$uri")" "$key1" "offer: the URI carries the key that is shown"
qr_lines=$(printf '%s\n' "$OUT" | grep -c "$BLOCK")
if [ "$qr_lines" -ge 15 ]; then
	pass "offer: a QR code of $qr_lines lines is drawn with U+2588"
else
	fail "offer: no QR code ($qr_lines lines with U+2588)"
fi
widths=$(printf '%s\n' "$OUT" | grep "$BLOCK" |
	LC_ALL=C sed 's/\x1b\[[0-9;]*m//g; s/\xe2\x96[\x80\x84\x88]/X/g' |
	LC_ALL=C awk '{ print length($0) }' | sort -u)
if [ "$(printf '%s\n' "$widths" | wc -l)" -eq 1 ] && [ "$widths" -eq $((2 * qr_lines - 1)) ]; then
	pass "offer: the QR lines form a square of $widths modules"
else
	fail "offer: QR lines are not a square ($qr_lines lines, widths: $(printf "%s " $widths))"
fi
expect_state bob "^grace_start $(fake_date)T" "offer: the grace clock starts"
expect_state_not bob "^enrolled " "offer: skipping does not enrol"
# The key of an offer lives in memory until a code proves it (7c86854): an
# offer not taken leaves no key behind for anyone to learn.
expect_no_file "$T/state/secrets/bob" "offer: an offer not taken stores no key"
if logs_of | grep -qF "$key1"; then
	fail "offer: the key reached a log line"
else
	pass "offer: the key is in no log line"
fi

# ---- The next offer ---------------------------------------------------------
before=$(snapshot)
sd_pam -I rhost=$RH sshd bob <<<""
expect_result success "again: the second offer is skipped too"
key2=$(uri_secret "$(uri_of)")
[ -n "$key2" ] && [ "$key2" != "$key1" ] && pass "again: every offer shows a new key" ||
	fail "again: second key \"$key2\" missing or equal to the first"
expect_eq "$(shown_key)" "$key2" "again: the text key matches the URI"
[ "$(snapshot)" = "$before" ] && pass "again: a second offer writes nothing" ||
	fail "again: a second offer changed the state directory"

# A client that cannot answer (no terminal): in grace it is a skip.
sd_pam -I rhost=$RH sshd bob </dev/null
expect_result success "no answer: a silent client in grace is let in"
expect_log "no answer: logged as skipped" user=bob decision=allow reason=grace-enroll-skipped
expect_no_file "$T/state/secrets/bob" "no answer: no key stored"

# ---- Wrong first codes --------------------------------------------------------
# The code of an earlier, skipped offer's key proves nothing now.
sd_wait_step
sd_pam -I rhost=$RH sshd bob <<<"$(sd_code "$key1")"
expect_result "$AUTH_ERR" "wrong code: a code of an earlier offer's key is refused"
expect_in "Wrong verification code. Set-up is not finished." "wrong code: bob is told"
expect_log "wrong code: logged" user=bob decision=deny reason=enroll-wrong-code rule=10
expect_state bob "^failures 1\$" "wrong code: counted as a failure"
expect_state_not bob "^enrolled " "wrong code: bob is still not enrolled"
expect_no_file "$T/state/secrets/bob" "wrong code: no key stored"
sd_pam_enrol wrong -I rhost=$RH sshd bob
expect_result "$AUTH_ERR" "wrong code: a wrong code for the key shown is refused"
expect_log "wrong code: logged again" user=bob decision=deny reason=enroll-wrong-code rule=10
expect_state bob "^failures 2\$" "wrong code: the second failure is counted"
expect_state_not bob "^(enrolled|last_step) " "wrong code: no enrolment, no step recorded"
expect_no_file "$T/state/secrets/bob" "wrong code: still no key stored"

# ---- The right first code completes enrolment ---------------------------------
sd_wait_step
step=$(step_now)
sd_pam_enrol code -I rhost=$RH sshd bob
key=$KEY
code=$(oathtool --totp -b "$key" -N "@$((step * 30))")
expect_result success "first code: a correct first code enrols and admits bob"
expect_in "Two-step verification is set up." "first code: bob is told"
expect_log "first code: logged" user=bob role=user decision=allow reason=enrolled-at-login rule=10
expect_state bob "^enrolled $ISO\$" "first code: enrolled recorded"
expect_state bob "^last_step $step\$" "first code: last_step is the step of the code"
expect_state bob "^last_totp $ISO\$" "first code: last_totp recorded"
expect_state bob "^location 192\.0\.2\.0/24 $ISO\$" "first code: the location is remembered"
expect_state_not bob "^failures " "first code: the failures are cleared"
expect_eq "$(stored_key bob)" "$key" "first code: the key shown is the key stored"
expect_eq "$(stat -c '%a %u' "$T/state/secrets/bob")" "600 0" "first code: the secret file is 0600 root"
if logs_of | grep -qE "$code|$key"; then
	fail "first code: the code or key reached a log line"
else
	pass "first code: neither code nor key is logged"
fi

# From the same /24 bob is not asked again (the location came from enrolment).
state_sum=$(sum_of "$T/state/users/bob")
sd_pam -I rhost=192.0.2.99 sshd bob </dev/null
expect_result success "after: bob from the same /24 signs in"
expect_not_in "Verification code" "after: without a prompt"
expect_not_in "otpauth://" "after: and without an offer"
expect_log "after: logged" user=bob decision=allow reason=known-location rule=13
expect_eq "$(sum_of "$T/state/users/bob")" "$state_sum" "after: a sign-in that changes nothing writes nothing"

# The same first code again: a privileged service prompts bob every time.
sd_pam -I rhost=$RH sudo bob <<<"$code"
expect_result "$AUTH_ERR" "replay: the first code is refused at sudo"
expect_in "That code was already used" "replay: bob is told"
expect_log "replay: logged" user=bob decision=deny reason=totp-replay rule=12

# alice (admin, prompted at every sign-in) enrols at sign-in; her first code
# cannot be used again at the next sign-in.
sd_wait_step
step=$(step_now)
sd_pam_enrol code -I rhost=$RH sshd alice
akey=$KEY
acode=$(oathtool --totp -b "$akey" -N "@$((step * 30))")
expect_result success "admin: alice enrols with her first code"
expect_log "admin: logged" user=alice role=admin decision=allow reason=enrolled-at-login
[ -n "$akey" ] && [ "$akey" != "$key" ] && pass "admin: alice got her own key" ||
	fail "admin: alice's key \"$akey\" missing or equal to bob's"
expect_state alice "^last_step $step\$" "admin: her step is recorded"
sd_pam -I rhost=$RH sshd alice <<<"$acode"
expect_result "$AUTH_ERR" "admin replay: alice's first code is refused at the next sign-in"
expect_in "Verification code" "admin replay: alice was prompted"
expect_not_in "otpauth://" "admin replay: no second offer once enrolled"
expect_log "admin replay: logged" user=alice decision=deny reason=totp-replay rule=12
sd_wait_step
SD_FAKETIME=+30 sd_pam -I rhost=$RH sshd alice <<<"$(SD_FAKETIME=+30 sd_code "$akey")"
expect_result success "admin: the next step's code admits alice"
expect_log "admin: next code logged" user=alice decision=allow reason=totp-admin

# ---- After grace: enrolment is mandatory ----------------------------------------
sd_pam -I rhost=198.51.100.4 sshd dave <<<""
expect_result success "mandatory: dave skips in grace"
SD_FAKETIME=+15d sd_pam -I rhost=198.51.100.4 sshd dave <<<""
expect_result "$AUTH_ERR" "mandatory: an empty answer after grace is refused"
expect_in "Two-step verification is required. Set it up now to sign in." \
	"mandatory: dave is told it is required"
expect_in "$REQUIRED_PROMPT" "mandatory: the prompt has no skip"
expect_not_in "Enter to skip" "mandatory: skipping is not offered"
expect_in "otpauth://totp/" "mandatory: the URI is shown"
expect_in "two-step verification must be set up first" "mandatory: the refusal says why"
expect_log "mandatory: logged" user=dave decision=deny reason=enroll-required rule=11
expect_state dave "^grace_ended $(fake_date +15d)T" "mandatory: grace_ended recorded"
expect_state_not dave "^enrolled " "mandatory: not enrolled"
SD_FAKETIME=+15d sd_pam -I rhost=198.51.100.4 sshd dave </dev/null
expect_result "$AUTH_ERR" "mandatory: a silent client after grace is refused"
expect_log "mandatory: silent client logged" user=dave decision=deny rule=11
sd_wait_step
step=$(SD_FAKETIME=+15d step_now)
SD_FAKETIME=+15d sd_pam_enrol code -I rhost=198.51.100.4 sshd dave
expect_result success "mandatory: a correct code after grace enrols and admits"
expect_log "mandatory: enrolled logged" user=dave decision=allow reason=enrolled-at-login rule=11
expect_state dave "^enrolled $(fake_date +15d)T" "mandatory: enrolled recorded"
expect_state dave "^last_step $step\$" "mandatory: last_step recorded"
expect_eq "$(stored_key dave)" "$KEY" "mandatory: the key shown is stored"
SD_FAKETIME=+15d sd_pam -I rhost=198.51.100.4 sshd dave acct_mgmt
expect_result success "mandatory: the account phase admits dave once enrolled"

# A client that cannot answer: skips in grace, denied after it.
sd_pam -I rhost=$RH sshd ed </dev/null
expect_result success "silent client: ed (admin, unenrolled) is let in during grace"
expect_log "silent client: logged as skipped" user=ed decision=allow reason=grace-enroll-skipped
expect_state ed "^grace_start " "silent client: grace clock started"
SD_FAKETIME=+15d sd_pam -I rhost=$RH sshd ed </dev/null
expect_result "$AUTH_ERR" "silent client: denied after grace"
expect_log "silent client: denial logged" user=ed decision=deny rule=11
expect_state_not ed "^enrolled " "silent client: not enrolled"
expect_no_file "$T/state/secrets/ed" "silent client: no key stored"

# ---- The account phase never offers -------------------------------------------
sd_pam -I rhost=$RH sshd carol acct_mgmt <<<""
expect_result success "account: carol in grace is allowed"
expect_not_in "otpauth://" "account: no URI in the account phase"
expect_not_in "Code from the app" "account: no set-up prompt in the account phase"
expect_not_in "$BLOCK" "account: no QR code in the account phase"
expect_log "account: logged" user=carol decision=allow reason=grace rule=10
expect_no_file "$T/state/secrets/carol" "account: no key created"
expect_state carol "^grace_start " "account: grace clock started"
SD_FAKETIME=+15d sd_pam -I rhost=$RH sshd carol acct_mgmt <<<""
expect_result "$PERM_DENIED" "account: after grace, denied instead of offered"
expect_not_in "otpauth://" "account: still no URI"
expect_no_file "$T/state/secrets/carol" "account: still no key"

# ---- enrollment.at_login = false ---------------------------------------------
sd_config 'enrollment = { at_login = false; };'
sd_pam -I rhost=$RH sshd frank <<<""
expect_result success "no at_login: frank in grace is allowed"
expect_in "ask an administrator" "no at_login: told to ask an administrator"
expect_not_in "otpauth://" "no at_login: no URI"
expect_not_in "Code from the app" "no at_login: no set-up prompt"
expect_not_in "$BLOCK" "no at_login: no QR code"
expect_log "no at_login: logged" user=frank decision=allow reason=grace rule=10
expect_no_file "$T/state/secrets/frank" "no at_login: no secret created"
SD_FAKETIME=+15d sd_pam -I rhost=$RH sshd frank <<<""
expect_result "$AUTH_ERR" "no at_login: denied after grace"
expect_in "Ask an administrator to run: secdefaultsctl enroll frank" \
	"no at_login: the admin command is named"
expect_not_in "otpauth://" "no at_login: still no URI"
expect_log "no at_login: denial logged" user=frank decision=deny reason=grace-expired rule=11
# ed, whose grace ran out, is refused without an offer or a prompt.
SD_FAKETIME=+15d sd_pam -I rhost=$RH sshd ed <<<"123456"
expect_result "$AUTH_ERR" "no at_login: ed is refused after grace"
expect_in "secdefaultsctl enroll ed" "no at_login: ed is told the admin command"
expect_not_in "Verification code" "no at_login: ed is not prompted"
expect_not_in "Code from the app" "no at_login: ed is not offered set-up"
sd_config

# ---- secdefaultsctl enroll over an enrolled user -------------------------------
secret_sum=$(sum_of "$T/state/secrets/bob")
state_sum=$(sum_of "$T/state/users/bob")
sd_ctl enroll bob --secret "$SECRET_A"
expect_rc 1 "ctl: enroll refuses an enrolled user without --force"
expect_in "already enrolled" "ctl: and says why"
expect_not_in "otpauth://" "ctl: no URI for a refused enrolment"
expect_eq "$(sum_of "$T/state/secrets/bob")" "$secret_sum" "ctl: the secret file is unchanged"
expect_eq "$(sum_of "$T/state/users/bob")" "$state_sum" "ctl: the state file is unchanged"
sd_ctl enroll bob --secret "$SECRET_A" --force
expect_rc 0 "ctl: --force replaces the secret"
expect_in "secret=$SECRET_A&" "ctl: the URI of the new secret is printed"
expect_not_in "$BLOCK" "ctl: no QR code when stdout is not a terminal"
expect_eq "$(stored_key bob)" "$SECRET_A" "ctl: the stored key is the new one"
expect_state bob "^enrolled $ISO\$" "ctl: bob is still enrolled"
expect_state_not bob "^last_step " "ctl: the replay guard starts again for the new key"
sd_wait_step
SD_FAKETIME=+60 sd_pam -I rhost=$RH sudo bob <<<"$(SD_FAKETIME=+60 sd_code "$key")"
expect_result "$AUTH_ERR" "ctl: a code of the replaced key is refused"
expect_log "ctl: old key logged" user=bob decision=deny reason=totp-wrong-code
sd_wait_step
SD_FAKETIME=+90 sd_pam -I rhost=$RH sudo bob <<<"$(SD_FAKETIME=+90 sd_code "$SECRET_A")"
expect_result success "ctl: a code of the new key admits bob"

# --qr / --no-qr, and a pending (not enrolled) secret needs no --force.
sd_ctl enroll ed --secret "$SECRET_B" --qr
expect_rc 0 "ctl: a user who is not enrolled needs no --force"
expect_eq "$(stored_key ed)" "$SECRET_B" "ctl: ed's key is the given one"
expect_in "secret=$SECRET_B&" "ctl: --qr prints the URI"
n=$(printf '%s\n' "$OUT" | grep -c "$BLOCK")
[ "$n" -ge 15 ] && pass "ctl: --qr draws the QR code ($n lines)" || fail "ctl: --qr drew $n lines"
expect_not_in $'\033[' "ctl: --qr into a pipe has no colour codes"
sd_ctl enroll gina --no-qr
expect_rc 0 "ctl: enroll with a new key"
expect_not_in "$BLOCK" "ctl: --no-qr draws no QR code"
expect_eq "$(uri_secret "$(uri_of)")" "$(stored_key gina)" "ctl: the printed URI has the stored key"

finish
