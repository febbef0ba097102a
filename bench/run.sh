#!/bin/bash
# bench/run.sh - pam_secdefaults against pam_google_authenticator and pam_oath
# (issue 8): sign-in latency at 1,000, 100,000 and 1,000,000 users, syscall
# counts per sign-in, a 100,000-cycle leak check, `secdefaultsctl status`
# over 100,000 users, and fleet mode (issue 9: TOTP latency and etcd round
# trips per sign-in against a 3-member etcd cluster on 127.0.0.1, 1,000
# users); writes bench/RESULTS.md. Not part of `make check`.
#
#   bench/run.sh [--builddir DIR] [--data DIR] [--out FILE] [--sizes "1000 100000 1000000"]
#                [--rounds R] [--budget SECONDS] [--quick] [--keep] [--report-only]
#                [--etcd-only]
#
#   make bench                          (from the build directory; same thing)
#   make bench BENCH_ARGS=--quick       (1,000 and 10,000 users, 2 rounds: ~3 minutes)
#   bench/run.sh --etcd-only            (the fleet-mode part alone: ~2 minutes)
#
# Needs root (it runs in a private mount namespace: its own /tmp for
# pam_wrapper, and its own /dev in which /dev/log is a socket read by a small
# syslog sink and /dev/console is /dev/null, so every module logs the way it
# would on a real host and nothing reaches the machine's console), and
# installs what is missing with apt-get (libpam-google-authenticator,
# libpam-oath, strace, linux-perf). Data go to --data (default
# /var/tmp/pam_secdefaults-bench, a disk filesystem, not tmpfs) and are removed
# at the end unless --keep. The part of --out between the GENERATED markers
# is replaced; anything outside them (the analysis) is kept. The raw figures
# stay in BUILDDIR/bench/last-run/; --report-only writes --out again from
# them without measuring anything. The fleet-mode part has markers of its own
# (GENERATED etcd) and its figures in BUILDDIR/bench/last-run-etcd/, so
# --etcd-only replaces that part only. It needs /usr/bin/etcd (etcd-server);
# its members keep their data under --data (a disk, as etcd would in use).
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$SRCDIR/build
DATA=/var/tmp/pam_secdefaults-bench
OUT=$SRCDIR/bench/RESULTS.md
SIZES="1000 100000 1000000"
ROUNDS=3
BUDGET=1500 # seconds; the 1,000,000-user phase is skipped if it would not fit
QUICK=0
KEEP=0
REPORT_ONLY=0
ETCD_ONLY=0
ETCD_N=1000
ETCD_BIN=/usr/bin/etcd
ARGS_GIVEN=${PB_ARGS-$*}

usage() {
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILDDIR=$2; shift 2 ;;
	--data) DATA=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--budget) BUDGET=$2; shift 2 ;;
	--quick) QUICK=1; SIZES="1000 10000"; ROUNDS=2; shift ;;
	--keep) KEEP=1; shift ;;
	--report-only) REPORT_ONLY=1; shift ;;
	--etcd-only) ETCD_ONLY=1; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
case $DATA in /tmp | /tmp/*)
	echo "run.sh: --data must not be under /tmp (the run gets a private /tmp)" >&2
	exit 2 ;;
esac
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
BUILDDIR=$(cd "$BUILDDIR" && pwd)

MODULE=$BUILDDIR/.libs/pam_secdefaults.so
CTL=$BUILDDIR/secdefaultsctl
SECDIR=/lib/x86_64-linux-gnu/security
GA_SO=$SECDIR/pam_google_authenticator.so
OATH_SO=$SECDIR/pam_oath.so
DENY_SO=$SECDIR/pam_deny.so
B=$BUILDDIR/bench
RHOST=192.0.2.7

# ---- the report -------------------------------------------------------------------
# report DIR: write $OUT from the figures in DIR (a run's working directory,
# or its copy in $B/last-run).
report() {
	local sizes
	sizes=$(cat "$1/sizes" 2>/dev/null || echo "$SIZES")
	/usr/bin/python3 - "$1" "$OUT" "$DATA" "$sizes" <<'PY'
import glob, os, re, sys, statistics

W, OUT, DATA, SIZES_S = sys.argv[1:5]
SMALL, MID, BIG = ([int(x) for x in SIZES_S.split()] + [None, None, None])[:3]
facts = {}
for line in open(os.path.join(W, "extra.txt")):
    k, _, v = line.rstrip("\n").partition("=")
    facts[k] = v
runs = []
for line in open(os.path.join(W, "results.txt")):
    if not line.startswith("RUN "):
        continue
    d = dict(kv.split("=", 1) for kv in line.split()[1:])
    runs.append(d)

NAMES = {
    "sd": "pam_secdefaults, admin (code at every sign-in)",
    "sd_idx": "pam_secdefaults, admin, hashed NSS",
    "sdnp": "pam_secdefaults, user at a known location (no prompt)",
    "sdnp_idx": "pam_secdefaults, no prompt, hashed NSS",
    "ga": "pam_google_authenticator (TOTP, DISALLOW_REUSE)",
    "oath": "pam_oath (one users file, HOTP/T30)",
    "sd_ref": "pam_secdefaults, admin, hashed NSS",
    "sdnp_ref": "pam_secdefaults, no prompt, hashed NSS",
    "sd_cold": "pam_secdefaults, admin, module loaded per sign-in",
    "sdnp_cold": "pam_secdefaults, no prompt, module loaded per sign-in",
    "ga_cold": "pam_google_authenticator, loaded per sign-in",
    "oath_cold": "pam_oath, loaded per sign-in",
    "sd_cold_libs": "pam_secdefaults, admin, loaded per sign-in; libcurl, libcrypto, libqrencode resident",
    "sdnp_cold_libs": "pam_secdefaults, no prompt, loaded per sign-in; libcurl, libcrypto, libqrencode resident",
}

def pct(v, p):
    if not v:
        return float("nan")
    k = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[k - 1]

def pooled(n, v, tag="round"):
    rs = [r for r in runs if r["variant"] == v and int(r["n"]) == n and r["tag"] == tag]
    if not rs:
        return None
    lat, auth, rcs = [], [], []
    for r in rs:
        f = os.path.join(W, "raw", "%s.%d.%s.%s" % (v, n, tag, r["round"]))
        if not os.path.exists(f):
            continue
        for line in open(f):
            a, b, c = line.split()
            lat.append(int(a) / 1000.0)
            auth.append(int(b) / 1000.0)
            rcs.append(int(c))
    lat.sort()
    auth.sort()
    wall = sum(float(r["wall_s"]) for r in rs)
    cyc = sum(int(r["cycles"]) for r in rs)
    return {
        "runs": rs, "n": len(lat), "ok": sum(int(r["ok"]) for r in rs),
        "fail": sum(int(r["fail"]) for r in rs),
        "p50": pct(lat, 50), "p90": pct(lat, 90), "p99": pct(lat, 99), "max": lat[-1] if lat else float("nan"),
        "a50": pct(auth, 50), "a99": pct(auth, 99),
        "dps": cyc / wall if wall else float("nan"),
        "round_p50": [float(r["p50_us"]) for r in sorted(rs, key=lambda r: int(r["round"]))],
        "syslog": sum(int(r["syslog"]) for r in rs) / max(1, cyc),
        "prompts": sum(int(r["prompts"]) for r in rs) / max(1, cyc),
    }

def per_round(n, v, tag="round", key="p50_us"):
    """{round: value} from the RUN lines of one variant at one size."""
    return {int(r["round"]): float(r[key]) for r in runs
            if r["variant"] == v and int(r["n"]) == n and r["tag"] == tag}

def round_ratios(num, den):
    """Per-round ratios num[r] / den[r] for the rounds both have; (median, list)."""
    rs = sorted(set(num) & set(den))
    vals = [num[r] / den[r] for r in rs if den[r] > 0]
    return (statistics.median(vals) if vals else None), vals

def fmt(x, d=0):
    if x is None or x != x:
        return "-"
    if d == 0:
        return "{:,.0f}".format(x)
    return "{:,.{}f}".format(x, d)

out = []
w = out.append
w("<!-- BEGIN GENERATED by bench/run.sh: everything up to END GENERATED is replaced at each run -->")
w("## Results of the last run")
w("")
w("Reproduce: `%s` (or `make bench` in the build directory), as root, on an idle machine." % facts.get("command", "bench/run.sh"))
w("")
w("| machine | |")
w("|---|---|")
w("| CPU | %s, %s cores (nproc) |" % (facts.get("cpu", "?"), facts.get("nproc", "?")))
w("| memory | %s |" % facts.get("mem", "?"))
w("| kernel, OS | Linux %s, Debian %s |" % (facts.get("kernel", "?"), facts.get("debian", "?")))
w("| filesystem (`df -T`) | %s (%s), data under %s |" % (facts.get("fs", "?"), facts.get("mountopts", "?"), facts.get("data", "?")))
w("| pam_secdefaults | %s |" % facts.get("commit", "?"))
w("| peers | libpam-google-authenticator %s, libpam-oath %s |" % (facts.get("ga_version", "?"), facts.get("oath_version", "?")))
w("| harness | libpam-wrapper %s, libnss-wrapper %s; %s rounds per size, modules alternated |" % (facts.get("pamwrap_version", "?"), facts.get("nsswrap_version", "?"), facts.get("rounds", "?")))
w("| wall time | %s s for the whole run |" % facts.get("total_s", "?"))
w("| load average (1/5/15 min) | %s at the start, %s at the end (other work on the machine shows here) |" % (facts.get("load_start", "?"), facts.get("load_end", "?")))
w("| I/O pressure (some, 10 s / 60 s) | %s at the start, %s at the end |" % (facts.get("iopsi_start", "?"), facts.get("iopsi_end", "?")))
w("| module under test | %s |" % facts.get("module_sha", "?"))
w("")
w("Latency is one whole cycle, pam_start → pam_set_item(PAM_RHOST) → pam_authenticate → pam_end, in one process, "
  "with the module resident (pinned with dlopen, as in a daemon that keeps it loaded); `auth` is pam_authenticate alone. "
  "Figures are pooled over the rounds; `round p50s` shows each round. "
  "\"nss_wrapper\" rows look users up the way nss_wrapper does, a linear scan of the passwd file per lookup; "
  "\"hashed NSS\" rows answer the same lookups from a hash index of the same files (bench/pambench-nss.so), as nscd or sssd would.")
w("")
w("| users | module | sign-ins | ok | p50 µs | p90 µs | p99 µs | max µs | auth p50 µs | decisions/s | round p50s | syslog lines/sign-in |")
w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
order = ["sd", "sd_idx", "sdnp", "sdnp_idx", "ga", "oath"]
P = {}
for n in (SMALL, MID, BIG):
    if n is None:
        continue
    for v in order:
        p = pooled(n, v)
        if p is None:
            continue
        P[(n, v)] = p
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |" % (
            fmt(n), NAMES[v], fmt(p["n"]), fmt(p["ok"]) + ("" if p["fail"] == 0 else " (**%d failed**)" % p["fail"]),
            fmt(p["p50"]), fmt(p["p90"]), fmt(p["p99"]), fmt(p["max"]), fmt(p["a50"]), fmt(p["dps"]),
            " / ".join(fmt(x) for x in p["round_p50"]), p["syslog"]))
if "big_skipped" in facts:
    w("")
    w("1,000,000 users: skipped (%s)." % facts["big_skipped"])
w("")
REF = {}
WARM = (None, [])
if SMALL:
    refrows = []
    for n in (MID, BIG):
        if n is None:
            continue
        for v, big in (("sd_ref", "sd_idx"), ("sdnp_ref", "sdnp_idx")):
            p = pooled(SMALL, v, "ref%d" % n)
            q = P.get((n, big))
            if p and q:
                REF[(n, v)] = p
                med, vals = round_ratios(per_round(n, big), per_round(SMALL, v, "ref%d" % n))
                refrows.append("| %s | %s | %s (%s sign-ins%s) | %s | %.2f | %s |" % (
                    fmt(n), NAMES[v], fmt(p["p50"]), fmt(p["n"]),
                    "" if p["fail"] == 0 else ", **%d failed**" % p["fail"], fmt(q["p50"]), q["p50"] / p["p50"],
                    ("%.2f (rounds: %s)" % (med, ", ".join("%.2f" % x for x in vals))) if med else "-"))
    if refrows:
        w("Same-time reference: the %s-user population signed in again inside each round of the larger sizes "
          "(alternated with them), so the growth ratio compares runs made under the same machine load:" % fmt(SMALL))
        w("")
        w("| rounds of | module | p50 µs at %s users | p50 µs at the larger size | ratio of pooled p50s | median of per-round ratios |" % fmt(SMALL))
        w("|---:|---|---:|---:|---:|---|")
        for r in refrows:
            w(r)
        w("")
if SMALL and BIG:
    pw, pr = pooled(BIG, "sd_idx", "warm"), pooled(SMALL, "sd_ref", "warm%d" % BIG)
    if pw and pr:
        med, vals = round_ratios(per_round(BIG, "sd_idx", "warm"), per_round(SMALL, "sd_ref", "warm%d" % BIG))
        WARM = (med, vals)
        w("The same %s users again, a TOTP step later (their files' dentries and inodes now cached, as the "
          "%s users' are), alternated with the %s-user reference:" % (fmt(BIG), fmt(SMALL), fmt(SMALL)))
        w("")
        w("| module | sign-ins | ok | p50 µs at %s users, second sign-in | p50 µs at %s users | median of per-round ratios |" % (fmt(BIG), fmt(SMALL)))
        w("|---|---:|---:|---:|---:|---|")
        w("| %s | %s | %s | %s | %s | %s |" % (
            NAMES["sd_idx"], fmt(pw["n"]), fmt(pw["ok"]) + ("" if pw["fail"] == 0 else " (**%d failed**)" % pw["fail"]),
            fmt(pw["p50"]), fmt(pr["p50"]) + ("" if pr["fail"] == 0 else " (**%d failed**)" % pr["fail"]),
            ("%.2f (rounds: %s)" % (med, ", ".join("%.2f" % x for x in vals))) if med else "-"))
        w("")
cold = [(v, pooled(SMALL, v, "cold")) for v in ("sd_cold", "sd_cold_libs", "sdnp_cold", "sdnp_cold_libs", "ga_cold", "oath_cold")] if SMALL else []
cold = [(v, p) for v, p in cold if p]
if cold:
    w("Module loaded and unloaded at every sign-in (no pin: what a process that runs one PAM transaction pays, "
      "e.g. sshd's per-connection child, sudo, login), %s users, nss_wrapper:" % fmt(SMALL))
    w("")
    w("| module | sign-ins | ok | p50 µs | p99 µs | auth p50 µs | round p50s |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for v, p in cold:
        w("| %s | %s | %s | %s | %s | %s | %s |" % (NAMES[v], fmt(p["n"]), fmt(p["ok"]), fmt(p["p50"]), fmt(p["p99"]), fmt(p["a50"]),
                                         " / ".join(fmt(x) for x in p["round_p50"])))
    w("")

# strace
def strace_counts(path):
    c = {}
    if not os.path.exists(path):
        return c
    for line in open(path):
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$", line)
        if m and m.group(3) != "total":
            c[m.group(3)] = int(m.group(1))
    return c

K = int(facts.get("strace_k", "0") or 0)
rows = []
fd_rows = []
if K:
    for v in ("sd", "sdnp", "ga", "oath"):
        a = strace_counts(os.path.join(W, "strace", v + ".a"))
        b = strace_counts(os.path.join(W, "strace", v + ".b"))
        if not b:
            continue
        per = {k: (b.get(k, 0) - a.get(k, 0)) / K for k in set(a) | set(b)}
        g = lambda *ks: sum(per.get(k, 0) for k in ks)
        # the -y trace: which fsyncs hit a directory, which writes hit the data
        yc = {"fs_file": 0, "fs_dir": 0, "wr_data": 0}
        ypath = os.path.join(W, "strace", v + ".yc")
        if os.path.exists(ypath):
            yc.update({k: int(x) for k, x in (kv.split("=") for kv in open(ypath).read().split())})
        fs_file, fs_dir, wr_data = yc["fs_file"], yc["fs_dir"], yc["wr_data"]
        rows.append((v, g("openat", "open"), g("fsync", "fdatasync"), fs_file / K, fs_dir / K,
                     g("rename", "renameat", "renameat2"), wr_data / K, g("unlink", "unlinkat"),
                     g("read", "pread64"), sum(per.values())))
if rows:
    w("Syscalls per sign-in (`strace -c -f`, %d sign-ins minus 1 sign-in, so start-up cancels out; "
      "file/directory fsyncs and writes to the state from a second run with `strace -y`), %s users, nss_wrapper, module resident:" % (K, fmt(SMALL)))
    w("")
    w("| module | opens | fsyncs | of a file | of a directory | renames | writes to state files | unlinks | reads | all syscalls |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        w("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f |" % ((NAMES[r[0]],) + r[1:]))
    fd_rows = []
    for v in ("sd", "sdnp"):
        f = os.path.join(W, "strace", v + ".fd.yc")
        if os.path.exists(f):
            d = {k: int(x) for k, x in (kv.split("=") for kv in open(f).read().split())}
            fd_rows.append((v, d))
            w("| %s, **first sign-in of a UTC day** (`strace -y`, 100 sign-ins) | | %.1f | %.1f | %.1f | %.1f | %.1f | | | |" % (
                NAMES[v], (d["fs_file"] + d["fs_dir"]) / 100, d["fs_file"] / 100, d["fs_dir"] / 100, d["renames"] / 100, d["wr_data"] / 100))
    w("")
    w("The opens include the PAM service files that libpam reads at every pam_start (2 per sign-in under pam_wrapper) and, for "
      "pam_secdefaults, its config file; nss_wrapper's own fstat calls are in \"all syscalls\".")
    w("")

pt = {}
for v in ("sd", "ga", "oath"):
    f = os.path.join(W, "ptrace." + v)
    if not os.path.exists(f):
        continue
    rows_ = []
    for line in open(f):
        m = re.match(r"\s+(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            rows_.append((m.group(1), int(m.group(2)), float(m.group(4)), float(m.group(5)), float(m.group(6))))
    if rows_:
        pt[v] = rows_
if pt:
    n_pt = (SMALL or 1000) // 5
    w("Time inside syscalls per sign-in (`perf trace -s`, %d sign-ins, %s users; tracing adds ~10 µs to every call, "
      "the min column shows it), top 8 by total time:" % (n_pt, fmt(SMALL)))
    w("")
    for v, rows_ in pt.items():
        rows_.sort(key=lambda r: -r[2])
        w("- %s: " % NAMES[v] + "; ".join("%s %.1f calls, %.0f µs each (min %.0f), %.0f µs per sign-in" % (
            r[0], r[1] / n_pt, r[4] * 1000, r[3] * 1000, r[2] * 1000 / n_pt) for r in rows_[:8]) + ".")
    w("")
probe = {}
order_p = []
for f in sorted(glob.glob(os.path.join(W, "fsprobe.*.txt"))):
    for line in open(f):
        k, _, v = line.rstrip("\n").rpartition("=")
        if k not in probe:
            probe[k] = []
            order_p.append(k)
        probe[k].append(float(v))
if probe:
    w("The filesystem's own cost (a Python probe in the data directory, no PAM; p50 of 100 per round, "
      "then the median over the %d rounds, measured between the \"loaded per sign-in\" runs):" % len(probe[order_p[0]]))
    w("")
    w("| step | µs (median of rounds) | rounds |")
    w("|---|---:|---|")
    for k in order_p:
        w("| %s | %.0f | %s |" % (k, statistics.median(probe[k]), " / ".join("%.0f" % x for x in probe[k])))
    w("")
for v in ("sd", "sdnp", "sd1m"):
    f = os.path.join(W, "perf.%s.txt" % v)
    fd = os.path.join(W, "perf.%s.dso.txt" % v)
    if os.path.exists(f) and os.path.getsize(f) > 0:
        if v == "sd1m":
            what = "%s, first sign-in of 2,000 users among %s" % (NAMES["sd"], fmt(BIG))
        else:
            what = "%s, %s users" % (NAMES[v], fmt(SMALL))
        w("CPU profile, %s (`perf record -g -F 20000`, hashed NSS, module resident; self time, on-CPU only):" % what)
        w("")
        w("```")
        if os.path.exists(fd):
            w("by object:")
            w(open(fd).read().rstrip())
            w("by symbol (>= 1%):")
        w(open(f).read().rstrip())
        w("```")
        w("")

# leak check
leaks = [r for r in runs if r["tag"] == "leak"]
if leaks:
    w("Leak check (one process, every user once):")
    w("")
    w("| module | cycles | ok | RSS KiB before / after warm-up / end | growth after warm-up | open fds before / after warm-up / end |")
    w("|---|---:|---:|---|---:|---|")
    for r in leaks:
        w("| %s | %s | %s | %s / %s / %s | %+d KiB | %s / %s / %s |" % (
            NAMES[r["variant"]], fmt(int(r["cycles"])), fmt(int(r["ok"])), r["rss0_kib"], r["rss_warm_kib"], r["rss_end_kib"],
            int(r["rss_end_kib"]) - int(r["rss_warm_kib"]), r["fd0"], r["fd_warm"], r["fd_end"]))
    w("")
    w("The warm-up is the first %s cycles: what the first sign-ins set up once (libraries' lazy state, the NSS index, "
      "the syslog socket that libc keeps open after the first message: the one extra descriptor) is in place before it." % leaks[0]["warmup"])
    w("")
if "status_idx_s" in facts:
    w("`secdefaultsctl status` over %s users: **%.2f s** with hashed NSS (%s lines); %s with nss_wrapper's linear scan." % (
        fmt(int(facts.get("status_users", "0"))), float(facts["status_idx_s"]), facts.get("status_idx_lines", "?"),
        ("%.1f s" % float(facts["status_raw_s"])) if re.match(r"^[\d.]+$", facts.get("status_raw_s", "x")) else facts.get("status_raw_s", "not measured")))
    w("")

# targets
w("### Targets of issue 8, from this run")
w("")
w("| target | measured | |")
w("|---|---|---|")
def verdict(ok):
    return "met" if ok else "**missed**"
def get(n, v, key="p50"):
    p = P.get((n, v))
    return p[key] if p else None
if SMALL:
    o, g, a = get(SMALL, "sd"), get(SMALL, "ga"), get(SMALL, "oath")
    if o and g and a:
        best = min(g, a)
        pr_best = {r: min(x, y) for r, x in per_round(SMALL, "ga").items()
                   for r2, y in per_round(SMALL, "oath").items() if r == r2}
        med, vals = round_ratios(per_round(SMALL, "sd"), pr_best)
        w("| TOTP sign-in p50 at %s users ≤ the faster peer | median of per-round ratios ours / faster peer: **%.2f** (rounds: %s); pooled: %s µs vs %s µs (%s) = %.2f | %s |" % (
            fmt(SMALL), med, ", ".join("%.2f" % x for x in vals), fmt(o), fmt(best),
            "pam_oath" if a <= g else "google-authenticator", o / best, verdict(med <= 1.0)))
if MID:
    o, oi, a = get(MID, "sd"), get(MID, "sd_idx"), get(MID, "oath")
    if o and a:
        med, vals = round_ratios(per_round(MID, "oath"), per_round(MID, "sd"))
        medi, valsi = round_ratios(per_round(MID, "oath"), per_round(MID, "sd_idx"))
        w("| at %s users ≥ 10× faster than pam_oath | median of per-round ratios pam_oath / ours: **%.1f×** with nss_wrapper (rounds: %s), %.1f× with hashed NSS (rounds: %s); pooled p50s %s / %s µs | %s |" % (
            fmt(MID), med, ", ".join("%.1f" % x for x in vals), medi if medi else float("nan"),
            ", ".join("%.1f" % x for x in valsi), fmt(a), fmt(o), verdict(med >= 10)))
if SMALL and BIG:
    med, vals = round_ratios(per_round(BIG, "sd_idx"), per_round(SMALL, "sd_ref", "ref%d" % BIG))
    if med:
        w("| p50 at %s users ≤ 1.2× p50 at %s (hashed NSS; the %s-user reference signed in within the same rounds) | median of per-round ratios **%.2f** (rounds: %s) | %s |" % (
            fmt(BIG), fmt(SMALL), fmt(SMALL), med, ", ".join("%.2f" % x for x in vals), verdict(med <= 1.2)))
    if WARM[0]:
        w("| (the same %s users' second sign-in, files cached: the module's own growth) | median of per-round ratios **%.2f** (rounds: %s) | %s |" % (
            fmt(BIG), WARM[0], ", ".join("%.2f" % x for x in WARM[1]), verdict(WARM[0] <= 1.2)))
    s_, b_ = get(SMALL, "sd"), get(BIG, "sd")
    if s_ and b_:
        w("| the same with nss_wrapper (its linear scan of the passwd file, not the module) | %s µs / %s µs = %.1f | %s |" % (
            fmt(b_), fmt(s_), b_ / s_, verdict(b_ / s_ <= 1.2)))
if SMALL:
    np_a, np_c = get(SMALL, "sdnp", "a50"), get(SMALL, "sdnp")
    npi_a, npi_c = get(SMALL, "sdnp_idx", "a50"), get(SMALL, "sdnp_idx")
    npr = [r for r in rows if r[0] == "sdnp"]
    if np_a and npi_a:
        w("| no-prompt path: p50 ≤ 50 µs in-process | pam_authenticate p50 %s µs with hashed NSS, %s µs with nss_wrapper's scan (whole cycle, with libpam's pam_start/pam_end: %s / %s µs) | %s |" % (
            fmt(npi_a, 1), fmt(np_a, 1), fmt(npi_c), fmt(np_c),
            verdict(npi_a <= 50) + ("" if np_a <= 50 else " with hashed NSS; missed with nss_wrapper")))
    if npr:
        r = npr[0]
        w("| no-prompt path: no fsync, no write when nothing changed | %.2f fsyncs, %.2f writes to state files, %.2f renames per sign-in | %s |" % (
            r[2], r[6], r[5], verdict(r[2] == 0 and r[6] == 0 and r[5] == 0)))
    sdr = [r for r in rows if r[0] == "sd"]
    if sdr:
        r = sdr[0]
        w("| ≤ 1 fsync of file data + 1 of the directory per sign-in that changes state | %.2f of a file + %.2f of a directory (%.2f renames) per admin sign-in | %s |" % (
            r[3], r[4], r[5], verdict(r[3] <= 1.0001 and r[4] <= 1.0001)))
        for v, d in (fd_rows if rows else []):
            if v == "sd":
                ok = d["fs_file"] <= 100 and d["fs_dir"] <= 100
                w("| the same, first admin sign-in of a UTC day | %.2f of a file + %.2f of a directory (%.2f renames) | %s |" % (
                    d["fs_file"] / 100, d["fs_dir"] / 100, d["renames"] / 100, verdict(ok)))
            else:
                w("| (first no-prompt sign-in of a UTC day: nothing security-relevant changes) | %.2f fsyncs, %.2f renames | %s |" % (
                    (d["fs_file"] + d["fs_dir"]) / 100, d["renames"] / 100,
                    "met" if d["fs_file"] + d["fs_dir"] == 0 else "writes and syncs observation fields"))
for r in leaks:
    if r["variant"] in ("sd_idx", "sdnp_idx"):
        g = int(r["rss_end_kib"]) - int(r["rss_warm_kib"])
        w("| %s cycles (%s): RSS growth < 1 MiB, fds unchanged | %+d KiB, fds %s → %s | %s |" % (
            fmt(int(r["cycles"])), "admin" if r["variant"] == "sd_idx" else "no prompt", g, r["fd_warm"], r["fd_end"],
            verdict(g < 1024 and r["fd_warm"] == r["fd_end"] and int(r["ok"]) == int(r["cycles"]))))
if "status_idx_s" in facts:
    s = float(facts["status_idx_s"])
    w("| `status` over %s users < 2 s | %.2f s (hashed NSS); %s (nss_wrapper) | %s |" % (
        fmt(int(facts.get("status_users", "0"))), s,
        ("%.1f s" % float(facts["status_raw_s"])) if re.match(r"^[\d.]+$", facts.get("status_raw_s", "x")) else facts.get("status_raw_s", "-"),
        verdict(s < 2)))
w("")
w("Provisioning (not timed in the tables): " + ", ".join("%s users %s s" % (fmt(int(k.split("_")[-1])), v)
  for k, v in facts.items() if k.startswith("provision_s_")) + "; removal: " + ", ".join("%s users %s s" % (fmt(int(k.split("_")[-1])), v)
  for k, v in facts.items() if k.startswith("remove_s_")) + ".")
w("<!-- END GENERATED -->")
gen = "\n".join(out) + "\n"

head = "# Benchmark: pam_secdefaults, pam_google_authenticator, pam_oath\n\n"
tail = ""
if os.path.exists(OUT):
    old = open(OUT).read()
    b = old.find("<!-- BEGIN GENERATED")
    e = old.find("<!-- END GENERATED -->")
    if b >= 0 and e >= 0:
        head = old[:b]
        tail = old[e + len("<!-- END GENERATED -->"):].lstrip("\n")
        tail = ("\n" + tail) if tail else ""
    else:
        head = old.rstrip("\n") + "\n\n"
open(OUT, "w").write(head + gen + tail)
PY
}

# report_etcd DIR: write the fleet-mode part of $OUT (between its own
# GENERATED etcd markers; appended at the end the first time) from the
# figures in DIR ($B/last-run-etcd).
report_etcd() {
	/usr/bin/python3 - "$1" "$OUT" <<'PY'
import os, sys

W, OUT = sys.argv[1:3]
facts, runs = {}, []
for line in open(os.path.join(W, "etcd.txt")):
    words = line.split()
    if not words:
        continue
    if words[0] == "FACT":
        k, _, v = line[5:].rstrip("\n").partition("=")
        facts[k] = v
    elif words[0] == "ERUN":
        runs.append(dict(kv.split("=", 1) for kv in words[1:]))

NAMES = {
    "sde": "admin, etcd (code at every sign-in)",
    "sdnpe": "user at a known location, etcd (no prompt)",
    "sdd": "admin, state directory (same population, same rounds)",
}

def pct(v, p):
    if not v:
        return float("nan")
    k = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[k - 1]

def fmt(x, d=0):
    if x is None or x != x:
        return "-"
    return "{:,.{}f}".format(x, d)

out = []
w = out.append
w("<!-- BEGIN GENERATED etcd by bench/run.sh: everything up to END GENERATED etcd is replaced by each run with the etcd part -->")
w("## Fleet mode (etcd): latency and round trips per sign-in")
w("")
w("Reproduce: `%s` (the etcd part alone; a full `bench/run.sh` runs it too), as root." % facts.get("command", "bench/run.sh --etcd-only"))
w("")
w("| | |")
w("|---|---|")
w("| cluster | %s members of etcd %s on 127.0.0.1 (plain http on loopback), data on %s |" % (facts.get("members", "3"), facts.get("etcd_version", "?"), facts.get("etcd_fs", "?")))
w("| machine | %s, %s cores; load average %s at the start, %s at the end |" % (facts.get("cpu", "?"), facts.get("nproc", "?"), facts.get("load_start", "?"), facts.get("load_end", "?")))
w("| pam_secdefaults | %s |" % facts.get("commit", "?"))
w("| population | %s users (bench/provision.sh, copied into etcd with `secdefaultsctl migrate --to etcd`), nss_wrapper; %s rounds a TOTP step apart, every user once per round and variant, variants alternated |" % (facts.get("users", "?"), facts.get("rounds", "?")))
w("| wall time | %s s |" % facts.get("total_s", "?"))
w("")
w("Latency is one whole cycle in one process (pam_start → pam_set_item(PAM_RHOST) → pam_authenticate → pam_end, module resident), "
  "pooled over the rounds. Round trips are counted by etcd itself, from every member's /metrics before and after each run: "
  "requests = grpc_server_handled_total of the KV methods Range and Txn, summed over the members (the HTTP/JSON gateway hands "
  "each request to the gRPC server); writes = the growth of etcd_server_proposals_committed_total (a transaction that can put is "
  "one raft entry; a read, also a read-only transaction, is none); reads = requests − writes. tests/pam/t_etcd_rt.sh asserts the "
  "same counts for single sign-ins.")
w("")
w("| variant | sign-ins | ok | p50 µs | p90 µs | p99 µs | max µs | round p50s | reads / sign-in | writes / sign-in |")
w("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
for v in ("sde", "sdnpe", "sdd"):
    rs = sorted((r for r in runs if r["variant"] == v), key=lambda r: int(r["round"]))
    if not rs:
        continue
    lat = []
    for r in rs:
        f = os.path.join(W, "raw", "%s.%s" % (v, r["round"]))
        if os.path.exists(f):
            lat += [int(line.split()[0]) / 1000.0 for line in open(f) if line.strip()]
    lat.sort()
    cyc = sum(int(r["cycles"]) for r in rs)
    ok = sum(int(r["ok"]) for r in rs)
    fail = sum(int(r["fail"]) for r in rs)
    if v == "sdd":
        rt = ("-", "-")
    else:
        req = sum(int(r["dreq"]) for r in rs)
        wr = sum(int(r["dprop"]) for r in rs)
        rt = ("%.2f" % ((req - wr) / cyc), "%.2f" % (wr / cyc))
    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        NAMES[v], fmt(cyc), fmt(ok) + ("" if fail == 0 else " (**%d failed**)" % fail),
        fmt(pct(lat, 50)), fmt(pct(lat, 90)), fmt(pct(lat, 99)), fmt(lat[-1] if lat else None),
        " / ".join(fmt(float(r["p50_us"])) for r in rs), rt[0], rt[1]))
w("")
sde = [r for r in runs if r["variant"] == "sde"]
if sde:
    cyc = sum(int(r["cycles"]) for r in sde)
    req = sum(int(r["dreq"]) for r in sde)
    wr = sum(int(r["dprop"]) for r in sde)
    ok = (req - wr) == cyc and wr == cyc
    w("Target of issue 9: one read and one transaction per TOTP sign-in — measured %.2f reads and %.2f transactions per admin sign-in over %s sign-ins: **%s**." % (
        (req - wr) / cyc, wr / cyc, fmt(cyc), "met" if ok else "missed"))
w("<!-- END GENERATED etcd -->")
gen = "\n".join(out) + "\n"

old = open(OUT).read() if os.path.exists(OUT) else "# Benchmark\n"
b = old.find("<!-- BEGIN GENERATED etcd")
e = old.find("<!-- END GENERATED etcd -->")
if b >= 0 and e >= 0:
    new = old[:b] + gen + old[e + len("<!-- END GENERATED etcd -->\n"):]
else:
    new = old.rstrip("\n") + "\n\n" + gen
open(OUT, "w").write(new)
PY
}

if [ "$REPORT_ONLY" = 1 ]; then
	if [ "$ETCD_ONLY" = 0 ]; then
		[ -d "$B/last-run" ] || { echo "run.sh: no $B/last-run to report from" >&2; exit 1; }
		report "$B/last-run"
		echo "wrote $OUT from $B/last-run"
	fi
	if [ -f "$B/last-run-etcd/etcd.txt" ]; then
		report_etcd "$B/last-run-etcd"
		echo "wrote the etcd part of $OUT from $B/last-run-etcd"
	fi
	exit 0
fi

# ---- outside the namespace: dependencies, build ---------------------------
if [ -z "${PB_ISOLATED:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "run.sh: run as root (private mount namespace, apt-get)" >&2
		exit 1
	fi
	need=()
	[ -f "$GA_SO" ] || need+=(libpam-google-authenticator)
	[ -f "$OATH_SO" ] || need+=(libpam-oath)
	command -v strace >/dev/null || need+=(strace)
	command -v perf >/dev/null || need+=(linux-perf)
	command -v oathtool >/dev/null || need+=(oathtool)
	dpkg -s libpam-wrapper >/dev/null 2>&1 || need+=(libpam-wrapper)
	dpkg -s libnss-wrapper >/dev/null 2>&1 || need+=(libnss-wrapper)
	dpkg -s liboath-dev >/dev/null 2>&1 || need+=(liboath-dev)
	dpkg -s libpam0g-dev >/dev/null 2>&1 || need+=(libpam0g-dev)
	[ -x "$ETCD_BIN" ] || need+=(etcd-server)
	if [ ${#need[@]} -gt 0 ]; then
		echo "run.sh: installing ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${need[@]}" >/dev/null
	fi
	[ -f "$MODULE" ] || { echo "run.sh: no $MODULE: build first (make)" >&2; exit 1; }
	mkdir -p "$B"
	CC=${CC:-cc}
	# shellcheck disable=SC2046
	$CC -O2 -g -Wall -Wextra -o "$B/pambench" "$SRCDIR/bench/pambench.c" \
		$(pkg-config --cflags --libs liboath) -lpam -ldl
	$CC -O2 -g -Wall -Wextra -shared -fPIC -DPAMBENCH_NSS_PRELOAD \
		-o "$B/pambench-nss.so" "$SRCDIR/bench/pambench.c" -ldl -lpthread
	# Snapshot the module and the CLI: the build directory may be rebuilt
	# while the benchmark runs.
	cp "$MODULE" "$B/pam_secdefaults.so"
	cp "$CTL" "$B/secdefaultsctl"
	export PB_ISOLATED=1 PB_ARGS="$ARGS_GIVEN" PB_MODULE_SRC="$MODULE"
	exec unshare --mount --propagation private -- /bin/bash "$0" --builddir "$BUILDDIR" \
		--data "$DATA" --out "$OUT" --sizes "$SIZES" --rounds "$ROUNDS" --budget "$BUDGET" \
		$([ $QUICK = 1 ] && echo --quick) $([ $KEEP = 1 ] && echo --keep) \
		$([ $ETCD_ONLY = 1 ] && echo --etcd-only)
fi

# ---- inside: private /tmp and /dev -----------------------------------------
T0=$(date +%s)
MODULE=$B/pam_secdefaults.so
CTL=$B/secdefaultsctl
mount -t tmpfs -o mode=1777,size=512m pbtmp /tmp
W=/tmp/pambench
mkdir -p "$W/dev" "$W/raw" "$W/strace"
for n in null zero full random urandom tty; do
	[ -e "/dev/$n" ] || continue
	touch "$W/dev/$n"
	mount --bind "/dev/$n" "$W/dev/$n"
done
touch "$W/dev/console"
mount --bind /dev/null "$W/dev/console"
mkdir -p "$W/dev/pts" "$W/dev/shm"
[ -d /dev/pts ] && mount --rbind /dev/pts "$W/dev/pts"
ln -s /proc/self/fd "$W/dev/fd"
ln -s /proc/self/fd/0 "$W/dev/stdin"
ln -s /proc/self/fd/1 "$W/dev/stdout"
ln -s /proc/self/fd/2 "$W/dev/stderr"
# The syslog sink: one line per message in $W/syslog.
/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
f = open(sys.argv[2], "ab", buffering=0)
open(sys.argv[1] + ".ready", "w").close()
while True:
    f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
' "$W/dev/log" "$W/syslog" &
SINK=$!
EPIDS=()
# shellcheck disable=SC2317
on_exit() {
	local p
	for p in "${EPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	kill $SINK 2>/dev/null || true
}
trap on_exit EXIT
for _ in $(seq 50); do [ -e "$W/dev/log.ready" ] && break; sleep 0.1; done
rm -f "$W/dev/log.ready"
mount --rbind "$W/dev" /dev

RES=$W/results.txt # one "RUN ..." line per pambench run
EXTRA=$W/extra.txt # key=value facts for the report
: >"$RES"
: >"$EXTRA"
LOG=$W/log.txt
say() { echo "[$(($(date +%s) - T0))s] $*" | tee -a "$LOG"; }
fact() { echo "$1=$2" >>"$EXTRA"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the machine -------------------------------------------------------------
mkdir -p "$DATA"
chmod 0755 "$DATA"
fact nproc "$(nproc)"
fact cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
fact mem "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
fact kernel "$(uname -r)"
fact fs "$(df -T "$DATA" | awk 'NR == 2 {print $2 " on " $1 " mounted at " $7}')"
fact mountopts "$(findmnt -no OPTIONS -T "$DATA" 2>/dev/null || echo '?')"
fact data "$DATA"
fact commit "$(cd "$SRCDIR" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$SRCDIR" && [ -n "$(git status --porcelain -- src 2>/dev/null)" ] && echo ' + uncommitted changes in src/' || true)"
fact debian "$(cat /etc/debian_version 2>/dev/null || echo '?')"
fact ga_version "$(dpkg-query -W -f '${Version}' libpam-google-authenticator 2>/dev/null || echo '?')"
fact oath_version "$(dpkg-query -W -f '${Version}' libpam-oath 2>/dev/null || echo '?')"
fact pamwrap_version "$(dpkg-query -W -f '${Version}' libpam-wrapper 2>/dev/null || echo '?')"
fact nsswrap_version "$(dpkg-query -W -f '${Version}' libnss-wrapper 2>/dev/null || echo '?')"
fact command "bench/run.sh${ARGS_GIVEN:+ $ARGS_GIVEN}"
fact module_sha "$(sha256sum "$MODULE" | cut -c1-12) (copy of ${PB_MODULE_SRC:-?} taken at the start)"
fact load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact iopsi_start "$(sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/\1% \/ \2%/p' /proc/pressure/io 2>/dev/null || echo '?')"
fact rounds "$ROUNDS"
say "data on $(df -T "$DATA" | awk 'NR == 2 {print $2}') at $DATA"

# ---- helpers -----------------------------------------------------------------
# The environment of a run: pam_wrapper, optionally the hash index, nss_wrapper.
wrap() { # DIR NSS(raw|idx) CMD...   (TMO: timeout in seconds, default 1800)
	local dir=$1 nss=$2 pre="libpam_wrapper.so"
	shift 2
	[ "$nss" = idx ] && pre="$pre $B/pambench-nss.so"
	# timeout stays outside the wrappers, so it works even if they hang.
	timeout "${TMO:-1800}" env LD_PRELOAD="$pre libnss_wrapper.so" PAM_WRAPPER=1 PAM_WRAPPER_USE_SYSLOG=1 \
		PAM_WRAPPER_SERVICE_DIR="$dir/svc" NSS_WRAPPER_PASSWD="$dir/passwd" \
		NSS_WRAPPER_GROUP="$dir/group" "$@"
}

# variant -> service, NSS mode, module pinned or not
variant() {
	case $1 in
	sd) echo "pb_sd raw $MODULE" ;;
	sd_idx) echo "pb_sd idx $MODULE" ;;
	sdnp) echo "pb_sdnp raw $MODULE" ;;
	sdnp_idx) echo "pb_sdnp idx $MODULE" ;;
	ga) echo "pb_ga raw $GA_SO" ;;
	oath) echo "pb_oath raw $OATH_SO" ;;
	sd_ref) echo "pb_sd idx $MODULE" ;;
	sdnp_ref) echo "pb_sdnp idx $MODULE" ;;
	sd_cold) echo "pb_sd raw -" ;;
	sd_cold_libs) echo "pb_sd raw libs" ;;
	sdnp_cold_libs) echo "pb_sdnp raw libs" ;;
	sdnp_cold) echo "pb_sdnp raw -" ;;
	ga_cold) echo "pb_ga raw -" ;;
	oath_cold) echo "pb_oath raw -" ;;
	esac
}

# classify_syncs TRACE: from an `strace -y` trace, the fsyncs of a
# directory and of a file, the writes that reach $DATA and the renames, as
# "fs_file=N fs_dir=N wr_data=N renames=N" (run while the paths exist).
classify_syncs() {
	/usr/bin/python3 - "$1" "$DATA" <<'PY'
import os, re, sys
fs_file = fs_dir = wr = ren = 0
for line in open(sys.argv[1]):
    m = re.search(r"\b(fsync|fdatasync)\(\d+<([^>]*)>", line)
    if m:
        if os.path.isdir(m.group(2)):
            fs_dir += 1
        else:
            fs_file += 1
    m = re.search(r"\b(write|pwrite64|writev)\(\d+<([^>]*)>", line)
    if m and m.group(2).startswith(sys.argv[2]):
        wr += 1
    if re.search(r"\brename(at2?)?\(", line):
        ren += 1
print("fs_file=%d fs_dir=%d wr_data=%d renames=%d" % (fs_file, fs_dir, wr, ren))
PY
}

# perf_summary NAME: self time by object and by symbol (>= 1%) of
# $W/perf.NAME.data, into perf.NAME.dso.txt and perf.NAME.txt.
perf_summary() {
	perf report -i "$W/perf.$1.data" --stdio --no-children -g none --comm pambench \
		--percent-limit 1 --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' |
		head -30 >"$W/perf.$1.txt" || true
	perf report -i "$W/perf.$1.data" --stdio --no-children -g none --comm pambench \
		--sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -12 >"$W/perf.$1.dso.txt" || true
}

# Wait until the current TOTP step is later than the one in which the last
# code was used, so no code of a user is replayed by a later run.
LAST_CODE_TS=0
wait_step() {
	local now
	now=$(date +%s)
	if [ $((now / 30)) -le $((LAST_CODE_TS / 30)) ]; then
		local s=$((30 - now % 30 + 1))
		say "waiting ${s}s for the next TOTP step (users are signed in again)"
		sleep "$s"
	fi
}

# bench VARIANT N ROUND CYCLES OFFSET STRIDE [TAG]
bench() {
	local v=$1 n=$2 round=$3 cycles=$4 offset=$5 stride=$6 tag=${7:-round}
	local dir=$DATA/n$n svc nss pin
	read -r svc nss pin <<<"$(variant "$v")"
	local pins=()
	case $pin in
	-) ;;
	libs) pins=(--pin libcurl.so.4 --pin libcrypto.so.3 --pin libqrencode.so.4) ;;
	*) pins=(--pin "$pin" --pin "$DENY_SO") ;;
	esac
	local raw=$W/raw/$v.$n.$tag.$round
	local before after line rc=0
	before=$(wc -l <"$W/syslog")
	line=$(TMO=1800 wrap "$dir" "$nss" "$B/pambench" -q -s "$svc" -n "$n" -c "$cycles" \
		-o "$offset" -t "$stride" -r "$RHOST" -l "$v" -R "$raw" "${pins[@]}" \
		2>>"$W/pambench.err" | grep '^RESULT ') || rc=$?
	case $v in sd | sd_idx | sd_ref | ga | oath | sd_cold* | ga_cold | oath_cold) LAST_CODE_TS=$(date +%s) ;; esac
	sleep 0.2
	after=$(wc -l <"$W/syslog")
	echo "RUN n=$n variant=$v tag=$tag round=$round nss=$nss pinned=$pin syslog=$((after - before)) ${line#RESULT }" >>"$RES"
	say "  $v N=$n $tag $round: $(echo "$line" | grep -o 'ok=[0-9]* fail=[0-9]*') p50 $(echo "$line" | sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p') us, auth p50 $(echo "$line" | sed -n 's/.*auth_p50_us=\([0-9.]*\).*/\1/p') us"
	if [ "$rc" -ne 0 ] && [ -z "$line" ]; then
		say "  $v N=$n: pambench failed (see $W/pambench.err)"
		tail -5 "$W/pambench.err" | tee -a "$LOG"
	fi
}

# Run the variants of one round, rotated by the round number (alternation).
round() { # N ROUND "v1:cycles:offset:stride v2:..."
	local n=$1 r=$2 specs=($3) k i
	k=${#specs[@]}
	for ((i = 0; i < k; i++)); do
		local s=${specs[$(((i + r) % k))]}
		IFS=: read -r v c o t <<<"$s"
		case $v in
		@*)
			if [ -n "$SMALL" ] && [ -d "$DATA/n$SMALL" ]; then
				bench "${v#@}" "$SMALL" "$r" "$c" "$o" "$t" "ref$n"
			fi
			;;
		*) bench "$v" "$n" "$r" "$c" "$o" "$t" ;;
		esac
	done
}

provision() { # N MODULES [provision.sh options]
	local t n=$1 mods=$2
	shift 2
	t=$(date +%s)
	say "provisioning $n users ($mods)"
	"$SRCDIR/bench/provision.sh" --modules "$mods" --module "$MODULE" "$@" "$DATA/n$n" "$n" >>"$LOG"
	fact "provision_s_$n" $(($(date +%s) - t))
	fact "provision_modules_$n" "$mods"
}

# Remove a population; the three big directories in parallel.
remove_pop() { # N
	local dir=$DATA/n$1 t d pids=()
	[ -d "$dir" ] || return 0
	t=$(date +%s)
	for d in sd/state/users sd/state/secrets sd/state/locks ga; do
		if [ -d "$dir/$d" ]; then
			rm -rf "${dir:?}/$d" &
			pids+=($!)
		fi
	done
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
	rm -rf "$dir"
	fact "remove_s_$1" $(($(date +%s) - t))
}

# The filesystem's own cost for the steps the modules take (no PAM): p50 of
# ITER of each, in a fresh directory of 1,000 small files under DIR.
fsprobe() { # DIR ITER OUT
	/usr/bin/python3 - "$1/fsprobe" "$2" >"$3" <<'PY'
import os, sys, time
d = sys.argv[1]
ITER = int(sys.argv[2])
os.makedirs(d, exist_ok=True)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
data = b"x" * 300
for i in range(1000):
    with open(os.path.join(d, "u%d" % i), "wb") as f:
        f.write(data)
os.sync()
def replace(i, sync_file, sync_dir):
    t = time.perf_counter()
    fd = os.open(".u%d.tmp" % i, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dfd)
    os.write(fd, data)
    if sync_file:
        os.fsync(fd)
    os.close(fd)
    os.rename(".u%d.tmp" % i, "u%d" % i, src_dir_fd=dfd, dst_dir_fd=dfd)
    if sync_dir:
        os.fsync(dfd)
    return (time.perf_counter() - t) * 1e6
def p50(v):
    v = sorted(v)
    return v[len(v) // 2]
rows = [("write a new file and rename it over the old one, no fsync", 0, 0),
        ("the same with fsync of the file before the rename", 1, 0),
        ("the same with fsync of the file and of the directory", 1, 1)]
for k, (label, sf, sd) in enumerate(rows):
    res = [replace(ITER * k + i, sf, sd) for i in range(ITER)]
    print("%s=%.0f" % (label, p50(res)))
def overwrite(i, sync):
    t = time.perf_counter()
    fd = os.open("u%d" % i, os.O_WRONLY, dir_fd=dfd)
    os.pwrite(fd, data, 0)
    if sync:
        os.fdatasync(fd)
    os.close(fd)
    return (time.perf_counter() - t) * 1e6
print("overwrite the file in place (pwrite of the same size), no sync=%.0f" % p50([overwrite(i, 0) for i in range(ITER)]))
print("overwrite in place and fdatasync=%.0f" % p50([overwrite(ITER + i, 1) for i in range(ITER)]))
t = []
for i in range(ITER):
    a = time.perf_counter(); os.fsync(dfd); t.append((time.perf_counter() - a) * 1e6)
print("fsync of the directory alone, nothing pending=%.0f" % p50(t))
PY
	rm -rf "$1/fsprobe"
}

# strace: per-sign-in syscall counts, as the difference of a 1-sign-in run
# and a (1+K)-sign-in run (start-up cancels out), then one traced run with
# paths (-y) to tell file fsyncs from directory fsyncs.
strace_variant() { # VARIANT N K
	local v=$1 n=$2 k=$3 dir=$DATA/n$2 svc nss pin
	read -r svc nss pin <<<"$(variant "$v")"
	local pins=(--pin "$pin" --pin "$DENY_SO")
	TMO=600 wrap "$dir" "$nss" strace -c -f -o "$W/strace/$v.a" "$B/pambench" -q -s "$svc" \
		-n "$n" -c 1 -o 0 -t 1 -r "$RHOST" "${pins[@]}" >/dev/null 2>>"$W/pambench.err" || true
	TMO=600 wrap "$dir" "$nss" strace -c -f -o "$W/strace/$v.b" "$B/pambench" -q -s "$svc" \
		-n "$n" -c $((k + 1)) -o 1 -t 1 -r "$RHOST" "${pins[@]}" >"$W/strace/$v.b.result" \
		2>>"$W/pambench.err" || true
	TMO=600 wrap "$dir" "$nss" strace -f -y -qq -o "$W/strace/$v.y" \
		-e trace=fsync,fdatasync,sync_file_range,syncfs,rename,renameat,renameat2,write,pwrite64,writev,openat,open,unlink,unlinkat,sendto,connect \
		"$B/pambench" -q -s "$svc" -n "$n" -c "$k" -o $((k + 50)) -t 1 -r "$RHOST" "${pins[@]}" \
		>"$W/strace/$v.y.result" 2>>"$W/pambench.err" || true
	LAST_CODE_TS=$(date +%s)
	# Classify now, while the directories exist: fsync of a directory or of a
	# file, writes that reach the data directory.
	classify_syncs "$W/strace/$v.y" >"$W/strace/$v.yc"
	echo "STRACE variant=$v n=$n k=$k" >>"$RES"
	say "  strace $v: $(grep -o 'ok=[0-9]* fail=[0-9]*' "$W/strace/$v.b.result" || echo '?')"
}

# The first sign-in of a UTC day (the daily last_seen observation, when the
# module has it): a population whose state does not say "seen today".
firstday() { # VARIANT
	local v=$1 dir=$DATA/firstday svc nss pin
	read -r svc nss pin <<<"$(variant "$v")"
	[ -d "$dir" ] || "$SRCDIR/bench/provision.sh" --modules ours --seen no --module "$MODULE" \
		"$dir" 200 >>"$LOG"
	TMO=600 wrap "$dir" raw strace -f -y -qq -o "$W/strace/$v.fd" \
		-e trace=fsync,fdatasync,rename,renameat,renameat2,write,pwrite64,writev \
		"$B/pambench" -q -s "$svc" -n 200 -c 100 -o "$([ "$v" = sd ] && echo 0 || echo 100)" -t 1 \
		-r "$RHOST" --pin "$MODULE" --pin "$DENY_SO" >"$W/strace/$v.fd.result" \
		2>>"$W/pambench.err" || true
	classify_syncs "$W/strace/$v.fd" >"$W/strace/$v.fd.yc"
	say "  first sign-in of the day, $v: $(cat "$W/strace/$v.fd.yc") over 100 sign-ins"
}

# ---- phases --------------------------------------------------------------------

[ "$ETCD_ONLY" = 1 ] && SIZES=
SMALL=$(echo "$SIZES" | awk '{print $1}')
MID=$(echo "$SIZES" | awk '{print $2}')
BIG=$(echo "$SIZES" | awk '{print $3}')

# 1. The small population (1,000): every user in every round; rounds are a
# TOTP step apart. pam_secdefaults' two NSS variants share one state
# directory, so they take the even and the odd users.
if [ -n "$SMALL" ]; then
	n=$SMALL
	provision "$n" "ours ga oath"
	half=$((n / 2))
	for ((r = 0; r < ROUNDS; r++)); do
		wait_step
		say "N=$n round $((r + 1))/$ROUNDS"
		round "$n" "$r" "sd:$half:0:2 ga:$n:0:1 oath:$n:0:1 sdnp:$n:0:1 sd_idx:$half:1:2 sdnp_idx:$n:0:1"
	done
	wait_step
	say "N=$n syscalls per sign-in (strace)"
	K=200
	[ $QUICK = 1 ] && K=100
	for v in sd sdnp ga oath; do strace_variant "$v" "$n" "$K"; done
	fact strace_k "$K"
	if grep -q last_seen_standard "$MODULE"; then
		for v in sd sdnp; do firstday "$v"; done
		rm -rf "$DATA/firstday"
	fi
	say "N=$n cold: module loaded by each pam_start, unloaded by pam_end"
	# Users: strace 0..K+1 and K+50..2K+50; cold 45%..75% (a tenth per
	# round; the two pam_secdefaults admin runs share it); profile 75%..100%.
	# Each round also measures the filesystem's own costs (fsprobe).
	for ((r = 0; r < (ROUNDS < 3 ? ROUNDS : 3); r++)); do
		o=$((n * 45 / 100 + r * n / 10))
		specs=("ga_cold:$((n / 10)):$o" "oath_cold:$((n / 10)):$o" "sdnp_cold:$((n / 10)):$o"
			"sdnp_cold_libs:$((n / 10)):$o" "sd_cold:$((n / 20)):$o"
			"sd_cold_libs:$((n / 20)):$((o + n / 20))")
		for ((i = 0; i < ${#specs[@]}; i++)); do
			IFS=: read -r v c o2 <<<"${specs[$(((i + r) % ${#specs[@]}))]}"
			bench "$v" "$n" "$r" "$c" "$o2" 1 cold
		done
		fsprobe "$DATA/n$n" 100 "$W/fsprobe.$r.txt"
	done
	say "N=$n profile of pam_secdefaults (perf record, perf trace)"
	svcdir=$DATA/n$n
	for v in sd sdnp; do
		read -r svc nss pin <<<"$(variant "$v")"
		c=$((n / 4))
		[ $v = sdnp ] && c=20000 # no codes: users may repeat
		TMO=600 wrap "$svcdir" idx perf record -q -F 20000 -g -o "$W/perf.$v.data" \
			"$B/pambench" -q -s "$svc" -n "$n" -c "$c" -o $((n * 75 / 100)) -t 1 \
			-r "$RHOST" --pin "$MODULE" --pin "$DENY_SO" >/dev/null 2>>"$W/pambench.err" || true
		perf_summary "$v"
	done
	LAST_CODE_TS=$(date +%s)
	# Time inside each syscall (perf trace: ~10 us of tracing per call, see
	# the min column), for the I/O part of an admin sign-in and of the peers.
	wait_step
	for v in sd ga oath; do
		read -r svc nss pin <<<"$(variant "$v")"
		TMO=600 wrap "$svcdir" raw perf trace -s -o "$W/ptrace.$v" "$B/pambench" -q -s "$svc" \
			-n "$n" -c $((n / 5)) -o 0 -t 1 -r "$RHOST" --pin "$pin" --pin "$DENY_SO" \
			>/dev/null 2>>"$W/pambench.err" || true
	done
	LAST_CODE_TS=$(date +%s)
	# The small population stays: the later phases run it again, alternated
	# with the large ones (sd_ref, sdnp_ref), so their ratios compare runs
	# made under the same load. Those runs must not fall in the step in
	# which the profile runs above used its users' codes (a replay, refused).
	wait_step
fi

# 2. The middle population (100,000): each round visits a spread-out sample,
# in slices that never repeat a user; then the leak check (every user once,
# 100,000 cycles in one process) and `secdefaultsctl status`.
if [ -n "$MID" ]; then
	n=$MID
	provision "$n" "ours ga oath"
	s1=$((n / 1000 / 6 * 6)) # sd: ~1,000 per round, stride a multiple of 6
	[ "$s1" -lt 6 ] && s1=6
	s2=$((s1 / 2 / 6 * 6)) # sd_idx: ~2,000 per round
	[ "$s2" -lt 6 ] && s2=6
	c1=$((n / s1))
	c2=$((n / s2))
	[ "$c1" -gt 1000 ] && c1=1000
	[ "$c2" -gt 2000 ] && c2=2000
	cg=$((n / 50))
	[ "$cg" -gt 2000 ] && cg=2000
	co=$((n / 333))
	[ "$co" -gt 300 ] && co=300
	[ "$co" -lt 10 ] && co=10
	for ((r = 0; r < ROUNDS; r++)); do
		say "N=$n round $((r + 1))/$ROUNDS"
		round "$n" "$r" "sd:$c1:$((2 * r)):$s1 ga:$cg:$r:$((n / cg)) oath:$co:$r:$((n / co)) sdnp:$cg:$r:$((n / cg)) sd_idx:$c2:$((2 * r + 1)):$s2 sdnp_idx:$cg:$((r + 7)):$((n / cg)) @sd_ref:$((SMALL / 6)):$r:6 @sdnp_ref:$SMALL:0:1"
	done
	say "N=$n leak check: $n cycles in one process"
	wait_step
	bench sd_idx "$n" 0 "$n" 0 1 leak
	bench sdnp_idx "$n" 0 "$n" 0 1 leak
	say "N=$n secdefaultsctl status"
	t=$(date +%s.%N)
	wrap "$DATA/n$n" idx "$CTL" --config "$DATA/n$n/sd/admin.conf" status >"$W/status.idx" 2>&1 || true
	fact status_idx_s "$(since "$t")"
	fact status_idx_lines "$(($(wc -l <"$W/status.idx") - 1))"
	t=$(date +%s.%N)
	if [ $QUICK = 0 ]; then
		TMO=240 wrap "$DATA/n$n" raw "$CTL" --config "$DATA/n$n/sd/admin.conf" status \
			>"$W/status.raw" 2>&1 && fact status_raw_s "$(since "$t")" ||
			fact status_raw_s "more than 240 s (stopped)"
	fi
	fact status_users "$n"
	say "N=$n status: $(grep status_idx_s "$EXTRA" | cut -d= -f2)s (hashed NSS), $(grep status_raw_s "$EXTRA" | cut -d= -f2 || echo -)s (nss_wrapper)"
	[ $KEEP = 1 ] || remove_pop "$n"
fi

# 3. The large population (1,000,000): pam_secdefaults only (the peers' cost
# per sign-in at 100,000 users already shows where they stand).
if [ -n "$BIG" ]; then
	n=$BIG
	elapsed=$(($(date +%s) - T0))
	if [ $((elapsed + 420)) -gt "$BUDGET" ]; then
		say "skipping N=$n: ${elapsed}s used of a ${BUDGET}s budget"
		fact big_skipped "$n (time budget)"
	else
		s1=$((n / 300 / 6 * 6))
		s2=$((n / 2000 / 6 * 6))
		# Lock files only for the users the rounds sign in with a code.
		po=$((s2 / 2)) # the profile's users: a slice no round touches
		for ((r = 0; r < ROUNDS; r++)); do
			seq "$((2 * r))" "$s1" "$((2 * r + 299 * s1))"
			seq "$((2 * r + 1))" "$s2" "$((2 * r + 1 + 1999 * s2))"
		done >"$W/locks.$n"
		seq "$po" "$s2" "$((po + 1999 * s2))" >>"$W/locks.$n"
		provision "$n" "ours" --locks "$W/locks.$n"
		for ((r = 0; r < ROUNDS; r++)); do
			say "N=$n round $((r + 1))/$ROUNDS"
			round "$n" "$r" "sd:300:$((2 * r)):$s1 sdnp:300:$r:$s1 sd_idx:2000:$((2 * r + 1)):$s2 sdnp_idx:2000:$((r + 7)):$s2 @sd_ref:$((SMALL / 6)):$((r + 3)):6 @sdnp_ref:$SMALL:0:1"
		done
		# The growth above is each user's first sign-in of the run: their
		# three files (users/, secrets/, locks/) are looked up among
		# 3,000,000 for the first time. The same users again a step later,
		# with those dentries and inodes cached (as the 1,000 users' are),
		# against the 1,000-user reference in the same minute, separate
		# that cost from the module's own.
		wait_step
		for ((r = 0; r < ROUNDS; r++)); do
			say "N=$n warm pass $((r + 1))/$ROUNDS (the same users again)"
			bench sd_idx "$n" "$r" 2000 "$((2 * r + 1))" "$s2" warm
			if [ -n "$SMALL" ] && [ -d "$DATA/n$SMALL" ]; then
				bench sd_ref "$SMALL" "$r" "$((SMALL / 6))" "$((r + 3))" 6 "warm$n"
			fi
		done
		say "N=$n profile of a first sign-in among $n users (perf record)"
		TMO=600 wrap "$DATA/n$n" idx perf record -q -F 20000 -g -o "$W/perf.sd1m.data" \
			"$B/pambench" -q -s pb_sd -n "$n" -c 2000 -o "$po" -t "$s2" \
			-r "$RHOST" --pin "$MODULE" --pin "$DENY_SO" >/dev/null 2>>"$W/pambench.err" || true
		perf_summary sd1m
		LAST_CODE_TS=$(date +%s)
		say "removing $DATA/n$n"
		[ $KEEP = 1 ] || remove_pop "$n"
	fi
fi
if [ -n "$SMALL" ] && [ $KEEP = 0 ]; then remove_pop "$SMALL"; fi

# 4. Fleet mode (issue 9): the same kind of population in etcd, a 3-member
# cluster on 127.0.0.1 with its data under $DATA (a disk: etcd syncs its
# log). Per round, a TOTP step apart, every user signs in once per variant:
# admin with a code (sde), user with no prompt (sdnpe), and, as a reference
# measured in the same rounds, admin on the state directory the population
# was copied from (sdd). Each run is bracketed by readings of every member's
# /metrics, so the round trips come from etcd's own counters.
EPIDS=()
EW=$W/etcd
etcd_stop_all() {
	local p
	for p in "${EPIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	EPIDS=()
}
efact() { echo "FACT $1=$2" >>"$EW/etcd.txt"; }
# "REQUESTS PROPOSALS": KV Range+Txn handled, summed over the members; the
# highest committed proposal count of any member.
etcd_metrics() {
	local p req=0 prop=0 r q
	for p in "${ECPORT[@]}"; do
		read -r r q < <(curl -s --noproxy '*' -m 5 "http://127.0.0.1:$p/metrics" | awk '
			/^grpc_server_handled_total\{/ && /grpc_service="etcdserverpb.KV"/ &&
				(/grpc_method="Range"/ || /grpc_method="Txn"/) { r += $NF }
			/^etcd_server_proposals_committed_total / { q = $NF }
			END { printf "%d %d\n", r, q }')
		req=$((req + r))
		[ "$q" -gt "$prop" ] && prop=$q
	done
	echo "$req $prop"
}
etcd_settle() {
	local a b k
	a=$(etcd_metrics)
	for k in $(seq 1 20); do
		sleep 0.3
		b=$(etcd_metrics)
		[ "$a" = "$b" ] && break
		a=$b
	done
}
# ebench VARIANT SERVICE ROUND: every user once
ebench() {
	local v=$1 svc=$2 round=$3 line r0 p0 r1 p1 rc=0
	etcd_settle
	read -r r0 p0 <<<"$(etcd_metrics)"
	line=$(TMO=900 wrap "$EDIR" raw "$B/pambench" -q -s "$svc" -n "$ETCD_N" -c "$ETCD_N" -o 0 -t 1 \
		-r "$RHOST" -l "$v" -R "$EW/raw/$v.$round" --pin "$MODULE" --pin "$DENY_SO" \
		2>>"$EW/pambench.err" | grep '^RESULT ') || rc=$?
	[ "$v" = sdnpe ] || LAST_CODE_TS=$(date +%s)
	etcd_settle
	read -r r1 p1 <<<"$(etcd_metrics)"
	line=${line#RESULT }
	echo "ERUN variant=$v round=$round $(echo "$line" | grep -o 'cycles=[0-9]* ') $(echo "$line" | grep -o 'ok=[0-9]* fail=[0-9]*') $(echo "$line" | grep -o 'p50_us=[0-9.]* p90_us=[0-9.]* p99_us=[0-9.]*') dreq=$((r1 - r0)) dprop=$((p1 - p0))" >>"$EW/etcd.txt"
	say "  $v round $round: $(echo "$line" | grep -o 'ok=[0-9]* fail=[0-9]*') p50 $(echo "$line" | sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p') us, p99 $(echo "$line" | sed -n 's/.* p99_us=\([0-9.]*\).*/\1/p') us; etcd: $((r1 - r0 - (p1 - p0))) reads, $((p1 - p0)) writes"
	if [ "$rc" -ne 0 ] && [ -z "$line" ]; then
		say "  $v: pambench failed (see $EW/pambench.err)"
		tail -5 "$EW/pambench.err" | tee -a "$LOG"
	fi
}
etcd_phase() {
	local t0 i p eps cluster r k specs
	t0=$(date +%s)
	EDIR=$DATA/etcd-n$ETCD_N
	mkdir -p "$EW/raw"
	: >"$EW/etcd.txt"
	efact command "bench/run.sh${ARGS_GIVEN:+ $ARGS_GIVEN}"
	efact users "$ETCD_N"
	efact rounds "$ROUNDS"
	efact members 3
	efact etcd_version "$("$ETCD_BIN" --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
	efact cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	efact nproc "$(nproc)"
	efact commit "$(cd "$SRCDIR" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$SRCDIR" && [ -n "$(git status --porcelain -- src 2>/dev/null)" ] && echo ' + uncommitted changes in src/' || true)"
	efact load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
	say "fleet mode: provisioning $ETCD_N users"
	"$SRCDIR/bench/provision.sh" --modules ours --module "$MODULE" "$EDIR" "$ETCD_N" >>"$LOG"
	read -r -a p <<<"$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()')"
	ECPORT=("${p[0]}" "${p[1]}" "${p[2]}")
	cluster="m0=http://127.0.0.1:${p[3]},m1=http://127.0.0.1:${p[4]},m2=http://127.0.0.1:${p[5]}"
	rm -rf "$DATA/etcd"
	mkdir -p "$DATA/etcd"
	chmod 0700 "$DATA/etcd"
	efact etcd_fs "$(df -T "$DATA" | awk 'NR == 2 {print $2}') ($DATA/etcd)"
	for i in 0 1 2; do
		"$ETCD_BIN" --name "m$i" --data-dir "$DATA/etcd/m$i" \
			--listen-client-urls "http://127.0.0.1:${ECPORT[$i]}" \
			--advertise-client-urls "http://127.0.0.1:${ECPORT[$i]}" \
			--listen-peer-urls "http://127.0.0.1:${p[$((3 + i))]}" \
			--initial-advertise-peer-urls "http://127.0.0.1:${p[$((3 + i))]}" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "pambench-$$" --log-level error >>"$EW/m$i.log" 2>&1 &
		EPIDS+=($!)
	done
	for i in 0 1 2; do
		for k in $(seq 1 100); do
			curl -s --noproxy '*' -m 1 "http://127.0.0.1:${ECPORT[$i]}/health" 2>/dev/null |
				grep -q '"health":"true"' && break
			sleep 0.1
		done
	done
	eps="\"http://127.0.0.1:${ECPORT[0]}\", \"http://127.0.0.1:${ECPORT[1]}\", \"http://127.0.0.1:${ECPORT[2]}\""
	for k in admin user; do
		{
			cat "$EDIR/sd/$k.conf"
			printf 'etcd = { endpoints = [%s]; prefix = "/pambench/"; timeout_ms = 1500; };\n' "$eps"
		} >"$EDIR/sd/$k-migrate.conf"
		{
			cat "$EDIR/sd/$k-migrate.conf"
			printf 'state_backend = "etcd";\n'
		} >"$EDIR/sd/$k-etcd.conf"
		chmod 0644 "$EDIR/sd/$k-migrate.conf" "$EDIR/sd/$k-etcd.conf"
	done
	echo "auth required $MODULE config=$EDIR/sd/admin-etcd.conf" >"$EDIR/svc/pb_sde"
	echo "auth required $MODULE config=$EDIR/sd/user-etcd.conf" >"$EDIR/svc/pb_sdnpe"
	say "fleet mode: copying them into etcd (secdefaultsctl migrate --to etcd)"
	TMO=600 wrap "$EDIR" raw "$CTL" --config "$EDIR/sd/admin-migrate.conf" migrate --to etcd \
		>"$EW/migrate.txt" 2>&1 || say "  migrate failed: $(tail -3 "$EW/migrate.txt")"
	say "  $(grep -m1 '^migrated' "$EW/migrate.txt" || tail -1 "$EW/migrate.txt")"
	for ((r = 0; r < ROUNDS; r++)); do
		wait_step
		say "fleet mode round $((r + 1))/$ROUNDS"
		specs=("sde:pb_sde" "sdnpe:pb_sdnpe" "sdd:pb_sd")
		for ((k = 0; k < 3; k++)); do
			IFS=: read -r v svc <<<"${specs[$(((k + r) % 3))]}"
			ebench "$v" "$svc" "$r"
		done
	done
	etcd_stop_all
	efact load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
	efact total_s $(($(date +%s) - t0))
	if [ $KEEP = 0 ]; then
		rm -rf "$DATA/etcd" "$EDIR"
	fi
	rm -rf "$B/last-run-etcd"
	mkdir -p "$B/last-run-etcd"
	cp -a "$EW/." "$B/last-run-etcd/"
	say "writing the etcd part of $OUT"
	report_etcd "$B/last-run-etcd"
}
if [ -x "$ETCD_BIN" ]; then
	etcd_phase
else
	say "fleet mode skipped: no $ETCD_BIN (apt-get install etcd-server)"
fi
if [ "$ETCD_ONLY" = 1 ]; then
	[ $KEEP = 1 ] || rmdir "$DATA" 2>/dev/null || true
	say "done: the etcd part of $OUT (figures in $B/last-run-etcd/)"
	exit 0
fi

fact total_s $(($(date +%s) - T0))
fact load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact iopsi_end "$(sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/\1% \/ \2%/p' /proc/pressure/io 2>/dev/null || echo '?')"
[ $KEEP = 1 ] || rmdir "$DATA" 2>/dev/null || true

echo "$SIZES" >"$W/sizes"
rm -rf "$B/last-run"
mkdir -p "$B/last-run"
# Keep the figures, not the bulk: the first lines of the syslog and of
# the status outputs are enough to see what they were.
for f in syslog status.idx status.raw; do
	[ -f "$W/$f" ] && head -n 200 "$W/$f" >"$W/$f.head"
done
(cd "$W" && tar --exclude='./dev' --exclude='./perf.*.data' --exclude='./syslog' \
	--exclude='./status.idx' --exclude='./status.raw' -cf - .) | (cd "$B/last-run" && tar -xf -)
say "writing $OUT"
report "$B/last-run"
cp "$W/log.txt" "$B/last-run/log.txt"
say "done: $OUT (figures and logs in $B/last-run/)"
