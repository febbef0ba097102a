#!/bin/bash
# Configuration-driven behaviour: report-only mode, service lists, tags.
. "$(dirname "$0")/lib.sh"

sd_config 'mode = "report-only";' 'roles = { breakglass_users = ["bg"]; };'
for s in sshd imap sudo cron; do sd_service "$s"; done

# The state without the rollout observations report-only records (see
# t_rollout.sh), and the secrets.
OBS='^(last_seen|last_seen_[a-z]+|legacy_service) '
decisive() {
	for f in "$T"/state/users/*; do
		[ -f "$f" ] && printf '%s\n' "${f##*/}" && sd_state_text "${f##*/}" | grep -vE "$OBS"
	done
	find "$T/state/secrets" -type f -exec md5sum {} + 2>/dev/null | sort
}

# Report-only: every decision is logged as would-*, the module abstains,
# never prompts, and writes nothing but observations (no grace clock).
sd_pam -I rhost=192.0.2.7 sshd bob
expect_result ignore "report-only: unenrolled user in grace abstains"
expect_log "report-only: would-allow logged" user=bob decision=would-allow reason=grace
sd_pam imap bob
expect_result ignore "report-only: legacy service abstains"
expect_log "report-only: would-deny logged for legacy" decision=would-deny reason=legacy-service
sd_pam imap bob acct_mgmt
expect_result ignore "report-only: legacy service abstains in account phase"
sd_pam sshd nosuchuser
expect_result ignore "report-only: unknown user abstains"
expect_log "report-only: unknown user logged" decision=would-deny reason=unknown-user
sd_pam sshd bg
expect_result ignore "report-only: break-glass abstains"
expect_log "report-only: break-glass" decision=ignore reason=breakglass
if [ "$(sd_state_text bob | grep -v "^#" | grep -vE "$OBS")" = "version 1" ]; then
	pass "report-only: nothing written but observations"
else
	fail "report-only: state changed"
fi
expect_state_not bob '^grace_start ' "report-only: no grace clock started"
expect_no_file "$T/state/users/bg" "report-only: nothing for break-glass users"
expect_no_file "$T/state/users/nosuchuser" "report-only: nothing for unknown users"

sd_config 'mode = "report-only";'
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "enrol alice"
before=$(decisive)
sd_pam -I rhost=192.0.2.7 sshd alice </dev/null
expect_result ignore "report-only: admin is not prompted"
expect_not_in "Verification code" "report-only: no prompt shown"
expect_log "report-only: would-prompt logged" user=alice decision=would-prompt reason=totp-admin
if [ "$(decisive)" = "$before" ]; then pass "report-only: prompt path writes nothing but observations"; else
	fail "report-only: prompt path changed state"; fi
SD_FAKETIME=+20d sd_pam -I rhost=192.0.2.7 sshd dave
expect_result ignore "report-only: grace logic evaluated without writing"

# A config problem still denies in report-only (the mode cannot be known).
sd_config 'mode = "report-only";' 'grace_days = "x";'
sd_pam sshd bob
expect_result "$AUTH_ERR" "report-only: invalid config still denies"

# Back to enforce: the first enforced sign-in starts the grace clock.
sd_config
sd_pam -I rhost=192.0.2.7 sshd bob
expect_result success "enforce after report-only: user in grace allowed"
if grep -q '^grace_start ' "$T/state/users/bob" 2>/dev/null; then
	pass "enforce: grace clock starts at the first enforced sign-in"
else fail "enforce: no grace_start"; fi

# Custom service lists and tags.
sd_config 'services = { legacy = ["ftp"]; privileged = ["doas"]; noninteractive = []; };'
sd_service ftp
sd_service doas
sd_pam ftp bob
expect_result "$AUTH_ERR" "services.legacy is configurable"
sd_pam imap bob
expect_log "imap is standard when not listed" class=standard
sd_pam cron bob
expect_log "cron is standard when noninteractive is empty" class=standard
sd_service sshd-admin service_tag=privileged
sd_pam sshd-admin bob
expect_log "service_tag=privileged sets the class" class=privileged
finish
