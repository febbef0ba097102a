#!/bin/bash
# One-time recovery codes: `secdefaultsctl codes` (who may get them, how many,
# shown once, stored hashed, replacing earlier ones) and their use at the
# TOTP prompt (accepted once, in any case, with or without the dash; never
# logged).
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
RH=192.0.2.7
CODE_RE='^  [a-z2-7]{5}-[a-z2-7]{5}$'
ALL="$T/all.out" # every output of the test, to look for codes in logs
: >"$ALL"

keep() {
	printf '%s\n' "$OUT" >>"$ALL"
}
expect_eq() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (\"$1\" != \"$2\")"; fi
}
codes_of() {
	printf '%s\n' "$OUT" | grep -E "$CODE_RE" | sed 's/^  //'
}
nrec() {
	grep -c '^recovery \$y\$' "$T/state/secrets/$1" 2>/dev/null
}
sum_of() {
	md5sum <"$1" 2>/dev/null
}

# ---- codes needs an enrolled user ------------------------------------------
sd_ctl codes bob
keep
expect_rc 1 "codes: refused for a user who is not enrolled"
expect_in "bob is not enrolled" "codes: says the user is not enrolled"
expect_no_file "$T/state/secrets/bob" "codes: no secret file made for him"
sd_ctl codes nosuchuser
expect_rc 1 "codes: refused for an unknown user"
sd_ctl codes
expect_rc 2 "codes: no user is a usage error"

# ---- codes for an enrolled user ---------------------------------------------
sd_ctl enroll bob --secret "$SECRET_A"
expect_rc 0 "setup: bob enrolled"
sd_ctl codes bob --count 3
keep
expect_rc 0 "codes: --count 3 for bob"
bob_codes=$(codes_of)
expect_eq "$(printf '%s\n' "$bob_codes" | grep -c .)" 3 "codes: 3 codes of the form xxxxx-xxxxx"
expect_eq "$(printf '%s\n' "$bob_codes" | sort -u | grep -c .)" 3 "codes: the 3 codes differ"
expect_in "shown only now" "codes: told they are shown once"
expect_eq "$(nrec bob)" 3 "codes: secrets/bob holds 3 recovery \$y\$ hashes"
expect_eq "$(sed -n 's/^key //p' "$T/state/secrets/bob")" "$SECRET_A" "codes: the key is kept"
leaked=0
for c in $bob_codes; do
	grep -qiF -e "$c" -e "${c/-/}" "$T/state/secrets/bob" && leaked=1
done
[ $leaked = 0 ] && pass "codes: no code is stored in the clear" ||
	fail "codes: a code is in secrets/bob in the clear"

# Out-of-range or malformed counts change nothing.
before=$(snapshot)
secret_before=$(sum_of "$T/state/secrets/bob")
for bad in 0 21 abc -1 3x ""; do
	sd_ctl codes bob --count "$bad"
	expect_rc 1 "codes: --count '$bad' is refused"
	expect_eq "$(codes_of | grep -c .)" 0 "codes: --count '$bad' prints no code"
done
[ "$(snapshot)" = "$before" ] && pass "codes: refused counts change no file" ||
	fail "codes: a refused count changed the state directory"
expect_eq "$(sum_of "$T/state/secrets/bob")" "$secret_before" "codes: secrets/bob unchanged"

sd_ctl codes bob --count 20
keep
expect_rc 0 "codes: --count 20 (the maximum) is accepted"
expect_eq "$(codes_of | grep -c .)" 20 "codes: 20 codes printed"
expect_eq "$(nrec bob)" 20 "codes: 20 hashes stored"
sd_ctl codes bob
keep
expect_rc 0 "codes: default count"
expect_eq "$(codes_of | grep -c .)" 10 "codes: 10 codes by default"
bob_last=$(codes_of | head -n 1)
expect_eq "$(nrec bob)" 10 "codes: 10 hashes stored, the earlier 20 replaced"

# ---- Using codes at the prompt (alice: admin, always prompted) ---------------
sd_ctl enroll alice --secret "$SECRET_B"
sd_ctl codes alice --count 4
keep
expect_rc 0 "setup: 4 codes for alice"
mapfile -t ac < <(codes_of)
expect_eq "${#ac[@]}" 4 "setup: alice has 4 codes"

sd_pam -I rhost=$RH sshd alice <<<"${ac[0]}"
keep
expect_result success "use: a recovery code at the TOTP prompt admits alice"
expect_in "Verification code" "use: it was the TOTP prompt"
expect_in "Recovery code accepted; 3 left." "use: alice is told 3 are left"
expect_log "use: logged as recovery-code" user=alice role=admin decision=allow reason=recovery-code \
	rule=12
expect_eq "$(nrec alice)" 3 "use: the used code is burnt (3 hashes left)"
expect_state_not alice "^failures " "use: no failure recorded"
expect_state_not alice "^last_step " "use: no TOTP step is used up by a recovery code"
expect_state alice "^last_totp " "use: last_totp recorded"

sd_pam -I rhost=$RH sshd alice <<<"${ac[0]}"
keep
expect_result "$AUTH_ERR" "use: the same recovery code again is refused"
expect_in "Wrong verification code." "use: told it is wrong"
expect_log "use: the second use is logged as a wrong code" user=alice decision=deny \
	reason=totp-wrong-code
expect_eq "$(nrec alice)" 3 "use: a refused code burns nothing"
expect_state alice "^failures 1\$" "use: the refused code counts as a failure"

upper=$(printf '%s' "${ac[1]}" | tr 'a-z' 'A-Z' | tr -d '-')
sd_pam -I rhost=$RH sshd alice <<<"$upper"
keep
expect_result success "use: upper case without the dash works"
expect_in "Recovery code accepted; 2 left." "use: 2 left"
expect_eq "$(nrec alice)" 2 "use: secrets/alice now has 2 recovery lines"
expect_state_not alice "^failures " "use: success clears the failure count"

spaced="${ac[2]:0:5} ${ac[2]:6:5}"
sd_pam -I rhost=$RH sshd alice <<<"$spaced"
keep
expect_result success "use: a space instead of the dash works"
expect_in "Recovery code accepted; 1 left." "use: 1 left"
expect_eq "$(nrec alice)" 1 "use: 1 recovery line left"

# A TOTP code still works next to recovery codes.
sd_wait_step
sd_pam -I rhost=$RH sshd alice <<<"$(sd_code "$SECRET_B")"
expect_result success "use: a TOTP code still works"
expect_not_in "Recovery code accepted" "use: and is not taken as a recovery code"
expect_eq "$(nrec alice)" 1 "use: a TOTP code burns no recovery code"

# New codes replace every earlier one, used or not.
sd_ctl codes alice --count 2
keep
expect_rc 0 "replace: new codes for alice"
mapfile -t nc < <(codes_of)
expect_eq "$(nrec alice)" 2 "replace: 2 hashes stored"
sd_pam -I rhost=$RH sshd alice <<<"${ac[3]}"
keep
expect_result "$AUTH_ERR" "replace: an unused earlier code is refused"
expect_eq "$(nrec alice)" 2 "replace: nothing burnt by it"
sd_pam -I rhost=$RH sshd alice <<<"${nc[1]}"
keep
expect_result success "replace: a new code works"
expect_in "Recovery code accepted; 1 left." "replace: 1 of the new codes left"

# Not a code: too short, or the right code with a character more.
sd_pam -I rhost=$RH sshd alice <<<"${nc[0]:0:7}"
keep
expect_result "$AUTH_ERR" "use: a prefix of a code is refused"
sd_pam -I rhost=$RH sshd alice <<<"${nc[0]}a"
keep
expect_result "$AUTH_ERR" "use: a code with a character more is refused"
expect_eq "$(nrec alice)" 1 "use: neither burnt the code"

# ---- Recovery codes at a user's prompt (bob, from a new location) ------------
sd_pam -I rhost=198.51.100.20 sshd bob <<<"$bob_last"
keep
expect_result success "user: bob signs in from a new location with a recovery code"
expect_in "Recovery code accepted; 9 left." "user: 9 of 10 left"
expect_log "user: logged" user=bob role=user decision=allow reason=recovery-code
expect_state bob "^location 198\.51\.100\.0/24 " "user: the location is remembered"

# ---- Never in a log ----------------------------------------------------------
# Every code issued in this test: none may be in any syslog line, nor in any
# output of a sign-in (the prompt does not echo).
logged=0
for c in $(grep -E "$CODE_RE" "$ALL" | sed 's/^  //' | sort -u); do
	up=$(printf '%s' "$c" | tr 'a-z' 'A-Z')
	if grep 'SYSLOG(' "$ALL" | grep -qiF -e "$c" -e "${c/-/}" -e "${up/-/}" -e "${c:0:5} ${c:6:5}"; then
		logged=1
		OUT=$(grep 'SYSLOG(' "$ALL" | grep -iF -e "$c" -e "${c/-/}")
	fi
done
[ $logged = 0 ] && pass "log: no recovery code reaches a log line" ||
	fail "log: a recovery code was logged"
OUT=$(grep -v -E "$CODE_RE" "$ALL")
RC=-
leak=0
for c in "${ac[@]}" "${nc[@]}" "$bob_last"; do
	printf '%s\n' "$OUT" | grep -qiF -e "$c" -e "${c/-/}" && leak=1
done
[ $leak = 0 ] && pass "log: the codes typed at prompts appear nowhere in the output" ||
	fail "log: a typed recovery code appears in the output"

finish
