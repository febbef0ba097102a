#!/bin/bash
# Real sshd on 127.0.0.1 authenticating through the module (pam_wrapper +
# nss_wrapper: no file under /etc is used), driven by a real ssh client.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v expect >/dev/null ||
	! command -v sshpass >/dev/null; then
	echo "SKIP: needs root, openssh-server, sshpass and expect"
	exit 77
fi

# sshd needs its privilege-separation user and directory.
cat >>"$T/passwd" <<PW
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
erin:x:1008:1008:Erin Late:/home/erin:/bin/sh
frank:x:1009:1009:Frank Flagged:/home/frank:/bin/sh
PW
printf 'nogroup:x:65534:\nerin:x:1008:\nfrank:x:1009:\n' >>"$T/group"
mkdir -p /run/sshd && chmod 0755 /run/sshd
mkdir -p "$T/home" "$T/keys" "$T/sshd"
# sshd reads authorized keys and enters home directories as the user.
chmod 0711 "$T"
chmod 0755 "$T/keys" "$T/home"
sed -i "s|:/home/|:$T/home/|" "$T/passwd"
for u in alice bob dave erin frank; do
	mkdir -p "$T/home/$u"
	chown "$(awk -F: -v u=$u '$1==u {print $3":"$4}' "$T/passwd")" "$T/home/$u"
done
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/client_key"
for u in alice bob erin frank; do
	cp "$T/client_key.pub" "$T/keys/$u"
	chmod 0644 "$T/keys/$u"
done

sd_config
cat >"$T/svc/sshd" <<SVC
auth     required $MODULE config=$CONF
account  required $MODULE config=$CONF
session  required pam_permit.so
password required pam_deny.so
SVC

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		ss -ltn | grep -q ":$p " || { echo "$p"; return; }
	done
	echo 0
}

PIDS=()
stop_daemons() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	cleanup
}
trap stop_daemons EXIT

# start_sshd NAME METHODS: an sshd of our own; sets PORT_<NAME>.
start_sshd() {
	local name=$1 methods=$2 port
	port=$(free_port)
	cat >"$T/sshd/$name.conf" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $T/sshd/host_key
PidFile $T/sshd/$name.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthenticationMethods $methods
AuthorizedKeysFile $T/keys/%u
StrictModes no
LogLevel VERBOSE
CFG
	SD_EXEC=1 sd_env /usr/sbin/sshd -D -e -f "$T/sshd/$name.conf" >"$T/sshd/$name.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		ss -ltn | grep -q "127.0.0.1:$port " && break
		sleep 0.1
	done
	eval "PORT_$name=$port"
}

start_sshd kbd keyboard-interactive
start_sshd key publickey
start_sshd both publickey,keyboard-interactive
sleep 0.3

SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
	-o ConnectTimeout=10)

# ssh_code PORT USER CODE: keyboard-interactive answering the TOTP prompt.
ssh_code() {
	OUT=$(timeout 30 sshpass -P 'Verification code' -p "$3" ssh -p "$1" "${SSH_OPTS[@]}" \
		-o PreferredAuthentications=keyboard-interactive -o PubkeyAuthentication=no \
		"$2@127.0.0.1" 'echo SD-SSH-OK' 2>&1)
	RC=$?
}

# ssh_key PORT USER [CODE]: public key, then the code if one is asked.
ssh_key() {
	local pre=()
	[ -n "${3:-}" ] && pre=(sshpass -P 'Verification code' -p "$3")
	OUT=$(timeout 30 "${pre[@]}" ssh -p "$1" "${SSH_OPTS[@]}" -i "$T/client_key" \
		-o IdentitiesOnly=yes -o BatchMode=$([ -n "${3:-}" ] && echo no || echo yes) \
		"$2@127.0.0.1" 'echo SD-SSH-OK' 2>&1)
	RC=$?
}

# ssh_enrol PORT USER ANSWER: the enrolment flow through expect. ANSWER is
# "skip" (Enter), "code" (compute the first code from the key shown), or
# "wrong".
ssh_enrol() {
	cat >"$T/enrol.exp" <<'EXP'
set timeout 20
lassign $argv port user answer opts
spawn -noecho ssh -p $port {*}$opts -o PreferredAuthentications=keyboard-interactive -o PubkeyAuthentication=no $user@127.0.0.1 {echo SD-SSH-OK}
set key ""
expect {
	-re {enter the key ([A-Z2-7]+)} { set key $expect_out(1,string); exp_continue }
	-re {Code from the app[^:]*: } {
		if {$answer eq "skip"} { send "\r" } elseif {$answer eq "wrong"} { send "000000\r" } else {
			send "[exec oathtool --totp -b $key]\r"
		}
		exp_continue
	}
	eof
}
catch wait result
exit [lindex $result 3]
EXP
	OUT=$(timeout 40 expect "$T/enrol.exp" "$1" "$2" "$3" "${SSH_OPTS[*]}" 2>&1)
	RC=$?
}

# 1. Admin with a correct code gets a command run; a wrong code is refused.
sd_ctl enroll alice --secret "$SECRET_A" --no-qr
sd_wait_step
ssh_code "$PORT_kbd" alice "$(sd_code "$SECRET_A")"
expect_rc 0 "sshd: admin with the right code gets in"
expect_in "SD-SSH-OK" "sshd: the admin's command ran"
ssh_code "$PORT_kbd" alice 123456
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q SD-SSH-OK; then
	pass "sshd: wrong code refused"; else fail "sshd: wrong code refused"; fi
sd_state_text alice | grep -q '^failures 1' && pass "sshd: the failure was counted" ||
	fail "sshd: failure not counted"

# 2. A user in grace is offered enrolment, skips, gets in, sees days left.
ssh_enrol "$PORT_kbd" bob skip
expect_rc 0 "sshd: user in grace skips enrolment and gets in"
expect_in "14 days left" "sshd: days left shown over keyboard-interactive"
expect_in "SD-SSH-OK" "sshd: grace user's command ran"
expect_in "otpauth://totp/" "sshd: the URI is shown"
expect_in "$(printf '\xe2\x96\x88')" "sshd: the QR code is shown"

# 3. Enrolment at sign-in over SSH: the first code completes it.
ssh_enrol "$PORT_kbd" dave code
expect_rc 0 "sshd: enrolment at sign-in with the first code"
expect_in "SD-SSH-OK" "sshd: enrolled user's command ran"
grep -q '^enrolled ' "$T/state/users/dave" && pass "sshd: dave is enrolled" ||
	fail "sshd: dave not enrolled"

# 4. After grace: enrolment is required; skipping is refused.
cat >"$T/state/users/erin" <<ST
version 1
grace_start 2020-01-01T00:00:00Z
ST
chmod 0600 "$T/state/users/erin"
ssh_enrol "$PORT_kbd" erin skip
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q SD-SSH-OK; then
	pass "sshd: after grace, no way in without enrolment"; else fail "sshd: after grace"; fi
expect_in "Two-step verification is required" "sshd: user told set-up is required"

# 5. Public key only: the account phase still decides.
ssh_key "$PORT_key" alice
expect_rc 0 "sshd publickey: enrolled admin gets in"
ssh_key "$PORT_key" bob
expect_rc 0 "sshd publickey: user in grace gets in"
ssh_key "$PORT_key" erin
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q SD-SSH-OK; then
	pass "sshd publickey: not enrolled after grace refused by the account phase"
else fail "sshd publickey: after grace"; fi
sd_ctl enroll frank --secret "$SECRET_B" --no-qr
sd_ctl flag frank --reason "test flag"
ssh_key "$PORT_key" frank
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q SD-SSH-OK; then
	pass "sshd publickey: compromised user refused"; else fail "sshd publickey: compromised"; fi

# 6. Key plus TOTP.
sd_wait_step
ssh_key "$PORT_both" alice "$(sd_code "$SECRET_A" 30)"
expect_rc 0 "sshd publickey,keyboard-interactive: key plus code gets in"
ssh_key "$PORT_both" alice 000000
if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q SD-SSH-OK; then
	pass "sshd publickey,keyboard-interactive: key plus wrong code refused"
else fail "sshd key+wrong code"; fi

finish
