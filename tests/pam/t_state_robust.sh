#!/bin/bash
# Rule 8: state that is unreadable, corrupt or unsafe denies, is never taken
# for a new user, and is left exactly as it was; an unsafe state directory
# denies; unknown and invalid user names create nothing.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

# Enrolment at sign-in is switched off: these tests are about the state
# files and the admin command, and a grace sign-in should just pass.
NOOFFER='enrollment = { at_login = false; };'
sd_config "$NOOFFER"
sd_service sshd
U=$T/state/users
S=$T/state/secrets
L=$T/state/locks

# A description of a directory entry that changes if anything about it does:
# type, mode, owner, links, size, inode, mtime, a link's target, a regular
# file's content, a directory's entries. Never opens a FIFO.
fingerprint() {
	local p=$1
	if [ -L "$p" ]; then
		printf 'symlink -> %s\n' "$(readlink "$p")"
		stat -c '%i %Y' "$p"
		return
	fi
	if [ ! -e "$p" ]; then
		echo absent
		return
	fi
	stat -c '%F %a %u:%g %h %s %i %Y' "$p"
	if [ -f "$p" ]; then md5sum <"$p"; fi
	if [ -d "$p" ]; then ls -lA --time-style=+%s "$p"; fi
}

# expect_same DESC PATH SAVED: PATH's fingerprint is still SAVED.
expect_same() {
	local now
	now=$(fingerprint "$2")
	if [ "$now" = "$3" ]; then pass "$1"; else
		OUT="before: $3
after:  $now"
		fail "$1"
	fi
}

# Enrol bob and sign in once from "local": the state now has a step, a TOTP
# time and a remembered location, and a plain sign-in needs no code.
sd_ctl enroll bob --secret "$SECRET_A"
expect_rc 0 "setup: bob enrolled"
sd_wait_step
sd_pam sshd bob <<<"$(sd_code "$SECRET_A")"
expect_result success "setup: bob passes TOTP once"
cp -p "$U/bob" "$T/good.state"
cp -p "$T/state/locks/bob" "$T/good.lock"
cp -p "$S/bob" "$T/good.secret"
sd_pam sshd bob </dev/null
expect_result success "setup: with good state bob signs in without a code"
expect_not_in "Verification code" "setup: no prompt from a remembered location"

restore_state() { # users/bob and the counters records of locks/bob
	rm -rf "$U/bob"
	cp -p "$T/good.state" "$U/bob"
	cp -p "$T/good.lock" "$T/state/locks/bob"
}

# deny_state DESC: bob's sign-in is denied for a state error, without a prompt.
deny_state() {
	local desc=$1
	sd_pam sshd bob <<<"$(sd_code "$SECRET_A")"
	expect_result "$AUTH_ERR" "$desc: sign-in denied"
	expect_log "$desc: logged as a state error" user=bob decision=deny reason=state-error rule=8
	expect_not_in "Verification code" "$desc: no code prompt"
}

# back_to_good DESC: with the good state restored bob signs in again (so the
# deny above came from what was planted).
back_to_good() {
	restore_state
	sd_pam sshd bob </dev/null
	expect_result success "$1: restored state signs in again"
}

# ---- Corrupt contents of users/bob -----------------------------------------

plant_file() { # plant_file CONTENT-FILE: users/bob becomes a 0600 root file with it
	rm -rf "$U/bob"
	cp "$1" "$U/bob"
	chmod 0600 "$U/bob"
	cp -p "$U/bob" "$T/planted"
}

expect_planted_unchanged() {
	if cmp -s "$U/bob" "$T/planted"; then pass "$1: file byte-identical after the deny"; else
		OUT=$(cat "$U/bob" 2>&1) RC=-
		fail "$1: file byte-identical after the deny"
	fi
}

printf 'garbage\377\001 this is not a state file\n\n' >"$T/c.garbage"
{ cat "$T/good.state"; echo "colour blue"; } >"$T/c.unknown"
sed 's/^version 1$/version 2/' "$T/good.state" >"$T/c.version2"
: >"$T/c.empty"
{ cat "$T/good.state"; printf 'failures 1\nfailures 2\n'; } >"$T/c.twice"
head -c $(($(wc -c <"$T/good.state") - 9)) "$T/good.state" >"$T/c.truncated"
{
	cat "$T/good.state"
	for i in $(seq 1 200); do printf '#%0400d\n' 0; done
} >"$T/c.huge"
grep -q '^version 2$' "$T/c.version2" && pass "setup: version 2 file made" ||
	fail "setup: version 2 file made"

for c in garbage unknown version2 empty twice truncated huge; do
	plant_file "$T/c.$c"
	deny_state "users/bob $c"
	expect_planted_unchanged "users/bob $c"
	if [ "$c" = garbage ] || [ "$c" = version2 ]; then
		sd_pam sshd bob acct_mgmt
		expect_result "$PERM_DENIED" "users/bob $c: account phase denied"
		expect_planted_unchanged "users/bob $c (account phase)"
		# The admin command does not read-modify-write a corrupt file
		# either; only reset, the way out, removes it.
		for v in unlock flag dismiss "enroll --force"; do
			# shellcheck disable=SC2086
			sd_ctl $v bob
			expect_rc 1 "users/bob $c: secdefaultsctl $v refuses"
			expect_planted_unchanged "users/bob $c (secdefaultsctl $v)"
		done
		if cmp -s "$S/bob" "$T/good.secret"; then pass "users/bob $c: secret untouched by secdefaultsctl"; else
			fail "users/bob $c: secret untouched by secdefaultsctl"
		fi
		sd_ctl reset bob
		expect_rc 0 "users/bob $c: secdefaultsctl reset recovers"
		expect_no_file "$U/bob" "users/bob $c: reset removed the corrupt state"
		expect_no_file "$S/bob" "users/bob $c: reset removed the secret"
		sd_pam sshd bob </dev/null
		expect_result success "users/bob $c: after reset bob is new (grace)"
		expect_log "users/bob $c: after reset the grace clock starts" user=bob decision=allow reason=grace
		cp -p "$T/good.secret" "$S/bob"
	fi
	back_to_good "users/bob $c"
done

# A corrupt file of a user who is not enrolled is not a new user either: no
# grace clock is started over it.
printf 'version 1\ngrace_start yesterday\n' >"$U/dave"
chmod 0600 "$U/dave"
cp -p "$U/dave" "$T/dave.planted"
sd_pam sshd dave </dev/null
expect_result "$AUTH_ERR" "users/dave corrupt, not enrolled: denied"
expect_log "users/dave corrupt: state error" user=dave decision=deny reason=state-error
expect_not_in "days left" "users/dave corrupt: no grace message"
if cmp -s "$U/dave" "$T/dave.planted"; then pass "users/dave corrupt: byte-identical"; else
	OUT=$(cat "$U/dave") RC=-
	fail "users/dave corrupt: byte-identical"
fi
sd_pam sshd dave acct_mgmt
expect_result "$PERM_DENIED" "users/dave corrupt: account phase denied"
if cmp -s "$U/dave" "$T/dave.planted"; then pass "users/dave corrupt: byte-identical after account phase"; else
	OUT=$(cat "$U/dave") RC=-
	fail "users/dave corrupt: byte-identical after account phase"
fi
rm -f "$U/dave"

# ---- Unsafe objects at users/bob -------------------------------------------

# A symlink to a perfectly good state file.
cp -p "$T/good.state" "$T/other.state"
rm -f "$U/bob"
ln -s "$T/other.state" "$U/bob"
before_link=$(fingerprint "$U/bob")
before_target=$(fingerprint "$T/other.state")
deny_state "users/bob symlink"
expect_same "users/bob symlink: link unchanged" "$U/bob" "$before_link"
expect_same "users/bob symlink: target unchanged" "$T/other.state" "$before_target"
back_to_good "users/bob symlink"

# A FIFO: the module must not block on it.
rm -f "$U/bob"
mkfifo -m 0600 "$U/bob"
before=$(fingerprint "$U/bob")
t0=$(date +%s%N)
SD_WRAP_PREFIX="timeout 5 ${SD_WRAP_PREFIX:-}" sd_pam sshd bob <<<"$(sd_code "$SECRET_A")"
t1=$(date +%s%N)
if [ "$RC" -ne 124 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then
	pass "users/bob FIFO: returns within 5 s ($(((t1 - t0) / 1000000)) ms)"
else
	fail "users/bob FIFO: returns within 5 s"
fi
expect_result "$AUTH_ERR" "users/bob FIFO: sign-in denied"
expect_log "users/bob FIFO: logged as a state error" user=bob decision=deny reason=state-error
expect_not_in "Verification code" "users/bob FIFO: no code prompt"
expect_same "users/bob FIFO: still the same FIFO" "$U/bob" "$before"
SD_WRAP_PREFIX="timeout 5 ${SD_WRAP_PREFIX:-}" sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "users/bob FIFO: account phase denied in time"
back_to_good "users/bob FIFO"

# A hard link (two names for one file).
ln "$U/bob" "$T/hardlink"
before=$(fingerprint "$U/bob")
deny_state "users/bob hard link"
expect_same "users/bob hard link: unchanged (nlink 2)" "$U/bob" "$before"
if [ "$(stat -c %h "$U/bob")" = 2 ] && cmp -s "$T/hardlink" "$T/good.state"; then
	pass "users/bob hard link: both names still the same file"
else
	fail "users/bob hard link: both names still the same file"
fi
rm -f "$T/hardlink"
back_to_good "users/bob hard link"

# A directory.
rm -f "$U/bob"
mkdir -m 0700 "$U/bob"
before=$(fingerprint "$U/bob")
deny_state "users/bob directory"
expect_same "users/bob directory: unchanged" "$U/bob" "$before"
back_to_good "users/bob directory"

# Group/world-readable.
chmod 0644 "$U/bob"
before=$(fingerprint "$U/bob")
deny_state "users/bob mode 0644"
expect_same "users/bob mode 0644: unchanged" "$U/bob" "$before"
back_to_good "users/bob mode 0644"

# Owned by someone else.
chown 1234:1234 "$U/bob"
before=$(fingerprint "$U/bob")
deny_state "users/bob owned by uid 1234"
expect_same "users/bob owned by uid 1234: unchanged" "$U/bob" "$before"
back_to_good "users/bob owned by uid 1234"

# ---- secrets/bob, read when a code is checked ------------------------------

# From a network bob never passed TOTP from, he is asked for a code and the
# secret is read. Each case must deny although the code is right, change
# neither the secret nor the state (no guess was checked), and log why. The
# good state already used the current step: the code presented is the next
# step's, which totp.window = 1 accepts, so only the secret can refuse it.
NEWNET=198.51.100.7

restore_secret() {
	rm -rf "$S/bob"
	cp -p "$T/good.secret" "$S/bob"
}

deny_secret() {
	local desc=$1 line
	restore_state
	sd_wait_step
	sd_pam -I rhost=$NEWNET sshd bob <<<"$(sd_code "$SECRET_A" 30)"
	expect_result "$AUTH_ERR" "$desc: sign-in with the right code denied"
	expect_in "Verification code" "$desc: the code path was reached"
	line=$(printf '%s\n' "$OUT" | grep 'decision=' | tail -n 1)
	case " $line " in
	*" user=bob "*" decision=deny reason=state-error "* | *" user=bob "*" decision=deny reason=secret-error "*)
		pass "$desc: logged as a state/secret error" ;;
	*) fail "$desc: logged as a state/secret error (log: $line)" ;;
	esac
	if cmp -s "$U/bob" "$T/good.state"; then pass "$desc: users/bob unchanged"; else
		OUT=$(cat "$U/bob") RC=-
		fail "$desc: users/bob unchanged"
	fi
}

plant_secret() {
	rm -rf "$S/bob"
	cp "$1" "$S/bob"
	chmod 0600 "$S/bob"
	cp -p "$S/bob" "$T/planted.secret"
}

expect_secret_unchanged() {
	if cmp -s "$S/bob" "$T/planted.secret"; then pass "$1: secret byte-identical"; else
		fail "$1: secret byte-identical"
	fi
}

printf 'garbage\377 not a secret\n' >"$T/s.garbage"
{ cat "$T/good.secret"; echo "colour blue"; } >"$T/s.unknown"
sed 's/^version 1$/version 2/' "$T/good.secret" >"$T/s.version2"
sed 's/^key .*/key JBSWY3DP/' "$T/good.secret" >"$T/s.shortkey"
grep -v '^key ' "$T/good.secret" >"$T/s.nokey"
for c in garbage unknown version2 shortkey nokey; do
	plant_secret "$T/s.$c"
	deny_secret "secrets/bob $c"
	expect_secret_unchanged "secrets/bob $c"
done
restore_secret

# An enrolled user whose secret is gone is not let in without a code.
rm -f "$S/bob"
deny_secret "secrets/bob missing"
expect_no_file "$S/bob" "secrets/bob missing: nothing recreated"
restore_secret

# A symlink to a valid secret file (with the right key): still refused.
cp -p "$T/good.secret" "$T/other.secret"
rm -f "$S/bob"
ln -s "$T/other.secret" "$S/bob"
before_link=$(fingerprint "$S/bob")
before_target=$(fingerprint "$T/other.secret")
deny_secret "secrets/bob symlink"
expect_same "secrets/bob symlink: link unchanged" "$S/bob" "$before_link"
expect_same "secrets/bob symlink: target unchanged" "$T/other.secret" "$before_target"
restore_secret

rm -f "$S/bob"
mkfifo -m 0600 "$S/bob"
before=$(fingerprint "$S/bob")
t0=$(date +%s%N)
SD_WRAP_PREFIX="timeout 5 ${SD_WRAP_PREFIX:-}" deny_secret "secrets/bob FIFO"
t1=$(date +%s%N)
if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then pass "secrets/bob FIFO: returns within 5 s"; else
	fail "secrets/bob FIFO: returns within 5 s"
fi
expect_same "secrets/bob FIFO: unchanged" "$S/bob" "$before"
restore_secret

ln "$S/bob" "$T/secret.hardlink"
before=$(fingerprint "$S/bob")
deny_secret "secrets/bob hard link"
expect_same "secrets/bob hard link: unchanged" "$S/bob" "$before"
rm -f "$T/secret.hardlink"
restore_secret

rm -f "$S/bob"
mkdir -m 0700 "$S/bob"
before=$(fingerprint "$S/bob")
deny_secret "secrets/bob directory"
expect_same "secrets/bob directory: unchanged" "$S/bob" "$before"
restore_secret

chmod 0644 "$S/bob"
before=$(fingerprint "$S/bob")
deny_secret "secrets/bob mode 0644"
expect_same "secrets/bob mode 0644: unchanged" "$S/bob" "$before"
restore_secret

chown 1234:1234 "$S/bob"
before=$(fingerprint "$S/bob")
deny_secret "secrets/bob owned by uid 1234"
expect_same "secrets/bob owned by uid 1234: unchanged" "$S/bob" "$before"
restore_secret

# With the good secret back the same path lets bob in: the denies above came
# from what was planted. The good state already used the current step, so
# present the next one (accepted within totp.window = 1).
sd_wait_step
sd_pam -I rhost=$NEWNET sshd bob <<<"$(sd_code "$SECRET_A" 30)"
expect_result success "secrets/bob restored: the right code is accepted"
restore_state

# ---- The state directory ---------------------------------------------------

chmod 0755 "$T/state"
deny_state "state dir mode 0755"
sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "state dir mode 0755: account phase denied"
expect_log "state dir mode 0755: account phase state error" decision=deny reason=state-error
if [ "$(stat -c %a "$T/state")" = 755 ]; then pass "state dir mode 0755: mode left alone"; else
	fail "state dir mode 0755: mode left alone"
fi
chmod 0700 "$T/state"
back_to_good "state dir mode 0755"

chown 1234:1234 "$T/state"
deny_state "state dir owned by uid 1234"
sd_pam sshd bob acct_mgmt
expect_result "$PERM_DENIED" "state dir owned by uid 1234: account phase denied"
chown 0:0 "$T/state"
back_to_good "state dir owned by uid 1234"

mv "$T/state" "$T/state.real"
ln -s "$T/state.real" "$T/state"
deny_state "state dir a symlink"
rm -f "$T/state"
mv "$T/state.real" "$T/state"
back_to_good "state dir a symlink"

chmod 0755 "$U"
deny_state "users dir mode 0755"
chmod 0700 "$U"
back_to_good "users dir mode 0755"

# users (and secrets, locks) replaced by a symlink to a good-looking copy.
for sub in users secrets locks; do
	mv "$T/state/$sub" "$T/$sub.real"
	ln -s "$T/$sub.real" "$T/state/$sub"
	before=$(fingerprint "$T/$sub.real")
	deny_state "state/$sub a symlink"
	expect_same "state/$sub a symlink: the other directory unchanged" "$T/$sub.real" "$before"
	if [ -L "$T/state/$sub" ]; then pass "state/$sub a symlink: link left alone"; else
		fail "state/$sub a symlink: link left alone"
	fi
	rm -f "$T/state/$sub"
	mv "$T/$sub.real" "$T/state/$sub"
done
back_to_good "state subdirectories restored"

# ---- Lock files ------------------------------------------------------------

# locks/bob a symlink to a file: a sign-in that writes (a code from a new
# network) is denied and the target is not touched.
echo "precious" >"$T/victim"
chmod 0600 "$T/victim"
rm -f "$L/bob"
ln -s "$T/victim" "$L/bob"
before_target=$(fingerprint "$T/victim")
before_link=$(fingerprint "$L/bob")
sd_wait_step
sd_pam -I rhost=$NEWNET sshd bob <<<"$(sd_code "$SECRET_A" 30)"
expect_result "$AUTH_ERR" "locks/bob symlink: sign-in that writes is denied"
expect_log "locks/bob symlink: logged as a state error" user=bob decision=deny reason=state-error
expect_same "locks/bob symlink: target unchanged" "$T/victim" "$before_target"
expect_same "locks/bob symlink: link unchanged" "$L/bob" "$before_link"
if cmp -s "$U/bob" "$T/good.state"; then pass "locks/bob symlink: state not written"; else
	fail "locks/bob symlink: state not written"
fi
rm -f "$L/bob"

# locks/dave a dangling symlink: dave's first sign-in would start his grace
# clock; it is denied and neither the link target nor users/dave appears.
ln -s "$T/lock-target" "$L/dave"
sd_pam sshd dave </dev/null
expect_result "$AUTH_ERR" "locks/dave dangling symlink: grace start denied"
expect_log "locks/dave dangling symlink: state error" user=dave decision=deny reason=state-error
expect_no_file "$T/lock-target" "locks/dave dangling symlink: target not created"
expect_no_file "$U/dave" "locks/dave dangling symlink: no state written"
rm -f "$L/dave"

# locks/dave a FIFO: denied, in time.
mkfifo -m 0600 "$L/dave"
t0=$(date +%s%N)
SD_WRAP_PREFIX="timeout 5 ${SD_WRAP_PREFIX:-}" sd_pam sshd dave </dev/null
t1=$(date +%s%N)
expect_result "$AUTH_ERR" "locks/dave FIFO: denied"
if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then pass "locks/dave FIFO: returns within 5 s"; else
	fail "locks/dave FIFO: returns within 5 s"
fi
expect_no_file "$U/dave" "locks/dave FIFO: no state written"
rm -f "$L/dave"
sd_pam sshd dave </dev/null
expect_result success "locks/dave removed: the grace clock starts normally"
expect_file "$U/dave" "locks/dave removed: state written"

# ---- Unknown and invalid user names create nothing -------------------------

files_before=$(find "$T/state" -type f | wc -l)
tree_before=$(find "$T/state" | sort)
bad=0 badout=
for i in $(seq 1 200); do
	case $((i % 4)) in
	0) name="ghost$i" ;;
	1) name="no.such.user-$i" ;;
	2) name="Bob$i" ;;
	3) name="x_${i}_$RANDOM" ;;
	esac
	if [ $((i % 10)) -eq 0 ]; then
		sd_pam sshd "$name" acct_mgmt
	else
		sd_pam sshd "$name" <<<"123456"
	fi
	if ! printf '%s' "$OUT" | grep -qF "pamtester: $USER_UNKNOWN" ||
		! printf '%s' "$OUT" | grep -q "decision=deny reason=unknown-user"; then
		bad=$((bad + 1))
		badout=$OUT
	fi
done
OUT=$badout RC=-
if [ $bad -eq 0 ]; then pass "200 unknown names: all PAM_USER_UNKNOWN, reason=unknown-user"; else
	fail "200 unknown names: $bad not denied as unknown"
fi

bad=0 badout=
long=abcdefghijklmnopqrstuvwxyz0123456789
for i in $(seq 1 50); do
	case $((i % 10)) in
	0) name="../x$i" ;;
	1) name="a/b$i" ;;
	2) name=".hidden$i" ;;
	3) name="-dash$i" ;;
	4) name="bo b$i" ;;
	5) name="$(printf 'bo\tb')$i" ;;
	6) name="$(printf 'x\001y')$i" ;;
	7) name="$long$i" ;;
	8) name="$(printf 'del\177')$i" ;;
	9) name="/etc/passwd$i" ;;
	esac
	sd_pam sshd "$name" <<<"123456"
	if ! printf '%s' "$OUT" | grep -qF "pamtester: $AUTH_ERR" ||
		! printf '%s' "$OUT" | grep -q "decision=deny reason=invalid-user"; then
		bad=$((bad + 1))
		badout=$OUT
	fi
done
OUT=$badout RC=-
if [ $bad -eq 0 ]; then pass "50 invalid names: all denied, reason=invalid-user"; else
	fail "50 invalid names: $bad not denied as invalid"
fi

files_after=$(find "$T/state" -type f | wc -l)
tree_after=$(find "$T/state" | sort)
OUT=$(diff <(echo "$tree_before") <(echo "$tree_after")) RC=-
if [ "$files_after" -eq "$files_before" ]; then
	pass "unknown/invalid names: file count unchanged ($files_after)"
else
	fail "unknown/invalid names: file count unchanged ($files_before -> $files_after)"
fi
if [ "$tree_after" = "$tree_before" ]; then pass "unknown/invalid names: no entry created under state"; else
	fail "unknown/invalid names: no entry created under state"
fi

finish
