#!/bin/bash
# Crash consistency: sign-ins (right and wrong codes) and admin commands
# (flag, dismiss, unlock) are killed with SIGKILL at random points: 0-20 ms
# after they start (a whole run takes about 13 ms, most of it starting up),
# or, for half of the sign-ins, 0-3 ms after PAM starts the operation, to
# land inside the module's updates (stretched to a few ms by the fault shim's
# delay before each file operation, tests/faultinject.c). After every one:
#   - every state file parses (secdefaultsctl status exits 0);
#   - no acknowledged update is lost: the replay guard never goes below the
#     step of an accepted code, an acknowledged wrong code stays counted
#     until an unlock, an acknowledged flag or dismiss stays until the
#     opposite command runs (a killed command may or may not have happened);
#   - at most one .NAME.tmp per user and directory, nothing else in locks/.
# Then a full disk (a 64 KiB tmpfs as state_dir): updates fail cleanly, the
# old state is intact, and a sign-in whose replay guard cannot be written is
# refused; once space is back the same user signs in.
# SD_CRASH_OPS (default 300) sets the number of operations.
# A private /tmp and mount namespace (lib.sh): the tmpfs and the pam_wrapper
# directories that killed runs leave behind are ours alone.
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	# Runs its own processes without the sanitizer runtime first in line;
	# the normal run covers it (t_hostile then loads the ASan module itself).
	echo "SKIP: not under the sanitizer or valgrind runs"
	exit 77
fi

if [ -z "${SD_ISOLATED:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	echo "# $TEST_NAME: skipped (needs root, a private mount namespace, no valgrind)"
	exit 77
fi

OPS=${SD_CRASH_OPS:-300}
sd_config
sd_service sshd
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "setup: alice enrolled"
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 0 "setup: bob enrolled"
R=$T/runs
mkdir -p "$R"

state_value() { # state_value USER KEY: the first field of KEY in USER's state
	sd_state_text "$1" | sed -n "s/^$2 \([^ ]*\).*/\1/p"
}

# Remove the pam_wrapper directories a killed run left behind (it has only
# a few dozen; /tmp is private to this test).
clean_pwrap() {
	local d
	for d in /tmp/pam.?; do
		[ -d "$d" ] || continue
		case " $PWRAP_BEFORE " in *" $d "*) ;; *) rm -rf "$d" ;; esac
	done
}
PWRAP_BEFORE=$(echo /tmp/pam.?)

# Sign-ins run with the fault shim in count-only mode, sleeping 150 µs
# before each of the module's file operations: the module's part then takes
# a few ms instead of a few hundred µs, so the aimed kills below land between
# its reads, writes, syncs and renames rather than after the answer.
sd_fault_shim
slow() {
	SD_PRELOAD_LAST=$SHIM SD_FAULT_N=0 SD_FAULT_DELAY_US=150 \
		SD_FAULT_FUNCS=openat,read,pread,write,pwrite,fsync,fdatasync,renameat,unlinkat,fallocate,fcntl \
		"$@"
}

# bg_run OUTFILE ANSWER CMD...: start CMD with the wrappers (pid in BG_PID).
bg_run() {
	local out=$1 answer=$2
	shift 2
	SD_EXEC=1 sd_env "$@" <<<"$answer" >"$out" 2>&1 &
	BG_PID=$!
}

# Acknowledged facts (lower bounds) and what is uncertain.
max_step=0   # the highest step of an accepted code
min_fail=0   # wrong codes acknowledged since the last unlock that started
flag_known=  # "1" after an acknowledged flag, "0" after an acknowledged dismiss
aimed=0 killed=0 killed_in=0 completed=0 bad=0 first_bad=
declare -A OPCOUNT KILLCOUNT

check_after() {
	local i=$1 what=$2 u n s f c msg=
	for u in alice bob; do
		if ! st_out=$(timeout 20 env LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$T/passwd" \
			NSS_WRAPPER_GROUP="$T/group" "$CTL" --config "$CONF" status "$u" 2>&1); then
			msg="$msg state of $u does not parse ($st_out);"
		fi
		for d in users secrets; do
			n=$(find "$T/state/$d" -maxdepth 1 -name ".$u.tmp" | wc -l)
			[ "$n" -le 1 ] || msg="$msg $n temp files of $u in $d;"
		done
	done
	n=$(find "$T/state" -mindepth 2 -name '.*' ! -name '.alice.tmp' ! -name '.bob.tmp' | wc -l)
	[ "$n" -eq 0 ] || msg="$msg unexpected files: $(find "$T/state" -mindepth 2 -name '.*');"
	n=$(find "$T/state/locks" -mindepth 1 ! -name alice ! -name bob | wc -l)
	[ "$n" -eq 0 ] || msg="$msg debris in locks/;"
	s=$(state_value alice last_step)
	[ "${s:-0}" -ge "$max_step" ] || msg="$msg alice's replay guard went back ($s < $max_step);"
	f=$(state_value bob failures)
	[ "${f:-0}" -ge "$min_fail" ] || msg="$msg bob's failures lost (${f:-0} < $min_fail);"
	c=$(sd_state_text bob | grep -c '^compromised ')
	if [ -n "$flag_known" ] && [ "$c" != "$flag_known" ]; then
		msg="$msg bob's compromised flag is $c, acknowledged $flag_known;"
	fi
	if [ -n "$msg" ]; then
		bad=$((bad + 1))
		echo "# op $i ($what): $msg"
		[ -z "$first_bad" ] && first_bad="op $i ($what): $msg
$(sd_state_text alice; sd_state_text bob)"
	fi
}

for ((i = 1; i <= OPS; i++)); do
	off=$((i * 30)) # each operation in its own 30 s step (libfaketime)
	case $((RANDOM % 6)) in
	0 | 1) what=alice-right ;;
	2 | 3) what=bob-wrong ;;
	4) if [ "$((RANDOM % 2))" = 0 ]; then what=flag; else what=dismiss; fi ;;
	5) what=unlock ;;
	esac
	out=$R/op.$i
	case $what in
	alice-right)
		code=$(SD_FAKETIME=+$off sd_code "$SECRET_A")
		step=$((($(date +%s) + off) / 30))
		SD_FAKETIME=+$off slow bg_run "$out" "$code" pamtester -v -I rhost=192.0.2.7 sshd alice \
			authenticate
		;;
	bob-wrong)
		# A lock that has run out starts a new series of attempts.
		lu=$(state_value bob locked_until)
		if [ -n "$lu" ] && [ $(($(date +%s) + off)) -ge "$(date -d "$lu" +%s)" ]; then
			min_fail=0
		fi
		code=$(SD_FAKETIME=+$off sd_wrong_code "$SECRET_B")
		SD_FAKETIME=+$off slow bg_run "$out" "$code" pamtester -v -I rhost=192.0.2.8 sshd bob \
			authenticate
		;;
	flag) bg_run "$out" "" "$CTL" --config "$CONF" flag bob --reason crash-test ;;
	dismiss) bg_run "$out" "" "$CTL" --config "$CONF" dismiss bob ;;
	unlock) bg_run "$out" "" "$CTL" --config "$CONF" unlock bob ;;
	esac
	# Uncertain outcomes first: a command that starts may or may not happen.
	case $what in
	flag | dismiss) flag_known= ;;
	unlock) min_fail=0 ;;
	esac
	if [ "$what" = alice-right ] || [ "$what" = bob-wrong ] && [ $((RANDOM % 2)) = 0 ]; then
		# Aimed: once PAM runs the operation (the module's part takes
		# a few ms), kill within 0-3 ms.
		aimed=$((aimed + 1))
		for ((w = 0; w < 2000; w++)); do
			content=
			read -r -d "" content 2>/dev/null <"$out"
			case $content in *"performing operation"*) break ;; esac
		done
		# 0 to about 3 ms more, without a fork (each read takes ~10 µs).
		for ((w = RANDOM % 300; w > 0; w--)); do
			read -r -d "" content 2>/dev/null <"$out"
		done
	else
		sleep "0.0$(printf '%02d' $((RANDOM % 21)))"
	fi
	kill -9 "$BG_PID" 2>/dev/null
	wait "$BG_PID" 2>/dev/null
	rc=$?
	OPCOUNT[$what]=$((${OPCOUNT[$what]:-0} + 1))
	if [ "$rc" -eq 137 ]; then
		killed=$((killed + 1))
		KILLCOUNT[$what]=$((${KILLCOUNT[$what]:-0} + 1))
		# Killed once PAM was running the operation (the module's part).
		grep -q 'performing operation' "$out" && killed_in=$((killed_in + 1))
		clean_pwrap
	else
		completed=$((completed + 1))
		case $what in
		alice-right)
			if grep -q 'decision=allow' "$out" && [ "$rc" -eq 0 ] && [ "$step" -gt "$max_step" ]; then
				max_step=$step
			fi
			;;
		bob-wrong)
			if grep -q 'reason=totp-wrong-code' "$out" && [ "$min_fail" -lt 5 ]; then
				min_fail=$((min_fail + 1))
			fi
			;;
		flag) [ "$rc" -eq 0 ] && flag_known=1 ;;
		dismiss) [ "$rc" -eq 0 ] && flag_known=0 ;;
		esac
	fi
	check_after "$i" "$what"
done

echo "# $TEST_NAME: $OPS operations, $killed killed ($killed_in of them during a PAM operation), $completed completed"
for what in "${!OPCOUNT[@]}"; do
	echo "#   $what: ${OPCOUNT[$what]} run, ${KILLCOUNT[$what]:-0} killed"
done
OUT=$first_bad RC=-
if [ "$bad" -eq 0 ]; then
	pass "crash: $OPS operations ($killed killed by SIGKILL): state parses, no acknowledged update lost, bounded debris"
else
	fail "crash: $bad of $OPS checks failed"
fi
# The kills must really land before and after the point of no return.
if [ "$killed_in" -ge $((OPS / 40)) ] && [ "$completed" -ge $((OPS / 10)) ]; then
	pass "crash: kills during PAM operations and completions both frequent ($killed_in / $completed)"
else
	fail "crash: too few kills or completions ($killed / $completed)"
fi
if [ "$max_step" -gt 0 ] && [ -n "$(state_value alice last_step)" ]; then
	pass "crash: acknowledged sign-ins were tracked (last accepted step $max_step)"
else
	OUT="max_step=$max_step" RC=-
	fail "crash: no sign-in was acknowledged: the checks above checked nothing"
fi

# ---- full disk --------------------------------------------------------------
F=$T/full
mkdir -p "$F"
if ! mount -t tmpfs -o size=64k,mode=0700 sdtest-full "$F"; then
	OUT="mount failed" RC=-
	fail "full disk: cannot mount a small tmpfs"
	finish
fi
sd_config
sed -i "s|^state_dir = .*|state_dir = \"$F/state\";|" "$CONF"
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "full disk: setup: alice enrolled on the small tmpfs"
sd_wait_step
code=$(SD_FAKETIME=-60 sd_code "$SECRET_A")
SD_FAKETIME=-60 sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result success "full disk: setup: alice signed in once"
sd_pam sshd dave
expect_result success "full disk: setup: dave in grace"
dd if=/dev/zero of="$F/filler" bs=4k 2>/dev/null
if dd if=/dev/zero of="$F/filler2" bs=512 count=1 2>/dev/null && [ -s "$F/filler2" ]; then
	OUT=$(df "$F") RC=-
	fail "full disk: the tmpfs is not full"
fi
# Lock files (empty, never unlinked, one per user) may appear; nothing else.
files() { (cd "$F/state" && find . -type f ! -path './locks/*' -exec md5sum {} + | sort); }
before=$(files)

code=$(sd_code "$SECRET_A")
sd_pam -I rhost=198.51.100.7 sshd alice <<<"$code"
expect_result "$AUTH_ERR" "full disk: right code from a new network refused: the location cannot be recorded"
expect_log "full disk: logged as a state error" user=alice decision=deny reason=state-error
expect_in "No space left on device" "full disk: the reason is in the log"
sd_pam sshd bob
expect_result "$AUTH_ERR" "full disk: a new user's grace clock cannot start: refused"
expect_no_file "$F/state/users/bob" "full disk: no state file for the new user"
sd_ctl flag dave --reason full
expect_rc 1 "full disk: flag fails (exit 1)"
sd_ctl unlock alice
after=$(files)
OUT="$before
----
$after" RC=-
if [ "$before" = "$after" ]; then
	pass "full disk: every state and secret file is intact, no temporary file left"
else
	fail "full disk: files changed"
fi
sd_ctl status alice dave
expect_rc 0 "full disk: status still reads every state"

# A sign-in that only moves counters (replay guard, failures, the time of a
# remembered network) writes them in place into blocks the lock file got
# when its state file was written: a full disk does not stop it.
sd_wait_step
step_before=$(state_value alice last_step)
code=$(sd_code "$SECRET_A")
sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result success "full disk: a right code from the remembered network is accepted"
step_after=$(state_value alice last_step)
if [ -n "$step_after" ] && [ "$step_after" -gt "${step_before:-0}" ]; then
	pass "full disk: the replay guard moved ($step_before -> $step_after)"
else
	fail "full disk: the replay guard moved ($step_before -> $step_after)"
fi
sd_pam -I rhost=192.0.2.7 sshd alice <<<"$code"
expect_result "$AUTH_ERR" "full disk: the same code again is a replay"
expect_log "full disk: logged as a replay" user=alice decision=deny reason=totp-replay
if [ "$before" = "$(files)" ]; then
	pass "full disk: still no state or secret file changed"
else
	fail "full disk: files changed"
fi

rm -f "$F/filler" "$F/filler2"
sd_wait_step
code=$(sd_code "$SECRET_A" 30) # the next step's code: this step's was used above
sd_pam -I rhost=198.51.100.7 sshd alice <<<"$code"
expect_result success "full disk: with space back, a right code from a new network is accepted"
umount "$F"
finish
