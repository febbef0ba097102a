#!/bin/bash
# Hostile environment, from inside one host process (tests/hostile.c):
#   - the host's SIGALRM handler, signal mask, umask, cwd and open
#     descriptors are the same after pam_authenticate/pam_end as before, and
#     every descriptor the module holds while it talks to the user has
#     FD_CLOEXEC (a negative control module that breaks each rule shows the
#     checks fail);
#   - 10,000 unknown or invalid user names: none let in, zero files created
#     under the state directory;
#   - 32 threads looping pam_start/authenticate/end in one process, with the
#     module built normally and, if build-asan exists, with AddressSanitizer
#     and UBSan (no report);
#   - the clock: a far-future replay guard, lock and grace start in a state
#     file, and the clock set back after a lock, extending t_grace (clock
#     set back after grace), t_totp (replay) and t_lockout.
# A private /tmp: no pam_wrapper directory shared with another test (lib.sh).
# shellcheck disable=SC2034
SD_ISOLATE=1
. "$(dirname "$0")/lib.sh"

if [ -n "${SD_PRELOAD_FIRST:-}" ] || [ -n "${SD_WRAP_PREFIX:-}" ]; then
	# Runs its own processes without the sanitizer runtime first in line;
	# the normal run covers it (t_hostile then loads the ASan module itself).
	echo "SKIP: not under the sanitizer or valgrind runs"
	exit 77
fi

HOSTILE="$top_builddir/tests/hostile"
if [ ! -x "$HOSTILE" ]; then
	HOSTILE="$T/hostile"
	${CC:-cc} -O2 -o "$HOSTILE" "$top_srcdir/tests/hostile.c" -lpam -lpthread || exit 99
fi

sd_config
sd_service sshd
sd_ctl enroll alice --secret "$SECRET_A"
expect_rc 0 "setup: alice enrolled"
sd_ctl enroll bob --secret "$SECRET_B"
expect_rc 0 "setup: bob enrolled"
code=$(SD_FAKETIME=-90 sd_code "$SECRET_B")
SD_FAKETIME=-90 sd_pam -I rhost=198.51.100.7 sshd bob <<<"$code"
expect_result success "setup: bob signed in from 198.51.100.0/24"

host() { # host SERVICE USER [CODE]: sets OUT and RC
	OUT=$(SD_TIMEOUT=60 sd_env ${SD_WRAP_PREFIX:-} "$HOSTILE" host "$@" 2>&1)
	RC=$?
}

# ---- the host process is left as it was -------------------------------------
sd_wait_step
host sshd alice "$(sd_code "$SECRET_A")"
expect_rc 0 "host: alice signs in with a right code, host state unchanged"
expect_in "auth=Success acct=Success" "host: both phases succeeded"
expect_in "conv_calls=" "host: the module talked to the host (checked its fds then)"
host sshd alice 000000
expect_rc 0 "host: wrong code, host state unchanged"
expect_in "auth=Authentication failure" "host: wrong code refused"
host sshd bob
expect_rc 0 "host: no-prompt sign-in, host state unchanged"
expect_in "auth=Success acct=Success" "host: bob let in (no prompt: no answer given)"
host sshd dave
expect_rc 0 "host: grace sign-in (state written), host state unchanged"
host sshd nosuchuser
expect_rc 0 "host: unknown user, host state unchanged"

# Negative control: a module that changes every one of these must be caught
# (stacked before pam_secdefaults, whose prompt lets the host look at the
# descriptors in the middle of the call).
cat >"$T/evil.c" <<'EOF'
#include <fcntl.h>
#include <security/pam_modules.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
int pam_sm_authenticate(pam_handle_t *h, int f, int c, const char **v)
{
	sigset_t m;
	(void)h; (void)f; (void)c; (void)v;
	open("/dev/null", O_RDONLY);          /* no O_CLOEXEC, never closed */
	umask(0);
	signal(SIGALRM, SIG_IGN);
	sigemptyset(&m);
	sigprocmask(SIG_SETMASK, &m, NULL);
	if (chdir("/") != 0)
		return PAM_AUTH_ERR;
	return PAM_SUCCESS;
}
int pam_sm_setcred(pam_handle_t *h, int f, int c, const char **v)
{
	(void)h; (void)f; (void)c; (void)v;
	return PAM_SUCCESS;
}
EOF
if ${CC:-cc} -shared -fPIC -o "$T/evil.so" "$T/evil.c"; then
	printf 'auth required %s\nauth required %s config=%s\naccount required pam_permit.so\n' \
		"$T/evil.so" "$MODULE" "$CONF" >"$T/svc/evil"
	sd_wait_step
	host evil alice "$(sd_code "$SECRET_A")"
	expect_rc 1 "control: a module that changes the host is caught"
	for what in "SIGALRM disposition changed" "signal mask changed" "umask changed" \
		"cwd changed" "left open after pam_end" "has no FD_CLOEXEC"; do
		expect_in "$what" "control: caught: $what"
	done
else
	OUT="cc failed" RC=-
	fail "control: cannot build the negative control module"
fi

# ---- 10,000 hostile user names ----------------------------------------------
tree() { find "$T/state" -printf '%P %y %s\n' | sort; }
before=$(tree)
start=$(date +%s)
OUT=$(SD_TIMEOUT=600 sd_env "$HOSTILE" names sshd 10000 2>&1 | grep -v 'SYSLOG\|PWRAP')
RC=$?
expect_in "names=10000 allowed=0" "names: 10,000 unknown or invalid names, none let in ($(($(date +%s) - start)) s)"
after=$(tree)
OUT=$(diff <(echo "$before") <(echo "$after")) RC=-
if [ "$before" = "$after" ]; then
	pass "names: zero files created under the state directory"
else
	fail "names: files appeared under the state directory"
fi

# ---- 32 threads in one process ----------------------------------------------
threads() { # threads MODULE-PATH [PRELOAD-FIRST]: sets OUT and RC
	sed "s|$MODULE|$1|" "$T/svc/sshd" >"$T/svc/sshd-threads"
	OUT=$(SD_TIMEOUT=300 SD_PRELOAD_FIRST=${2:-} sd_env "$HOSTILE" threads sshd-threads 32 20 \
		bob alice dave ed nosuchuser 2>&1)
	RC=$?
}
threads "$MODULE"
expect_rc 0 "threads: 32 threads x 20 sign-ins in one process all returned"
expect_in "completed=640" "threads: 640 sign-ins completed"
c=$(printf '%s\n' "$OUT" | grep -c 'decision=')
if [ "$c" -ge 640 ]; then pass "threads: every sign-in reached a decision ($c)"; else
	fail "threads: only $c decisions for 640 sign-ins"
fi
expect_not_in "state-error" "threads: no state error from threads racing on one user"

ASAN_MODULE="$top_builddir/../build-asan/.libs/pam_secdefaults.so"
[ -n "${SD_ASAN_MODULE:-}" ] && ASAN_MODULE=$SD_ASAN_MODULE
ASAN_LIB=$(${CC:-gcc} -print-file-name=libasan.so 2>/dev/null)
if [ -f "$ASAN_MODULE" ] && [ -f "$ASAN_LIB" ] && [ -z "${SD_PRELOAD_FIRST:-}" ]; then
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		threads "$(cd "$(dirname "$ASAN_MODULE")" && pwd)/pam_secdefaults.so" "$ASAN_LIB"
	expect_rc 0 "threads under ASan+UBSan: all returned"
	expect_in "completed=640" "threads under ASan+UBSan: 640 sign-ins completed"
	expect_not_in "ERROR: AddressSanitizer" "threads under ASan: no report"
	expect_not_in "runtime error:" "threads under UBSan: no report"
else
	echo "# threads under ASan: skipped (no build-asan module or libasan)"
fi

# The same under ThreadSanitizer, when a TSan build of the module exists
# (tools/test makes one in build-tsan).
TSAN_MODULE="$top_builddir/../build-tsan/.libs/pam_secdefaults.so"
[ -n "${SD_TSAN_MODULE:-}" ] && TSAN_MODULE=$SD_TSAN_MODULE
TSAN_LIB=$(${CC:-gcc} -print-file-name=libtsan.so 2>/dev/null)
if [ -f "$TSAN_MODULE" ] && [ -f "$TSAN_LIB" ] && [ -z "${SD_PRELOAD_FIRST:-}" ]; then
	TSAN_OPTIONS="halt_on_error=1:report_signal_unsafe=0:suppressions=$top_srcdir/tests/tsan.supp" \
		UID_WRAPPER_DISABLE_DEEPBIND=1 \
		NSS_WRAPPER_DISABLE_DEEPBIND=1 \
		threads "$(cd "$(dirname "$TSAN_MODULE")" && pwd)/pam_secdefaults.so" "$TSAN_LIB"
	expect_rc 0 "threads under TSan: all returned"
	expect_in "completed=640" "threads under TSan: 640 sign-ins completed"
	expect_not_in "WARNING: ThreadSanitizer" "threads under TSan: no report"
else
	echo "# threads under TSan: skipped (no build-tsan module or libtsan)"
fi

# ---- the clock ----------------------------------------------------------------
# A state file written by hand (as a clock far ahead would have written it).
put_state() { # put_state USER LINES...
	local u=$1
	shift
	{
		echo "version 1"
		printf '%s\n' "$@"
	} >"$T/state/users/$u"
	chmod 0600 "$T/state/users/$u"
}
ISO_NOW=$(date -u +%FT%TZ)

# Replay guard far in the future (year 2100): no code is accepted, the clock
# set back or not.
far_step=$(($(date -d 2100-01-01 +%s) / 30))
put_state alice "enrolled $ISO_NOW" "last_step $far_step"
sd_wait_step
sd_pam -I rhost=192.0.2.7 sshd alice <<<"$(sd_code "$SECRET_A")"
expect_result "$AUTH_ERR" "clock: replay guard in 2100: today's right code refused"
expect_log "clock: logged as a replay" decision=deny reason=totp-replay
expect_state alice "^last_step $far_step\$" "clock: the replay guard is not moved back"

# A lock until 2100: in force now and with the clock a year ahead.
put_state bob "enrolled $ISO_NOW" "failures 5" "locked_until 2100-01-01T00:00:00Z"
sd_pam -I rhost=198.51.100.7 sshd bob <<<"$(sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "clock: locked until 2100: refused"
expect_not_in "Verification code" "clock: locked: no prompt"
SD_FAKETIME=+365d sd_pam -I rhost=198.51.100.7 sshd bob <<<"$(SD_FAKETIME=+365d sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "clock: locked until 2100: still refused a year ahead"
expect_state bob "^locked_until 2100-01-01T00:00:00Z\$" "clock: the lock is kept"

# A lock taken now stays in force with the clock set back an hour (it was
# set 15 minutes ahead of the time it was taken).
sd_ctl unlock bob
for i in 1 2 3 4 5; do
	sd_pam -I rhost=198.51.100.7 sshd bob <<<"$(sd_wrong_code "$SECRET_B")"
done
expect_state bob "^locked_until " "clock: five wrong codes lock bob"
SD_FAKETIME=-1h sd_pam -I rhost=198.51.100.7 sshd bob <<<"$(SD_FAKETIME=-1h sd_code "$SECRET_B")"
expect_result "$AUTH_ERR" "clock: clock set back an hour: still locked"
expect_not_in "Verification code" "clock: clock set back: no prompt"

# Grace that started in the future (the clock was ahead at the first
# sign-in): never more than grace_days left, and over once that many days
# have passed since the latest time on record.
put_state dave "grace_start 2100-01-01T00:00:00Z"
sd_pam sshd dave <<<""
days=$(printf '%s\n' "$OUT" | sed -n 's/.*(\([0-9]*\) days\{0,1\} left.*/\1/p' | head -n 1)
if [ -n "$days" ] && [ "$days" -le 14 ]; then
	pass "clock: grace start in 2100: at most 14 days left ($days)"
elif [ "$RC" -ne 0 ]; then
	pass "clock: grace start in 2100: refused"
else
	fail "clock: grace start in 2100: more than 14 days left"
fi
# Times past year 9999 cannot be written as ISO-8601: such a state is
# refused as corrupt, never taken as a new user.
put_state dave "grace_start 10000-01-01T00:00:00Z"
sd_pam sshd dave <<<""
expect_result "$AUTH_ERR" "clock: grace start past 9999: refused"
expect_log "clock: past 9999 is a state error" decision=deny rule=8
finish
