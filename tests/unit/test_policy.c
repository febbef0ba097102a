#include "config.h"

/* test_policy.c - every row of the decision table (SPEC.md, auth phase rows
 * 1-13) and every account-phase rule, with hand-built facts and state and a
 * fixed clock. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/policy.h"
#include "../../src/lib/state.h"

#define DAY ((time_t)86400)
#define NOW ((time_t)1795442700) /* 2026-11-23T14:05:00Z */
#define HOME "192.0.2.0/24"

struct ctx {
	struct sd_config cfg;
	struct sd_state st;
	struct sd_facts f;
	struct sd_verdict v;
};

/* An enrolled user signing in to a standard service from a location where
 * TOTP was passed yesterday: row 13 unless a test changes something. */
static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	if (x == NULL || sd_config_defaults(&x->cfg) != 0)
		return -1;
	x->st.grace_start = NOW - 120 * DAY;
	x->st.enrolled = NOW - 100 * DAY;
	x->st.last_step = (uint64_t)(NOW - DAY) / 30;
	x->st.last_totp = NOW - DAY;
	x->st.nloc = 1;
	snprintf(x->st.loc[0].net, sizeof(x->st.loc[0].net), "%s", HOME);
	x->st.loc[0].last_totp = NOW - DAY;

	x->f.phase = SD_PHASE_AUTH;
	x->f.config_ok = 1;
	x->f.cfg = &x->cfg;
	x->f.name_ok = 1;
	x->f.user_known = 1;
	x->f.nss_error = 0;
	x->f.role = SD_ROLE_USER;
	x->f.cls = SD_CLASS_STANDARD;
	x->f.state_ok = 1;
	x->f.st = &x->st;
	x->f.location = HOME;
	x->f.location_ok = 1;
	x->f.trusted = 0;
	x->f.now = NOW;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	sd_config_free(&x->cfg);
	free(x);
	return 0;
}

/* Make the user a new, not yet enrolled one (grace clock not started). */
static void not_enrolled(struct ctx *x)
{
	memset(&x->st, 0, sizeof(x->st));
}

static void decide(struct ctx *x)
{
	memset(&x->v, 0x5a, sizeof(x->v));
	sd_decide(&x->f, &x->v);
}

static void expect(struct ctx *x, enum sd_verdict_kind kind, int rule, const char *reason)
{
	decide(x);
	if (x->v.kind != kind || x->v.rule != rule || x->v.reason == NULL ||
	    strcmp(x->v.reason, reason) != 0)
		fail_msg("got %s rule %d \"%s\", want %s rule %d \"%s\"",
			 sd_verdict_name(x->v.kind), x->v.rule,
			 x->v.reason ? x->v.reason : "(null)", sd_verdict_name(kind), rule, reason);
}

/* ---- the baseline ---------------------------------------------------- */

static void test_row13_allow(void **state)
{
	struct ctx *x = *state;

	expect(x, SD_V_ALLOW, 13, "known-location");
	assert_int_equal(x->v.why, 0);
	assert_int_equal(x->v.start_grace, 0);
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 0);
}

/* ---- rows 1-7: the gate ---------------------------------------------- */

static void test_row1_disabled(void **state)
{
	struct ctx *x = *state;

	x->cfg.enabled = 0;
	expect(x, SD_V_IGNORE, 1, "disabled");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 1);
	/* before everything that follows */
	x->f.name_ok = 0;
	x->f.user_known = 0;
	x->f.nss_error = 1;
	x->f.cls = SD_CLASS_LEGACY;
	x->f.state_ok = 0;
	x->f.st = NULL;
	expect(x, SD_V_IGNORE, 1, "disabled");
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_IGNORE, 1, "disabled");
}

/* A config that is not valid cannot be trusted to say "enabled = false":
 * row 2 decides whatever the half-read config says. */
static void test_row2_config_error(void **state)
{
	struct ctx *x = *state;

	x->f.config_ok = 0;
	expect(x, SD_V_DENY, 2, "config-error");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 1);
	x->cfg.enabled = 0;
	expect(x, SD_V_DENY, 2, "config-error");
	/* cfg is not valid when config_ok is 0: it must not be read */
	x->f.cfg = NULL;
	x->f.role = SD_ROLE_EXEMPT;
	x->f.cls = SD_CLASS_NONINTERACTIVE;
	expect(x, SD_V_DENY, 2, "config-error");
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_DENY, 2, "config-error");
}

static void test_row3_invalid_user(void **state)
{
	struct ctx *x = *state;

	x->f.name_ok = 0;
	expect(x, SD_V_DENY, 3, "invalid-user");
	/* before the NSS answer and the role */
	x->f.user_known = 0;
	x->f.role = SD_ROLE_EXEMPT;
	expect(x, SD_V_DENY, 3, "invalid-user");
	x->f.nss_error = 1;
	expect(x, SD_V_DENY, 3, "invalid-user");
}

static void test_row4_unknown_user(void **state)
{
	struct ctx *x = *state;

	x->f.user_known = 0;
	expect(x, SD_V_UNKNOWN_USER, 4, "unknown-user");
	/* the role of an unknown user does not matter */
	x->f.role = SD_ROLE_BREAKGLASS;
	expect(x, SD_V_UNKNOWN_USER, 4, "unknown-user");
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_UNKNOWN_USER, 4, "unknown-user");
}

static void test_row4_nss_error_denies(void **state)
{
	struct ctx *x = *state;

	/* a failed lookup is not "unknown": deny */
	x->f.user_known = 0;
	x->f.nss_error = 1;
	expect(x, SD_V_DENY, 4, "nss-error");
	x->f.role = SD_ROLE_EXEMPT;
	expect(x, SD_V_DENY, 4, "nss-error");
}

static void test_row5_exempt_breakglass(void **state)
{
	struct ctx *x = *state;

	x->f.role = SD_ROLE_EXEMPT;
	expect(x, SD_V_IGNORE, 5, "exempt");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 1);
	x->f.role = SD_ROLE_BREAKGLASS;
	expect(x, SD_V_IGNORE, 5, "breakglass");

	/* exempt beats legacy, noninteractive, and anything in the state */
	x->f.role = SD_ROLE_EXEMPT;
	x->f.cls = SD_CLASS_LEGACY;
	expect(x, SD_V_IGNORE, 5, "exempt");
	x->f.role = SD_ROLE_BREAKGLASS;
	expect(x, SD_V_IGNORE, 5, "breakglass");
	x->f.cls = SD_CLASS_NONINTERACTIVE;
	expect(x, SD_V_IGNORE, 5, "breakglass");
	x->f.cls = SD_CLASS_PRIVILEGED;
	x->f.state_ok = 0;
	x->f.st = NULL;
	expect(x, SD_V_IGNORE, 5, "breakglass");
	x->f.phase = SD_PHASE_ACCOUNT;
	x->f.role = SD_ROLE_EXEMPT;
	expect(x, SD_V_IGNORE, 5, "exempt");
}

static void test_row6_legacy(void **state)
{
	struct ctx *x = *state;

	x->f.cls = SD_CLASS_LEGACY;
	expect(x, SD_V_DENY, 6, "legacy-service");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 1);
	/* for admins too, and without reading the state */
	x->f.role = SD_ROLE_ADMIN;
	expect(x, SD_V_DENY, 6, "legacy-service");
	x->f.state_ok = 0;
	x->f.st = NULL;
	expect(x, SD_V_DENY, 6, "legacy-service");
	/* and in the account phase (SSH keys skip auth) */
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_DENY, 6, "legacy-service");
}

static void test_row7_noninteractive(void **state)
{
	struct ctx *x = *state;

	x->f.cls = SD_CLASS_NONINTERACTIVE;
	expect(x, SD_V_IGNORE, 7, "noninteractive");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 1);
	/* never blocked by the grace rule, a lock or a bad state */
	not_enrolled(x);
	x->st.grace_start = NOW - 100 * DAY;
	x->st.locked_until = NOW + DAY;
	x->st.compromised = 1;
	expect(x, SD_V_IGNORE, 7, "noninteractive");
	x->f.state_ok = 0;
	x->f.st = NULL;
	expect(x, SD_V_IGNORE, 7, "noninteractive");
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_IGNORE, 7, "noninteractive");
}

/* ---- row 8 ----------------------------------------------------------- */

static void test_row8_state_error(void **state)
{
	struct ctx *x = *state;

	x->f.state_ok = 0;
	expect(x, SD_V_DENY, 8, "state-error");
	assert_int_equal(sd_decide_gate(&x->f, &x->v), 0);
	/* never treated as a new user in grace */
	not_enrolled(x);
	expect(x, SD_V_DENY, 8, "state-error");
	x->f.st = NULL;
	expect(x, SD_V_DENY, 8, "state-error");
	x->f.state_ok = 1;
	expect(x, SD_V_DENY, 8, "state-error");
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_DENY, 8, "state-error");
	x->f.state_ok = 0;
	x->f.st = &x->st;
	expect(x, SD_V_DENY, 8, "state-error");
}

/* ---- row 9 ----------------------------------------------------------- */

static void test_row9_locked(void **state)
{
	struct ctx *x = *state;

	x->st.failures = 5;
	x->st.locked_until = NOW + 600;
	expect(x, SD_V_DENY, 9, "locked");
	assert_int_equal(x->v.until, NOW + 600);
	x->st.locked_until = NOW + 1;
	expect(x, SD_V_DENY, 9, "locked");
	assert_int_equal(x->v.until, NOW + 1);
	/* a lock beats everything after it: admin, privileged, grace */
	x->f.role = SD_ROLE_ADMIN;
	x->f.cls = SD_CLASS_PRIVILEGED;
	expect(x, SD_V_DENY, 9, "locked");
	x->st.enrolled = 0;
	expect(x, SD_V_DENY, 9, "locked");
	/* and the other row-9 reason */
	x->st.compromised = 1;
	expect(x, SD_V_DENY, 9, "locked");
}

static void test_row9_lock_expired(void **state)
{
	struct ctx *x = *state;

	/* expired exactly now, or earlier: no longer locked */
	x->st.locked_until = NOW;
	expect(x, SD_V_ALLOW, 13, "known-location");
	x->st.locked_until = NOW - 3600;
	expect(x, SD_V_ALLOW, 13, "known-location");
	/* with the failures still counted, TOTP is asked for */
	x->st.failures = 5;
	expect(x, SD_V_PROMPT, 12, "totp-failures");
}

static void test_row9_compromised_not_enrolled(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.compromised = 1;
	x->st.compromised_at = NOW - 60;
	expect(x, SD_V_DENY, 9, "compromised-not-enrolled");
	assert_int_equal(x->v.start_grace, 0);
	/* in grace: still no sign-in without a second factor */
	x->st.grace_start = NOW - DAY;
	expect(x, SD_V_DENY, 9, "compromised-not-enrolled");
	assert_int_equal(x->v.start_grace, 0);
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 9, "compromised-not-enrolled");
}

/* Compromised and enrolled is row 12: TOTP first, then the password. */
static void test_row12_compromised_enrolled(void **state)
{
	struct ctx *x = *state;

	x->st.compromised = 1;
	x->st.compromised_at = NOW - 60;
	expect(x, SD_V_PROMPT, 12, "totp-compromised");
	assert_int_equal(x->v.why, SD_WHY_COMPROMISED);
}

/* ---- rows 10 and 11: grace ------------------------------------------- */

static void test_row10_grace_offer(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.grace_start = NOW - 3 * DAY;
	x->cfg.enrollment.at_login = 1;
	expect(x, SD_V_ENROLL_OFFER, 10, "grace");
	assert_int_equal(x->v.days_left, 11);
	assert_int_equal(x->v.start_grace, 0);
	assert_int_equal(x->v.end_grace, 0);
}

static void test_row10_grace_no_enrol_at_login(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.grace_start = NOW - 3 * DAY;
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_ALLOW, 10, "grace");
	assert_int_equal(x->v.days_left, 11);
	assert_int_equal(x->v.start_grace, 0);
}

static void test_row10_grace_not_started(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	expect(x, SD_V_ENROLL_OFFER, 10, "grace");
	assert_int_equal(x->v.start_grace, 1);
	assert_int_equal(x->v.days_left, 14);
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_ALLOW, 10, "grace");
	assert_int_equal(x->v.start_grace, 1);
	x->cfg.grace_days = 30;
	expect(x, SD_V_ALLOW, 10, "grace");
	assert_int_equal(x->v.days_left, 30);
}

/* Not enrolled means no secret: no TOTP prompt, whatever the reasons. */
static void test_row10_before_row12(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.grace_start = NOW - DAY;
	x->f.role = SD_ROLE_ADMIN;
	x->f.cls = SD_CLASS_PRIVILEGED;
	x->f.location = "203.0.113.0/24";
	expect(x, SD_V_ENROLL_OFFER, 10, "grace");
}

static void test_row11_grace_over(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.grace_start = NOW - 14 * DAY; /* over exactly now */
	x->cfg.enrollment.at_login = 1;
	expect(x, SD_V_ENROLL_REQUIRED, 11, "grace-expired");
	assert_int_equal(x->v.start_grace, 0);
	assert_int_equal(x->v.end_grace, 1); /* the end is recorded the first time */
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(x->v.end_grace, 1);
	x->st.grace_start = NOW - 400 * DAY;
	expect(x, SD_V_DENY, 11, "grace-expired");
	x->cfg.enrollment.at_login = 1;
	expect(x, SD_V_ENROLL_REQUIRED, 11, "grace-expired");

	/* one second before the end: still in grace, one day (rounded up) left */
	x->st.grace_start = NOW - 14 * DAY + 1;
	expect(x, SD_V_ENROLL_OFFER, 10, "grace");
	assert_int_equal(x->v.days_left, 1);
}

static void test_grace_days_zero(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->cfg.grace_days = 0;
	/* no grace at all, not even at the first sign-in */
	expect(x, SD_V_ENROLL_REQUIRED, 11, "grace-expired");
	assert_int_equal(x->v.start_grace, 0);
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, NOW), 1);
	x->st.grace_start = NOW;
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, NOW), 1);
	expect(x, SD_V_DENY, 11, "grace-expired");
	/* enrolled users are unaffected */
	x->st.enrolled = NOW - DAY;
	x->st.nloc = 1;
	snprintf(x->st.loc[0].net, sizeof(x->st.loc[0].net), "%s", HOME);
	x->st.loc[0].last_totp = NOW - DAY;
	expect(x, SD_V_ALLOW, 13, "known-location");
}

/* Once the end of grace is recorded, grace stays over: neither a clock set
 * back nor a larger grace_days reopens it, and it is recorded only once. */
static void test_grace_ended_recorded(void **state)
{
	struct ctx *x = *state;

	not_enrolled(x);
	x->st.grace_start = NOW - 20 * DAY;
	x->st.grace_ended = NOW - 6 * DAY;
	expect(x, SD_V_ENROLL_REQUIRED, 11, "grace-expired");
	assert_int_equal(x->v.end_grace, 0);
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(x->v.end_grace, 0);

	/* the clock is set back to the middle of the old grace period */
	x->f.now = NOW - 15 * DAY;
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, x->f.now), 1);
	expect(x, SD_V_DENY, 11, "grace-expired");

	/* grace_days raised afterwards */
	x->f.now = NOW;
	x->cfg.grace_days = 60;
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, NOW), 1);
	expect(x, SD_V_DENY, 11, "grace-expired");

	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(x->v.end_grace, 0);
	x->st.grace_ended = 0;
	x->cfg.grace_days = 14;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(x->v.end_grace, 1);
}

static void test_days_left_rounding(void **state)
{
	static const struct {
		time_t ago;
		int left;
	} cases[] = {
		{0, 14},       {1, 14},	      {DAY / 2, 14},	       {DAY - 1, 14},	  {DAY, 13},
		{DAY + 1, 13}, {13 * DAY, 1}, {13 * DAY + DAY / 2, 1}, {14 * DAY - 1, 1},
	};
	struct ctx *x = *state;
	size_t i;

	not_enrolled(x);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x->st.grace_start = NOW - cases[i].ago;
		expect(x, SD_V_ENROLL_OFFER, 10, "grace");
		if (x->v.days_left != cases[i].left)
			fail_msg("grace started %lld s ago: %d days left, want %d",
				 (long long)cases[i].ago, x->v.days_left, cases[i].left);
	}
}

/* ---- the clock set back ---------------------------------------------- */

static void test_effective_now(void **state)
{
	struct sd_state st;

	memset(&st, 0, sizeof(st));
	assert_int_equal(sd_effective_now(&st, NOW), NOW);
	st.grace_start = NOW - DAY;
	st.last_totp = NOW - 10;
	assert_int_equal(sd_effective_now(&st, NOW), NOW);

	/* any recorded time later than NOW wins */
	st.grace_start = NOW + 100;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 100);
	st.grace_ended = NOW + 150;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 150);
	st.enrolled = NOW + 200;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 200);
	st.last_totp = NOW + 300;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 300);
	st.compromised_at = NOW + 400;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 400);
	st.nloc = 2;
	st.loc[1].last_totp = NOW + 500;
	assert_int_equal(sd_effective_now(&st, NOW), NOW + 500);
	/* a later clock is used as is */
	assert_int_equal(sd_effective_now(&st, NOW + 10 * DAY), NOW + 10 * DAY);
	/* a lock expiry is in the future by design and does not count */
	memset(&st, 0, sizeof(st));
	st.locked_until = NOW + DAY;
	assert_int_equal(sd_effective_now(&st, NOW), NOW);
}

static void test_grace_over_function(void **state)
{
	struct ctx *x = *state;
	struct sd_state st;

	memset(&st, 0, sizeof(st));
	/* not started: not over (it starts at this sign-in) */
	assert_int_equal(sd_grace_over(&x->cfg, &st, NOW), 0);
	st.grace_start = NOW - 14 * DAY + 1;
	assert_int_equal(sd_grace_over(&x->cfg, &st, NOW), 0);
	st.grace_start = NOW - 14 * DAY;
	assert_int_equal(sd_grace_over(&x->cfg, &st, NOW), 1);
	x->cfg.grace_days = 0;
	memset(&st, 0, sizeof(st));
	assert_int_equal(sd_grace_over(&x->cfg, &st, NOW), 1);
}

static void test_clock_back_before_grace_start(void **state)
{
	struct ctx *x = *state;

	/* grace started at NOW; the clock now says ten days earlier */
	not_enrolled(x);
	x->st.grace_start = NOW;
	x->f.now = NOW - 10 * DAY;
	expect(x, SD_V_ENROLL_OFFER, 10, "grace");
	assert_int_equal(x->v.days_left, 14); /* not 24 */
	assert_int_equal(x->v.start_grace, 0);
}

static void test_clock_back_cannot_reopen_grace(void **state)
{
	struct ctx *x = *state;

	/* grace started 20 days before a recorded event; the clock is then set
	 * back to one day after the start */
	not_enrolled(x);
	x->st.grace_start = NOW - 20 * DAY;
	x->st.compromised_at = 0;
	x->st.last_totp = NOW;
	x->f.now = NOW - 19 * DAY;
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, x->f.now), 1);
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");

	/* the same with a location time as the latest record */
	x->st.last_totp = 0;
	x->st.nloc = 1;
	snprintf(x->st.loc[0].net, sizeof(x->st.loc[0].net), "%s", HOME);
	x->st.loc[0].last_totp = NOW - 5 * DAY;
	assert_int_equal(sd_grace_over(&x->cfg, &x->st, x->f.now), 1);
	expect(x, SD_V_DENY, 11, "grace-expired");

	/* account phase alike */
	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_DENY, 11, "grace-expired");
}

/* ---- row 12: why TOTP is required ------------------------------------ */

static void expect_prompt(struct ctx *x, const char *reason, unsigned why)
{
	expect(x, SD_V_PROMPT, 12, reason);
	if (x->v.why != why)
		fail_msg("why = %#x, want %#x", x->v.why, why);
}

static void test_row12_admin(void **state)
{
	struct ctx *x = *state;

	x->f.role = SD_ROLE_ADMIN;
	expect_prompt(x, "totp-admin", SD_WHY_ADMIN);
	assert_string_equal(sd_why_name(x->v.why), "admin");
}

static void test_row12_privileged(void **state)
{
	struct ctx *x = *state;

	x->f.cls = SD_CLASS_PRIVILEGED;
	expect_prompt(x, "totp-privileged", SD_WHY_PRIVILEGED);
	assert_string_equal(sd_why_name(x->v.why), "privileged");
}

static void test_row12_failures(void **state)
{
	struct ctx *x = *state;

	x->st.failures = 1;
	expect_prompt(x, "totp-failures", SD_WHY_FAILURES);
	assert_string_equal(sd_why_name(x->v.why), "failures");
}

static void test_row12_unknown_location(void **state)
{
	struct ctx *x = *state;

	x->f.location = "203.0.113.0/24";
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
	assert_string_equal(sd_why_name(x->v.why), "new-location");
	/* no locations at all */
	x->st.nloc = 0;
	x->f.location = HOME;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
}

static void test_row12_location_expired(void **state)
{
	struct ctx *x = *state;

	/* remembered for remember_days (30) after the last TOTP from there */
	x->st.loc[0].last_totp = NOW - 30 * DAY + 1;
	expect(x, SD_V_ALLOW, 13, "known-location");
	x->st.loc[0].last_totp = NOW - 30 * DAY;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
	x->st.loc[0].last_totp = NOW - 90 * DAY;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
	x->cfg.risk.remember_days = 100;
	expect(x, SD_V_ALLOW, 13, "known-location");
}

static void test_row12_location_in_future(void **state)
{
	struct ctx *x = *state;

	/* a time after now (clock set back) is not "remembered forever" */
	x->st.loc[0].last_totp = NOW + 1;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
	x->st.loc[0].last_totp = NOW + 365 * DAY;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
	x->st.loc[0].last_totp = NOW;
	expect(x, SD_V_ALLOW, 13, "known-location");
}

static void test_row12_invalid_location(void **state)
{
	struct ctx *x = *state;

	/* an implausible PAM_RHOST is never a remembered location, even if the
	 * state has an entry of the same name */
	x->st.nloc = 2;
	snprintf(x->st.loc[1].net, sizeof(x->st.loc[1].net), "invalid");
	x->st.loc[1].last_totp = NOW - 60;
	x->f.location = "invalid";
	x->f.location_ok = 0;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
}

static void test_row12_trusted_network(void **state)
{
	struct ctx *x = *state;

	/* a trusted network suppresses the location reason ... */
	x->f.location = "10.9.8.0/24";
	x->f.trusted = 1;
	expect(x, SD_V_ALLOW, 13, "known-location");
	x->f.location_ok = 0;
	expect(x, SD_V_ALLOW, 13, "known-location");
	x->f.location_ok = 1;
	/* ... and only that one */
	x->f.role = SD_ROLE_ADMIN;
	expect_prompt(x, "totp-admin", SD_WHY_ADMIN);
	x->f.role = SD_ROLE_USER;
	x->f.cls = SD_CLASS_PRIVILEGED;
	expect_prompt(x, "totp-privileged", SD_WHY_PRIVILEGED);
	x->f.cls = SD_CLASS_STANDARD;
	x->st.failures = 2;
	expect_prompt(x, "totp-failures", SD_WHY_FAILURES);
	x->st.failures = 0;
	x->st.compromised = 1;
	expect_prompt(x, "totp-compromised", SD_WHY_COMPROMISED);
}

static void test_row12_reason_order(void **state)
{
	struct ctx *x = *state;

	x->f.role = SD_ROLE_ADMIN;
	x->f.cls = SD_CLASS_PRIVILEGED;
	x->st.compromised = 1;
	x->st.failures = 3;
	x->f.location = "203.0.113.0/24";
	expect_prompt(x, "totp-admin",
		      SD_WHY_ADMIN | SD_WHY_PRIVILEGED | SD_WHY_COMPROMISED | SD_WHY_FAILURES |
			      SD_WHY_LOCATION);
	x->f.role = SD_ROLE_USER;
	expect_prompt(x, "totp-privileged",
		      SD_WHY_PRIVILEGED | SD_WHY_COMPROMISED | SD_WHY_FAILURES | SD_WHY_LOCATION);
	x->f.cls = SD_CLASS_STANDARD;
	expect_prompt(x, "totp-compromised",
		      SD_WHY_COMPROMISED | SD_WHY_FAILURES | SD_WHY_LOCATION);
	x->st.compromised = 0;
	expect_prompt(x, "totp-failures", SD_WHY_FAILURES | SD_WHY_LOCATION);
	x->st.failures = 0;
	expect_prompt(x, "totp-new-location", SD_WHY_LOCATION);
}

/* ---- the account phase ----------------------------------------------- */

static void test_account_enrolled(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	expect(x, SD_V_ALLOW, 13, "enrolled");
	assert_int_equal(x->v.start_grace, 0);
	/* the account phase never prompts */
	x->f.role = SD_ROLE_ADMIN;
	x->f.cls = SD_CLASS_PRIVILEGED;
	x->f.location = "203.0.113.0/24";
	x->st.failures = 2;
	expect(x, SD_V_ALLOW, 13, "enrolled");
}

static void test_account_grace(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	not_enrolled(x);
	/* the first successful sign-in starts the grace clock */
	expect(x, SD_V_ALLOW, 10, "grace");
	assert_int_equal(x->v.start_grace, 1);
	assert_int_equal(x->v.end_grace, 0);
	assert_int_equal(x->v.days_left, 14);
	x->st.grace_start = NOW - 4 * DAY;
	expect(x, SD_V_ALLOW, 10, "grace");
	assert_int_equal(x->v.start_grace, 0);
	assert_int_equal(x->v.days_left, 10);
}

static void test_account_grace_expired(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	not_enrolled(x);
	x->st.grace_start = NOW - 14 * DAY;
	/* there is no enrolment in the account phase: deny either way */
	x->cfg.enrollment.at_login = 1;
	expect(x, SD_V_DENY, 11, "grace-expired");
	x->cfg.enrollment.at_login = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");
	x->cfg.grace_days = 0;
	x->st.grace_start = 0;
	expect(x, SD_V_DENY, 11, "grace-expired");
	assert_int_equal(x->v.start_grace, 0);
}

static void test_account_compromised_recent_totp(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	x->st.compromised = 1;
	x->st.compromised_at = NOW - DAY;
	x->st.last_totp = NOW - 10;
	expect(x, SD_V_NEW_AUTHTOK, 9, "compromised-change-password");
	x->st.last_totp = NOW;
	expect(x, SD_V_NEW_AUTHTOK, 9, "compromised-change-password");
	x->st.last_totp = NOW - SD_RESET_WINDOW_SECONDS;
	expect(x, SD_V_NEW_AUTHTOK, 9, "compromised-change-password");
}

static void test_account_compromised_password_reset(void **state)
{
	struct ctx *x = *state;

	/* The password was changed: no more password-change loop, but the
	 * account stays closed until an admin dismisses the flag. */
	x->f.phase = SD_PHASE_ACCOUNT;
	x->st.compromised = 1;
	x->st.compromised_at = NOW - DAY;
	x->st.password_reset = 1;
	x->st.last_totp = NOW - 10;
	expect(x, SD_V_DENY, 9, "compromised-awaiting-dismissal");
	x->st.compromised = 0;
	expect(x, SD_V_ALLOW, 13, "enrolled");
}

static void test_account_compromised_old_totp(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	x->st.compromised = 1;
	x->st.compromised_at = NOW - DAY;
	x->st.last_totp = NOW - SD_RESET_WINDOW_SECONDS - 1;
	expect(x, SD_V_DENY, 9, "compromised");
	x->st.last_totp = NOW - 30 * DAY;
	expect(x, SD_V_DENY, 9, "compromised");
	x->st.last_totp = 0;
	expect(x, SD_V_DENY, 9, "compromised");
}

static void test_account_compromised_future_totp(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	x->st.compromised = 1;
	x->st.compromised_at = NOW - DAY;
	x->st.last_totp = NOW + 1;
	expect(x, SD_V_DENY, 9, "compromised");
	x->st.last_totp = NOW + 100 * DAY;
	expect(x, SD_V_DENY, 9, "compromised");
}

static void test_account_compromised_not_enrolled(void **state)
{
	struct ctx *x = *state;

	x->f.phase = SD_PHASE_ACCOUNT;
	not_enrolled(x);
	x->st.grace_start = NOW - DAY;
	x->st.compromised = 1;
	x->st.compromised_at = NOW - 60;
	x->st.last_totp = NOW - 10; /* without a secret this cannot be a TOTP */
	expect(x, SD_V_DENY, 9, "compromised");
	assert_int_equal(x->v.start_grace, 0);
}

/* ---- names ----------------------------------------------------------- */

static void test_names(void **state)
{
	assert_string_equal(sd_verdict_name(SD_V_DENY), "deny");
	assert_string_equal(sd_verdict_name(SD_V_IGNORE), "ignore");
	assert_string_equal(sd_verdict_name(SD_V_ALLOW), "allow");
	assert_string_equal(sd_verdict_name(SD_V_UNKNOWN_USER), "unknown-user");
	assert_string_equal(sd_verdict_name(SD_V_PROMPT), "prompt");
	assert_string_equal(sd_verdict_name(SD_V_ENROLL_OFFER), "enroll-offer");
	assert_string_equal(sd_verdict_name(SD_V_ENROLL_REQUIRED), "enroll-required");
	assert_string_equal(sd_verdict_name(SD_V_NEW_AUTHTOK), "new-authtok");
	assert_string_equal(sd_verdict_name((enum sd_verdict_kind)99), "?");

	assert_string_equal(sd_why_name(0), "none");
	assert_string_equal(sd_why_name(SD_WHY_ADMIN | SD_WHY_LOCATION), "admin");
	assert_string_equal(sd_why_name(SD_WHY_PRIVILEGED | SD_WHY_FAILURES), "privileged");
	assert_string_equal(sd_why_name(SD_WHY_COMPROMISED | SD_WHY_FAILURES), "compromised");
	assert_string_equal(sd_why_name(SD_WHY_FAILURES | SD_WHY_LOCATION), "failures");
	assert_string_equal(sd_why_name(SD_WHY_LOCATION), "new-location");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_row13_allow),
		T(test_row1_disabled),
		T(test_row2_config_error),
		T(test_row3_invalid_user),
		T(test_row4_unknown_user),
		T(test_row4_nss_error_denies),
		T(test_row5_exempt_breakglass),
		T(test_row6_legacy),
		T(test_row7_noninteractive),
		T(test_row8_state_error),
		T(test_row9_locked),
		T(test_row9_lock_expired),
		T(test_row9_compromised_not_enrolled),
		T(test_row12_compromised_enrolled),
		T(test_row10_grace_offer),
		T(test_row10_grace_no_enrol_at_login),
		T(test_row10_grace_not_started),
		T(test_row10_before_row12),
		T(test_row11_grace_over),
		T(test_grace_days_zero),
		T(test_grace_ended_recorded),
		T(test_days_left_rounding),
		T(test_effective_now),
		T(test_grace_over_function),
		T(test_clock_back_before_grace_start),
		T(test_clock_back_cannot_reopen_grace),
		T(test_row12_admin),
		T(test_row12_privileged),
		T(test_row12_failures),
		T(test_row12_unknown_location),
		T(test_row12_location_expired),
		T(test_row12_location_in_future),
		T(test_row12_invalid_location),
		T(test_row12_trusted_network),
		T(test_row12_reason_order),
		T(test_account_enrolled),
		T(test_account_grace),
		T(test_account_grace_expired),
		T(test_account_compromised_recent_totp),
		T(test_account_compromised_password_reset),
		T(test_account_compromised_old_totp),
		T(test_account_compromised_future_totp),
		T(test_account_compromised_not_enrolled),
		T(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
