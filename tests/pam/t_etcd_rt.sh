#!/bin/bash
# Fleet mode: how many etcd round trips one sign-in costs, counted by etcd
# itself (deterministic, no timing). A real 3-member cluster on 127.0.0.1;
# before and after each pamtester run the test reads every member's
# /metrics:
#
#   requests  sum over the members of grpc_server_handled_total for the KV
#             methods Range and Txn (the HTTP/JSON gateway hands every
#             /v3/kv/range and /v3/kv/txn to the gRPC server, so each
#             request the module makes is counted once, on the member that
#             served it)
#   writes    growth of etcd_server_proposals_committed_total (raft entries:
#             a transaction that can put is one entry, whether its compare
#             holds or not; a read, also a read-only transaction, is none)
#   reads     requests - writes
#
# Nothing else talks to the cluster between the two readings (no /health,
# which etcd 3.4 answers through raft). Targets (issue 9): an admin TOTP
# sign-in is one read and one transaction; a sign-in without a prompt is
# one read and nothing else.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/etcd_lib.sh"

etcd_require
etcd_init 3
etcd_start 0
etcd_start 1
etcd_start 2
etcd_wait_healthy 0 1 2

# metrics: "REQUESTS PROPOSALS" now (requests summed over the members, the
# highest committed proposal count of any member).
metrics() {
	local i req=0 prop=0 r p
	for i in 0 1 2; do
		read -r r p < <(curl -s --noproxy '*' -m 5 "http://127.0.0.1:${CPORT[$i]}/metrics" | awk '
			/^grpc_server_handled_total\{/ && /grpc_service="etcdserverpb.KV"/ &&
				(/grpc_method="Range"/ || /grpc_method="Txn"/) { r += $NF }
			/^etcd_server_proposals_committed_total / { p = $NF }
			END { printf "%d %d\n", r, p }')
		req=$((req + r))
		[ "$p" -gt "$prop" ] && prop=$p
	done
	echo "$req $prop"
}
# settle: wait until the proposal count stops moving (start-up entries,
# a write still being applied on the member we read last).
settle() {
	local a b n
	a=$(metrics)
	for n in $(seq 1 20); do
		sleep 0.3
		b=$(metrics)
		[ "$a" = "$b" ] && break
		a=$b
	done
}
# measure DESC CMD...: run CMD between two readings; sets READS, WRITES.
measure() {
	local r0 p0 r1 p1
	settle
	read -r r0 p0 <<<"$(metrics)"
	"$@"
	settle
	read -r r1 p1 <<<"$(metrics)"
	WRITES=$((p1 - p0))
	READS=$((r1 - r0 - WRITES))
	echo "# round trips: $READS read(s), $WRITES write transaction(s)"
}
expect_rt() { # READS WRITES DESC
	local saved=$OUT
	OUT="$OUT
measured: $READS read(s), $WRITES write(s)"
	if [ "$READS" -eq "$1" ] && [ "$WRITES" -eq "$2" ]; then pass "$3"; else
		fail "$3 (expected $1 read(s) + $2 write(s), measured $READS + $WRITES)"
	fi
	OUT=$saved
}

OUT=$(curl -s --noproxy '*' "http://127.0.0.1:${CPORT[0]}/metrics" | grep -c 'grpc_method="Txn"') RC=-
if [ "${OUT:-0}" -gt 0 ]; then pass "setup: etcd exports gRPC request counters"; else
	fail "setup: etcd exports gRPC request counters"
fi
# The counters see the gateway: one /v3/kv/range is one Range.
measure curl -s --noproxy '*' -X POST "http://127.0.0.1:${CPORT[1]}/v3/kv/range" \
	-d '{"key":"c2RydC1wcm9iZQ=="}' -o /dev/null
expect_rt 1 0 "setup: one gateway range request counts as one read"
measure curl -s --noproxy '*' -X POST "http://127.0.0.1:${CPORT[2]}/v3/kv/txn" \
	-d '{"success":[{"request_put":{"key":"c2RydC1wcm9iZQ==","value":"eA=="}}]}' -o /dev/null
expect_rt 0 1 "setup: one gateway put transaction counts as one write"

EPS="\"http://127.0.0.1:${CPORT[0]}\", \"http://127.0.0.1:${CPORT[1]}\", \"http://127.0.0.1:${CPORT[2]}\""
sd_config 'state_backend = "etcd";' \
	"etcd = { endpoints = [$EPS]; prefix = \"/sdrt/\"; timeout_ms = 1500; };" \
	'enrollment = { at_login = false; };'
sd_service rt

sd_ctl enroll alice --secret "$SECRET_A" --no-qr
expect_rc 0 "setup: alice (admin) enrolled"
sd_ctl enroll bob --secret "$SECRET_B" --no-qr
expect_rc 0 "setup: bob (user) enrolled"
sd_wait_step
sd_pam -I rhost=192.0.2.7 rt bob <<<"$(sd_code "$SECRET_B")"
expect_result success "setup: bob passes TOTP from 192.0.2.7 (location remembered)"

# ---- admin TOTP sign-in ------------------------------------------------------
sd_wait_step 8
measure sd_pam -I rhost=192.0.2.7 rt alice authenticate <<<"$(sd_code "$SECRET_A")"
expect_result success "admin TOTP: the sign-in succeeds"
expect_rt 1 1 "admin TOTP: one read and one transaction"
ADMIN_R=$READS ADMIN_W=$WRITES

# ---- wrong code: the count is the one transaction ----------------------------
measure sd_pam -I rhost=192.0.2.7 rt alice authenticate <<<"$(sd_wrong_code "$SECRET_A")"
expect_result "$AUTH_ERR" "wrong code: refused"
expect_rt 1 1 "wrong code: one read and one transaction (the count)"
sd_ctl status alice --json
expect_in '"failures": 1' "wrong code: the failure is counted in etcd"

# ---- replayed code: refused, counted, same cost ------------------------------
measure sd_pam -I rhost=192.0.2.7 rt alice authenticate <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "replay: the used code is refused"
expect_rt 1 1 "replay: one read and one transaction"

# ---- no prompt ------------------------------------------------------------------
measure sd_pam -I rhost=192.0.2.7 rt bob authenticate </dev/null
expect_result success "no prompt: bob at a remembered location gets in"
expect_not_in "Verification code" "no prompt: not asked for a code"
expect_rt 1 0 "no prompt: one read, no write"
NP_R=$READS NP_W=$WRITES

# ---- account phase ---------------------------------------------------------------
measure sd_pam -I rhost=192.0.2.7 rt bob acct_mgmt </dev/null
expect_result success "account phase: allowed"
expect_rt 1 0 "account phase: one read, no write"

# ---- a conflict: the state changes while the user types ---------------------
# The module read alice's state (and secret) before the prompt and does not
# read it again: the transaction that carries the outcome compares the
# revisions of that read, fails, and the module reads, decides and checks
# again. held_signin FILE: start a sign-in of alice whose answer is held
# back until "$T/go" exists; returns once the prompt is shown. Each case
# runs at a clock shifted by whole minutes (SD_FAKETIME), so its step is
# later than every step used before without waiting for one.
held_signin() {
	local file=$1 n
	rm -f "$T/go"
	SD_GO_FILE=$T/go sd_pam_bg "$file" "$2" -I rhost=192.0.2.7 rt alice authenticate &
	HELD=$!
	for n in $(seq 1 100); do
		grep -q "Verification code" "$file" 2>/dev/null && break
		sleep 0.1
	done
}
sd_ctl unlock alice
export SD_FAKETIME=+5m
sd_wait_step 12
code=$(sd_code "$SECRET_A")
held_signin "$T/held1" "$code"
# meanwhile another host uses the same code
sd_pam -I rhost=192.0.2.7 rt alice authenticate <<<"$code"
expect_result success "conflict: another sign-in uses the code first"
measure eval ': >"$T/go"; wait $HELD'
OUT=$(cat "$T/held1") RC=$(cat "$T/held1.rc")
expect_result "$AUTH_ERR" "conflict: the waiting sign-in with the same code is refused"
expect_log "conflict: refused as a replay on the fresh state" decision=deny reason=totp-replay
# counted from the answer on (the first read was before the prompt): the
# transaction that failed, one read again, the transaction that counts
expect_rt 1 2 "conflict: after the answer, a failed transaction, a read again, a transaction"

# the secret changes (new recovery codes) while the user types: the code is
# still good, but checked against the fresh secret
SD_FAKETIME=+10m
sd_wait_step 12
held_signin "$T/held2" "$(sd_code "$SECRET_A")"
sd_ctl codes alice --count 2
expect_rc 0 "conflict: recovery codes issued while alice types"
measure eval ': >"$T/go"; wait $HELD'
OUT=$(cat "$T/held2") RC=$(cat "$T/held2.rc")
expect_result success "conflict: a valid code after a secret change succeeds"
expect_rt 1 2 "conflict: the secret's change made it read again (1 read and 2 transactions after the answer)"

# re-enrolled with another key while the user types: the old key's code fails
SD_FAKETIME=+15m
sd_wait_step 12
held_signin "$T/held3" "$(sd_code "$SECRET_A")"
sd_ctl enroll alice --secret "$SECRET_B" --no-qr --force
expect_rc 0 "conflict: alice re-enrolled while she types"
: >"$T/go"
wait "$HELD"
OUT=$(cat "$T/held3") RC=$(cat "$T/held3.rc")
expect_result "$AUTH_ERR" "conflict: a code of the replaced key is refused"
expect_log "conflict: checked against the new key" decision=deny reason=totp-wrong-code
unset SD_FAKETIME

echo "# admin TOTP sign-in: $ADMIN_R read(s) + $ADMIN_W transaction(s); no prompt: $NP_R read(s) + $NP_W"
finish
