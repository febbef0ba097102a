#!/bin/bash
# Every path the module opens, with a hostile object planted at it: a
# symlink (to a file the test watches), a hard link, a FIFO, a directory and
# a character device. The sign-in is refused (or, for the temporary name,
# the debris is removed without being followed), the watched target is
# unchanged, and nothing hangs.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (mknod)"
	exit 77
fi
sd_config
sd_service sshd
sd_ctl enroll alice --secret "$SECRET_A" --no-qr
echo "precious" >"$T/target"
chmod 0600 "$T/target"
sum() { md5sum "$T/target" | cut -d' ' -f1; }
want=$(sum)
STEP=0

# attempt DESCRIPTION: alice (admin, always prompted) with a right code,
# each attempt in a fresh step so a success is never a replay.
attempt() {
	STEP=$((STEP + 30))
	SD_FAKETIME=+${STEP}s sd_pam -I rhost=192.0.2.7 sshd alice \
		<<<"$(SD_FAKETIME=+${STEP}s sd_code "$SECRET_A")"
}

# attempt_new_net: the same from a network alice never used, so the state
# file is replaced (a new location), through its temporary name; a sign-in
# from a remembered network only writes counters into the lock file.
attempt_new_net() {
	STEP=$((STEP + 30))
	SD_FAKETIME=+${STEP}s sd_pam -I rhost=198.51.$((STEP / 30 % 250)).7 sshd alice \
		<<<"$(SD_FAKETIME=+${STEP}s sd_code "$SECRET_A")"
}

# plant KIND PATH
plant() {
	rm -rf "$2"
	case $1 in
	symlink) ln -s "$T/target" "$2" ;;
	hardlink) ln "$T/target" "$2" ;;
	fifo) mkfifo -m 0600 "$2" ;;
	dir) mkdir -m 0700 "$2" ;;
	device) mknod -m 0600 "$2" c 1 3 ;;
	esac
}

sd_wait_step 10
attempt
expect_result success "baseline: alice signs in with a right code"
for where in users secrets locks; do
	for kind in symlink hardlink fifo dir device; do
		cp -p "$T/state/$where/alice" "$T/saved" 2>/dev/null || : >"$T/saved"
		plant "$kind" "$T/state/$where/alice"
		start=$(date +%s%N)
		SD_WRAP_PREFIX="timeout 5" attempt
		ms=$((($(date +%s%N) - start) / 1000000))
		expect_result "$AUTH_ERR" "$where/alice as a $kind: refused"
		if [ "$(sum)" = "$want" ]; then pass "$where/alice as a $kind: target unchanged"; else
			fail "$where/alice as a $kind: target changed"; fi
		if [ "$ms" -lt 5000 ]; then pass "$where/alice as a $kind: returned (${ms} ms)"; else
			fail "$where/alice as a $kind: took ${ms} ms"; fi
		rm -rf "$T/state/$where/alice"
		if [ -s "$T/saved" ]; then cp -p "$T/saved" "$T/state/$where/alice"; fi
		[ "$where" = secrets ] && [ ! -e "$T/state/secrets/alice" ] && \
			sd_ctl enroll alice --secret "$SECRET_A" --no-qr --force
	done
done

# The temporary name: stale debris there is removed, never followed.
for kind in symlink hardlink fifo device; do
	plant "$kind" "$T/state/users/.alice.tmp"
	SD_WRAP_PREFIX="timeout 5" attempt_new_net
	expect_result success ".alice.tmp as a $kind: removed, the state file replaced"
	if [ "$(sum)" = "$want" ]; then pass ".alice.tmp as a $kind: target unchanged"; else
		fail ".alice.tmp as a $kind: target changed"; fi
	if [ -f "$T/state/users/alice" ] && [ ! -L "$T/state/users/alice" ] &&
		[ "$(stat -c %h "$T/state/users/alice")" = 1 ]; then
		pass ".alice.tmp as a $kind: the state file is a plain file afterwards"
	else fail ".alice.tmp as a $kind: state file damaged"; fi
	sd_ctl status alice
	expect_rc 0 ".alice.tmp as a $kind: the state still parses"
done
plant dir "$T/state/users/.alice.tmp"
SD_WRAP_PREFIX="timeout 5" attempt_new_net
expect_result "$AUTH_ERR" ".alice.tmp as a directory: cannot be replaced, refused"
SD_WRAP_PREFIX="timeout 5" attempt
expect_result success ".alice.tmp as a directory: a sign-in that only moves counters is unaffected"
rm -rf "$T/state/users/.alice.tmp"

# The configuration file.
cp -p "$CONF" "$T/conf.saved"
for kind in fifo dir device symlink; do
	plant "$kind" "$CONF"
	SD_WRAP_PREFIX="timeout 5" attempt
	expect_result "$AUTH_ERR" "config as a $kind: refused"
	if [ "$(sum)" = "$want" ]; then pass "config as a $kind: target unchanged"; else
		fail "config as a $kind: target changed"; fi
done
rm -rf "$CONF"
cp -p "$T/conf.saved" "$CONF"
finish
