/* pam_secdefaults.c - the PAM entry points: gather facts, let the core
 * decide, talk to the user, map the verdict to a PAM code in one place.
 *
 * Everything that decides lives in src/lib (policy.c); this file only knows
 * PAM. Every path that is not an explicit allow or abstain ends in a deny. */
#include "config.h"

#include <errno.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../lib/enroll.h"
#include "../lib/leaked.h"
#include "../lib/recovery.h"
#include "../lib/request.h"
#include "../lib/totp.h"

struct args {
	const char *config;
	const char *service_tag;
	int debug;
	const char *bad; /* first unknown argument */
};

static void parse_args(int argc, const char **argv, struct args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0)
			a->config = argv[i] + 7;
		else if (strncmp(argv[i], "service_tag=", 12) == 0)
			a->service_tag = argv[i] + 12;
		else if (strcmp(argv[i], "debug") == 0)
			a->debug = 1;
		else if (a->bad == NULL)
			a->bad = argv[i];
	}
}

/* A string item, or NULL if it is not set. A failed lookup sets *FAILED:
 * the caller must deny, never go on as if the item were unset (a legacy
 * service with no PAM_SERVICE would pass for a standard one). */
static const char *item(pam_handle_t *pamh, int type, int *failed)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS) {
		*failed = 1;
		return NULL;
	}
	return v;
}

/* The one log line per decision. */
static void log_decision(pam_handle_t *pamh, const struct sd_request *r, const char *decision,
			 const char *reason)
{
	char user[SD_USER_MAX * 4 + 8], service[96], rhost[96];
	int prio = LOG_NOTICE;
	const struct sd_facts *f = &r->facts;

	sd_sanitize(user, sizeof(user), r->username);
	sd_sanitize(service, sizeof(service), r->service);
	sd_sanitize(rhost, sizeof(rhost), r->rhost);
	if (f->user_known && f->role == SD_ROLE_BREAKGLASS)
		prio = LOG_ALERT;
	else if (strcmp(decision, "deny") == 0)
		prio = LOG_WARNING;
	pam_syslog(pamh, prio,
		   "user=%s role=%s service=%s class=%s rhost=%s decision=%s reason=%s rule=%d",
		   user, f->user_known ? sd_role_name(f->role) : "-", service,
		   f->config_ok ? sd_class_name(f->cls) : "-", rhost, decision, reason,
		   r->verdict.rule);
}

/* The stable reason and the messages the user sees for a deny. */
static void tell_deny(pam_handle_t *pamh, const struct sd_request *r)
{
	const struct sd_verdict *v = &r->verdict;
	char when[SD_TIME_LEN];

	switch (v->rule) {
	case 6:
		pam_error(pamh, "Legacy authentication is blocked on this system: "
				"use a client that supports two-step verification.");
		break;
	case 9:
		if (strcmp(v->reason, "leaked-check-failed") == 0) {
			pam_error(pamh, "The password check service cannot be reached: try again "
					"later.");
		} else if (v->until != 0) {
			sd_time_format(v->until, when);
			pam_error(pamh, "Too many wrong verification codes: try again after %s.",
				  when);
		} else {
			pam_error(pamh, "Your account is blocked because its credentials may be "
					"compromised: contact an administrator.");
		}
		break;
	case 11:
		pam_error(pamh,
			  "Two-step verification is required and you have not set it up. Ask an "
			  "administrator to run: secdefaultsctl enroll %s",
			  r->user.name);
		break;
	default:
		break;
	}
}

/* Record that the grace clock started (START) or that grace ran out, under
 * the user's lock, after deciding again on the fresh state. */
static int mark_grace(struct sd_request *r, int start)
{
	int rc = sd_request_relock(r);

	if (rc != 0)
		return rc;
	if (start && r->verdict.start_grace) {
		r->st.grace_start = r->now;
		sd_request_note(r, &r->st);
		rc = sd_store_save(r->store, r->user.name, &r->st, 0, &r->err);
		r->verdict.days_left = r->cfg.grace_days;
	} else if (!start && r->verdict.end_grace) {
		r->st.grace_ended = r->now;
		rc = sd_store_save(r->store, r->user.name, &r->st, 0, &r->err);
	} else if (start && r->verdict.kind != SD_V_ALLOW && r->verdict.kind != SD_V_ENROLL_OFFER) {
		rc = -EAGAIN; /* the state changed under us: no success on stale facts */
		sd_err_set(&r->err, "state changed during sign-in");
	}
	sd_store_unlock(r->store);
	return rc;
}

static void wipe_free(char *p)
{
	if (p != NULL) {
		sd_wipe(p, strlen(p));
		free(p);
	}
}

/* Check the code RESP under the user's lock. The failure is counted before
 * the code is checked, so a process killed after the check cannot give a
 * free guess: in the state directory that count is renamed into place at
 * once and made durable only if it stands; in a compare-and-swap store
 * (etcd) it is held back and written in the one transaction that also
 * writes the outcome, before the module answers (SD_STORE_CAP_CAS in
 * store.h). When that transaction finds that another host or sign-in
 * changed the state first, everything is done again on fresh state (read,
 * decide, count, check: the replay guard then refuses a step the other
 * used), at most three times, then denied. With NEWKEY (enrolment at
 * sign-in) the code is checked against that key, which is stored only once
 * the code is right. Returns PAM_SUCCESS or PAM_AUTH_ERR; *REASON is the
 * log reason. */
static int check_code(pam_handle_t *pamh, struct sd_request *r, const char *resp,
		      const struct sd_secret *newkey, const char **reason)
{
	int enrolling = newkey != NULL;
	struct sd_secret sec;
	enum sd_totp_result res = SD_TOTP_ERROR;
	uint64_t step = 0;
	int rc, pamrc = PAM_AUTH_ERR, recovery_left = -1, sync_failed = 0;
	/* Whether the count is in the store before the code is checked (the
	 * directory) or only with the outcome (a compare-and-swap store, which
	 * then says nothing about the code unless that write succeeded). */
	int counted_first = !(sd_store_caps(r->store) & SD_STORE_CAP_CAS);

	for (int attempt = 0;; attempt++) {
		res = SD_TOTP_ERROR;
		step = 0;
		recovery_left = -1;
		sync_failed = 0;
		/* Decide again on fresh state: another sign-in may have locked the
		 * account, used a step or enrolled while the user was typing. (A
		 * compare-and-swap store need not read it again the first time:
		 * the writes below fail if it changed.) */
		rc = attempt == 0 ? sd_request_lock_fresh(r) : sd_request_relock(r);
		if (rc != 0) {
			*reason = "state-error";
			return PAM_AUTH_ERR;
		}
		if (enrolling ? (r->verdict.kind != SD_V_ENROLL_OFFER &&
				 r->verdict.kind != SD_V_ENROLL_REQUIRED)
			      : r->verdict.kind != SD_V_PROMPT) {
			*reason =
				r->verdict.kind == SD_V_DENY ? r->verdict.reason : "state-changed";
			sd_store_unlock(r->store);
			if (r->verdict.kind == SD_V_DENY)
				tell_deny(pamh, r);
			return PAM_AUTH_ERR;
		}
		if (enrolling) {
			sec = *newkey;
			rc = 0;
		} else {
			rc = sd_store_load_secret(r->store, r->user.name, &sec, &r->err);
		}
		if (rc != 0) {
			*reason = "secret-error";
			sd_store_unlock(r->store);
			return PAM_AUTH_ERR;
		}
		if (r->st.locked_until != 0 && r->now >= r->st.locked_until) {
			/* The lock ran out: a new series of attempts starts. */
			r->st.failures = 0;
			r->st.locked_until = 0;
		}
		r->st.failures++;
		if (r->st.failures >= (unsigned)r->cfg.lockout.max_failures)
			r->st.locked_until = r->now + (time_t)r->cfg.lockout.lock_minutes * 60;
		rc = sd_store_save(r->store, r->user.name, &r->st, SD_SAVE_NOSYNC, &r->err);
		if (rc == 0)
			res = sd_totp_verify(&r->cfg, sec.key, sec.keylen, r->now, resp,
					     r->st.last_step, &step);
		if (rc == 0 && res == SD_TOTP_BAD && !enrolling && sec.nrecovery > 0) {
			/* Not a current code: maybe one of the one-time recovery
			 * codes, burnt (durably) before the sign-in succeeds. */
			int idx = sd_recovery_match(&sec, resp);

			if (idx >= 0) {
				sd_recovery_remove(&sec, (size_t)idx);
				rc = sd_store_save_secret(r->store, r->user.name, &sec, &r->err);
				if (rc == 0) {
					recovery_left = (int)sec.nrecovery;
					res = SD_TOTP_OK;
				}
			} else if (idx < -1) {
				res = SD_TOTP_ERROR;
			}
		}
		if (rc == 0 && res == SD_TOTP_OK && enrolling)
			rc = sd_store_save_secret(r->store, r->user.name, &sec, &r->err);
		sd_wipe(&sec, sizeof(sec));
		if (rc == 0 && res == SD_TOTP_OK) {
			r->st.failures = 0;
			r->st.locked_until = 0;
			if (recovery_left < 0)
				r->st.last_step = step;
			r->st.last_totp = r->now;
			if (enrolling)
				r->st.enrolled = r->now;
			if (r->facts.location_ok)
				sd_state_touch_loc(&r->st, r->location, r->now);
			sd_request_note(r, &r->st);
			rc = sd_store_save(r->store, r->user.name, &r->st, 0, &r->err);
		} else if (rc == 0) {
			/* The count stands (written now if it was held back). */
			rc = sd_store_sync(r->store, r->user.name, &r->err);
			sync_failed = rc != 0;
		}
		if (rc != -EAGAIN || attempt >= 2)
			break;
		/* A fleet store said another host changed this user's state
		 * first: read it again and decide again (at most 3 times). */
		sd_store_unlock(r->store);
	}
	if (rc != 0 && !(sync_failed && counted_first)) {
		*reason = "state-error";
	} else if (rc == 0 && res == SD_TOTP_OK) {
		*reason = enrolling	       ? "enrolled-at-login"
			  : recovery_left >= 0 ? "recovery-code"
					       : r->verdict.reason;
		pamrc = PAM_SUCCESS;
		if (recovery_left >= 0)
			pam_info(pamh, "Recovery code accepted; %d left.", recovery_left);
	} else {
		*reason = res == SD_TOTP_REPLAY	 ? "totp-replay"
			  : res == SD_TOTP_ERROR ? "totp-error"
			  : enrolling		 ? "enroll-wrong-code"
						 : "totp-wrong-code";
		if (rc != 0)
			*reason = "state-error"; /* the count was written already */
		if (r->st.locked_until != 0) {
			char when[SD_TIME_LEN];

			sd_time_format(r->st.locked_until, when);
			pam_error(pamh,
				  "Wrong verification code. Too many failures: locked until %s.",
				  when);
		} else if (res == SD_TOTP_REPLAY) {
			pam_error(pamh, "That code was already used: wait for the next one.");
		} else {
			pam_error(pamh, "Wrong verification code.%s",
				  enrolling ? " Set-up is not finished." : "");
		}
	}
	sd_store_unlock(r->store);
	return pamrc;
}

/* Ask for a code and check it. */
static int do_totp(pam_handle_t *pamh, struct sd_request *r, const char **reason)
{
	char host[64] = "";
	char *resp = NULL;
	int rc;

	gethostname(host, sizeof(host) - 1);
	if (r->cfg.totp.issuer[0] != '\0')
		rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp,
				"Verification code (%s) for %s: ", r->cfg.totp.issuer,
				r->user.name);
	else
		rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp,
				"Verification code for %s@%s: ", r->user.name, host);
	if (rc != PAM_SUCCESS || resp == NULL) {
		*reason = "conversation-failed";
		wipe_free(resp);
		return PAM_AUTH_ERR;
	}
	rc = check_code(pamh, r, resp, NULL, reason);
	wipe_free(resp);
	return rc;
}

/* Enrolment at sign-in: show the URI and QR code, ask for the first code.
 * Offered in grace (an empty answer skips), required after it. */
static int do_enroll(pam_handle_t *pamh, struct sd_request *r, const char **reason)
{
	int required = r->verdict.kind == SD_V_ENROLL_REQUIRED;
	int days = r->verdict.days_left;
	struct sd_secret sec;
	char host[256] = "", b32[SD_MAX_KEY * 2] = "";
	char *uri = NULL, *resp = NULL, **qr = NULL;
	struct sd_err qr_err = {""};
	size_t nqr = 0, i;
	int rc;

	/* A new key for every offer, kept in memory and stored only when the
	 * user proves it with a code: nobody who sees an offer they do not
	 * finish learns the key the user will end up with. */
	memset(&sec, 0, sizeof(sec));
	sec.keylen = SD_NEW_KEY_BYTES;
	if (sd_new_key(sec.key, sec.keylen) != 0) {
		*reason = "enroll-error";
		pam_syslog(pamh, LOG_ERR, "enrolment at sign-in: cannot get random bytes");
		return PAM_AUTH_ERR;
	}
	if (r->verdict.start_grace && mark_grace(r, 1) != 0) {
		sd_wipe(&sec, sizeof(sec));
		*reason = "state-error";
		pam_syslog(pamh, LOG_ERR, "cannot start grace clock: %s", r->err.msg);
		return PAM_AUTH_ERR;
	}
	gethostname(host, sizeof(host) - 1);
	rc = sd_otpauth_uri(&r->cfg, r->user.name, host, sec.key, sec.keylen, &uri);
	if (rc == 0)
		rc = sd_base32_encode(sec.key, sec.keylen, b32, sizeof(b32));
	if (rc != 0) {
		*reason = "enroll-error";
		sd_wipe(&sec, sizeof(sec));
		wipe_free(uri);
		return PAM_AUTH_ERR;
	}
	if (required)
		pam_info(pamh, "Two-step verification is required. Set it up now to sign in.");
	else
		pam_info(pamh,
			 "Set up two-step verification now (%d day%s left before it is required).",
			 days, days == 1 ? "" : "s");
	pam_info(pamh, "Scan this QR code with an authenticator app, or enter the key %s", b32);
	/* Without the QR code the key and the URI still enrol. */
	if (sd_qr_lines(uri, 1, &qr, &nqr, &qr_err) == 0) {
		for (i = 0; i < nqr; i++)
			pam_info(pamh, "%s", qr[i]);
		sd_qr_free(qr, nqr);
	} else {
		pam_syslog(pamh, LOG_WARNING, "enrolment at sign-in: no QR code: %s", qr_err.msg);
	}
	pam_info(pamh, "%s", uri);
	sd_wipe(b32, sizeof(b32));
	wipe_free(uri);
	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp, "%s",
			required ? "Code from the app to finish set-up: "
				 : "Code from the app to finish set-up (Enter to skip): ");
	if ((rc != PAM_SUCCESS || resp == NULL) && required) {
		*reason = "conversation-failed";
		sd_wipe(&sec, sizeof(sec));
		wipe_free(resp);
		return PAM_AUTH_ERR;
	}
	/* In grace, a client that cannot answer (no terminal) skips, as an
	 * empty answer does: the password alone still admits during grace. */
	if (resp == NULL || resp[0] == '\0') {
		sd_wipe(&sec, sizeof(sec));
		wipe_free(resp);
		if (required) {
			*reason = "enroll-required";
			pam_error(pamh,
				  "Sign-in refused: two-step verification must be set up first.");
			return PAM_AUTH_ERR;
		}
		*reason = "grace-enroll-skipped";
		return PAM_SUCCESS;
	}
	rc = check_code(pamh, r, resp, &sec, reason);
	sd_wipe(&sec, sizeof(sec));
	wipe_free(resp);
	if (rc == PAM_SUCCESS)
		pam_info(pamh, "Two-step verification is set up.");
	return rc;
}

#define LEAKED_REASON "password found in leaked-password list"

/* With leaked.check, look the password the stack already has (PAM_AUTHTOK)
 * up in the leaked-password list. A hit flags the user compromised and the
 * decision is taken again on the flagged state; a failed lookup follows
 * leaked.on_error. Called once the state is loaded and before any prompt. */
static void check_leaked(pam_handle_t *pamh, struct sd_request *r)
{
	const void *pw = NULL;
	enum sd_leaked_result res;

	if (r->facts.phase != SD_PHASE_AUTH || !r->cfg.leaked.check || !r->facts.state_ok ||
	    r->st.compromised || r->verdict.rule < 9)
		return;
	if (pam_get_item(pamh, PAM_AUTHTOK, &pw) != PAM_SUCCESS || pw == NULL) {
		pam_syslog(
			pamh, LOG_WARNING,
			"leaked.check: no password in the stack for %s (put the module after the "
			"password module)",
			r->user.name);
		return;
	}
	res = sd_leaked_check(&r->cfg, pw, &r->err);
	if (res == SD_LEAKED_ERROR) {
		pam_syslog(pamh, LOG_ERR, "%s (leaked.on_error = %s)", r->err.msg,
			   r->cfg.leaked.on_error == SD_ONERR_DENY ? "deny" : "allow");
		if (r->cfg.leaked.on_error == SD_ONERR_DENY) {
			r->verdict.kind = SD_V_DENY;
			r->verdict.rule = 9;
			r->verdict.reason = "leaked-check-failed";
		}
		return;
	}
	if (res != SD_LEAKED_YES)
		return;
	pam_syslog(pamh, LOG_WARNING, "user=%s password found in leaked-password list%s",
		   r->user.name,
		   r->cfg.mode == SD_MODE_REPORT_ONLY ? " (report-only: not flagged)" : "");
	if (r->cfg.mode == SD_MODE_REPORT_ONLY)
		return;
	if (sd_request_relock(r) != 0) {
		r->verdict.kind = SD_V_DENY;
		r->verdict.rule = 8;
		r->verdict.reason = "state-error";
		return;
	}
	if (!r->st.compromised) {
		r->st.compromised = 1;
		r->st.compromised_at = r->now;
		r->st.password_reset = 0;
		snprintf(r->st.compromised_reason, sizeof(r->st.compromised_reason), "%s",
			 LEAKED_REASON);
		if (sd_store_save(r->store, r->user.name, &r->st, 0, &r->err) != 0) {
			pam_syslog(pamh, LOG_ERR, "cannot flag %s: %s", r->user.name, r->err.msg);
			r->verdict.kind = SD_V_DENY;
			r->verdict.rule = 8;
			r->verdict.reason = "state-error";
			sd_store_unlock(r->store);
			return;
		}
	}
	sd_store_unlock(r->store);
	sd_decide(&r->facts, &r->verdict);
}

static int run(pam_handle_t *pamh, enum sd_phase phase, int argc, const char **argv)
{
	struct sd_request r;
	struct args a;
	const char *user = NULL;
	const char *reason;
	int pamrc = phase == SD_PHASE_AUTH ? PAM_AUTH_ERR : PAM_PERM_DENIED;
	int deny = pamrc, item_failed = 0;
	size_t i;

	memset(&r, 0, sizeof(r));
	parse_args(argc, argv, &a);
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS)
		user = NULL;
	r.phase = phase;
	r.config_path = a.config;
	r.username = user;
	r.service = item(pamh, PAM_SERVICE, &item_failed);
	r.service_tag = a.service_tag;
	r.rhost = item(pamh, PAM_RHOST, &item_failed);
	r.now = sd_now();

	if (item_failed) {
		pam_syslog(pamh, LOG_ERR, "cannot read PAM_SERVICE or PAM_RHOST");
		r.verdict.kind = SD_V_DENY;
		r.verdict.reason = "pam-error";
	} else if (a.bad != NULL) {
		char arg[64];

		/* A mistyped argument must not silently weaken the stack. */
		sd_sanitize(arg, sizeof(arg), a.bad);
		pam_syslog(pamh, LOG_ERR, "unknown module argument \"%s\"", arg);
		r.verdict.kind = SD_V_DENY;
		r.verdict.rule = 2;
		r.verdict.reason = "config-error";
	} else if (!sd_request_gate(&r)) {
		/* The auth phase may prompt: a fleet store fetches the secret
		 * with the state (one round trip, see store.h). */
		sd_request_decide(&r, phase == SD_PHASE_AUTH ? SD_STORE_WITH_SECRET : 0);
		check_leaked(pamh, &r);
	}
	for (i = 0; i < r.problems.n; i++)
		pam_syslog(pamh, LOG_ERR, "%s", r.problems.v[i]);
	if (r.group_lookup_failed)
		pam_syslog(pamh, LOG_ERR, "group lookup failed for %s: treated as admin",
			   r.user.name);
	if (r.verdict.rule == 8)
		pam_syslog(pamh, LOG_ERR, "%s", r.err.msg);
	reason = r.verdict.reason;
	/* Rollout observations (see sd_request_observe), never a change to the
	 * decision: in report-only mode at most one write a day per field; in
	 * enforce mode only for refused legacy attempts, since a sign-in that
	 * changes nothing writes nothing (other sign-ins record them with the
	 * writes they make anyway, see sd_request_note). */
	if ((r.cfg.mode == SD_MODE_REPORT_ONLY || r.facts.cls == SD_CLASS_LEGACY) &&
	    sd_request_observe(&r) != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot record sign-in of %s for the rollout report: %s",
			   r.user.name, r.err.msg);
		r.err.msg[0] = '\0';
	}

	if (r.facts.config_ok && r.cfg.mode == SD_MODE_REPORT_ONLY) {
		static const char *const would[] = {[SD_V_DENY] = "would-deny",
						    [SD_V_IGNORE] = "ignore",
						    [SD_V_ALLOW] = "would-allow",
						    [SD_V_UNKNOWN_USER] = "would-deny",
						    [SD_V_PROMPT] = "would-prompt",
						    [SD_V_ENROLL_OFFER] = "would-allow",
						    [SD_V_ENROLL_REQUIRED] = "would-deny",
						    [SD_V_NEW_AUTHTOK] = "would-deny"};

		log_decision(pamh, &r, would[r.verdict.kind], reason);
		pamrc = PAM_IGNORE;
		goto done;
	}

	switch (r.verdict.kind) {
	case SD_V_IGNORE:
		pamrc = PAM_IGNORE;
		break;
	case SD_V_UNKNOWN_USER:
		pamrc = PAM_USER_UNKNOWN;
		break;
	case SD_V_ENROLL_OFFER: /* auth only: the account phase never offers */
		pamrc = phase == SD_PHASE_AUTH ? do_enroll(pamh, &r, &reason) : deny;
		break;
	case SD_V_ALLOW:
		pamrc = PAM_SUCCESS;
		if (r.verdict.start_grace && mark_grace(&r, 1) != 0) {
			pam_syslog(pamh, LOG_ERR, "cannot start grace clock: %s", r.err.msg);
			reason = "state-error";
			pamrc = deny;
			break;
		}
		/* sshd shows account-phase messages after a public-key login. */
		if (r.verdict.rule == 10)
			pam_info(
				pamh,
				"Two-step verification will be required: you have %d day%s left to "
				"set it up (%s).",
				r.verdict.days_left, r.verdict.days_left == 1 ? "" : "s",
				r.cfg.enrollment.at_login
					? "you will be offered set-up when you sign "
					  "in with your password"
					: "ask an administrator");
		break;
	case SD_V_PROMPT:
		pamrc = phase == SD_PHASE_AUTH ? do_totp(pamh, &r, &reason) : deny;
		if (pamrc != PAM_SUCCESS && r.err.msg[0] != '\0')
			pam_syslog(pamh, LOG_ERR, "%s", r.err.msg);
		break;
	case SD_V_NEW_AUTHTOK:
		pam_error(pamh, "Your password may be compromised: change it now.");
		pamrc = PAM_NEW_AUTHTOK_REQD;
		break;
	case SD_V_ENROLL_REQUIRED:
		if (phase == SD_PHASE_AUTH) {
			/* Record the end of grace first: it stands even if the
			 * user gives up here. */
			if (r.verdict.end_grace && mark_grace(&r, 0) != 0)
				pam_syslog(pamh, LOG_ERR, "cannot record end of grace: %s",
					   r.err.msg);
			pamrc = r.verdict.kind == SD_V_ENROLL_REQUIRED
					? do_enroll(pamh, &r, &reason)
					: deny;
			break;
		}
		/* fall through */
	case SD_V_DENY:
	default:
		/* Remember that grace ran out, so setting the clock back cannot
		 * reopen it. The sign-in is denied whatever this write does. */
		if (r.verdict.end_grace && mark_grace(&r, 0) != 0)
			pam_syslog(pamh, LOG_ERR, "cannot record end of grace: %s", r.err.msg);
		tell_deny(pamh, &r);
		pamrc = deny;
		break;
	}
	log_decision(pamh, &r,
		     pamrc == PAM_SUCCESS	     ? "allow"
		     : pamrc == PAM_IGNORE	     ? "ignore"
		     : pamrc == PAM_NEW_AUTHTOK_REQD ? "new-authtok"
						     : "deny",
		     reason);
done:
	/* Fleet mode: an endpoint skipped on the way (the sign-in went on). */
	if (sd_store_note(r.store) != NULL)
		pam_syslog(pamh, LOG_WARNING, "%s", sd_store_note(r.store));
	sd_request_free(&r);
	return pamrc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return run(pamh, SD_PHASE_AUTH, argc, argv);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return run(pamh, SD_PHASE_ACCOUNT, argc, argv);
}

/* The marker left by the first pass of the password stack's update phase. */
#define CHAUTHTOK_MARK "pam_secdefaults_chauthtok_checked"

/* The password phase. The module goes in the password stack twice: before
 * the module that sets the password (it refuses a new password found in the
 * leaked list), and after it (it records that the password was changed,
 * which clears the password part of a compromised flag). See
 * pam_secdefaults(8). */
PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct sd_request r;
	struct args a;
	const char *user = NULL;
	const void *mark = NULL, *pw = NULL;
	int pamrc = PAM_AUTHTOK_ERR, item_failed = 0;

	if (flags & PAM_PRELIM_CHECK) {
		/* A new password change starts: forget an earlier one's mark. */
		pam_set_data(pamh, CHAUTHTOK_MARK, NULL, NULL);
		return PAM_IGNORE;
	}
	memset(&r, 0, sizeof(r));
	parse_args(argc, argv, &a);
	if (a.bad != NULL) {
		pam_syslog(pamh, LOG_ERR, "unknown module argument");
		return PAM_AUTHTOK_ERR;
	}
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS)
		user = NULL;
	r.phase = SD_PHASE_AUTH;
	r.config_path = a.config;
	r.username = user;
	r.service = item(pamh, PAM_SERVICE, &item_failed);
	r.now = sd_now();
	if (item_failed) {
		pam_syslog(pamh, LOG_ERR, "cannot read PAM_SERVICE");
		goto done;
	}
	if (sd_request_gate(&r) && (r.verdict.rule <= 5)) {
		/* disabled, config, name, unknown user, exempt: as in auth */
		pamrc = r.verdict.kind == SD_V_IGNORE	      ? PAM_IGNORE
			: r.verdict.kind == SD_V_UNKNOWN_USER ? PAM_USER_UNKNOWN
							      : PAM_AUTHTOK_ERR;
		for (size_t i = 0; i < r.problems.n; i++)
			pam_syslog(pamh, LOG_ERR, "%s", r.problems.v[i]);
		goto done;
	}
	if (pam_get_data(pamh, CHAUTHTOK_MARK, &mark) != PAM_SUCCESS || mark == NULL) {
		/* First pass: the new password is in PAM_AUTHTOK. */
		if (r.cfg.leaked.check) {
			enum sd_leaked_result res;

			if (pam_get_item(pamh, PAM_AUTHTOK, &pw) != PAM_SUCCESS || pw == NULL) {
				pam_syslog(pamh, LOG_ERR,
					   "leaked.check: no new password to check (put the module "
					   "after the module that asks for it)");
				pam_error(pamh, "The new password cannot be checked.");
				goto done;
			}
			res = sd_leaked_check(&r.cfg, pw, &r.err);
			if (res == SD_LEAKED_YES && r.cfg.mode == SD_MODE_REPORT_ONLY) {
				pam_syslog(pamh, LOG_NOTICE,
					   "user=%s new password found in leaked-password list "
					   "(report-only: would refuse)",
					   r.user.name);
			} else if (res == SD_LEAKED_YES) {
				pam_syslog(pamh, LOG_NOTICE,
					   "user=%s new password refused: found in leaked-password "
					   "list",
					   r.user.name);
				pam_error(pamh, "This password has appeared in a data breach and "
						"cannot be used: choose another one.");
				goto done;
			}
			if (res == SD_LEAKED_ERROR) {
				pam_syslog(pamh, LOG_ERR, "%s", r.err.msg);
				if (r.cfg.leaked.on_error == SD_ONERR_DENY &&
				    r.cfg.mode != SD_MODE_REPORT_ONLY) {
					pam_error(pamh,
						  "The new password cannot be checked now: try "
						  "again later.");
					goto done;
				}
			}
		}
		if (pam_set_data(pamh, CHAUTHTOK_MARK, (void *)CHAUTHTOK_MARK, NULL) != PAM_SUCCESS)
			goto done;
		pamrc = PAM_SUCCESS;
		goto done;
	}
	/* Second pass, after the password module succeeded: record the change
	 * (report-only mode changes nothing). */
	pam_set_data(pamh, CHAUTHTOK_MARK, NULL, NULL);
	if (r.cfg.mode == SD_MODE_REPORT_ONLY) {
		pamrc = PAM_IGNORE;
		goto done;
	}
	if (sd_store_open(&r.cfg, 0, &r.store, &r.err) != 0 || sd_request_relock(&r) != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot record password change: %s", r.err.msg);
		goto done;
	}
	pamrc = PAM_SUCCESS;
	if (r.st.compromised) {
		if (r.cfg.leaked.auto_dismiss_on_reset) {
			r.st.compromised = 0;
			r.st.compromised_at = 0;
			r.st.compromised_reason[0] = '\0';
			r.st.password_reset = 0;
		} else {
			r.st.password_reset = 1;
		}
		if (sd_store_save(r.store, r.user.name, &r.st, 0, &r.err) != 0) {
			pam_syslog(pamh, LOG_ERR, "cannot record password change: %s", r.err.msg);
			pamrc = PAM_AUTHTOK_ERR;
		} else {
			pam_syslog(pamh, LOG_NOTICE,
				   "user=%s password changed: compromised flag %s", r.user.name,
				   r.st.compromised ? "awaits an administrator's dismissal"
						    : "dismissed (leaked.auto_dismiss_on_reset)");
		}
	}
	sd_store_unlock(r.store);
done:
	if (sd_store_note(r.store) != NULL)
		pam_syslog(pamh, LOG_WARNING, "%s", sd_store_note(r.store));
	sd_request_free(&r);
	return pamrc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
