#!/bin/bash
# Only the pam_sm_* entry points may be exported from the module.
. "$(dirname "$0")/lib.sh"

OUT=$(nm -D --defined-only "$MODULE" 2>&1)
RC=$?
expect_rc 0 "nm reads the module"
others=$(printf '%s\n' "$OUT" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^pam_sm_' || true)
if [ -z "$others" ]; then pass "no symbol other than pam_sm_* is exported"; else
	OUT=$others; fail "exported symbols besides pam_sm_*"; fi
for sym in pam_sm_authenticate pam_sm_acct_mgmt pam_sm_setcred; do
	expect_in " T $sym" "$sym is exported"
done
finish
