#!/bin/bash
# secdefaultsctl status and report over many users: with more than 256
# users with state they read passwd and group once (sd_userdb) instead of
# getpwnam + getgrouplist per user. The roles must be the per-user ones:
# a population with primary and supplementary role groups, users in
# several role groups, exempt and break-glass names, an unknown user with
# state; and with enumeration returning nothing (sssd enumerate = false)
# the output must be the same.
#
# A small preloaded shim (compiled here) counts the passwd calls and can
# make getpwent/getgrent return nothing.
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

N=400
U=$T/state/users
mkdir -p "$U"
chmod 0700 "$U"

# ---- the shim ---------------------------------------------------------------
CC_BIN=${CC:-cc}
cat >"$T/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

static int off(void) { return getenv("SHIM_NOENUM") != NULL; }
static void note(const char *fn, const char *arg)
{
	const char *p = getenv("SHIM_LOG");
	FILE *f = p ? fopen(p, "a") : NULL;

	if (f) { fprintf(f, "%s %s\n", fn, arg ? arg : "-"); fclose(f); }
}
#define NEXT(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)
int getpwnam_r(const char *n, struct passwd *p, char *b, size_t l, struct passwd **r)
{ NEXT(getpwnam_r); note("getpwnam_r", n); return real(n, p, b, l, r); }
int getgrouplist(const char *u, gid_t g, gid_t *gs, int *n)
{ NEXT(getgrouplist); note("getgrouplist", u); return real(u, g, gs, n); }
int getpwent_r(struct passwd *p, char *b, size_t l, struct passwd **r)
{ NEXT(getpwent_r); if (off()) { *r = NULL; return ENOENT; } return real(p, b, l, r); }
struct passwd *getpwent(void)
{ NEXT(getpwent); if (off()) { errno = ENOENT; return NULL; } return real(); }
int getgrent_r(struct group *g, char *b, size_t l, struct group **r)
{ NEXT(getgrent_r); if (off()) { *r = NULL; return ENOENT; } return real(g, b, l, r); }
struct group *getgrent(void)
{ NEXT(getgrent); if (off()) { errno = ENOENT; return NULL; } return real(); }
C
if ! "$CC_BIN" -shared -fPIC -o "$T/shim.so" "$T/shim.c" -ldl 2>"$T/cc.err"; then
	echo "# no C compiler ($CC_BIN): $(head -1 "$T/cc.err"); skipped"
	exit 77
fi

# ctl [noenum] ARGS...: secdefaultsctl with the shim (its log in $T/calls).
ctl() {
	local env_extra=()
	if [ "$1" = noenum ]; then
		env_extra=(SHIM_NOENUM=1)
		shift
	fi
	: >"$T/calls"
	SD_PRELOAD_FIRST="${SD_PRELOAD_FIRST:-} $T/shim.so" SD_TIMEOUT=60 \
		sd_env env "${env_extra[@]}" SHIM_LOG="$T/calls" ${SD_WRAP_PREFIX:-} \
		"$CTL" --config "$CONF" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(grep -av PWRAP "$T/out")
	return 0
}
calls() { grep -c "^$1 " "$T/calls"; }
expect_out_re() { # expect_out_re ERE DESC
	if printf '%s\n' "$OUT" | grep -qE -- "$1"; then pass "$2"; else fail "$2 (no line matching /$1/)"; fi
}

# ---- the population -----------------------------------------------------------
# lib.sh's users (root, alice via sudo, bob, dave, svc, carol via batch, bg,
# ed via wheel) and N more, pN: the primary group is the user's own, or
# (one in five) sudo, wheel, batch or ops; each role group lists a
# spread-out share of them, so some are in several. A second group "sudo2"
# shares sudo's gid. Everyone, and "gone" (not in passwd), has state.
/usr/bin/python3 - "$T" "$N" <<'PY'
import os, sys
T, N = sys.argv[1], int(sys.argv[2])
roles = [("sudo", 27), ("wheel", 10), ("batch", 2000), ("ops", 2001), ("sudo2", 27)]
members = {r[0]: [] for r in roles}
pw, gr = [], []
for i in range(N):
    name = "p%d" % i
    gid = 3000 + i
    if i % 5 == 1:
        gid = roles[(i // 5) % 4][1]
    pw.append("%s:x:%d:%d::/home/%s:/bin/sh\n" % (name, 3000 + i, gid, name))
    gr.append("%s:x:%d:\n" % (name, 3000 + i))
    for k, (g, _) in enumerate(roles):
        if (i * 7 + k * 3) % (6 + k) == 0:
            members[g].append(name)
with open(os.path.join(T, "passwd"), "a") as f:
    f.writelines(pw)
# lib.sh's role groups are rewritten with the new members added.
old = [l for l in open(os.path.join(T, "group")) if l.split(":")[0] not in ("sudo", "wheel", "batch")]
base = {"sudo": ["alice"], "wheel": ["ed"], "batch": ["carol"], "ops": [], "sudo2": []}
with open(os.path.join(T, "group"), "w") as f:
    f.writelines(old + gr)
    for g, gid in roles:
        f.write("%s:x:%d:%s\n" % (g, gid, ",".join(base[g] + members[g])))
users = [l.split(":")[0] for l in open(os.path.join(T, "passwd"))] + ["gone"]
for i, u in enumerate(users):
    p = os.path.join(T, "state", "users", u)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    body = "# state of %s\nversion 1\ngrace_start 2026-01-01T00:00:00Z\n" % u
    if i % 3 == 0:
        body += "enrolled 2026-01-02T00:00:00Z\n"
    os.write(fd, body.encode())
    os.close(fd)
PY

sd_config 'roles = { admin_groups = ["sudo", "wheel", "admin"]; exempt_groups = ["batch", "ops"];' \
	'  exempt_users = ["svc"]; breakglass_users = ["bg"]; };' 'grace_days = 3650;'
NUSERS=$(($(wc -l <"$T/passwd") + 1))

# ---- status: all users (bulk) against each user named (per-user path) -------
ctl status
expect_rc 0 "status (bulk): exits 0"
BULK=$OUT
if [ "$(printf '%s\n' "$BULK" | wc -l)" -eq $((NUSERS + 1)) ]; then
	pass "status (bulk): a line for each of the $NUSERS users with state"
else
	fail "status (bulk): a line for each of the $NUSERS users with state"
fi
if [ "$(calls getpwnam_r)" -le 1 ] && [ "$(calls getgrouplist)" -eq 0 ]; then
	pass "status (bulk): no getpwnam or getgrouplist per user (only for 'gone')"
else
	OUT=$(sort "$T/calls" | cut -d' ' -f1 | uniq -c)
	fail "status (bulk): no getpwnam or getgrouplist per user"
fi
expect_out_re '^gone +unknown ' "status (bulk): the unknown user with state is 'unknown'"
for want in 'root admin' 'alice admin' 'bob user' 'svc exempt' 'carol exempt' 'bg breakglass' \
	'ed admin'; do
	set -- $want
	expect_out_re "^$1 +$2 " "status (bulk): $1 is $2"
done

# Every role, spelled out, as the per-user path gives it: status USER...
# (named users are always looked up one by one).
KNOWN=$(cut -d: -f1 "$T/passwd" | tr '\n' ' ')
# shellcheck disable=SC2086
ctl status $KNOWN
expect_rc 0 "status USER... (per user): exits 0"
ONE=$OUT
roles_of() { printf '%s\n' "$1" | awk 'NR > 1 && $1 != "gone" { print $1, $2 }' | sort; }
if [ "$(roles_of "$BULK")" = "$(roles_of "$ONE")" ]; then
	pass "status: bulk and per-user roles agree for all $((NUSERS - 1)) known users"
else
	OUT=$(diff <(roles_of "$BULK") <(roles_of "$ONE") | head -20)
	fail "status: bulk and per-user roles agree"
fi
if [ "$(calls getpwnam_r)" -ge $((NUSERS - 1)) ]; then
	pass "status USER...: per-user lookups"
else
	fail "status USER...: per-user lookups ($(calls getpwnam_r) getpwnam_r calls)"
fi
counts=$(roles_of "$BULK" | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
case $counts in
*admin=*breakglass=1*exempt=*user=*) pass "status: the population has every role ($counts)" ;;
*) OUT=$counts fail "status: the population has every role" ;;
esac
# Users in several role groups: exempt wins over admin.
both=$(awk -F: '$1 == "batch" || $1 == "ops" { n = split($4, m, ","); for (i = 1; i <= n; i++) ex[m[i]] = 1 }
	$1 == "sudo" || $1 == "wheel" { n = split($4, m, ","); for (i = 1; i <= n; i++) ad[m[i]] = 1 }
	END { for (u in ex) if (u in ad) print u }' "$T/group" | sort | head -3)
ok=1
for u in $both; do
	printf '%s\n' "$BULK" | grep -qE "^$u +exempt " || ok=0
done
if [ -n "$both" ] && [ $ok = 1 ]; then
	pass "status: members of an admin and an exempt group are exempt ($(echo $both))"
else
	OUT="$both" fail "status: members of an admin and an exempt group are exempt"
fi

# ---- enumeration returns nothing: per user, the same output ---------------
ctl noenum status
expect_rc 0 "status without enumeration: exits 0"
if [ "$OUT" = "$BULK" ]; then
	pass "status without enumeration: the same output as the bulk path"
else
	OUT=$(diff <(printf '%s\n' "$BULK") <(printf '%s\n' "$OUT") | head -20)
	fail "status without enumeration: the same output as the bulk path"
fi
if [ "$(calls getpwnam_r)" -ge $((NUSERS - 1)) ]; then
	pass "status without enumeration: falls back to per-user lookups"
else
	fail "status without enumeration: falls back to per-user lookups"
fi

ctl status --json
JB=$OUT
ctl noenum status --json
if [ "$OUT" = "$JB" ]; then pass "status --json: the same with and without enumeration"; else
	OUT=$(diff <(printf '%s\n' "$JB") <(printf '%s\n' "$OUT") | head -20)
	fail "status --json: the same with and without enumeration"
fi

# ---- report: the same with and without enumeration --------------------------
no_time() { printf '%s\n' "$1" | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g'; }
ctl report --json
expect_rc 0 "report (bulk): exits 0"
RB=$(no_time "$OUT")
if [ "$(calls getpwnam_r)" -le 5 ]; then pass "report (bulk): no getpwnam per user"; else
	fail "report (bulk): no getpwnam per user ($(calls getpwnam_r))"
fi
ctl noenum report --json
if [ "$(no_time "$OUT")" = "$RB" ]; then pass "report --json: the same with and without enumeration"; else
	OUT=$(diff <(printf '%s\n' "$RB") <(no_time "$OUT") | head -20)
	fail "report --json: the same with and without enumeration"
fi
ctl report
RT=$(no_time "$OUT")
ctl noenum report
if [ "$(no_time "$OUT")" = "$RT" ]; then pass "report: the same with and without enumeration"; else
	OUT=$(diff <(printf '%s\n' "$RT") <(no_time "$OUT") | head -20)
	fail "report: the same with and without enumeration"
fi

finish
