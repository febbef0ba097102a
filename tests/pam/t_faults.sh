#!/bin/bash
# Fault injection: walk N over every call the module makes in the auth and
# account phases (malloc, open, read, write, fsync, renameat, fcntl, NSS
# lookups, getrandom, pam_get_item ... see tests/faultinject.c) and make the
# Nth fail, for each row below. Whenever a fault was injected:
#   - the sign-in does not succeed (pamtester fails: the phase that met the
#     fault returned neither PAM_SUCCESS nor PAM_IGNORE); the one exception
#     the spec asks for is a failed group lookup, which makes the user an
#     admin (checked: the log says so and the decision is taken as admin);
#   - nothing crashes (pamtester exits 0 or 1, never by a signal or timeout);
#   - the state on disk parses (secdefaultsctl status USER exits 0), the
#     secret is unchanged, at most one temporary file per user is left;
#   - the module leaks no descriptor and no memory block (the shim tracks
#     what the module itself opened and allocated).
# The walk for a row stops at the first N for which nothing was injected;
# the run without a fault must succeed (or, for the legacy rows, be denied),
# so every check here can fail.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	# The shim replaces malloc: it cannot run with a sanitizer or valgrind.
	echo "# $TEST_NAME: skipped under sanitizers/valgrind"
	exit 77
fi

sd_fault_shim

NOLOGIN_CONF="$T/nologin.conf"
sd_config 'enrollment = { at_login = false; };'
cp "$CONF" "$NOLOGIN_CONF"
sd_config
sd_service sshd
sd_service imap
cat >"$T/svc/sshd-nl" <<SVC
auth [success=1 ignore=2 default=die] $MODULE config=$NOLOGIN_CONF
auth requisite pam_deny.so
auth [default=done] pam_echo.so SD-RESULT=success
auth [default=done] pam_echo.so SD-RESULT=ignore
account [success=1 ignore=2 default=die] $MODULE config=$NOLOGIN_CONF
account requisite pam_deny.so
account [default=done] pam_echo.so SD-RESULT=success
account [default=done] pam_echo.so SD-RESULT=ignore
SVC

# Setup, 90 s in the past so that the codes used by the walk (now) belong to
# later steps than anything accepted here, and today's rollout observations
# are already written (a run writes only what its row writes).
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "setup: alice (admin) enrolled"
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 0 "setup: bob enrolled"
code=$(SD_FAKETIME=-90 sd_code "$SECRET_A")
SD_FAKETIME=-90 sd_pam -I rhost=192.0.2.7 sshd alice authenticate acct_mgmt <<<"$code"
expect_result success "setup: alice signed in once"
code=$(SD_FAKETIME=-90 sd_code "$SECRET_B")
SD_FAKETIME=-90 sd_pam -I rhost=198.51.100.7 sshd bob authenticate acct_mgmt <<<"$code"
expect_result success "setup: bob signed in once from 198.51.100.0/24"
SD_FAKETIME=-90 sd_pam imap bob authenticate
expect_result "$AUTH_ERR" "setup: bob refused on imap (observation recorded)"
SD_FAKETIME=-90 sd_pam imap bob acct_mgmt
expect_result "$PERM_DENIED" "setup: bob refused on imap in the account phase"
rm -rf "$T/snap"
cp -a "$T/state" "$T/snap"

restore() {
	rm -rf "$T/state"
	cp -a "$T/snap" "$T/state"
}

# one_run ROW N: restore the state, run the row with the Nth call failing.
# Sets OUT, RC and LOG (the shim's report).
one_run() {
	local row=$1 n=$2 answer=
	restore
	: >"$T/fault.log"
	case $row in
	prompt)
		sd_wait_step 3
		answer=$(sd_code "$SECRET_A")
		;;
	grace-offer) answer= ;; # Enter: skip the enrolment offer
	esac
	case $row in
	prompt) set -- -I rhost=192.0.2.7 sshd alice authenticate acct_mgmt ;;
	noprompt) set -- -I rhost=198.51.100.9 sshd bob authenticate acct_mgmt ;;
	grace) set -- -I rhost=203.0.113.5 sshd-nl dave authenticate acct_mgmt ;;
	grace-offer) set -- -I rhost=203.0.113.5 sshd dave authenticate acct_mgmt ;;
	grace-acct) set -- -I rhost=203.0.113.5 sshd-nl dave acct_mgmt ;;
	legacy) set -- -I rhost=198.51.100.9 imap bob authenticate ;;
	legacy-acct) set -- -I rhost=198.51.100.9 imap bob acct_mgmt ;;
	esac
	SD_PRELOAD_FIRST=$SHIM SD_FAULT_N=$n SD_FAULT_LOG=$T/fault.log sd_pam "$@" <<<"$answer"
	LOG=$(cat "$T/fault.log")
}

row_user() {
	case $1 in prompt) echo alice ;; noprompt | legacy*) echo bob ;; *) echo dave ;; esac
}

# check_state ROW: what is on disk after a run.
check_state() {
	local row=$1 u f n
	u=$(row_user "$row")
	if [ -e "$T/state/users/$u" ]; then
		if ! timeout 20 env LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$T/passwd" \
			NSS_WRAPPER_GROUP="$T/group" "$CTL" --config "$CONF" status "$u" >/dev/null 2>&1; then
			echo "state of $u does not parse: $(cat "$T/state/users/$u")"
			return 1
		fi
	fi
	for f in secrets/alice secrets/bob; do
		if ! cmp -s "$T/snap/$f" "$T/state/$f"; then
			echo "$f changed"
			return 1
		fi
	done
	[ -e "$T/state/secrets/dave" ] && { echo "a secret for dave appeared" && return 1; }
	for f in users secrets; do
		n=$(find "$T/state/$f" -name ".$u.tmp" | wc -l)
		[ "$n" -le 1 ] || { echo "$n temporary files in $f" && return 1; }
	done
	return 0
}

declare -A WALKED EXCUSES

# site OFFSET: the functions (inlined ones too) at that offset of the module,
# from its debug information ("??" without it: then nothing is excused).
site() {
	addr2line -f -i -e "$MODULE" "$1" 2>/dev/null | sed -n '1~2p' | tr '\n' ' '
}

# excused ROW: a faulted run that was let in for a reason the design gives,
# printed; fails if there is none. Each one is checked in the output.
#   - a failed group lookup makes the user an admin (SPEC, Roles), and the
#     decision is then taken as admin;
#   - the rollout observation could not be written: it is for the report
#     only and never changes a decision (sd_request_observe);
#   - a failed message to the user (PAM_TEXT_INFO, PAM_ERROR_MSG) or QR code
#     (the key and URI are still shown): nothing to decide on;
#   - in grace, a conversation that cannot answer the enrolment offer skips
#     it, as Enter does (pam_secdefaults(8));
#   - the zeros written (pwrite), or the fallocate() and fstat, that give the
#     lock file's counters slots their blocks: best effort, a slot write
#     that then finds no space fails and is checked;
#   - close() of a descriptor that was only read, locked or a directory:
#     everything was read already (the close after a write is checked).
excused() {
	local inj off fn where
	inj=$(grep '^inject' <<<"$LOG")
	fn=$(awk '{print $3}' <<<"$inj")
	off=$(awk '{print $4}' <<<"$inj")
	where=$(site "${off#+}")
	if printf '%s\n' "$OUT" | grep -q 'group lookup failed for .*: treated as admin' &&
		[ "$(printf '%s\n' "$OUT" | sed -n '/group lookup failed/,$p' | grep -m1 'decision=' |
			grep -c ' role=admin ')" = 1 ]; then
		echo "group lookup failed: admin"
	elif printf '%s\n' "$OUT" | grep -q 'cannot record sign-in of .* for the rollout report'; then
		echo "rollout observation not recorded"
	elif [ "$fn" = pam_prompt ] && grep -qE 'style=(text-info|error-msg)' <<<"$inj"; then
		echo "message not shown"
	elif [ "$row" = grace-offer ] && [ "$fn" = pam_prompt ] &&
		printf '%s\n' "$OUT" | grep -q 'decision=allow reason=grace-enroll-skipped'; then
		echo "enrolment offer not answered: skipped"
	elif { [ "$fn" = fallocate ] || [ "$fn" = fstat ] || [ "$fn" = pwrite ]; } && case " $where " in *" preallocate_slots "*) true ;; *) false ;; esac; then
		echo "lock file slots not preallocated (best effort)"
	elif [ "$fn" != close ] && case " $where " in *" sd_qr_lines "*) true ;; *) false ;; esac; then
		echo "QR code not drawn"
	elif [ "$fn" = close ] && [ -n "$where" ] && case " $where " in
		*"??"* | *" replace_file "*) false ;; *) true ;; esac; then
		echo "close of a read-only descriptor"
	else
		return 1
	fi
}

# walk ROW EXPECT: EXPECT is success (the run without a fault succeeds) or
# deny (it is refused whatever happens).
walk() {
	local row=$1 expect=$2 n=0 bad=0 injected=0 crashes=0 leaks=0 disk=0 excused_n=0 msg why
	local first=
	one_run "$row" 0
	if [ "$expect" = success ]; then
		expect_result success "$row: without a fault the sign-in succeeds"
	elif [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q 'SD-RESULT='; then
		pass "$row: without a fault the sign-in is refused"
	else
		fail "$row: without a fault the sign-in is refused"
	fi
	total=$(sed -n 's/^total //p' <<<"$LOG")
	if [ -n "$total" ] && [ "$total" -gt 0 ] && ! grep -q '^inject' <<<"$LOG"; then
		pass "$row: the shim counts the module's calls ($total) and injects nothing at N=0"
	else
		OUT=$LOG
		fail "$row: the shim did not count calls"
	fi
	if grep -qE '^(fdleak|memleak)' <<<"$LOG"; then
		OUT=$LOG
		fail "$row: the module leaks without any fault"
	else
		pass "$row: no descriptor or memory leaked without a fault"
	fi
	for ((n = 1; ; n++)); do
		one_run "$row" "$n"
		if ! grep -q '^inject' <<<"$LOG"; then
			break
		fi
		injected=$((injected + 1))
		msg=
		if [ "$RC" -ne 0 ] && [ "$RC" -ne 1 ]; then
			crashes=$((crashes + 1))
			msg="crashed or hung (rc $RC)"
		elif [ "$RC" -eq 0 ] || printf '%s' "$OUT" | grep -q 'SD-RESULT=ignore'; then
			if [ "$expect" = success ] && why=$(excused "$row"); then
				excused_n=$((excused_n + 1))
				EXCUSES[$why]=$((${EXCUSES[$why]:-0} + 1))
			else
				msg="sign-in not refused"
			fi
		fi
		if grep -qE '^(fdleak|memleak)' <<<"$LOG"; then
			leaks=$((leaks + 1))
			msg="$msg leak: $(grep -E '^(fdleak|memleak)' <<<"$LOG" | tr '\n' ' ')"
		fi
		if ! state_msg=$(check_state "$row"); then
			disk=$((disk + 1))
			msg="$msg $state_msg"
		fi
		if [ -n "$msg" ]; then
			bad=$((bad + 1))
			[ -z "$first" ] && first="N=$n $(grep '^inject' <<<"$LOG"): $msg
$OUT"
			echo "# $row: N=$n $(grep '^inject' <<<"$LOG"): $msg"
		fi
	done
	WALKED[$row]="$((n - 1)) faults"
	echo "# $row: $((n - 1)) calls walked, $injected faults injected, $excused_n let in by design"
	if [ "$injected" -gt 0 ] && [ "$injected" -eq "$((n - 1))" ]; then
		pass "$row: a fault injected at each of the $injected counted calls"
	else
		OUT=$LOG RC=-
		fail "$row: walk injected $injected faults over $((n - 1)) calls"
	fi
	OUT=$first RC=-
	if [ "$bad" -eq 0 ]; then
		pass "$row: $injected faults: never allowed, no crash, no leak, state whole"
	else
		fail "$row: $bad of $injected faulted runs went wrong ($crashes crashes, $leaks leaks, $disk bad states)"
	fi
	TOTAL_FAULTS=$((TOTAL_FAULTS + injected))
}

# SD_FAULT_DEBUG="ROW N": run one case and show everything (for debugging).
if [ -n "${SD_FAULT_DEBUG:-}" ]; then
	set -- $SD_FAULT_DEBUG
	one_run "$1" "$2"
	printf '%s\n---- rc=%s\n%s\n' "$OUT" "$RC" "$LOG"
	check_state "$1"
	ls -la "$T/state/users" "$T/state/secrets"
	exit 0
fi

TOTAL_FAULTS=0
walk prompt success
walk noprompt success
walk grace success
walk grace-offer success
walk grace-acct success
walk legacy deny
walk legacy-acct deny
echo "# $TEST_NAME: $TOTAL_FAULTS faulted runs in all"
for why in "${!EXCUSES[@]}"; do
	echo "# $TEST_NAME: let in by design after a fault: $why (${EXCUSES[$why]})"
done
finish
