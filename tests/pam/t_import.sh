#!/bin/bash
# Migrating existing secrets: `secdefaultsctl import-google-authenticator USER
# FILE` (a ~/.google_authenticator file; scratch codes become recovery codes)
# and `secdefaultsctl import-oath FILE` (an oath-toolkit/pam_oath users file:
# only time-based tokens with our time step and digits). Imported users then
# sign in with codes of their old secrets.
. "$(dirname "$0")/lib.sh"

cat >>"$T/passwd" <<PW
frank:x:1010:1010:Frank User:/home/frank:/bin/sh
gina:x:1011:1011:Gina User:/home/gina:/bin/sh
PW
printf 'frank:x:1010:\ngina:x:1011:\n' >>"$T/group"

sd_config
sd_service sshd
RH=192.0.2.7
D="$T/in"
mkdir -m 0700 "$D"

expect_eq() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3 (\"$1\" != \"$2\")"; fi
}
stored_key() {
	sed -n 's/^key //p' "$T/state/secrets/$1" 2>/dev/null
}
nrec() {
	grep -c '^recovery \$y\$' "$T/state/secrets/$1" 2>/dev/null
}
sum_of() {
	md5sum <"$1" 2>/dev/null
}
# The lines import-oath prints on stdout (pam_wrapper and error messages
# on stderr are left out).
report() {
	printf '%s\n' "$OUT" | grep -E '^(imported |skipped line |note: |[0-9]+ imported, )'
}
# A TOTP code for a hex key, as oathtool takes it without -b.
hex_code() {
	oathtool --totp "$1" -N now
}

# ---- import-google-authenticator ------------------------------------------------
GA_SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY # 26 characters, as the tool writes them
ga_file() { # FILE SECRET [OPTION LINES...]: the options, then two scratch codes
	local f=$1 s=$2
	shift 2
	{
		printf '%s\n' "$s"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$f"
}
ga_file "$D/bob.ga" "$GA_SECRET" '" RATE_LIMIT 3 30' '" WINDOW_SIZE 17' '" DISALLOW_REUSE' \
	'" TOTP_AUTH' 12345678 87654321
sd_ctl import-google-authenticator bob "$D/bob.ga"
expect_rc 0 "ga: a TOTP file is imported"
expect_in "imported bob with 2 scratch codes as recovery codes" "ga: says what was imported"
expect_state bob '^enrolled ' "ga: bob is enrolled"
expect_eq "$(stored_key bob | cut -c1-26)" "$GA_SECRET" "ga: the key is the file's secret"
expect_eq "$(nrec bob)" 2 "ga: the 2 scratch codes are stored as recovery hashes"
if grep -qE '12345678|87654321' "$T/state/secrets/bob"; then
	fail "ga: scratch codes stored in the clear"
else
	pass "ga: scratch codes are not stored in the clear"
fi
sd_wait_step
sd_pam -I rhost=$RH sshd bob <<<"$(sd_code "$GA_SECRET")"
expect_result success "ga: bob signs in with a code of his old secret"
expect_log "ga: logged" user=bob decision=allow reason=totp-new-location

# Already enrolled: refused without --force, replaced with it.
secret_sum=$(sum_of "$T/state/secrets/bob")
ga_file "$D/bob2.ga" "$SECRET_A" '" TOTP_AUTH' 11112222
sd_ctl import-google-authenticator bob "$D/bob2.ga"
expect_rc 1 "ga: an enrolled user is refused without --force"
expect_in "already enrolled" "ga: says why"
expect_eq "$(sum_of "$T/state/secrets/bob")" "$secret_sum" "ga: bob's secret is unchanged"
sd_ctl import-google-authenticator bob "$D/bob2.ga" --force
expect_rc 0 "ga: --force replaces bob's secret"
expect_in "imported bob with 1 scratch code as recovery codes" "ga: singular for one code"
expect_eq "$(stored_key bob)" "$SECRET_A" "ga: the new key is stored"
expect_eq "$(nrec bob)" 1 "ga: the old scratch codes are gone"

# A scratch code works once at the prompt, as a recovery code (alice: admin).
ga_file "$D/alice.ga" "$SECRET_B" '" RATE_LIMIT 3 30' '" WINDOW_SIZE 17' '" DISALLOW_REUSE' \
	'" TOTP_AUTH' 24681357 97531864
sd_ctl import-google-authenticator alice "$D/alice.ga"
expect_rc 0 "ga: alice's file is imported"
expect_in "imported alice with 2 scratch codes as recovery codes" "ga: with her 2 scratch codes"
sd_pam -I rhost=$RH sshd alice <<<"97531864"
expect_result success "ga: a scratch code admits alice at the TOTP prompt"
expect_in "Recovery code accepted; 1 left." "ga: she is told 1 is left"
expect_log "ga: logged as recovery-code" user=alice role=admin decision=allow reason=recovery-code
expect_eq "$(nrec alice)" 1 "ga: the scratch code is burnt"
sd_pam -I rhost=$RH sshd alice <<<"97531864"
expect_result "$AUTH_ERR" "ga: the same scratch code is refused the second time"
expect_not_in "97531864" "ga: the scratch code is not logged"
sd_pam -I rhost=$RH sshd alice <<<"24681357"
expect_result success "ga: the other scratch code still works"

# Refused files: nothing is imported for gina.
ga_file "$D/hotp.ga" "$SECRET_A" '" RATE_LIMIT 3 30' '" HOTP_COUNTER 1' 12345678
sd_ctl import-google-authenticator gina "$D/hotp.ga"
expect_rc 1 "ga: a counter-based (HOTP_COUNTER) file is refused"
expect_in "HOTP_COUNTER" "ga: says it is counter-based"
ga_file "$D/step.ga" "$SECRET_A" '" STEP_SIZE 60' '" TOTP_AUTH'
sd_ctl import-google-authenticator gina "$D/step.ga"
expect_rc 1 "ga: STEP_SIZE 60 is refused"
expect_in "STEP_SIZE differs from totp.period" "ga: says the step differs"
ga_file "$D/garbage.ga" 'this is not a secret!' '" TOTP_AUTH'
sd_ctl import-google-authenticator gina "$D/garbage.ga"
expect_rc 1 "ga: a garbage first line is refused"
expect_in "line 1 is not a base32 secret" "ga: says line 1 is bad"
ga_file "$D/nototp.ga" "$SECRET_A" '" RATE_LIMIT 3 30'
sd_ctl import-google-authenticator gina "$D/nototp.ga"
expect_rc 1 "ga: a file without TOTP_AUTH is refused"
ga_file "$D/short.ga" 'JBSWY3DPEHPK3PX' '" TOTP_AUTH'
sd_ctl import-google-authenticator gina "$D/short.ga"
expect_rc 1 "ga: a secret under 80 bits is refused"
ln -s "$D/alice.ga" "$D/link.ga"
sd_ctl import-google-authenticator gina "$D/link.ga"
expect_rc 1 "ga: a file reached through a symlink is refused"
sd_ctl import-google-authenticator gina "$D/missing.ga"
expect_rc 1 "ga: a missing file is refused"
sd_ctl import-google-authenticator nosuchuser "$D/alice.ga"
expect_rc 1 "ga: an unknown user is refused"
expect_no_file "$T/state/secrets/gina" "ga: nothing was imported for gina"
expect_no_file "$T/state/users/gina" "ga: no state was made for gina"
# Messages name the file's own line numbers, blank lines included.
printf '%s\n\n" TOTP_AUTH\n\nnot a scratch code\n' "$SECRET_A" >"$D/blank.ga"
sd_ctl import-google-authenticator gina "$D/blank.ga"
expect_rc 1 "ga: an unrecognised line is refused"
expect_in "line 5: unrecognised line" "ga: line numbers count blank lines"
ga_file "$D/step30.ga" "$SECRET_A" '" STEP_SIZE 30' '" TOTP_AUTH'
sd_ctl import-google-authenticator gina "$D/step30.ga"
expect_rc 0 "ga: STEP_SIZE 30 (the configured period) is accepted"
expect_in "imported gina with 0 scratch codes" "ga: with no scratch codes"

# ---- import-oath ------------------------------------------------------------------
HEX_DAVE=3132333435363738393031323334353637383930 # "12345678901234567890"
HEX_ED=4A6F686E446F65C0FFEE0123456789abcdefABCD  # upper and lower case
HEX_FRANK=0102030405060708090a0b0c0d0e0f1011121314
cat >"$D/users.oath" <<EOF
# oath-toolkit users file: TYPE USER PIN SECRET
HOTP/T30 dave - $HEX_DAVE
HOTP/T30/6 ed - $HEX_ED
HOTP/E carol - $HEX_DAVE
HOTP/T60 root - $HEX_DAVE
HOTP/T30 nosuchuser - $HEX_DAVE
HOTP/T30 svc -
HOTP/T30 bg - 3132333435363738393031323334353637383g30
HOTP/T30 frank 4711 $HEX_FRANK
EOF
before=$(snapshot)
sd_ctl import-oath "$D/users.oath"
expect_rc 1 "oath: exit 1 because lines were skipped"
want="imported dave
imported ed
skipped line 4 (carol): counter-based HOTP tokens cannot become TOTP
skipped line 5 (root): time step differs from totp.period
skipped line 6 (nosuchuser): unknown user
skipped line 7 (svc): expected: TYPE USER PIN SECRET
skipped line 8 (bg): secret is not hex
note: line 9 (frank): its PIN is not imported
imported frank
3 imported, 5 skipped"
got=$(report)
if [ "$got" = "$want" ]; then
	pass "oath: the report lists every line and the summary"
else
	fail "oath: report differs: $(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | tr '\n' '|')"
fi
for u in dave ed frank; do
	expect_state "$u" '^enrolled ' "oath: $u is enrolled"
done
expect_eq "$(stored_key dave)" GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ "oath: dave's hex secret is stored as its base32"
for u in carol root svc bg; do
	expect_no_file "$T/state/secrets/$u" "oath: nothing imported for $u"
done
if grep -rqiE "$HEX_DAVE|$HEX_ED|4711" "$T/state"; then
	fail "oath: a hex secret or the PIN is stored as it was"
else
	pass "oath: neither hex secrets nor the PIN are stored as they were"
fi

# The imported users sign in with codes of their old secrets.
sd_wait_step
sd_pam -I rhost=$RH sshd dave <<<"$(hex_code $HEX_DAVE)"
expect_result success "oath: dave signs in with a code of his hex secret"
expect_log "oath: dave logged" user=dave decision=allow reason=totp-new-location
sd_pam -I rhost=$RH sshd ed <<<"$(hex_code $HEX_ED)"
expect_result success "oath: ed (mixed-case hex) signs in"
sd_pam -I rhost=$RH sshd frank <<<"$(hex_code $HEX_FRANK)"
expect_result success "oath: frank (PIN not imported) signs in with the code alone"
sd_wait_step
sd_pam -I rhost=198.51.100.1 sshd frank <<<"$(hex_code $HEX_DAVE)"
expect_result "$AUTH_ERR" "oath: frank cannot use another user's secret"

# Importing the same file again: the enrolled users are skipped; --force
# replaces them.
dave_sum=$(sum_of "$T/state/secrets/dave")
sd_ctl import-oath "$D/users.oath"
expect_rc 1 "oath: a second import fails"
expect_in "skipped line 2 (dave): not imported" "oath: enrolled dave is skipped"
expect_in "dave is already enrolled" "oath: and the reason is printed"
expect_in "0 imported, 8 skipped" "oath: nothing is imported the second time"
expect_eq "$(sum_of "$T/state/secrets/dave")" "$dave_sum" "oath: dave's secret is unchanged"
printf 'HOTP/T30 dave - %s\n' "$HEX_FRANK" >"$D/dave.oath"
sd_ctl import-oath "$D/dave.oath"
expect_rc 1 "oath: without --force an enrolled user is not replaced"
sd_ctl import-oath "$D/dave.oath" --force
expect_rc 0 "oath: --force replaces, exit 0 when nothing is skipped"
expect_eq "$(report)" "imported dave
1 imported, 0 skipped" "oath: the report of a clean import"
expect_eq "$(stored_key dave)" AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYU "oath: dave's new key is stored"

# A symlink or a missing file is refused and imports nothing.
printf 'HOTP/T30 gina - %s\n' "$HEX_DAVE" >"$D/gina.oath"
printf 'HOTP/T30 carol - %s\n' "$HEX_DAVE" >"$D/carol.oath"
ln -s "$D/carol.oath" "$D/link.oath"
before=$(snapshot)
sd_ctl import-oath "$D/link.oath"
expect_rc 1 "oath: a file reached through a symlink is refused"
expect_not_in "imported carol" "oath: nothing imported from the symlink"
expect_no_file "$T/state/secrets/carol" "oath: no secret for carol"
sd_ctl import-oath "$D/missing.oath"
expect_rc 1 "oath: a missing file is refused"
expect_in "cannot open" "oath: says it cannot open it"
[ "$(snapshot)" = "$before" ] && pass "oath: refused files change no state" ||
	fail "oath: a refused file changed the state directory"
sd_ctl import-oath "$D/carol.oath"
expect_rc 0 "oath: the symlink's target itself imports"
sd_ctl import-oath
expect_rc 2 "oath: no file is a usage error"

# Digits must match totp.digits.
printf 'HOTP/T30/8 root - %s\n' "$HEX_DAVE" >"$D/digits.oath"
sd_ctl import-oath "$D/digits.oath"
expect_rc 1 "oath: an 8-digit token is refused with 6-digit codes"
expect_eq "$(report)" "skipped line 1 (root): digits differ from totp.digits
0 imported, 1 skipped" "oath: the digits line is reported"

# Line numbers are the file's own, blank lines included.
printf 'HOTP/T30 svc - %s\n\n# comment\n\nHOTP/E root - %s\n' "$HEX_DAVE" "$HEX_DAVE" >"$D/blank.oath"
sd_ctl import-oath "$D/blank.oath"
expect_rc 1 "oath: a file with blank lines and a skipped line"
expect_eq "$(report)" "imported svc
skipped line 5 (root): counter-based HOTP tokens cannot become TOTP
1 imported, 1 skipped" "oath: line numbers count blank lines"

finish
