#!/bin/bash
# The README's demo runs to the end and shows the decisions it promises.
. "$(dirname "$0")/lib.sh"

OUT=$(bash "$top_srcdir/tools/demo" --no-build 2>&1)
RC=$?
expect_rc 0 "the demo runs to the end"
expect_in "decision=allow reason=grace-enroll-skipped rule=10" "demo: set-up offered, skipped in grace"
expect_in "(14 days left before it is required)" "demo: days left shown"
expect_in "decision=deny reason=enroll-required rule=11" "demo: after grace set-up is required"
expect_in "decision=allow reason=enrolled-at-login" "demo: enrolment at sign-in completes"
expect_in "otpauth://totp/DemoCorp:alice?secret=" "demo: enrolment prints the URI"
expect_in "user=alice role=admin service=sshd class=standard rhost=192.0.2.7 decision=allow reason=totp-admin" "demo: admin TOTP sign-in"
expect_in "decision=deny reason=totp-replay" "demo: replay refused"
expect_in "decision=allow reason=known-location rule=13" "demo: remembered network, no prompt"
expect_in "decision=allow reason=totp-privileged" "demo: sudo asks for a code"
expect_in "decision=deny reason=legacy-service" "demo: IMAP refused"
expect_in "decision=ignore reason=exempt" "demo: service account abstains"
expect_in "decision=ignore reason=breakglass" "demo: break-glass abstains"
expect_in "decision=ignore reason=noninteractive" "demo: cron abstains"
expect_in "secdefaultsctl show bob" "demo: shows the merged state"
if sed -n '/(secdefaultsctl show bob)/,$p' <<<"$OUT" | grep -q '^    version 1$'; then
	pass "demo: secdefaultsctl show prints the state"
else fail "demo: secdefaultsctl show prints the state"; fi
expect_in "demo finished" "demo: completes"
finish
