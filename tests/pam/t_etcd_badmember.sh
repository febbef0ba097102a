#!/bin/bash
# Fleet mode with a broken member: a fake endpoint (etcd_badmember.py on
# 127.0.0.1) listed FIRST, before two healthy members of a real 3-member
# etcd cluster. It hangs (before or after reading the request, or in the
# middle of a reply), closes at once, or answers 200 with garbage, a cut
# JSON reply, a huge body or fields of the wrong type. With
# etcd.timeout_ms = 800:
#   - a host that knows only the broken endpoint never accepts a sign-in
#     that needs state, the log names the endpoint and the problem, and
#     each sign-in ends within a bound set by timeout_ms;
#   - a host that lists the broken endpoint first and the healthy members
#     after it signs users in through the next endpoint (rotation), also
#     within that bound, and the state stays right; the skip is logged as
#     a warning, and the host's next sign-in goes straight to the member
#     that answered (state_dir/etcd-endpoint), never asking the broken one;
#     a memory file that is garbage, names another endpoint, is readable
#     by others, is a symlink or has a second hard link is ignored and
#     never written through, and
#     none is kept in a state_dir others can write.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd_lib.sh"

etcd_require

TMO=800
# bound_ms N: the longest a sign-in may take when N endpoints are tried:
# three timeouts per endpoint (connect, the request, one more request) and
# two seconds for starting pamtester on a loaded machine. A hang would
# take pamtester's 20 s limit; this only says the wait is bounded.
bound_ms() { echo $(($1 * 3 * TMO + 2000)); }

etcd_init 3
BAD_PID=
bad_cleanup() {
	if [ -n "$BAD_PID" ]; then
		kill "$BAD_PID" 2>/dev/null
		wait "$BAD_PID" 2>/dev/null
	fi
	etcd_cleanup
}
trap bad_cleanup EXIT

etcd_start 0
etcd_start 1
etcd_start 2
etcd_wait_healthy 0 1 2
OUT=$(etcd_curl "http://127.0.0.1:${CPORT[0]}/health" 2>&1) RC=$?
expect_in '"health":"true"' "setup: 3-member etcd cluster is up"

MODE=$T/bad.mode
BADLOG=$T/bad.log
echo silent >"$MODE"
/usr/bin/python3 "$top_srcdir/tests/pam/etcd_badmember.py" --port-file "$T/bad.port" \
	--mode-file "$MODE" --log "$BADLOG" >"$T/bad.err" 2>&1 &
BAD_PID=$!
for _ in $(seq 1 100); do
	[ -s "$T/bad.port" ] && break
	sleep 0.05
done
BADPORT=$(cat "$T/bad.port" 2>/dev/null)
BAD="http://127.0.0.1:$BADPORT"
OUT=$BADPORT RC=-
if [ -n "$BADPORT" ]; then pass "setup: the broken member listens on $BAD"; else
	fail "setup: the broken member listens"
fi

ROLES='roles = { breakglass_users = ["bg"]; };'
# host_conf NAME ENDPOINTS: a host's configuration, $T/conf.NAME, service hNAME
host_conf() {
	local name=$1 eps=$2
	mkdir -p "$T/state.$name"
	chmod 0700 "$T/state.$name"
	{
		printf 'state_dir = "%s";\n' "$T/state.$name"
		printf 'state_backend = "etcd";\n'
		printf 'etcd = { endpoints = [%s]; prefix = "/sdbad/"; timeout_ms = %d; };\n' "$eps" "$TMO"
		printf '%s\n' "$ROLES" 'enrollment = { at_login = false; };'
	} >"$T/conf.$name"
	chmod 0644 "$T/conf.$name"
	CONF=$T/conf.$name
	sd_service "h$name"
}
host_conf good "$(etcd_endpoints 0 1)"
host_conf first "\"$BAD\", $(etcd_endpoints 0 1)"
host_conf only "\"$BAD\""
ctl() { # ctl NAME ARGS...
	local h=$1
	shift
	CONF=$T/conf.$h sd_ctl "$@"
}

ctl first check
expect_rc 0 "setup: check accepts the configuration with the broken member first"
ctl good enroll alice --secret "$SECRET_A" --no-qr
expect_rc 0 "setup: alice (admin) enrolled through the healthy members"
sd_pam hgood bob
expect_result success "setup: bob's grace clock started"

# fresh_alice: forget alice's replay guard (reset, enrol again) so that the
# current step's code can be accepted once more.
fresh_alice() {
	ctl good reset alice
	ctl good enroll alice --secret "$SECRET_A" --no-qr
	[ "$RC" -eq 0 ] || fail "setup: enrol alice again"
}

# timed_pam DESC N ARGS...: sd_pam ARGS, and assert it took less than
# bound_ms N (N endpoints tried).
timed_pam() {
	local desc=$1 n=$2 t0 t1 ms out rc
	shift 2
	t0=$(date +%s%N)
	sd_pam "$@"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	out=$OUT rc=$RC
	OUT="$ms ms, bound $(bound_ms "$n") ms
$out" RC=$rc
	if [ "$ms" -lt "$(bound_ms "$n")" ]; then pass "$desc: finished in $ms ms"; else
		fail "$desc: bounded by timeout_ms ($ms ms)"
	fi
	OUT=$out RC=$rc
}

# check_mode MODE WHY: the broken member misbehaves as MODE; the log of a
# host that knows only that member names it and says WHY (an extended
# regular expression).
check_mode() {
	local mode=$1 why=$2 code
	echo "$mode" >"$MODE"
	fresh_alice
	sd_wait_step 8
	code=$(sd_code "$SECRET_A")

	# Only the broken member: deny, never accept, bounded, explained.
	timed_pam "$mode: broken member only, admin" 1 honly alice <<<"$code"
	expect_result "$AUTH_ERR" "$mode: broken member only: an admin with a valid code is denied"
	expect_log "$mode: broken member only: logged as a state error" user=alice decision=deny \
		reason=state-error
	if printf '%s\n' "$OUT" | grep -qE "etcd (unavailable|request failed).*$BAD: ($why)"; then
		pass "$mode: broken member only: the log names the endpoint and the problem"
	else
		fail "$mode: broken member only: the log names the endpoint and the problem (/$why/)"
	fi
	timed_pam "$mode: broken member only, grace user" 1 honly bob
	expect_result "$AUTH_ERR" "$mode: broken member only: a user in grace is denied"
	timed_pam "$mode: broken member only, new user" 1 honly dave
	expect_result "$AUTH_ERR" "$mode: broken member only: a new user is denied (never taken as new)"
	sd_pam honly bob acct_mgmt
	if [ "$RC" -ne 0 ] && ! printf '%s' "$OUT" | grep -q "SD-RESULT="; then
		pass "$mode: broken member only: the account phase denies"
	else
		fail "$mode: broken member only: the account phase denies"
	fi
	sd_pam honly bg
	expect_result ignore "$mode: broken member only: break-glass still gets in"
	ctl good status alice --json
	expect_in '"failures": 0' "$mode: the denied sign-in changed nothing in etcd"

	# The broken member first, two healthy ones after it: the next
	# endpoint answers, the skip is logged, and the host remembers the
	# member that answered (state_dir/etcd-endpoint) for its next
	# sign-ins, which then never wait on the broken one.
	rm -f "$T/state.first/etcd-endpoint"
	timed_pam "$mode: broken member first, admin" 2 hfirst alice <<<"$code"
	expect_result success "$mode: broken member first: the admin signs in through the next member"
	expect_log "$mode: broken member first: allowed by TOTP" user=alice decision=allow \
		reason=totp-admin
	expect_in "etcd: 1 endpoint skipped ($BAD: " \
		"$mode: broken member first: the skipped endpoint is logged with its problem"
	expect_in "127.0.0.1:${CPORT[0]} answered" "$mode: broken member first: ... and who answered"
	OUT=$(cat "$T/state.first/etcd-endpoint" 2>&1) RC=-
	expect_in "127.0.0.1:${CPORT[0]}" "$mode: broken member first: the host remembers the member that answered"
	conns=$(grep -c '^CONN' "$BADLOG")
	timed_pam "$mode: broken member first, replay" 2 hfirst alice <<<"$code"
	expect_result "$AUTH_ERR" "$mode: broken member first: the same code again is refused"
	expect_log "$mode: broken member first: replay" user=alice decision=deny reason=totp-replay
	expect_not_in "endpoint skipped" "$mode: broken member first: the next sign-in skips nothing"
	OUT="$(grep -c '^CONN' "$BADLOG") connections, $conns before" RC=-
	if [ "$(grep -c '^CONN' "$BADLOG")" -eq "$conns" ]; then
		pass "$mode: broken member first: the next sign-in never asked the broken member"
	else
		fail "$mode: broken member first: the next sign-in never asked the broken member"
	fi
	timed_pam "$mode: broken member first, grace user" 2 hfirst bob
	expect_result success "$mode: broken member first: a user in grace is allowed"
	expect_in "you have 14 days left" "$mode: broken member first: with the clock from etcd"
	ctl first status alice --json
	expect_in '"failures": 1' "$mode: broken member first: status through the rotation (1 failure)"
}

check_mode silent "timeout after $TMO ms"
check_mode hang "timeout after $TMO ms"
check_mode headers "timeout after $TMO ms"
check_mode trickle "timeout after $TMO ms"
check_mode close "Empty reply|Recv failure|Connection reset"
check_mode short "transfer closed"
check_mode garbage "unreadable reply: reply is not a JSON object"
check_mode truncated "unreadable reply: reply is not a JSON object"
check_mode notobject "unreadable reply: reply is not a JSON object"
check_mode huge "reply larger than [0-9]+ bytes"
check_mode huge-cl "reply larger than [0-9]+ bytes"
check_mode header-str "unreadable reply: reply has no header revision"
check_mode no-header "unreadable reply: reply has no header revision"
check_mode empty-header "unreadable reply: reply has no header revision"
check_mode kvs-str 'unreadable reply: "kvs" is not an array'
check_mode rev-str "unreadable reply: a revision is not a number"
check_mode rev-neg "unreadable reply: a revision is not a number"
check_mode value-num "unreadable reply: a key or value is not base64"
check_mode value-b64 "unreadable reply: a key or value is not base64"
check_mode more-str 'unreadable reply: "more" is not a boolean|unreadable reply: a single-key range has more keys'
check_mode status500 "HTTP 500"

# The endpoint memory only orders the configured endpoints: a file that
# names none of them, is garbage, is a symlink or has a second hard link
# is ignored (the first endpoint is tried; the file is rewritten only when
# it is a plain single-link file), and a state_dir that others can write
# gets no file at all.
echo silent >"$MODE"
for kind in other garbage readable symlink hardlink groupdir; do
	rm -f "$T/state.first/etcd-endpoint"
	case $kind in
	other)
		echo "http://127.0.0.1:1" >"$T/state.first/etcd-endpoint"
		chmod 0600 "$T/state.first/etcd-endpoint"
		;;
	garbage)
		head -c 500 /dev/urandom | tr -d '\0' >"$T/state.first/etcd-endpoint"
		chmod 0600 "$T/state.first/etcd-endpoint"
		;;
	readable)
		echo "http://127.0.0.1:${CPORT[0]}" >"$T/state.first/etcd-endpoint"
		chmod 0644 "$T/state.first/etcd-endpoint"
		;;
	symlink) ln -s "$T/conf.good" "$T/state.first/etcd-endpoint" ;;
	hardlink)
		cp "$T/conf.good" "$T/victim"
		chmod 0600 "$T/victim"
		ln "$T/victim" "$T/state.first/etcd-endpoint"
		;;
	groupdir) chmod 0770 "$T/state.first" ;;
	esac
	fresh_alice
	sd_wait_step 8
	timed_pam "memory ($kind): admin" 2 hfirst alice <<<"$(sd_code "$SECRET_A")"
	expect_result success "memory ($kind): the admin signs in"
	expect_in "etcd: 1 endpoint skipped ($BAD: " "memory ($kind): the first endpoint was tried"
	if [ $kind = symlink ]; then
		OUT=$(ls -l "$T/state.first/etcd-endpoint"; head -c 200 "$T/conf.good") RC=-
		if [ -L "$T/state.first/etcd-endpoint" ] && grep -q '^state_dir' "$T/conf.good"; then
			pass "memory ($kind): the symlink and its target are left alone"
		else
			fail "memory ($kind): the symlink and its target are left alone"
		fi
	elif [ $kind = hardlink ]; then
		OUT=$(head -c 200 "$T/victim") RC=-
		if cmp -s "$T/victim" "$T/conf.good"; then
			pass "memory ($kind): a file with a second link is never written"
		else
			fail "memory ($kind): a file with a second link is never written"
		fi
		rm -f "$T/victim"
	elif [ $kind = readable ]; then
		OUT=$(ls -l "$T/state.first/etcd-endpoint") RC=-
		if [ "$(stat -c %a "$T/state.first/etcd-endpoint")" = 644 ]; then
			pass "memory ($kind): a file others can read is neither used nor written"
		else
			fail "memory ($kind): a file others can read is neither used nor written"
		fi
	elif [ $kind = groupdir ]; then
		OUT=$(ls -la "$T/state.first") RC=-
		if [ ! -e "$T/state.first/etcd-endpoint" ]; then
			pass "memory ($kind): not kept in a state_dir others can write"
		else
			fail "memory ($kind): not kept in a state_dir others can write"
		fi
		chmod 0700 "$T/state.first"
	else
		OUT=$(cat "$T/state.first/etcd-endpoint" 2>&1) RC=-
		expect_in "127.0.0.1:${CPORT[0]}" "memory ($kind): rewritten with the member that answered"
	fi
done
rm -f "$T/state.first/etcd-endpoint"
# secdefaultsctl says so too (on stderr), and still answers.
ctl first status alice --json
expect_rc 0 "memory: status through the broken member first"
expect_in "secdefaultsctl: warning: etcd: 1 endpoint skipped ($BAD: " \
	"memory: secdefaultsctl warns about the skipped endpoint"
rm -f "$T/state.first/etcd-endpoint"

# succ-str answers every request with a header and "succeeded" as a
# string: as a read that is an empty range ("no such key"), as a
# transaction it is unreadable. Only that member: never accepted.
echo succ-str >"$MODE"
fresh_alice
sd_wait_step 8
timed_pam "succ-str: broken member only" 1 honly alice <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "succ-str: broken member only: never accepted"

OUT=$(grep -c '^CONN' "$BADLOG") RC=-
if [ "$OUT" -gt 40 ]; then pass "the broken member was asked ($OUT connections)"; else
	fail "the broken member was asked"
fi
OUT=$(cat "$T/bad.err") RC=-
if [ ! -s "$T/bad.err" ]; then pass "the broken member itself had no errors"; else
	fail "the broken member itself had no errors"
fi

finish
