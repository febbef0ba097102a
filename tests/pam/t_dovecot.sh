#!/bin/bash
# Real dovecot on 127.0.0.1 with passdb pam and args = %s (the PAM service is
# the protocol name): plain IMAP and POP3 logins are refused for every user
# the module covers, even with the right password, and allowed for an exempt
# service account. Runs under pam_wrapper + nss_wrapper: nothing under /etc.
. "$(dirname "$0")/lib.sh"

if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	# The normal run covers this daemon; the module itself runs under
	# the sanitizers and valgrind in the pamtester tests.
	echo "SKIP: dovecot's chrooted login processes cannot run the sanitizer runtime"
	exit 77
fi

if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/dovecot ] || ! command -v curl >/dev/null; then
	echo "SKIP: needs root, dovecot-imapd, dovecot-pop3d and curl"
	exit 77
fi
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so

# dovecot's own users, as the system has them.
getent passwd dovecot dovenull >>"$T/passwd"
getent group dovecot dovenull >>"$T/group"
mkdir -p "$T/dovecot" "$T/mail"
chmod 0711 "$T"
chmod 0777 "$T/mail"

# Passwords for pam_matrix (the password module in these stacks).
for u in alice bob svc; do
	for s in imap pop3; do echo "$u:pw-$u:$s"; done
done >"$T/passdb"

sd_config 'roles = { exempt_users = ["svc"]; };'
for s in imap pop3; do
	cat >"$T/svc/$s" <<SVC
auth     required $MATRIX passdb=$T/passdb
auth     required $MODULE config=$CONF
account  required $MODULE config=$CONF
account  required pam_permit.so
SVC
done

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		ss -ltn | grep -q ":$p " || { echo "$p"; return; }
	done
	echo 0
}
IMAP=$(free_port)
POP3=$(free_port)
cat >"$T/dovecot/dovecot.conf" <<CFG
base_dir = $T/dovecot/run
state_dir = $T/dovecot/state
log_path = $T/dovecot/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_cache_size = 0
import_environment = LD_PRELOAD PAM_WRAPPER PAM_WRAPPER_SERVICE_DIR PAM_WRAPPER_DEBUGLEVEL NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$T/mail/%u
first_valid_uid = 1
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3
  }
  inet_listener pop3s {
    port = 0
  }
}
passdb {
  driver = pam
  args = %s
}
userdb {
  driver = static
  args = uid=1004 gid=1004 home=$T/mail/%u allow_all_users=yes
}
CFG

SD_EXEC=1 sd_env /usr/sbin/dovecot -F -c "$T/dovecot/dovecot.conf" >"$T/dovecot/stderr" 2>&1 &
DOVECOT=$!
stop_dovecot() {
	kill "$DOVECOT" 2>/dev/null
	wait "$DOVECOT" 2>/dev/null
	cleanup
}
trap stop_dovecot EXIT
for _ in $(seq 100); do
	ss -ltn | grep -q "127.0.0.1:$POP3 " && ss -ltn | grep -q "127.0.0.1:$IMAP " && break
	sleep 0.1
done

# mail PROTO USER PASSWORD: one login; RC is curl's (67 = login denied).
mail() {
	local url="imap://127.0.0.1:$IMAP/"
	[ "$1" = pop3 ] && url="pop3://127.0.0.1:$POP3/"
	OUT=$(timeout 20 curl -s -S --max-time 15 "$url" --user "$2:$3" \
		$([ "$1" = imap ] && echo "-X CAPABILITY") 2>&1)
	RC=$?
}

mail imap svc pw-svc
expect_rc 0 "dovecot IMAP: exempt service account logs in"
mail pop3 svc pw-svc
expect_rc 0 "dovecot POP3: exempt service account logs in"
# dovecot delays an address more after each failure until a success: a
# successful login between refused ones keeps the test fast.
mail imap svc wrong
expect_rc 67 "dovecot IMAP: exempt account with a wrong password refused (password module)"
for u in alice bob; do
	for proto in imap pop3; do
		mail imap svc pw-svc
		mail "$proto" "$u" "pw-$u"
		expect_rc 67 "dovecot $proto: $u refused with the right password (legacy protocol)"
	done
done
# Only the attempts are recorded, for the rollout report (t_rollout.sh).
expect_state_not bob '^grace_start ' "dovecot: refused legacy logins start no grace clock"
expect_state bob '^legacy_service imap ' "dovecot: the IMAP attempt is recorded for the report"
expect_state bob '^legacy_service pop3 ' "dovecot: the POP3 attempt is recorded for the report"

# The auth worker reuses the module across many requests: 200 logins
# through one dovecot, alternating refused and allowed, all answered right.
bad=0
# Refusals are one in ten: each one makes dovecot delay the next login from
# this address (its anti-brute-force penalty), which under a loaded machine
# can outlast the client's timeout; a success clears it.
wrong=""
for i in $(seq 200); do
	if [ $((i % 10)) -eq 0 ]; then
		mail pop3 bob pw-bob
		[ "$RC" -eq 67 ] || { bad=$((bad + 1)); wrong="$wrong bob#$i:rc=$RC"; }
	else
		mail imap svc pw-svc
		[ "$RC" -eq 0 ] || { bad=$((bad + 1)); wrong="$wrong svc#$i:rc=$RC"; }
	fi
done
if [ "$bad" -eq 0 ]; then pass "dovecot: 200 logins through one daemon, all decided right"; else
	OUT="$bad wrong answers:$wrong"; fail "dovecot: 200 logins"; fi
if kill -0 "$DOVECOT" 2>/dev/null; then pass "dovecot: still running"; else fail "dovecot died"; fi
mail pop3 svc pw-svc
expect_rc 0 "dovecot: still answering after 200 logins"
if grep -qiE 'fatal|panic|segfault|killed with signal' "$T/dovecot/dovecot.log"; then
	OUT=$(grep -iE 'fatal|panic|segfault|killed with signal' "$T/dovecot/dovecot.log")
	fail "dovecot log has no crash"
else pass "dovecot log has no crash"; fi
finish
