#!/bin/bash
# The real sudo as the privileged service: an ordinary enrolled user is asked
# for a code every time, even from a place where TOTP was just passed.
#
# sudo is setuid, so LD_PRELOAD (pam_wrapper, nss_wrapper) does not reach
# it. Instead the test runs in a private mount namespace in which its own
# files are bind-mounted over /etc/pam.d/sudo, /etc/passwd, /etc/group and
# /etc/sudoers, and a tmpfs over /run/sudo. The host's files are never
# written: the overlays exist only inside this namespace and vanish with it.
. "$(dirname "$0")/lib.sh"

if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	# The normal run covers this daemon; the module itself runs under
	# the sanitizers and valgrind in the pamtester tests.
	echo "SKIP: setuid sudo cannot preload the sanitizer runtime"
	exit 77
fi

if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/bin/sudo ] || ! command -v unshare >/dev/null ||
	! command -v setpriv >/dev/null; then
	echo "SKIP: needs root, sudo, unshare and setpriv"
	exit 77
fi

# The inner part runs inside its own mount namespace (re-entered below).
if [ -z "${SD_SUDO_INNER:-}" ]; then
	export SD_SUDO_INNER=1
	exec unshare --mount --propagation private -- /bin/bash "$0" "$@"
fi

chmod 0711 "$T"
sd_config
sd_service login
cat >"$T/sudo.pam" <<SVC
auth     required $MODULE config=$CONF
account  required $MODULE config=$CONF
session  required pam_permit.so
SVC
cat >"$T/sudoers" <<SUD
Defaults !fqdn, !lecture, timestamp_timeout=0, passwd_tries=1, !syslog
root ALL=(ALL:ALL) ALL
bob  ALL=(ALL:ALL) ALL
SUD
chmod 0440 "$T/sudoers"
chmod 0644 "$T/sudo.pam" "$T/passwd" "$T/group"
mkdir -p "$T/run-sudo"
mount --bind "$T/sudo.pam" /etc/pam.d/sudo &&
	mount --bind "$T/passwd" /etc/passwd &&
	mount --bind "$T/group" /etc/group &&
	mount --bind "$T/sudoers" /etc/sudoers &&
	mount -t tmpfs -o mode=0711 sdtest-sudo /run/sudo 2>/dev/null || mount --bind "$T/run-sudo" /run/sudo ||
	{ echo "cannot set up the private mounts"; exit 1; }

# bob is enrolled and passes TOTP at the console (location "local").
sd_ctl enroll bob --secret "$SECRET_A" --no-qr
sd_wait_step 10
sd_pam login bob <<<"$(sd_code "$SECRET_A")"
expect_result success "bob passes TOTP at the console"
expect_state bob "^location local " "the console is a remembered location"

# sudo as bob: a code is asked even though the location is known.
sudo_as_bob() { # CODE
	OUT=$(printf '%s\n' "$1" | timeout 20 setpriv --reuid=1002 --regid=1002 --clear-groups \
		/usr/bin/sudo -S -u root /usr/bin/id -u 2>&1)
	RC=$?
}
sudo_as_bob "$(sd_code "$SECRET_A" 30)"
expect_rc 0 "sudo: an ordinary enrolled user gets in with a code"
expect_in "Verification code for bob" "sudo: asked for a code from a known location"
if printf '%s\n' "$OUT" | grep -qE '(^|: )0$'; then pass "sudo: the command ran as root"; else
	fail "sudo: the command did not run as root"; fi
expect_state bob "^last_step " "sudo: the step was recorded"
sudo_as_bob 000000
if [ "$RC" -ne 0 ] && ! printf '%s\n' "$OUT" | grep -qE '(^|: )0$'; then
	pass "sudo: a wrong code is refused"; else fail "sudo: a wrong code is refused"; fi
sudo_as_bob "$(sd_code "$SECRET_A" 30)"
if [ "$RC" -ne 0 ] && ! printf '%s\n' "$OUT" | grep -qE '(^|: )0$'; then
	pass "sudo: a replayed code is refused"; else fail "sudo: a replayed code is refused"; fi
finish
