#!/bin/bash
# Decision-table rows 1-7 in the auth phase, roles, and the log line.
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
sd_service imap
sd_service cron
sd_service tagged-legacy service_tag=legacy
sd_service tagged-batch service_tag=noninteractive

# Row 1: enabled = false abstains.
sd_config 'enabled = false;'
sd_pam sshd bob
expect_result ignore "row 1: disabled module abstains (auth)"
sd_pam sshd bob acct_mgmt
expect_result ignore "row 1: disabled module abstains (account)"
sd_config

# Row 2: config missing, unsafe or invalid denies and logs file:line.
mv "$CONF" "$CONF.away"
sd_pam sshd bob
expect_result "$AUTH_ERR" "row 2: missing config denies"
expect_in "cannot open" "row 2: missing config is logged"
mv "$CONF.away" "$CONF"
chmod 0666 "$CONF"
sd_pam sshd bob
expect_result "$AUTH_ERR" "row 2: world-writable config denies"
expect_in "unsafe: writable by group or others" "row 2: unsafe config is logged"
sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "row 2: unsafe config denies the account phase"
sd_config 'grace_days = 14;' 'totp = { digits = 7; };'
sd_pam sshd bob
expect_result "$AUTH_ERR" "row 2: invalid value denies"
expect_in "secdefaults.conf:3: 'totp.digits' must be" "row 2: problem logged with file:line"
expect_log "row 2: decision line" decision=deny reason=config-error
sd_config 'no_such_key = 1;'
sd_pam sshd bob
expect_result "$AUTH_ERR" "row 2: unknown key denies"
expect_in "secdefaults.conf:2: unknown key 'no_such_key'" "row 2: unknown key logged with line"
sd_config
ln -s "$CONF" "$T/link.conf"
cat >"$T/svc/linked" <<SVC
auth required $MODULE config=$T/link.conf
SVC
sd_pam linked bob
expect_result "$AUTH_ERR" "row 2: config reached through a symlink denies"
sd_service typo config=$CONF servce_tag=legacy
sd_pam typo bob
expect_result "$AUTH_ERR" "row 2: unknown module argument denies"
expect_in 'unknown module argument "servce_tag' "row 2: unknown argument logged"
sd_service badtag service_tag=weird
sd_pam badtag bob
expect_result "$AUTH_ERR" "row 2: bad service_tag denies"

# Row 3: invalid user names deny and create nothing.
for name in "a/b" ".hidden" "-dash" "abcdefghijklmnopqrstuvwxyz0123456" "bo b" \
	"$(printf 'bo\tb')" "$(printf 'x\001y')"; do
	sd_pam sshd "$name"
	expect_result "$AUTH_ERR" "row 3: invalid user name '$name' denied"
	expect_log "row 3: reason for '$name'" decision=deny reason=invalid-user
done
expect_no_file "$T/state/users" "row 3: no state created for invalid names"

# Row 4: unknown users.
sd_pam sshd nosuchuser
expect_result "$USER_UNKNOWN" "row 4: unknown user gets PAM_USER_UNKNOWN"
expect_log "row 4: log" user=nosuchuser decision=deny reason=unknown-user
sd_pam sshd nosuchuser acct_mgmt
expect_result "$USER_UNKNOWN" "row 4: unknown user in account phase"
expect_no_file "$T/state/users" "row 4: no state created for unknown users"

# Row 5: exempt and break-glass abstain, break-glass at LOG_ALERT.
sd_config 'roles = { exempt_users = ["svc"]; exempt_groups = ["batch"]; breakglass_users = ["bg"]; };'
sd_pam sshd svc
expect_result ignore "row 5: exempt user abstains"
expect_log "row 5: exempt log" user=svc role=exempt decision=ignore reason=exempt
sd_pam sshd carol
expect_result ignore "row 5: member of an exempt group abstains"
sd_pam imap svc
expect_result ignore "row 5: exempt beats legacy (row 5 before row 6)"
sd_pam sshd bg
expect_result ignore "row 5: break-glass abstains"
expect_in "SYSLOG(1): user=bg role=breakglass" "row 5: break-glass logged at LOG_ALERT"
sd_pam sshd bg acct_mgmt
expect_result ignore "row 5: break-glass abstains in account phase"
expect_no_file "$T/state/users/svc" "row 5: exempt users get no state"
expect_no_file "$T/state/users/bg" "row 5: break-glass users get no state"
sd_config

# Row 6: legacy services refused, by name or by tag.
sd_pam imap bob
expect_result "$AUTH_ERR" "row 6: IMAP refused for a user"
expect_in "Legacy authentication is blocked" "row 6: the user is told"
expect_log "row 6: log" user=bob role=user service=imap class=legacy decision=deny reason=legacy-service
sd_pam imap alice
expect_result "$AUTH_ERR" "row 6: IMAP refused for an admin"
sd_pam tagged-legacy bob
expect_result "$AUTH_ERR" "row 6: service_tag=legacy refused"
sd_pam imap bob acct_mgmt
expect_result "$PERM_DENIED" "row 6: legacy refused in account phase"

# Row 7: noninteractive abstains.
sd_pam cron bob
expect_result ignore "row 7: cron abstains"
expect_log "row 7: log" class=noninteractive decision=ignore reason=noninteractive
sd_pam tagged-batch alice acct_mgmt
expect_result ignore "row 7: service_tag=noninteractive abstains in account phase"

# Roles from NSS.
sd_pam sshd alice
expect_log "role: sudo member is admin" user=alice role=admin
sd_pam sshd ed
expect_log "role: supplementary wheel member is admin" user=ed role=admin
sd_pam sshd root
expect_log "role: uid 0 is admin" user=root role=admin
sd_pam sshd bob
expect_log "role: others are users" user=bob role=user service=sshd class=standard
sd_config 'roles = { admin_groups = ["batch"]; };'
sd_pam sshd carol
expect_log "role: admin_groups is configurable" user=carol role=admin
sd_pam sshd alice
expect_log "role: sudo is no longer admin when not listed" user=alice role=user
sd_config

# The log line never carries control characters from the client.
sd_pam -I "rhost=$(printf '198.51.100.9\nuser=root')" sshd bob
expect_log "log: rhost sanitised" "rhost=198.51.100.9?user?root"

finish
