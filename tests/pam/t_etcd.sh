#!/bin/bash
# Fleet mode: a real 3-member etcd cluster on 127.0.0.1 (plain http on
# loopback, its own ports and data directories) and two simulated hosts A
# and B (two module configurations with the same etcd prefix, each with its
# own unused state_dir). The grace clock, the replay guard and the failure
# count are shared; the cluster losing members denies users who need state
# but never accepts, and break-glass still gets in; migrate dir -> etcd ->
# dir keeps every field.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/etcd_lib.sh"

etcd_require
R=$T/runs
mkdir -p "$R"
etcd_init 3
etcd_start 0
etcd_start 1
etcd_start 2
etcd_wait_healthy 0 1 2
OUT=$(curl -s --noproxy '*' "http://127.0.0.1:${CPORT[0]}/health") RC=-
expect_in '"health":"true"' "setup: 3-member etcd cluster is up"

EPS="\"http://127.0.0.1:${CPORT[0]}\", \"http://127.0.0.1:${CPORT[1]}\", \"http://127.0.0.1:${CPORT[2]}\""
ROLES='roles = { breakglass_users = ["bg"]; };'
# host_conf NAME BACKEND [LINES...]: a host's configuration, $T/conf.NAME.
host_conf() {
	local name=$1 backend=$2
	shift 2
	mkdir -p "$T/state.$name"
	chmod 0700 "$T/state.$name"
	{
		printf 'state_dir = "%s";\n' "$T/state.$name"
		printf 'state_backend = "%s";\n' "$backend"
		printf 'etcd = { endpoints = [%s]; prefix = "/sdtest/"; timeout_ms = 1500; };\n' "$EPS"
		printf '%s\n' "$ROLES" 'enrollment = { at_login = false; };' "$@"
	} >"$T/conf.$name"
	chmod 0644 "$T/conf.$name"
}
host_conf A etcd
host_conf B etcd
CONF=$T/conf.A
sd_service hosta
CONF=$T/conf.B
sd_service hostb
ctl() { # ctl HOST ARGS...
	local h=$1
	shift
	CONF=$T/conf.$h sd_ctl "$@"
}

ctl A check
expect_rc 0 "check: an etcd configuration is accepted"
expect_in "OK" "check: says OK"

# ---- grace clock shared ----------------------------------------------------

sd_pam hosta bob
expect_result success "grace: first sign-in on A is allowed"
expect_in "you have 14 days left" "grace: A starts the clock (14 days)"
SD_FAKETIME=+10d sd_pam hostb bob
expect_result success "grace: B allows at +10d"
expect_in "you have 4 days left" "grace: B sees the clock A started (4 days left)"
SD_FAKETIME=+15d sd_pam hostb bob
expect_result "$AUTH_ERR" "grace: expired on B at +15d"
sd_pam hosta bob
expect_result "$AUTH_ERR" "grace: the expiry recorded on B applies on A"
expect_log "grace: A denies grace-expired" decision=deny reason=grace-expired
ctl B status bob --json
expect_in '"grace": "expired"' "grace: status on B shows expired"
expect_no_file "$T/state.A/users/bob" "grace: nothing in host A's state_dir"
expect_no_file "$T/state.B/users/bob" "grace: nothing in host B's state_dir"

# ---- replay across hosts ---------------------------------------------------

ctl A enroll alice --secret "$SECRET_A" --no-qr
expect_rc 0 "setup: alice enrolled through A"
ctl B status alice --json
expect_in '"enrolled": true' "setup: B sees alice enrolled"

PIDS=()
GO=
start_many() { # start_many TAG N ANSWER SERVICE USER: alternating hosts
	local tag=$1 n=$2 answer=$3 user=$4 i svc
	PIDS=()
	GO=$R/go.$tag
	for i in $(seq 1 "$n"); do
		if [ $((i % 2)) -eq 1 ]; then svc=hosta; else svc=hostb; fi
		SD_GO_FILE=$GO sd_pam_bg "$R/$tag.$i" "$answer" "$svc" "$user" &
		PIDS+=($!)
		sleep 0.05
	done
	sleep 0.5
}
count() { # count TAG N STRING
	local tag=$1 n=$2 s=$3 i c=0
	for i in $(seq 1 "$n"); do
		grep -qF -- "$s" "$R/$tag.$i" 2>/dev/null && c=$((c + 1))
	done
	echo "$c"
}

sd_wait_step 16
step0=$(($(date +%s) / 30))
code=$(sd_code "$SECRET_A")
start_many replay 20 "$code" alice
: >"$GO"
wait "${PIDS[@]}"
step1=$(($(date +%s) / 30))
n=$(count replay 20 "decision=")
OUT=$(cat "$R"/replay.1) RC=-
if [ "$n" -eq 20 ]; then pass "replay: all 20 runs reached a decision"; else
	fail "replay: all 20 runs reached a decision ($n)"
fi
OUT="steps $step0 .. $step1" RC=-
if [ "$step0" -eq "$step1" ]; then pass "replay: all attempts inside one step"; else
	fail "replay: all attempts inside one step"
fi
n=$(count replay 20 "successfully authenticated")
OUT=$(grep -h 'decision=' "$R"/replay.* | sed 's/.*decision=/decision=/') RC=-
if [ "$n" -eq 1 ]; then pass "replay: exactly one of 20 (10 on A, 10 on B) succeeds"; else
	fail "replay: exactly one of 20 succeeds ($n)"
fi
n=$(count replay 20 "pamtester: $AUTH_ERR")
if [ "$n" -eq 19 ]; then pass "replay: the other 19 are refused"; else
	fail "replay: the other 19 are refused ($n)"
fi
a=$(for i in 1 3 5 7 9 11 13 15 17 19; do cat "$R/replay.$i"; done | grep -c 'decision=')
b=$(for i in 2 4 6 8 10 12 14 16 18 20; do cat "$R/replay.$i"; done | grep -c 'decision=')
OUT="A $a B $b" RC=-
if [ "$a" -eq 10 ] && [ "$b" -eq 10 ]; then pass "replay: 10 decided on A and 10 on B"; else
	fail "replay: 10 decided on A and 10 on B"
fi
sd_wait_step
sd_pam hostb alice <<<"$code"
expect_result "$AUTH_ERR" "replay: the used code is refused on B afterwards"

# ---- lockout counts add up across hosts --------------------------------------

ctl A enroll dave --secret "$SECRET_B" --no-qr
expect_rc 0 "setup: dave enrolled"
host_conf A etcd 'lockout = { max_failures = 4; lock_minutes = 15; };'
host_conf B etcd 'lockout = { max_failures = 4; lock_minutes = 15; };'
wrong=$(sd_wrong_code "$SECRET_B")
sd_pam hosta dave <<<"$wrong"
expect_log "lockout: wrong code 1 on A" decision=deny reason=totp-wrong-code
sd_pam hostb dave <<<"$wrong"
expect_log "lockout: wrong code 2 on B" decision=deny reason=totp-wrong-code
sd_pam hosta dave <<<"$wrong"
ctl B status dave --json
expect_in '"failures": 3' "lockout: 1 + 1 + 1 wrong codes on A, B, A count 3"
sd_pam hostb dave <<<"$wrong"
expect_in "locked until" "lockout: the 4th (on B) locks"
sd_wait_step
sd_pam hosta dave <<<"$(sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "lockout: the lock set on B applies on A"
expect_log "lockout: A says locked" decision=deny reason=locked
ctl A unlock dave
expect_rc 0 "lockout: unlock through A"
ctl B status dave --json
expect_in '"failures": 0' "lockout: B sees the unlock"

# ---- faults ---------------------------------------------------------------

ctl A enroll bob --secret "$SECRET_B" --no-qr --force
expect_rc 0 "setup: bob enrolled"
ctl A enroll ed --secret "$SECRET_A" --no-qr
expect_rc 0 "setup: ed enrolled"
etcd_stop 0
sd_wait_step
sd_pam hosta bob <<<"$(sd_code "$SECRET_B")"
expect_result success "one member down: sign-in on A works"
sd_pam hostb ed <<<"$(sd_code "$SECRET_A")"
expect_result success "one member down: sign-in on B works"

etcd_stop 1
t0=$(date +%s%N)
sd_pam hosta dave <<<"$(sd_code "$SECRET_B")"
t1=$(date +%s%N)
expect_result "$AUTH_ERR" "two members down: a user who needs state is denied"
expect_in "etcd unavailable" "two members down: the log says why"
expect_log "two members down: deny state-error" decision=deny reason=state-error
ms=$(((t1 - t0) / 1000000))
OUT="$ms ms" RC=-
if [ "$ms" -lt 8000 ]; then pass "two members down: bounded by the timeouts ($ms ms)"; else
	fail "two members down: bounded by the timeouts"
fi
sd_pam hostb alice <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "two members down: never accepts on B either"
sd_pam hosta bg
expect_result ignore "two members down: break-glass still gets in (abstains before the store)"
ctl A status --json
expect_rc 1 "two members down: status fails rather than showing nothing"

etcd_start 0
etcd_start 1
etcd_wait_healthy 0 1 2
sd_wait_step
sd_pam hostb dave <<<"$(sd_code "$SECRET_B")"
expect_result success "members back: sign-in works again"

# ---- migrate dir -> etcd -> dir --------------------------------------------

# A dir host with varied state: enrolled with recovery codes, a grace clock,
# failures, a compromised flag, a location.
host_conf D dir 'risk = { trusted_networks = ["192.0.2.0/24"]; remember_days = 7; };'
CONF=$T/conf.D
sd_service hostd
ctl D enroll alice --secret "$SECRET_A" --no-qr
ctl D codes alice
ctl D enroll ed --secret "$SECRET_B" --no-qr
sd_pam hostd carol
sd_pam hostd dave
ctl D flag dave
wrong=$(sd_wrong_code "$SECRET_B")
sd_pam hostd ed <<<"$wrong"
sd_wait_step
sd_pam -I rhost=192.0.2.7 hostd alice <<<"$(sd_code "$SECRET_A")"
expect_result success "migrate: setup sign-in on the dir host"
# status_json: host D's status --json, without pam_wrapper's debug lines
status_json() {
	ctl D status --json
	OUT=$(printf '%s\n' "$OUT" | grep -v '^PWRAP')
}
status_json
before=$OUT
cp -a "$T/state.D" "$T/state.D.orig"
ndir=$(find "$T/state.D/users" -type f | wc -l)
nsec=$(find "$T/state.D/secrets" -type f | wc -l)

# the etcd side of the same file: its own prefix
sed -i 's#prefix = "/sdtest/"#prefix = "/sdmigrate/"#' "$T/conf.D"
ctl D migrate --to etcd
expect_rc 0 "migrate: dir -> etcd succeeds"
expect_in "migrated $ndir users ($nsec with a secret) from dir to etcd, verified" \
	"migrate: dir -> etcd reports counts"
ctl D migrate --to etcd
expect_rc 1 "migrate: a second run without --force refuses to replace"
ctl D migrate --to etcd --force
expect_rc 0 "migrate: --force replaces"
expect_in "$ndir replaced" "migrate: --force reports the replaced users"

# switch the host to etcd: same status
sed -i 's#state_backend = "dir"#state_backend = "etcd"#' "$T/conf.D"
status_json
if [ "$OUT" = "$before" ]; then pass "migrate: status on etcd equals status on dir"; else
	fail "migrate: status on etcd equals status on dir"
	printf '%s\n' "$before" | sed 's/^/    before: /'
fi
rm -rf "$T/state.D"
mkdir -m 0700 "$T/state.D"
ctl D migrate --to dir
expect_rc 0 "migrate: etcd -> dir succeeds"
expect_in "migrated $ndir users ($nsec with a secret) from etcd to dir" \
	"migrate: etcd -> dir reports counts"
sed -i 's#state_backend = "etcd"#state_backend = "dir"#' "$T/conf.D"
status_json
if [ "$OUT" = "$before" ]; then pass "migrate: status after the round trip is the same"; else
	fail "migrate: status after the round trip is the same"
fi
# Every user's state as the module sees it (secdefaultsctl show: the file
# with its newest counters record, without the file's own "counters" id,
# which every written file gets anew) and every secret file, before and
# after the round trip.
sed -e "s#^state_dir = .*#state_dir = \"$T/state.D.orig\";#" \
	-e 's#^state_backend = .*#state_backend = "dir";#' "$T/conf.D" >"$T/conf.Dorig"
sed -e 's#^state_backend = .*#state_backend = "dir";#' "$T/conf.D" >"$T/conf.Dnew"
chmod 0644 "$T/conf.Dorig" "$T/conf.Dnew"
n=0
for f in "$T/state.D.orig/users"/*; do
	u=${f##*/}
	ctl Dorig show "$u"
	a=$(printf '%s\n' "$OUT" | grep -v '^PWRAP')
	ctl Dnew show "$u"
	OUT=$(printf '%s\n' "$OUT" | grep -v '^PWRAP')
	if [ "$a" != "$OUT" ] || [ -z "$a" ]; then
		OUT="$OUT
$u differs: before: $a" RC=-
		break
	fi
	n=$((n + 1))
done
if [ "$n" -eq "$ndir" ] && [ "$ndir" -gt 0 ] && diff -r "$T/state.D.orig/secrets" "$T/state.D/secrets" >/dev/null 2>&1 &&
	[ "$(ls "$T/state.D.orig/users")" = "$(ls "$T/state.D/users")" ]; then
	pass "migrate: every user's state ($n) and every secret file is identical after the round trip"
else
	OUT="$OUT
$(diff -r "$T/state.D.orig/secrets" "$T/state.D/secrets" 2>&1)" RC=-
	fail "migrate: every user's state and every secret file is identical after the round trip"
fi
sd_wait_step
sd_pam hostd ed <<<"$(sd_code "$SECRET_B")"
expect_result success "migrate: sign-in works after the round trip"
ctl D migrate --to dir
expect_rc 1 "migrate: --to the configured backend is refused"
ctl D migrate --to nowhere
expect_rc 2 "migrate: a bad --to is a usage error"

finish
