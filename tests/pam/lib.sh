# lib.sh - shared setup for the PAM stack tests. Source it from a test.
#
# Every test gets a private directory with a fake passwd/group (nss_wrapper),
# its own PAM service files (pam_wrapper), its own config and state directory.
# Nothing under /etc is read or written. Helpers:
#   sd_config 'key = value;' ...   write the config (state_dir is set for you)
#   sd_service NAME [ARGS]          a service whose stack runs the module in
#                                   auth and account, with result markers
#   sd_pam [-I rhost=ADDR] SERVICE USER [ops...]  run pamtester; sets OUT and RC
#   sd_ctl ARGS...                  run secdefaultsctl; sets OUT and RC
#   expect_ok / expect_fail / expect_in / expect_not_in / expect_log
# With SD_FAKETIME=+15d in the environment of a call, the module (and
# sd_code) sees the shifted clock.

set -u
# The last command of a pipeline runs in this shell, so that
# `echo "$code" | sd_pam ...` sets OUT and RC here (not in a subshell).
shopt -s lastpipe

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

# SD_ISOLATE=1 (the default; SD_ISOLATE=0 turns it off): run the test in
# its own mount namespace with a private /tmp. pam_wrapper picks its
# /tmp/pam.X directory with a check-then-mkdir race and carries on when
# mkdir fails with EEXIST, so two tests running at the same time can share
# one directory and a process then reads the other test's service file (its
# config, its state directory). A private /tmp takes other tests out of the
# race. Needs root and unshare; skipped (with a note) when either is missing
# or when the build or the test lives under /tmp itself.
if [ "${SD_ISOLATE:-1}" = 1 ] && [ -z "${SD_ISOLATED:-}" ]; then
	case " $(cd "$top_builddir" && pwd -P)/ $(cd "$top_srcdir" && pwd -P)/ $(cd "$(dirname "$0")" && pwd -P)/" in
	*" /tmp/"*) echo "# $(basename "$0"): no private /tmp (build or test under /tmp)" ;;
	*)
		if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
			export SD_ISOLATED=1
			exec unshare --mount --propagation private -- /bin/bash -c \
				'mount -t tmpfs -o mode=1777,size=64m sdtest-tmp /tmp ||
				echo "# no private /tmp: mount failed" >&2
				exec /bin/bash "$@"' bash "$0" "$@"
		fi
		echo "# $(basename "$0"): no private /tmp (needs root and unshare)"
		;;
	esac
fi

MODULE="$top_builddir/.libs/pam_secdefaults.so"
CTL="$top_builddir/secdefaultsctl"
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
SECRET_A=JBSWY3DPEHPK3PXP
SECRET_B=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ

T=$(mktemp -d /tmp/sdtest.XXXXXX)
chmod 0700 "$T"
mkdir -p "$T/svc" "$T/state"
chmod 0700 "$T/state"
CONF="$T/secdefaults.conf"
PASS=0
FAIL=0
TEST_NAME=$(basename "$0" .sh)

cleanup() {
	rm -rf "$T"
}
trap cleanup EXIT

# Users: root (admin by uid), alice (admin via sudo), bob and dave (users),
# svc (exempt by name), carol (exempt by group), bg (break-glass),
# ed (admin via wheel as a supplementary group).
cat >"$T/passwd" <<PW
root:x:0:0:root:/root:/bin/sh
alice:x:1001:1001:Alice Admin:/home/alice:/bin/sh
bob:x:1002:1002:Bob User:/home/bob:/bin/sh
dave:x:1003:1003:Dave User:/home/dave:/bin/sh
svc:x:1004:1004:Sync Account:/home/svc:/bin/sh
carol:x:1005:1005:Carol Batch:/home/carol:/bin/sh
bg:x:1006:1006:Break Glass:/home/bg:/bin/sh
ed:x:1007:1007:Ed Wheel:/home/ed:/bin/sh
PW
cat >"$T/group" <<GR
root:x:0:
alice:x:1001:
bob:x:1002:
dave:x:1003:
svc:x:1004:
carol:x:1005:
bg:x:1006:
ed:x:1007:
sudo:x:27:alice
wheel:x:10:ed
batch:x:2000:carol
GR

printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$T/svc/other"

# Run with the fake users and PAM stacks (and the shifted clock if asked).
# SD_WRAP_PREFIX (e.g. valgrind) and SD_PRELOAD_FIRST (e.g. libasan) come
# from tools/test for the sanitizer and valgrind runs.
# SD_FAKETIME ("+15d", "+30s", "-2h", "+120") in seconds.
faketime_secs() {
	local v=$1 sign=1 n unit
	case $v in -*) sign=-1 ;; esac
	v=${v#[+-]}
	n=${v%%[smhdy]}
	unit=${v#"$n"}
	case $unit in
	m) n=$((n * 60)) ;; h) n=$((n * 3600)) ;; d) n=$((n * 86400)) ;; y) n=$((n * 31536000)) ;;
	esac
	echo $((sign * n))
}

# The environment of a wrapped run, into the array SD_ENV_ARGS.
sd_env_args() {
	local preload="libpam_wrapper.so libnss_wrapper.so" offset=
	if [ -n "${SD_FAKETIME:-}" ] && [ -n "${SD_PRELOAD_FIRST:-}" ]; then
		# libfaketime hangs under AddressSanitizer: sanitizer builds
		# read SD_TEST_TIME_OFFSET instead (see sd_now()).
		offset=$(faketime_secs "$SD_FAKETIME")
	elif [ -n "${SD_FAKETIME:-}" ]; then
		preload="$FAKETIME_LIB $preload"
	fi
	if [ -n "${SD_PRELOAD_FIRST:-}" ]; then
		preload="$SD_PRELOAD_FIRST $preload"
	fi
	# After the wrappers, and unlike SD_PRELOAD_FIRST still with libfaketime.
	[ -n "${SD_PRELOAD_LAST:-}" ] && preload="$preload $SD_PRELOAD_LAST"
	SD_ENV_ARGS=(env "LD_PRELOAD=$preload" PAM_WRAPPER=1 "PAM_WRAPPER_SERVICE_DIR=$T/svc"
		PAM_WRAPPER_DEBUGLEVEL=2 "NSS_WRAPPER_PASSWD=$T/passwd" "NSS_WRAPPER_GROUP=$T/group"
		"FAKETIME=${SD_FAKETIME:-}" FAKETIME_DONT_RESET=1)
	[ -n "$offset" ] && SD_ENV_ARGS+=("SD_TEST_TIME_OFFSET=$offset")
	return 0
}

# sd_env CMD...: run CMD with the fake users and PAM stacks (and the
# shifted clock if asked). timeout runs outside the wrappers, so it still
# works if they hang. SD_EXEC=1 replaces the calling (sub)shell, so that
# `SD_EXEC=1 sd_env daemon &` leaves the daemon's own pid in $!.
sd_env() {
	sd_env_args
	${SD_EXEC:+exec} ${SD_TIMEOUT:+timeout "$SD_TIMEOUT"} "${SD_ENV_ARGS[@]}" "$@"
}

sd_config() {
	{
		printf 'state_dir = "%s";\n' "$T/state"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$CONF"
	chmod 0644 "$CONF"
}

# sd_service NAME [extra module args]: both phases, with markers that tell
# PAM_SUCCESS ("SD-RESULT=success") from PAM_IGNORE ("SD-RESULT=ignore");
# any other return code is returned by the stack as it is.
sd_service() {
	local name=$1
	shift
	local args="config=$CONF $*"
	cat >"$T/svc/$name" <<SVC
auth [success=1 ignore=2 default=die] $MODULE $args
auth requisite pam_deny.so
auth [default=done] pam_echo.so SD-RESULT=success
auth [default=done] pam_echo.so SD-RESULT=ignore
account [success=1 ignore=2 default=die] $MODULE $args
account requisite pam_deny.so
account [default=done] pam_echo.so SD-RESULT=success
account [default=done] pam_echo.so SD-RESULT=ignore
SVC
}

# sd_pam [-I item=value]... SERVICE USER [ops...]: stdin feeds the answers.
# Default op: authenticate. OUT holds stdout+stderr (with the syslog lines).
sd_pam() {
	local opts=()
	while [ "${1:-}" = "-I" ]; do
		opts+=("$1" "$2")
		shift 2
	done
	local svc=$1 user=$2
	shift 2
	local ops=("$@")
	[ ${#ops[@]} -eq 0 ] && ops=(authenticate)
	OUT=$(SD_TIMEOUT=20 sd_env ${SD_WRAP_PREFIX:-} pamtester -v "${opts[@]}" "$svc" "$user" \
		"${ops[@]}" 2>&1)
	RC=$?
	return 0
}

# sd_pam_enrol ANSWER [-I item=value]... SERVICE USER: one authentication
# driven by expect, for enrolment at sign-in, whose key is new at every
# offer and so known only once the module shows it. ANSWER: "skip" (Enter),
# "code" (the first code for the key shown, at SD_FAKETIME), "wrong" (a
# well-formed wrong code) or "code+N" (the code N seconds ahead). Any other
# prompt (a TOTP prompt) gets the same answer. KEY holds the key shown.
sd_pam_enrol() {
	local answer=$1
	shift
	local opts=()
	while [ "${1:-}" = "-I" ]; do
		opts+=("$1" "$2")
		shift 2
	done
	sd_env_args
	[ -f "$T/enrol.exp" ] || cat >"$T/enrol.exp" <<'EXP'
set timeout 20
set answer [lindex $argv 0]
set ft [lindex $argv 1]
set faketime_lib [lindex $argv 2]
set cmd [lrange $argv 3 end]
log_user 1
spawn -noecho {*}$cmd
set key ""
proc code {key ft lib shift} {
	set args [list oathtool --totp -b $key -N "now + $shift seconds"]
	if {$ft ne ""} { return [exec env LD_PRELOAD=$lib FAKETIME=$ft {*}$args] }
	return [exec {*}$args]
}
expect {
	-re {enter the key ([A-Z2-7]+)} { set key $expect_out(1,string); exp_continue }
	-re {(finish set-up[^:]*|Verification code[^:]*): } {
		if {$answer eq "skip"} { send "\r" } elseif {$answer eq "wrong"} {
			set c [code $key $ft $faketime_lib 0]
			send "[format %06d [expr {([scan $c %d] + 500000) % 1000000}]]\r"
		} elseif {[string match code* $answer]} {
			set shift 0
			regexp {^code\+([0-9]+)$} $answer -> shift
			send "[code $key $ft $faketime_lib $shift]\r"
		} else { send "$answer\r" }
		exp_continue
	}
	eof
}
puts "SD-KEY=$key"
catch wait result
exit [lindex $result 3]
EXP
	OUT=$(timeout 40 expect -f "$T/enrol.exp" -- "$answer" "${SD_FAKETIME:-}" "$FAKETIME_LIB" \
		"${SD_ENV_ARGS[@]}" ${SD_WRAP_PREFIX:-} pamtester -v "${opts[@]}" "$@" authenticate 2>&1)
	RC=$?
	KEY=$(printf '%s\n' "$OUT" | sed -n 's/^SD-KEY=//p' | tr -d '\r')
	OUT=$(printf '%s\n' "$OUT" | tr -d '\r')
	return 0
}

sd_ctl() {
	OUT=$(SD_TIMEOUT=20 sd_env ${SD_WRAP_PREFIX:-} "$CTL" --config "$CONF" "$@" 2>&1)
	RC=$?
	return 0
}

# sd_code SECRET [SHIFT [OATHTOOL-ARGS...]]: the TOTP code for a base32
# secret SHIFT seconds from now (under SD_FAKETIME if set); extra arguments
# go to oathtool, e.g. sd_code "$S" 0 --digits=8.
sd_code() {
	local secret=$1 shift_s=${2:-0}
	shift
	[ $# -gt 0 ] && shift
	if [ -n "${SD_FAKETIME:-}" ]; then
		env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$SD_FAKETIME" oathtool --totp "$@" \
			-b "$secret" -N "now + ${shift_s} seconds"
	else
		oathtool --totp "$@" -b "$secret" -N "now + ${shift_s} seconds"
	fi
}

# sd_wrong_code SECRET [OATHTOOL-ARGS...]: a well-formed code that matches
# none of the steps within two of the current one (under SD_FAKETIME if set).
sd_wrong_code() {
	local secret=$1 near c d
	shift
	near=" $(for d in -60 -30 0 30 60; do sd_code "$secret" "$d" "$@"; done | tr '\n' ' ') "
	for d in 0 1 2 3 4 5 6 7 8 9; do
		c=$(sd_code "$secret" 0 "$@" | tr '0-9' "$d$d$d$d$d$d$d$d$d$d")
		case $near in
		*" $c "*) ;;
		*)
			echo "$c"
			return 0
			;;
		esac
	done
	return 1
}

# sd_wait_step [N]: wait until the current 30 s step has at least N whole
# seconds left by the clock (default 4, i.e. 3 s or more really remain), so a
# code computed now is still current when the module checks it. Concurrency
# tests ask for more so that many attempts fit into one step.
sd_wait_step() {
	local need=${1:-4}
	[ "$need" -gt 29 ] && need=29
	while [ $(( 30 - $(date +%s) % 30 )) -lt "$need" ]; do sleep 0.2; done
}

# sd_pam_bg FILE ANSWER [-I item=value]... SERVICE USER [ops...]
# Like sd_pam, for runs in the background (&): ANSWER is fed on stdin, the
# output goes to FILE and the exit status to FILE.rc. A run that pam_wrapper
# could not initialise ("Initialization failure" or a pwrap_init failure,
# many processes starting at once) never reached the module and is retried,
# up to 5 times. Only
# pamtester is preloaded (not timeout), so each run takes one pam_wrapper slot.
# With SD_GO_FILE set, the answer is held back until that file exists: start
# runs 50 ms apart, then create the file so they all answer at once.
sd_pam_bg() {
	local file=$1 answer=$2 try rc=1
	shift 2
	local opts=()
	while [ "${1:-}" = "-I" ]; do
		opts+=("$1" "$2")
		shift 2
	done
	local svc=$1 user=$2
	shift 2
	local ops=("$@")
	[ ${#ops[@]} -eq 0 ] && ops=(authenticate)
	for try in 1 2 3 4 5; do
		{
			local n=0
			while [ -n "${SD_GO_FILE:-}" ] && [ ! -e "$SD_GO_FILE" ] && [ $n -lt 2000 ]; do
				sleep 0.01
				n=$((n + 1))
			done
			printf '%s\n' "$answer"
		} | SD_TIMEOUT=20 sd_env ${SD_WRAP_PREFIX:-} pamtester -v "${opts[@]}" "$svc" \
			"$user" "${ops[@]}" >"$file" 2>&1
		rc=$?
		# Retry only a run that never reached the module.
		grep -q 'decision=' "$file" && break
		grep -qE 'Initialization failure|pwrap_init: Failed to (copy|find)' "$file" || break
		sleep "0.$((RANDOM % 4 + 1))"
	done
	echo "$rc" >"$file.rc"
}

pass() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}

fail() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
	echo "---- output was:"
	printf '%s\n' "$OUT" | sed 's/^/    /'
	echo "---- (rc=$RC)"
}

# expect_result WHAT DESCRIPTION: WHAT is success | ignore | or the text
# pamtester prints for the error code.
expect_result() {
	local what=$1 desc=$2
	case $what in
	success | ignore)
		if printf '%s' "$OUT" | grep -q "SD-RESULT=$what" && [ "$RC" -eq 0 ]; then
			pass "$desc"
		else
			fail "$desc (expected $what)"
		fi
		;;
	*)
		if [ "$RC" -ne 0 ] && printf '%s' "$OUT" | grep -qF "pamtester: $what" &&
			! printf '%s' "$OUT" | grep -q "SD-RESULT="; then
			pass "$desc"
		else
			fail "$desc (expected \"$what\")"
		fi
		;;
	esac
}

AUTH_ERR="Authentication failure"
PERM_DENIED="Permission denied"
USER_UNKNOWN="User not known to the underlying authentication module"
NEW_AUTHTOK="Authentication token is no longer valid; new one required"

expect_in() {
	if printf '%s' "$OUT" | grep -qF -- "$1"; then pass "$2"; else fail "$2 (missing \"$1\")"; fi
}

expect_not_in() {
	if printf '%s' "$OUT" | grep -qF -- "$1"; then fail "$2 (unexpected \"$1\")"; else pass "$2"; fi
}

# expect_log KEY=VALUE... : the decision line has all of them.
expect_log() {
	local desc=$1
	shift
	local line
	line=$(printf '%s\n' "$OUT" | grep 'decision=' | tail -n 1)
	for kv in "$@"; do
		case " $line " in
		*" $kv "*) ;;
		*)
			fail "$desc (log line lacks $kv: $line)"
			return
			;;
		esac
	done
	pass "$desc"
}

expect_rc() {
	if [ "$RC" -eq "$1" ]; then pass "$2"; else fail "$2 (rc $RC, expected $1)"; fi
}

expect_file() {
	if [ -e "$1" ]; then pass "$2"; else fail "$2 (no $1)"; fi
}

expect_no_file() {
	if [ -e "$1" ]; then fail "$2 ($1 exists)"; else pass "$2"; fi
}

# sd_state_text USER: USER's state as the module sees it, in the state file
# format: users/USER with the newest counters record of locks/USER applied
# (`secdefaultsctl show`); nothing when there is no state.
sd_state_text() {
	SD_TIMEOUT=20 sd_env ${SD_WRAP_PREFIX:-} "$CTL" --config "$CONF" show "$1" 2>/dev/null
}

# expect_state USER ERE DESC / expect_state_not USER ERE DESC: a line of
# USER's state matches (does not match) the extended regexp.
expect_state() {
	if sd_state_text "$1" | grep -qE -- "$2"; then
		pass "$3"
	else
		OUT=$(sd_state_text "$1"; cat "$T/state/users/$1" 2>&1) RC=-
		fail "$3 (state of $1 has no line matching /$2/)"
	fi
}

expect_state_not() {
	if sd_state_text "$1" | grep -qE -- "$2"; then
		OUT=$(sd_state_text "$1" 2>&1) RC=-
		fail "$3 (state of $1 has a line matching /$2/)"
	else
		pass "$3"
	fi
}

# Compare a file's content with what it was (for "nothing changed" checks).
snapshot() {
	find "$T/state" -type f -printf '%P %s %T@\n' 2>/dev/null | sort | md5sum
}

finish() {
	echo "# $TEST_NAME: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ] || exit 1
	[ "$PASS" -gt 0 ] || exit 1
	exit 0
}

# sd_fault_shim: sets SHIM to tests/faultinject.c built as a preload
# library (the build tree's, else compiled into $T); exits 99 if it cannot.
sd_fault_shim() {
	SHIM="$top_builddir/.libs/libfaultinject.so"
	[ -f "$SHIM" ] && return 0
	SHIM="$T/libfaultinject.so"
	${CC:-cc} -O2 -fPIC -shared -o "$SHIM" "$top_srcdir/tests/faultinject.c" -ldl || {
		echo "# $TEST_NAME: cannot build the shim"
		exit 99
	}
}
