#!/bin/bash
# Sign-ins and admin commands racing for one user's state: the replay guard,
# the failure count and the lockout hold across processes, updates are never
# lost, and a reader never sees a half-written file.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

sd_config
sd_service sshd
R=$T/runs
mkdir -p "$R"

sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "setup: alice (admin) enrolled"
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 0 "setup: bob enrolled"
sd_ctl enroll dave --secret "$SECRET_B"
expect_rc 0 "setup: dave enrolled"

# start_many TAG N ANSWER SERVICE USER: N sign-ins in the background, started
# 50 ms apart (pam_wrapper fails when many start at the same instant), each
# with its own output file $R/TAG.I (exit status in $R/TAG.I.rc). Each one
# decides, prompts and then holds its answer back until go is called, so
# that all of them reach the state at the same moment (started 50 ms apart
# and answering at once, a run is over long before the next one starts).
PIDS=()
GO=
start_many() {
	local tag=$1 n=$2 answer=$3 i
	shift 3
	PIDS=()
	GO=$R/go.$tag
	for i in $(seq 1 "$n"); do
		SD_GO_FILE=$GO sd_pam_bg "$R/$tag.$i" "$answer" "$@" &
		PIDS+=($!)
		sleep 0.05
	done
	sleep 0.3
}

go() {
	: >"$GO"
}

# count TAG N STRING: how many of the N outputs contain STRING.
count() {
	local tag=$1 n=$2 s=$3 i c=0
	for i in $(seq 1 "$n"); do
		grep -qF -- "$s" "$R/$tag.$i" 2>/dev/null && c=$((c + 1))
	done
	echo "$c"
}

# expect_all_ran TAG N: every run finished and reached the module (one
# decision line each, no pam_wrapper failure left after the retries).
expect_all_ran() {
	local tag=$1 n=$2 i bad=0
	OUT='' RC=-
	for i in $(seq 1 "$n"); do
		if [ ! -s "$R/$tag.$i.rc" ] || [ "$(grep -c 'decision=' "$R/$tag.$i")" -ne 1 ] ||
			grep -q "Initialization failure" "$R/$tag.$i"; then
			bad=$((bad + 1))
			OUT=$(cat "$R/$tag.$i" "$R/$tag.$i.rc" 2>&1)
		fi
	done
	if [ $bad -eq 0 ]; then pass "$tag: all $n sign-ins ran to a decision"; else
		fail "$tag: $bad of $n sign-ins did not run to a decision"
	fi
}

# expect_reasons TAG N REASON...: every decision line has one of the reasons.
expect_reasons() {
	local tag=$1 n=$2 i line r ok bad=0
	shift 2
	OUT='' RC=-
	for i in $(seq 1 "$n"); do
		line=$(grep 'decision=' "$R/$tag.$i" | tail -n 1)
		ok=0
		for r in "$@"; do
			case " $line " in *" reason=$r "*) ok=1 ;; esac
		done
		if [ $ok -eq 0 ]; then
			bad=$((bad + 1))
			OUT="$OUT$line
"
		fi
	done
	if [ $bad -eq 0 ]; then pass "$tag: every decision is one of: $*"; else
		fail "$tag: $bad decisions are not one of: $*"
	fi
}

# ctl_nss ARGS...: secdefaultsctl with only nss_wrapper preloaded (it needs
# no PAM): background commands then take no pam_wrapper directory, whose
# setup can fail when many processes start at once. Sets OUT and RC.
ctl_nss() {
	local preload=libnss_wrapper.so
	[ -n "${SD_PRELOAD_FIRST:-}" ] && preload="$SD_PRELOAD_FIRST $preload"
	OUT=$(timeout 20 env LD_PRELOAD="$preload" NSS_WRAPPER_PASSWD="$T/passwd" \
		NSS_WRAPPER_GROUP="$T/group" ${SD_WRAP_PREFIX:-} "$CTL" --config "$CONF" "$@" 2>&1)
	RC=$?
}

state_value() { # state_value USER KEY: the value of KEY in USER's state
	sd_state_text "$1" | sed -n "s/^$2 //p"
}

# ---- 20 sign-ins with the same valid code: exactly one succeeds ------------

# Start with at least 16 s left in the step: 20 starts 50 ms apart (1 s), the
# pause before go and the answers take about 2 s, so every attempt checks
# the code in the step it was computed in (checked below).
sd_wait_step 16
step0=$(($(date +%s) / 30))
code=$(sd_code "$SECRET_A")
start_many replay 20 "$code" sshd alice
go
wait "${PIDS[@]}"
step1=$(($(date +%s) / 30))
OUT="steps $step0 .. $step1" RC=-
if [ "$step0" -eq "$step1" ]; then pass "replay: all 20 attempts inside one 30 s step"; else
	fail "replay: all 20 attempts inside one 30 s step"
fi
expect_all_ran replay 20
n=$(count replay 20 "successfully authenticated")
OUT="$n successes" RC=-
if [ "$n" -eq 1 ]; then pass "replay: exactly one of 20 is authenticated"; else
	fail "replay: exactly one of 20 is authenticated ($n)"
fi
n=$(count replay 20 "pamtester: $AUTH_ERR")
if [ "$n" -eq 19 ]; then pass "replay: the other 19 are refused"; else
	fail "replay: the other 19 are refused ($n)"
fi
expect_reasons replay 20 totp-admin totp-replay locked
n=$(count replay 20 "reason=totp-replay")
if [ "$n" -ge 1 ]; then pass "replay: refusals include replays of the used code ($n)"; else
	fail "replay: refusals include replays of the used code"
fi
OUT=$(sd_state_text alice) RC=-
if [ "$(state_value alice last_step)" = "$step0" ]; then pass "replay: last_step is the step of the code"; else
	fail "replay: last_step is the step of the code ($step0)"
fi

# ---- 20 concurrent wrong codes, max_failures 100: none is lost --------------

sd_config 'lockout = { max_failures = 100; lock_minutes = 15; };'
wrong=$(sd_wrong_code "$SECRET_B")
start_many wrong100 20 "$wrong" sshd bob
go
wait "${PIDS[@]}"
expect_all_ran wrong100 20
n=$(count wrong100 20 "pamtester: $AUTH_ERR")
OUT=$(sd_state_text bob) RC=-
if [ "$n" -eq 20 ]; then pass "wrong100: all 20 refused"; else fail "wrong100: all 20 refused ($n)"; fi
expect_reasons wrong100 20 totp-wrong-code
expect_state bob '^failures 20$' "wrong100: state shows exactly failures 20"
expect_state_not bob '^locked_until ' "wrong100: below max_failures nothing is locked"

# ---- 20 concurrent wrong codes, max_failures 5: locked ---------------------

sd_ctl unlock bob
expect_rc 0 "setup: bob unlocked"
expect_state_not bob '^failures ' "setup: unlock cleared the failures"
sd_config 'lockout = { max_failures = 5; lock_minutes = 15; };'
wrong=$(sd_wrong_code "$SECRET_B")
start_many wrong5 20 "$wrong" sshd bob
go
wait "${PIDS[@]}"
expect_all_ran wrong5 20
n=$(count wrong5 20 "pamtester: $AUTH_ERR")
OUT=$(sd_state_text bob) RC=-
if [ "$n" -eq 20 ]; then pass "wrong5: all 20 refused"; else fail "wrong5: all 20 refused ($n)"; fi
expect_reasons wrong5 20 totp-wrong-code locked
f=$(state_value bob failures)
if [ -n "$f" ] && [ "$f" -ge 5 ] && [ "$f" -le 20 ]; then pass "wrong5: failures $f within [5, 20]"; else
	fail "wrong5: failures within [5, 20] (got '$f')"
fi
expect_state bob '^locked_until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "wrong5: locked_until is set"
sd_wait_step
sd_pam sshd bob <<<"$(sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "wrong5: the right code afterwards is refused"
expect_log "wrong5: refused because locked" user=bob decision=deny reason=locked
expect_not_in "Verification code" "wrong5: locked: no prompt"

# ---- Admin commands racing with sign-ins -----------------------------------

sd_config 'lockout = { max_failures = 100; lock_minutes = 15; };'
enrolled0=$(state_value dave enrolled)
wrong=$(sd_wrong_code "$SECRET_B")
# Ten sign-ins wait at the prompt; then they answer, while ten flag/dismiss
# commands and ten status reads run back to back.
start_many race 10 "$wrong" sshd dave
(
	while [ ! -e "$GO" ]; do sleep 0.01; done
	for i in $(seq 1 10); do
		if [ $((i % 2)) -eq 1 ]; then verb=flag; else verb=dismiss; fi
		ctl_nss "$verb" dave
		printf '%s\n' "$OUT" >"$R/ctl.$i"
		echo "$RC" >"$R/ctl.$i.rc"
	done
) &
ctl_pid=$!
(
	while [ ! -e "$GO" ]; do sleep 0.01; done
	for i in $(seq 1 10); do
		ctl_nss status dave
		printf '%s\n' "$OUT" >"$R/status.$i"
		echo "$RC" >"$R/status.$i.rc"
	done
) &
status_pid=$!
# A fast reader that never takes the lock: every read must see a whole file
# (atomic replace), never a missing, empty or half-written one.
/usr/bin/python3 - "$T/state/users/dave" "$R/stop" "$R/reader" <<'PY' &
import os, sys
path, stop, out = sys.argv[1:4]
reads = bad = 0
example = ""
while not os.path.exists(stop):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        data = "error: %s" % e
    reads += 1
    ok = (data.startswith("# pam_secdefaults state of dave") and "\nversion 1\n" in data
          and "\nenrolled " in data and data.endswith("\n"))
    if not ok:
        bad += 1
        example = example or data
with open(out, "w") as f:
    f.write("%d %d\n%s" % (reads, bad, example))
PY
reader_pid=$!
go
wait "${PIDS[@]}" "$ctl_pid" "$status_pid"
: >"$R/stop"
wait "$reader_pid"
read -r nreads nbad <"$R/reader"
OUT=$(cat "$R/reader") RC=-
if [ "${nreads:-0}" -gt 100 ] && [ "$nbad" -eq 0 ]; then
	pass "race: $nreads unlocked reads all saw a whole state file"
else
	fail "race: unlocked reads all saw a whole state file ($nbad of $nreads bad)"
fi
expect_all_ran race 10
expect_reasons race 10 totp-wrong-code

bad=0
OUT='' RC=-
for i in $(seq 1 10); do
	if [ "$(cat "$R/ctl.$i.rc" 2>/dev/null)" != 0 ]; then
		bad=$((bad + 1))
		OUT="$OUT$(cat "$R/ctl.$i" 2>&1)
"
	fi
done
if [ $bad -eq 0 ]; then pass "race: all 10 flag/dismiss commands succeeded"; else
	fail "race: $bad flag/dismiss commands failed"
fi
bad=0
OUT='' RC=-
for i in $(seq 1 10); do
	if [ "$(cat "$R/status.$i.rc" 2>/dev/null)" != 0 ]; then
		bad=$((bad + 1))
		OUT="$OUT$(cat "$R/status.$i" 2>&1)
"
	fi
done
if [ $bad -eq 0 ]; then pass "race: every concurrent status read parsed the state"; else
	fail "race: $bad concurrent status reads failed"
fi

sd_ctl status dave
expect_rc 0 "race: the state file parses afterwards (status dave)"
sd_ctl status
expect_rc 0 "race: every state file parses afterwards (status)"
OUT=$(find "$T/state" -name '*.tmp' 2>&1) RC=-
if [ -z "$OUT" ]; then pass "race: no .dave.tmp (or other temporary file) left behind"; else
	fail "race: temporary files left behind"
fi
OUT=$(sd_state_text dave) RC=-
expect_state dave '^failures 10$' "race: no failure count lost to the admin commands (failures 10)"
expect_state_not dave '^compromised' "race: the last command (dismiss) holds"
if [ -n "$enrolled0" ] && [ "$(state_value dave enrolled)" = "$enrolled0" ]; then
	pass "race: enrolment time untouched"
else
	fail "race: enrolment time untouched"
fi

finish
