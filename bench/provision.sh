#!/bin/bash
# bench/provision.sh - create N equivalent users for the PAM benchmark.
#
#   bench/provision.sh [--modules "ours ga oath"] [--prefix bu] [--module SO]
#                      [--net 192.0.2.0/24] [--seen auto|yes|no]
#                      [--locks all|none|FILE] DIR N
#
# Everything goes under DIR (created; an existing DIR is emptied first, so
# point it at a directory of its own, on the filesystem you want to measure):
#
#   DIR/passwd, DIR/group   nss_wrapper files: root and users PREFIX0 ..
#                           PREFIX(N-1), uid 100000+i, primary group benchadm
#   DIR/svc/                pam_wrapper service directory:
#     pb_sd                 pam_secdefaults, admin role (benchadm is an admin
#                           group in admin.conf): a code at every sign-in
#     pb_sdnp               pam_secdefaults, user role (user.conf keeps the
#                           default admin groups), from a location the state
#                           already remembers: no prompt, no write
#     pb_ga                 pam_google_authenticator, secret=DIR/ga/${USER}
#                           user=root (TOTP, DISALLOW_REUSE)
#     pb_oath               pam_oath, usersfile=DIR/oath/users.oath window=1
#     other                 pam_deny
#   DIR/sd/admin.conf, user.conf   pam_secdefaults configs (0644 root)
#   DIR/sd/state/           state dir (0700): users/NAME, secrets/NAME and
#                           locks/NAME per user (files 0600), written directly
#                           in the format of secdefaults-state(5), as
#                           sd_state_format/sd_secret_format write them: enrolled
#                           a day ago, location NET remembered a minute ago,
#                           a "counters" id, and lock files with both counters
#                           slots allocated (8 KiB): the steady state of users
#                           who signed in before
#   DIR/ga/NAME             ~/.google_authenticator equivalents (0400 root)
#   DIR/oath/users.oath     one "HOTP/T30 NAME - HEXKEY" line per user (0600)
#
# When the module knows the daily "last_seen" observation keys (it has the
# string last_seen_standard; --seen yes/no to force), the state also says the
# user was seen today, so a sign-in that changes nothing has nothing to record
# either (--seen no: every user's next sign-in is their first of the day).
#
# Lock files are written for every user (--locks all), for none, or for the
# user indices listed in FILE, one per line (the users a run will sign in:
# 1,000,000 users are 3,000,000 files otherwise, and creating and removing
# them is most of a run's time).
#
# User i's TOTP key is 20 bytes derived from i (bench_key below; pambench.c
# has the same function), so pambench can answer each prompt with the
# current code. Lock files are created too: the benchmark measures a user who
# has signed in before (the steady state), not a first sign-in.
set -euo pipefail

MODULES="ours ga oath"
PREFIX=bu
NET=192.0.2.0/24
SEEN_OPT=auto
LOCKS=all
SD_MODULE=
GA_MODULE=/lib/x86_64-linux-gnu/security/pam_google_authenticator.so
OATH_MODULE=/lib/x86_64-linux-gnu/security/pam_oath.so

usage() {
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--modules) MODULES=$2; shift 2 ;;
	--prefix) PREFIX=$2; shift 2 ;;
	--module) SD_MODULE=$2; shift 2 ;;
	--net) NET=$2; shift 2 ;;
	--seen) SEEN_OPT=$2; shift 2 ;;
	--locks) LOCKS=$2; shift 2 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || usage
DIR=$1
N=$2
case $N in '' | *[!0-9]*) usage ;; esac
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
case $PREFIX in '' | *[!a-z0-9_]*) echo "provision.sh: bad prefix" >&2; exit 2 ;; esac
if [ -z "$SD_MODULE" ]; then
	here=$(cd "$(dirname "$0")/.." && pwd)
	SD_MODULE=$here/build/.libs/pam_secdefaults.so
fi
case " $MODULES " in *" ours "*)
	[ -f "$SD_MODULE" ] || { echo "provision.sh: no module at $SD_MODULE (--module)" >&2; exit 1; } ;;
esac

# Empty DIR, but only one this script made (it leaves a marker).
if [ -e "$DIR" ]; then
	if [ ! -e "$DIR/.pambench" ]; then
		echo "provision.sh: $DIR exists and was not made by provision.sh: not touching it" >&2
		exit 1
	fi
	rm -rf "$DIR"
fi
mkdir -p "$DIR"
chmod 0755 "$DIR"
: >"$DIR/.pambench"
mkdir -p "$DIR/svc"

printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$DIR/svc/other"
for m in $MODULES; do
	case $m in
	ours)
		mkdir -p "$DIR/sd"
		cat >"$DIR/sd/admin.conf" <<EOF
state_dir = "$DIR/sd/state";
roles = { admin_groups = ["benchadm"]; };
EOF
		cat >"$DIR/sd/user.conf" <<EOF
state_dir = "$DIR/sd/state";
EOF
		chmod 0644 "$DIR/sd/admin.conf" "$DIR/sd/user.conf"
		echo "auth required $SD_MODULE config=$DIR/sd/admin.conf" >"$DIR/svc/pb_sd"
		echo "auth required $SD_MODULE config=$DIR/sd/user.conf" >"$DIR/svc/pb_sdnp"
		;;
	ga)
		[ -f "$GA_MODULE" ] || { echo "provision.sh: $GA_MODULE missing (apt-get install libpam-google-authenticator)" >&2; exit 1; }
		echo "auth required $GA_MODULE secret=$DIR/ga/\${USER} user=root" >"$DIR/svc/pb_ga"
		;;
	oath)
		[ -f "$OATH_MODULE" ] || { echo "provision.sh: $OATH_MODULE missing (apt-get install libpam-oath)" >&2; exit 1; }
		echo "auth required $OATH_MODULE usersfile=$DIR/oath/users.oath window=1 digits=6" >"$DIR/svc/pb_oath"
		;;
	*)
		echo "provision.sh: unknown module $m (ours, ga, oath)" >&2
		exit 2
		;;
	esac
done

SEEN=0
case $SEEN_OPT in
yes) SEEN=1 ;;
no) ;;
auto)
	case " $MODULES " in *" ours "*)
		grep -q last_seen_standard "$SD_MODULE" 2>/dev/null && SEEN=1 ;;
	esac ;;
*) usage ;;
esac

case $LOCKS in all | none) ;; *) [ -r "$LOCKS" ] || usage ;; esac

/usr/bin/python3 - "$DIR" "$N" "$PREFIX" "$NET" "$MODULES" "$SEEN" "$LOCKS" <<'PY'
import base64, os, sys, time
from multiprocessing import Process

DIR, N, PREFIX, NET, MODULES = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split()
SEEN = sys.argv[6] == "1"
LOCKS = sys.argv[7]
LOCK_SET = None
if LOCKS not in ("all", "none"):
    LOCK_SET = {int(x) for x in open(LOCKS).read().split()}
M64 = (1 << 64) - 1

def bench_key(i):
    """20-byte TOTP key of user i: splitmix64 seeded with i (as in pambench.c)."""
    x = (i * 0x9E3779B97F4A7C15 ^ 0x5EC0DEFA17BE4C00) & M64
    out = b""
    for _ in range(3):
        x = (x + 0x9E3779B97F4A7C15) & M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        out += z.to_bytes(8, "big")
    return out[:20]

def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

now = int(time.time())
DAY = iso(now - 86400)
RECENT = iso(now - 60)
NOW = iso(now)
SEEN_LINES = ("last_seen %s\nlast_seen_standard %s\n" % (NOW, NOW)) if SEEN else ""

# nss_wrapper files. benchadm is every user's primary group.
with open(os.path.join(DIR, "passwd"), "w") as f:
    f.write("root:x:0:0:root:/root:/bin/sh\n")
    f.writelines("%s%d:x:%d:5000:bench user %d:/nonexistent:/bin/sh\n" % (PREFIX, i, 100000 + i, i)
                 for i in range(N))
with open(os.path.join(DIR, "group"), "w") as f:
    f.write("root:x:0:\nsudo:x:27:\nwheel:x:10:\nbenchadm:x:5000:\n")

def mkdir0700(path):
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)

def put(dfd, name, data, mode, prealloc=0):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dfd)
    try:
        if data:
            os.write(fd, data)
        if prealloc:
            # a lock file's two counters slots, given their blocks (zeros)
            # when the module first wrote the user's state file (store_dir.c
            # preallocate_slots)
            os.write(fd, b"\0" * prealloc)
    finally:
        os.close(fd)

def ours_range(lo, hi):
    st = os.path.join(DIR, "sd", "state")
    ufd = os.open(os.path.join(st, "users"), os.O_RDONLY | os.O_DIRECTORY)
    sfd = os.open(os.path.join(st, "secrets"), os.O_RDONLY | os.O_DIRECTORY)
    lfd = os.open(os.path.join(st, "locks"), os.O_RDONLY | os.O_DIRECTORY)
    for i in range(lo, hi):
        name = "%s%d" % (PREFIX, i)
        b32 = base64.b32encode(bench_key(i)).decode().rstrip("=")
        # "counters": the id every state file written by the module has
        # (counters records in the lock file belong to it), as after the
        # user's earlier sign-ins.
        gen = int.from_bytes(os.urandom(8), "big") or 1
        put(ufd, name, ("# pam_secdefaults state of %s; see secdefaults-state(5)\n"
                        "version 1\ncounters %016x\ngrace_start %s\nenrolled %s\nlocation %s %s\n%s"
                        % (name, gen, DAY, DAY, NET, RECENT, SEEN_LINES)).encode(), 0o600)
        put(sfd, name, ("# pam_secdefaults TOTP secret: keep private\nversion 1\nkey %s\n"
                        % b32).encode(), 0o600)
        if LOCKS == "all" or (LOCK_SET is not None and i in LOCK_SET):
            put(lfd, name, b"", 0o600, prealloc=8192)
    for fd in (ufd, sfd, lfd):
        os.close(fd)

def ga_range(lo, hi):
    gfd = os.open(os.path.join(DIR, "ga"), os.O_RDONLY | os.O_DIRECTORY)
    for i in range(lo, hi):
        b32 = base64.b32encode(bench_key(i)).decode().rstrip("=")
        put(gfd, "%s%d" % (PREFIX, i), ('%s\n" DISALLOW_REUSE\n" TOTP_AUTH\n' % b32).encode(), 0o400)
    os.close(gfd)

jobs = []
if "ours" in MODULES:
    st = os.path.join(DIR, "sd", "state")
    for d in (st, st + "/users", st + "/secrets", st + "/locks"):
        mkdir0700(d)
    jobs.append(ours_range)
if "ga" in MODULES:
    mkdir0700(os.path.join(DIR, "ga"))
    jobs.append(ga_range)
if "oath" in MODULES:
    mkdir0700(os.path.join(DIR, "oath"))
    path = os.path.join(DIR, "oath", "users.oath")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines("HOTP/T30 %s%d - %s\n" % (PREFIX, i, bench_key(i).hex()) for i in range(N))

# Two workers per job (the machine has 2 cores; file creation is mostly
# kernel time).
workers = max(1, min(os.cpu_count() or 1, 4))
for job in jobs:
    step = (N + workers - 1) // workers
    procs = [Process(target=job, args=(lo, min(N, lo + step))) for lo in range(0, N, step)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit("provision: worker failed")
PY
sync -f "$DIR/.pambench" 2>/dev/null || sync
echo "provisioned $N users ($MODULES) in $DIR"
