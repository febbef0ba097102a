#!/bin/bash
# The Debian package (debian/): dpkg-buildpackage builds it from a copy of
# the source tree, lintian finds no errors, the .deb carries the module, the
# CLI, the man pages, the pam-auth-update profile, the tmpfiles.d entry and
# the config (a conffile). Then it is installed, enabled with
# pam-auth-update, removed and purged with dpkg inside a throwaway root: an
# overlay of / on a tmpfs, in a mount namespace of this test, so the host's
# /etc and dpkg database are never written. pamtester runs the installed
# module twice: by absolute path under pam_wrapper + nss_wrapper (IMAP
# refused, bob's grace sign-in allowed), and by its bare name through the
# throwaway root's own libpam and shipped config.
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-buildpackage >/dev/null ||
	! command -v dh >/dev/null || ! command -v lintian >/dev/null ||
	! command -v unshare >/dev/null; then
	echo "SKIP: needs root, dpkg-buildpackage, debhelper, lintian and unshare"
	exit 77
fi
# Every mount below (a tmpfs, the overlay) lives in a mount namespace of its
# own and goes away with this process, whatever lib.sh decides about /tmp.
if [ -z "${SD_PKG_NS:-}" ]; then
	export SD_PKG_NS=1
	exec unshare --mount --propagation private -- /bin/bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

PKG=$T/pkg
mkdir "$PKG"
mount -t tmpfs -o size=512m,mode=0700 sdtest-pkg "$PKG" || {
	OUT="" RC=1
	fail "mount a tmpfs for the build"
	finish
}
# Unmount before deleting, and never cross into another file system: the
# overlay shows the host's whole tree.
cleanup_pkg() {
	umount -R -l "$PKG" 2>/dev/null
	rm -rf --one-file-system "$T"
}
trap cleanup_pkg EXIT

started=$(date +%s)
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
PAMDIR=/lib/$MA/security

# ---- 1. a copy of the source -----------------------------------------------
# From git: tracked and untracked files that are not ignored (so a debian/
# not committed yet is tested too). Without git (make distcheck): the
# distribution's file list.
src=$(cd "$top_srcdir" && pwd -P)
mkdir "$PKG/src"
if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$src/$f" ] || [ -L "$src/$f" ]; then printf '%s\0' "$f"; fi
		done | tar -C "$src" --null -T - -cf - | tar -C "$PKG/src" -xf -
	how="git ls-files"
else
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -s -C "$top_builddir" distdir distdir="$PKG/src" top_distdir="$PKG/src" \
		>/dev/null 2>&1
	how="make distdir"
fi
chmod -R u+w "$PKG/src"
if [ ! -f "$PKG/src/debian/control" ]; then
	echo "SKIP: no debian/ in the source tree ($how)"
	exit 77
fi
echo "# source copied with $how"

# ---- 2. build --------------------------------------------------------------
# Without the variables of a surrounding make (make check), which would
# reach debian/rules' own make.
OUT=$(cd "$PKG/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" timeout 600 \
	dpkg-buildpackage -us -uc -b 2>&1)
RC=$?
OUT=$(printf '%s\n' "$OUT" | tail -n 40)
expect_rc 0 "dpkg-buildpackage -us -uc -b succeeds"
echo "# build took $(($(date +%s) - started)) s"
VER=$(cd "$PKG/src" && dpkg-parsechangelog -S Version)
DEB=$PKG/libpam-secdefaults_${VER}_$ARCH.deb
CHANGES=$PKG/pam-secdefaults_${VER}_$ARCH.changes
expect_file "$DEB" "the .deb was built"
expect_file "$CHANGES" "the .changes was written"
[ -f "$DEB" ] || finish

# ---- 3. lintian ------------------------------------------------------------
# Exit status 0: no tag at lintian's fail-on level (error) and no failure.
OUT=$(lintian "$CHANGES" 2>&1)
RC=$?
OUT=$(printf '%s\n' "$OUT" | grep -v 'running with root privileges is not recommended')
printf '%s\n' "$OUT" | grep -E '^[A-Z]: ' | sed 's/^/# lintian: /'
expect_rc 0 "lintian runs and fails on nothing"
expect_not_in "E: " "lintian reports no errors"

# ---- 4. what the .deb carries ----------------------------------------------
OUT=$(dpkg-deb -c "$DEB" 2>&1)
RC=$?
expect_rc 0 "dpkg-deb lists the package"
LIST=$(printf '%s\n' "$OUT" | awk '{ print $6 }' | sed 's|^\./|/|')
has() {
	if printf '%s\n' "$LIST" | grep -qx -- "$1"; then pass "the package has $1"; else
		fail "the package lacks $1"; fi
}
has "$PAMDIR/pam_secdefaults.so"
has /usr/sbin/secdefaultsctl
has /usr/share/man/man8/pam_secdefaults.8.gz
has /usr/share/man/man8/secdefaultsctl.8.gz
has /usr/share/man/man5/secdefaults.conf.5.gz
has /usr/share/man/man5/secdefaults-state.5.gz
has /usr/share/pam-configs/secdefaults
has /usr/lib/tmpfiles.d/secdefaults.conf
has /etc/security/secdefaults.conf
has /usr/share/doc/libpam-secdefaults/copyright
expect_not_in "pam_secdefaults.la" "no libtool archive in the package"
# libcurl, libcrypto and libqrencode are loaded with dlopen (src/lib/lazy.c):
# dh_shlibdeps cannot see them, debian/control names them.
OUT=$(dpkg-deb -f "$DEB" Depends 2>&1)
RC=$?
for dep in libcurl4 libssl3 libqrencode4; do
	if printf '%s\n' "$OUT" | tr ',' '\n' | grep -qE "^ *$dep( |\$)"; then
		pass "Depends names $dep (loaded with dlopen)"
	else fail "Depends lacks $dep (loaded with dlopen)"; fi
done
OUT=$(dpkg-deb -I "$DEB" conffiles 2>&1)
RC=$?
expect_in "/etc/security/secdefaults.conf" "the config is a conffile"
OUT=$(dpkg-deb -I "$DEB" postinst 2>&1)
expect_in "pam-auth-update --package" "postinst runs pam-auth-update --package"
expect_in "systemd-tmpfiles" "postinst creates the state directory (dh_installtmpfiles)"
OUT=$(dpkg-deb -I "$DEB" prerm 2>&1)
expect_in "pam-auth-update --package --remove secdefaults" "prerm takes the profile out"

# ---- 5. the pam-auth-update profile parses ---------------------------------
PROFILE=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./usr/share/pam-configs/secdefaults)
# field NAME: the value of NAME, its continuation lines included, trimmed.
field() {
	printf '%s\n' "$PROFILE" | awk -v k="$1" '
		/^[A-Za-z-]+:/ { cur = substr($0, 1, index($0, ":") - 1)
			if (cur == k) print substr($0, index($0, ":") + 1); next }
		/^[ \t]/ { if (cur == k) print }' | sed 's/^[ \t]*//; s/[ \t]*$//; /^$/d'
}
OUT=$PROFILE RC=-
unknown=$(printf '%s\n' "$PROFILE" | sed -n 's/^\([A-Za-z-]*\):.*/\1/p' | grep -vxE \
	'Name|Default|Priority|Conflicts|(Auth|Account|Session|Password)(-Type|-Initial)?|Session-Interactive-Only' || true)
if [ -z "$unknown" ]; then pass "profile: only fields pam-auth-update knows"; else
	fail "profile: unknown fields: $unknown"; fi
if [ -n "$(field Name)" ]; then pass "profile: Name"; else fail "profile: no Name"; fi
if [ "$(field Default)" = no ]; then pass "profile: Default: no (installing does not switch it on)"; else
	fail "profile: Default is not no"; fi
for phase in Auth Account; do
	case $(field "$phase-Type") in
	Primary | Additional) pass "profile: $phase-Type" ;;
	*) fail "profile: $phase-Type missing or not Primary/Additional" ;;
	esac
	if field "$phase" | grep -qE '^(required|requisite|\[[^]]*\])[[:space:]]+pam_secdefaults\.so'; then
		pass "profile: $phase runs pam_secdefaults.so"
	else
		fail "profile: $phase does not run pam_secdefaults.so"
	fi
done

# ---- 6. install into a throwaway root --------------------------------------
host_state() {
	find /etc/pam.d /etc/security -maxdepth 1 -printf '%p %s %T@\n' 2>/dev/null | sort
	dpkg-query -W -f '${Status}\n' libpam-secdefaults 2>&1
}
host_before=$(host_state)

ROOT=$PKG/ovl/root
mkdir -p "$PKG/ovl/upper" "$PKG/ovl/work" "$ROOT"
if ! mount -t overlay sdtest-root -o "lowerdir=/,upperdir=$PKG/ovl/upper,workdir=$PKG/ovl/work" \
	"$ROOT"; then
	OUT="" RC=1
	fail "mount an overlay of / as the throwaway root"
	finish
fi
# A few devices, and /proc for systemd-tmpfiles.
for d in null zero urandom; do
	touch "$ROOT/dev/$d" && mount --bind "/dev/$d" "$ROOT/dev/$d"
done
mount -t proc proc "$ROOT/proc" 2>/dev/null || echo "# no /proc in the throwaway root"
in_root() {
	timeout 120 chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
pkg_status() { in_root dpkg-query -W -f '${Status}' libpam-secdefaults 2>/dev/null; }

cp "$DEB" "$ROOT/tmp/libpam-secdefaults.deb"
OUT=$(in_root dpkg -i /tmp/libpam-secdefaults.deb 2>&1)
RC=$?
expect_rc 0 "dpkg -i installs the package"
OUT=$(pkg_status) RC=-
expect_in "install ok installed" "dpkg has it installed"
for f in "$PAMDIR/pam_secdefaults.so" /usr/sbin/secdefaultsctl /etc/security/secdefaults.conf \
	/usr/share/pam-configs/secdefaults; do
	expect_file "$ROOT$f" "installed: $f"
done
OUT=$(cat "$ROOT/etc/pam.d/common-auth" "$ROOT/etc/pam.d/common-account" 2>&1) RC=-
expect_not_in "pam_secdefaults" "installing does not enable the module (Default: no)"
if [ -x "$ROOT/usr/bin/systemd-tmpfiles" ] || [ -x "$ROOT/bin/systemd-tmpfiles" ]; then
	OUT=$(stat -c '%a %U %F' "$ROOT/var/lib/secdefaults" 2>&1) RC=-
	expect_in "700 root directory" "tmpfiles.d made /var/lib/secdefaults 0700 root"
fi

# The installed CLI accepts the shipped config.
OUT=$(in_root secdefaultsctl check 2>&1)
RC=$?
expect_rc 0 "installed secdefaultsctl: the shipped config passes check"

# ---- 7. pamtester against the installed module -----------------------------
# By absolute path, under pam_wrapper + nss_wrapper, with the test's config
# and state directory.
MODULE=$ROOT$PAMDIR/pam_secdefaults.so
CTL=$ROOT/usr/sbin/secdefaultsctl
sd_config 'enrollment = { at_login = false; };'
sd_service imap
sd_service sshd
OUT=$(cat "$T/svc/imap") RC=-
expect_in "$MODULE " "the service file names the installed module"
sd_pam imap bob
expect_result "$AUTH_ERR" "installed module: IMAP login refused"
expect_log "installed module: IMAP refusal logged" user=bob service=imap decision=deny \
	reason=legacy-service
sd_pam sshd bob authenticate acct_mgmt
expect_result success "installed module: bob's grace sign-in allowed"
expect_in "you have 14 days left" "installed module: bob told the days left"
expect_log "installed module: grace logged" user=bob decision=allow reason=grace
sd_ctl status bob
expect_rc 0 "installed secdefaultsctl reads the state the module wrote"
expect_in "14d" "installed secdefaultsctl shows bob's grace"

# By bare name, through the throwaway root's own libpam, /etc/pam.d and
# shipped config: the module is where libpam looks for it.
printf 'auth required pam_secdefaults.so\naccount required pam_secdefaults.so\n' \
	>"$ROOT/etc/pam.d/imap"
OUT=$(echo | in_root pamtester -v imap nobody authenticate 2>&1)
RC=$?
expect_in "Legacy authentication is blocked" "libpam finds pam_secdefaults.so by name and it refuses IMAP"
expect_not_in "Module is unknown" "libpam loads the module from $PAMDIR"

# ---- 8. enable, disable, remove, purge -------------------------------------
OUT=$(in_root pam-auth-update --enable secdefaults 2>&1)
RC=$?
expect_rc 0 "pam-auth-update --enable secdefaults"
OUT=$(cat "$ROOT/etc/pam.d/common-auth") RC=-
expect_in "pam_secdefaults.so" "enabled: common-auth runs the module"
OUT=$(cat "$ROOT/etc/pam.d/common-account") RC=-
expect_in "pam_secdefaults.so" "enabled: common-account runs the module"
OUT=$(in_root pam-auth-update --disable secdefaults 2>&1)
RC=$?
expect_rc 0 "pam-auth-update --disable secdefaults"
OUT=$(cat "$ROOT/etc/pam.d/common-auth" "$ROOT/etc/pam.d/common-account") RC=-
expect_not_in "pam_secdefaults" "disabled: gone from common-auth and common-account"
in_root pam-auth-update --enable secdefaults >/dev/null 2>&1

OUT=$(in_root dpkg -r libpam-secdefaults 2>&1)
RC=$?
expect_rc 0 "dpkg -r removes the package"
expect_in "/etc/pam.d/imap still names pam_secdefaults.so" "prerm warns about a hand-written stack"
OUT=$(cat "$ROOT/etc/pam.d/common-auth" "$ROOT/etc/pam.d/common-account") RC=-
expect_not_in "pam_secdefaults" "removed: prerm took the module out of common-auth/account"
expect_no_file "$ROOT$PAMDIR/pam_secdefaults.so" "removed: module gone"
expect_file "$ROOT/etc/security/secdefaults.conf" "removed: the conffile stays until purge"
rm -f "$ROOT/etc/pam.d/imap"
OUT=$(in_root dpkg -P libpam-secdefaults 2>&1)
RC=$?
expect_rc 0 "dpkg -P purges the package"
OUT=$(pkg_status) RC=-
expect_not_in "installed" "dpkg no longer knows the package"
expect_no_file "$ROOT/etc/security/secdefaults.conf" "purged: conffile gone"
expect_no_file "$ROOT/var/lib/secdefaults" "purged: state directory gone"
left=""
for f in $(printf '%s\n' "$LIST" | grep -v '/$'); do
	[ -e "$ROOT$f" ] && left="$left $f"
done
OUT=$left RC=-
if [ -z "$left" ]; then pass "purged: no file of the package is left"; else
	fail "purged: files left behind"; fi

umount -R -l "$ROOT"
OUT=$(diff <(printf '%s\n' "$host_before") <(host_state)) RC=-
if [ -z "$OUT" ]; then pass "the host's /etc/pam.d, /etc/security and dpkg database are untouched"; else
	fail "the host changed"; fi

echo "# t_package took $(($(date +%s) - started)) s"
finish
