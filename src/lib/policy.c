/* policy.c - the decision table of pam_secdefaults(8), as a pure function. */
#include "config.h"

#include "policy.h"

#include <string.h>

#define DAY 86400

static void set(struct sd_verdict *v, enum sd_verdict_kind kind, int rule, const char *reason)
{
	v->kind = kind;
	v->rule = rule;
	v->reason = reason;
}

time_t sd_effective_now(const struct sd_state *st, time_t now)
{
	time_t t = now;
	size_t i;

	if (st->grace_start > t)
		t = st->grace_start;
	if (st->grace_ended > t)
		t = st->grace_ended;
	if (st->enrolled > t)
		t = st->enrolled;
	if (st->last_totp > t)
		t = st->last_totp;
	if (st->compromised_at > t)
		t = st->compromised_at;
	for (i = 0; i < st->nloc; i++)
		if (st->loc[i].last_totp > t)
			t = st->loc[i].last_totp;
	return t;
}

static time_t grace_end(const struct sd_config *c, const struct sd_state *st)
{
	return st->grace_start + (time_t)c->grace_days * DAY;
}

int sd_grace_over(const struct sd_config *c, const struct sd_state *st, time_t now)
{
	if (c->grace_days == 0 || st->grace_ended != 0)
		return 1;
	if (st->grace_start == 0)
		return 0; /* the clock starts at this sign-in */
	return sd_effective_now(st, now) >= grace_end(c, st);
}

static int grace_days_left(const struct sd_config *c, const struct sd_state *st, time_t now)
{
	time_t left;

	if (st->grace_start == 0)
		return c->grace_days;
	left = grace_end(c, st) - sd_effective_now(st, now);
	return left <= 0 ? 0 : (int)((left + DAY - 1) / DAY);
}

int sd_decide_gate(const struct sd_facts *f, struct sd_verdict *v)
{
	memset(v, 0, sizeof(*v));
	set(v, SD_V_DENY, 0, "internal");
	if (f->config_ok && !f->cfg->enabled) {
		set(v, SD_V_IGNORE, 1, "disabled");
		return 1;
	}
	if (!f->config_ok) {
		set(v, SD_V_DENY, 2, "config-error");
		return 1;
	}
	if (!f->name_ok) {
		set(v, SD_V_DENY, 3, "invalid-user");
		return 1;
	}
	if (f->nss_error) {
		set(v, SD_V_DENY, 4, "nss-error");
		return 1;
	}
	if (!f->user_known) {
		set(v, SD_V_UNKNOWN_USER, 4, "unknown-user");
		return 1;
	}
	if (f->role == SD_ROLE_EXEMPT || f->role == SD_ROLE_BREAKGLASS) {
		set(v, SD_V_IGNORE, 5, f->role == SD_ROLE_EXEMPT ? "exempt" : "breakglass");
		return 1;
	}
	if (f->cls == SD_CLASS_LEGACY) {
		set(v, SD_V_DENY, 6, "legacy-service");
		return 1;
	}
	if (f->cls == SD_CLASS_NONINTERACTIVE) {
		set(v, SD_V_IGNORE, 7, "noninteractive");
		return 1;
	}
	return 0;
}

static unsigned totp_why(const struct sd_facts *f)
{
	const struct sd_config *c = f->cfg;
	const struct sd_state *st = f->st;
	unsigned why = 0;

	if (f->role == SD_ROLE_ADMIN)
		why |= SD_WHY_ADMIN;
	if (f->cls == SD_CLASS_PRIVILEGED)
		why |= SD_WHY_PRIVILEGED;
	if (st->compromised)
		why |= SD_WHY_COMPROMISED;
	if (st->failures > 0)
		why |= SD_WHY_FAILURES;
	if (!f->trusted) {
		const struct sd_loc *l = f->location_ok ? sd_state_find_loc(st, f->location) : NULL;

		/* A remembered location expires remember_days after the last TOTP
		 * from it; a time in the future (clock set back) counts as not
		 * remembered rather than remembered forever. */
		if (l == NULL || l->last_totp > f->now ||
		    f->now - l->last_totp >= (time_t)c->risk.remember_days * DAY)
			why |= SD_WHY_LOCATION;
	}
	return why;
}

/* The log reason for the first (most important) reason in WHY. */
static const char *totp_reason(unsigned why)
{
	if (why & SD_WHY_ADMIN)
		return "totp-admin";
	if (why & SD_WHY_PRIVILEGED)
		return "totp-privileged";
	if (why & SD_WHY_COMPROMISED)
		return "totp-compromised";
	if (why & SD_WHY_FAILURES)
		return "totp-failures";
	return "totp-new-location";
}

static void decide_auth(const struct sd_facts *f, struct sd_verdict *v)
{
	const struct sd_config *c = f->cfg;
	const struct sd_state *st = f->st;
	int enrolled = st->enrolled != 0;

	if (st->locked_until != 0 && f->now < st->locked_until) {
		set(v, SD_V_DENY, 9, "locked");
		v->until = st->locked_until;
		return;
	}
	if (st->compromised && !enrolled) {
		set(v, SD_V_DENY, 9, "compromised-not-enrolled");
		return;
	}
	if (!enrolled && !sd_grace_over(c, st, f->now)) {
		set(v, c->enrollment.at_login ? SD_V_ENROLL_OFFER : SD_V_ALLOW, 10, "grace");
		v->days_left = grace_days_left(c, st, f->now);
		v->start_grace = st->grace_start == 0;
		return;
	}
	if (!enrolled) {
		v->end_grace = st->grace_ended == 0;
		if (c->enrollment.at_login)
			set(v, SD_V_ENROLL_REQUIRED, 11, "grace-expired");
		else
			set(v, SD_V_DENY, 11, "grace-expired");
		return;
	}
	v->why = totp_why(f);
	if (v->why != 0) {
		set(v, SD_V_PROMPT, 12, totp_reason(v->why));
		return;
	}
	set(v, SD_V_ALLOW, 13, "known-location");
}

static void decide_account(const struct sd_facts *f, struct sd_verdict *v)
{
	const struct sd_config *c = f->cfg;
	const struct sd_state *st = f->st;
	int enrolled = st->enrolled != 0;

	if (!enrolled && sd_grace_over(c, st, f->now)) {
		set(v, SD_V_DENY, 11, "grace-expired");
		v->end_grace = st->grace_ended == 0;
		return;
	}
	if (st->compromised && st->password_reset) {
		/* The password was changed; an admin still dismisses the flag. */
		set(v, SD_V_DENY, 9, "compromised-awaiting-dismissal");
		return;
	}
	if (st->compromised) {
		if (enrolled && st->last_totp != 0 && st->last_totp <= f->now &&
		    f->now - st->last_totp <= SD_RESET_WINDOW_SECONDS)
			set(v, SD_V_NEW_AUTHTOK, 9, "compromised-change-password");
		else
			set(v, SD_V_DENY, 9, "compromised");
		return;
	}
	set(v, SD_V_ALLOW, enrolled ? 13 : 10, enrolled ? "enrolled" : "grace");
	if (!enrolled) {
		v->days_left = grace_days_left(c, st, f->now);
		v->start_grace = st->grace_start == 0;
	}
}

void sd_decide(const struct sd_facts *f, struct sd_verdict *v)
{
	if (sd_decide_gate(f, v))
		return;
	if (!f->state_ok || f->st == NULL) {
		set(v, SD_V_DENY, 8, "state-error");
		return;
	}
	if (f->phase == SD_PHASE_ACCOUNT)
		decide_account(f, v);
	else
		decide_auth(f, v);
}

const char *sd_verdict_name(enum sd_verdict_kind k)
{
	static const char *const names[] = {
		"deny",	  "ignore",	  "allow",	     "unknown-user",
		"prompt", "enroll-offer", "enroll-required", "new-authtok"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

const char *sd_why_name(unsigned why)
{
	if (why & SD_WHY_ADMIN)
		return "admin";
	if (why & SD_WHY_PRIVILEGED)
		return "privileged";
	if (why & SD_WHY_COMPROMISED)
		return "compromised";
	if (why & SD_WHY_FAILURES)
		return "failures";
	if (why & SD_WHY_LOCATION)
		return "new-location";
	return "none";
}
