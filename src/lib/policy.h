/* policy.h - the decision: facts + state + now -> verdict. Pure: no I/O, no
 * clock, no PAM. Every row of the decision table in pam_secdefaults(8) is
 * one branch here, in order, and one unit test. */
#ifndef SD_POLICY_H
#define SD_POLICY_H

#include <time.h>

#include "conf.h"
#include "state.h"
#include "user.h"

enum sd_phase { SD_PHASE_AUTH = 0, SD_PHASE_ACCOUNT };

enum sd_verdict_kind {
	SD_V_DENY = 0,	      /* the default: anything unexpected denies */
	SD_V_IGNORE,	      /* abstain */
	SD_V_ALLOW,	      /* success, no prompt */
	SD_V_UNKNOWN_USER,    /* not known to NSS */
	SD_V_PROMPT,	      /* ask for a TOTP (or recovery) code */
	SD_V_ENROLL_OFFER,    /* not enrolled, in grace: offer enrolment, skippable */
	SD_V_ENROLL_REQUIRED, /* not enrolled, grace over: enrol now or no sign-in */
	SD_V_NEW_AUTHTOK,     /* compromised, TOTP just passed: force a password change */
};

/* Why TOTP is required (SD_V_PROMPT); several can hold at once. */
enum {
	SD_WHY_ADMIN = 1,
	SD_WHY_PRIVILEGED = 2,
	SD_WHY_COMPROMISED = 4,
	SD_WHY_FAILURES = 8,
	SD_WHY_LOCATION = 16,
};

/* A compromised user who passed TOTP this recently may change the password. */
#define SD_RESET_WINDOW_SECONDS 300

struct sd_facts {
	enum sd_phase phase;
	/* Rows 1-7: gathered from config, the user name and NSS. */
	int config_ok;
	const struct sd_config *cfg; /* valid when config_ok */
	int name_ok;
	int user_known;
	int nss_error; /* the passwd lookup itself failed (not "unknown") */
	enum sd_role role;
	enum sd_class cls;
	/* Rows 8-13: gathered from the store. */
	int state_ok;
	const struct sd_state *st; /* valid when state_ok */
	const char *location;	   /* see sd_location_of */
	int location_ok;	   /* a location that may be remembered */
	int trusted;		   /* PAM_RHOST is in risk.trusted_networks */
	time_t now;
};

struct sd_verdict {
	enum sd_verdict_kind kind;
	int rule;	    /* the row of the decision table that decided */
	const char *reason; /* stable log key, e.g. "grace", "totp-admin" */
	unsigned why;	    /* SD_WHY_* for prompts */
	int days_left;	    /* grace days left (rounded up) */
	time_t until;	    /* lock expiry, grace end */
	int start_grace;    /* on success the caller records grace_start = now */
	int end_grace;	    /* the caller records grace_ended = now (once) */
};

/* Rows 1-7 (and the account-phase rules that need no state). Returns 1 when
 * one of them decides, 0 when the state is needed. */
int sd_decide_gate(const struct sd_facts *f, struct sd_verdict *v);

/* The whole table: rows 1-13 for auth, the account rules for account. */
void sd_decide(const struct sd_facts *f, struct sd_verdict *v);

/* The clock the grace rules use: never earlier than any time recorded in
 * the state, so setting the clock back cannot reopen grace. */
time_t sd_effective_now(const struct sd_state *st, time_t now);

/* 1 if the grace period is over at NOW. */
int sd_grace_over(const struct sd_config *c, const struct sd_state *st, time_t now);

const char *sd_verdict_name(enum sd_verdict_kind k);
/* "admin", "privileged", ... for the first reason in WHY. */
const char *sd_why_name(unsigned why);

#endif
