/* request.c - gather the facts of one sign-in for the policy. */
#include "config.h"

#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sd_request_gate(struct sd_request *r)
{
	struct sd_facts *f = &r->facts;
	enum sd_class tagcls;
	int rc;

	memset(f, 0, sizeof(*f));
	f->phase = r->phase;
	f->now = r->now;
	f->cfg = &r->cfg;
	rc = sd_config_load(r->config_path ? r->config_path : SD_DEFAULT_CONFIG, &r->cfg,
			    &r->problems);
	if (rc == 0 && r->service_tag != NULL && sd_class_parse(r->service_tag, &tagcls) != 0) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "module argument service_tag=%.40s: must be legacy, privileged, standard "
			 "or noninteractive",
			 r->service_tag);
		(void)sd_strlist_add(&r->problems, msg);
		rc = -EINVAL;
	}
	f->config_ok = rc == 0;
	if (f->config_ok && r->cfg.enabled) {
		f->name_ok = sd_user_name_valid(r->username) == 0;
		if (f->name_ok) {
			rc = sd_user_lookup(r->username, &r->user);
			f->user_known = rc == 0;
			f->nss_error = rc != 0 && rc != -ENOENT;
		}
		if (f->user_known)
			f->role = sd_role_of(&r->cfg, &r->user, &r->group_lookup_failed);
		f->cls = sd_class_of(&r->cfg, r->service, r->service_tag);
	}
	if (f->config_ok) {
		f->location_ok = sd_location_of(r->rhost, r->location) == 0;
		f->location = r->location;
		f->trusted = sd_net_match_any(r->cfg.risk.nets, r->cfg.risk.nnets, r->rhost);
	}
	return sd_decide_gate(f, &r->verdict);
}

void sd_request_decide(struct sd_request *r, unsigned store_flags)
{
	int rc = 0;

	r->facts.state_ok = 0;
	r->facts.st = &r->st;
	if (r->store == NULL)
		rc = sd_store_open(&r->cfg, store_flags, &r->store, &r->err);
	if (rc == 0) {
		rc = sd_store_load(r->store, r->user.name, &r->st, &r->err);
		if (rc == -ENOENT) {
			memset(&r->st, 0, sizeof(r->st));
			rc = 0;
		}
	}
	r->facts.state_ok = rc == 0;
	r->st_fresh = rc == 0 && (sd_store_caps(r->store) & SD_STORE_CAP_CAS);
	sd_decide(&r->facts, &r->verdict);
}

int sd_request_relock(struct sd_request *r)
{
	int rc;

	if (r->store == NULL)
		return -EINVAL;
	r->st_fresh = 0;
	rc = sd_store_lock(r->store, r->user.name, &r->err);
	if (rc != 0)
		return rc;
	rc = sd_store_load(r->store, r->user.name, &r->st, &r->err);
	if (rc == -ENOENT) {
		memset(&r->st, 0, sizeof(r->st));
		rc = 0;
	}
	if (rc != 0) {
		sd_store_unlock(r->store);
		return rc;
	}
	r->facts.state_ok = 1;
	r->facts.st = &r->st;
	sd_decide(&r->facts, &r->verdict);
	return 0;
}

int sd_request_lock_fresh(struct sd_request *r)
{
	int rc;

	if (r->store == NULL || !r->st_fresh || !r->facts.state_ok || r->facts.st != &r->st ||
	    !(sd_store_caps(r->store) & SD_STORE_CAP_CAS))
		return sd_request_relock(r);
	r->st_fresh = 0;
	rc = sd_store_lock(r->store, r->user.name, &r->err);
	if (rc != 0)
		return rc;
	sd_decide(&r->facts, &r->verdict);
	return 0;
}

/* The observation class of this sign-in, or -1 when nothing is recorded
 * for it (invalid or unknown users, exempt, break-glass, noninteractive). */
static int observe_class(const struct sd_request *r, enum sd_seen_class *cls)
{
	const struct sd_facts *f = &r->facts;

	if (!f->config_ok || !r->cfg.enabled || !f->name_ok || !f->user_known || f->nss_error ||
	    (f->role != SD_ROLE_USER && f->role != SD_ROLE_ADMIN))
		return -1;
	switch (f->cls) {
	case SD_CLASS_STANDARD:
		*cls = SD_SEEN_STANDARD;
		return 0;
	case SD_CLASS_PRIVILEGED:
		*cls = SD_SEEN_PRIVILEGED;
		return 0;
	case SD_CLASS_LEGACY:
		*cls = SD_SEEN_LEGACY;
		return 0;
	default:
		return -1;
	}
}

void sd_request_note(struct sd_request *r, struct sd_state *st)
{
	enum sd_seen_class cls;
	char service[SD_SERVICE_LEN];

	if (observe_class(r, &cls) != 0)
		return;
	sd_sanitize(service, sizeof(service), r->service);
	if (service[0] == '\0')
		snprintf(service, sizeof(service), "-");
	sd_state_observe(st, cls, service, r->now);
}

int sd_request_observe(struct sd_request *r)
{
	const struct sd_facts *f = &r->facts;
	struct sd_state st;
	enum sd_seen_class cls;
	char service[SD_SERVICE_LEN];
	int rc;

	if (observe_class(r, &cls) != 0)
		return 0;
	if (r->verdict.rule == 8)
		return 0; /* unreadable or corrupt: never touched here */
	sd_sanitize(service, sizeof(service), r->service);
	if (service[0] == '\0')
		snprintf(service, sizeof(service), "-");
	if (r->store == NULL) {
		rc = sd_store_open(&r->cfg, 0, &r->store, &r->err);
		if (rc != 0)
			return rc;
	}
	/* Look first without the lock: most sign-ins have nothing to record. */
	if (f->state_ok && f->st == &r->st) {
		st = r->st;
	} else {
		rc = sd_store_load(r->store, r->user.name, &st, &r->err);
		if (rc == -ENOENT) {
			memset(&st, 0, sizeof(st));
			rc = 0;
		}
		if (rc != 0) {
			sd_wipe(&st, sizeof(st));
			return rc;
		}
	}
	rc = sd_state_observe(&st, cls, service, r->now);
	if (rc == 0) {
		sd_wipe(&st, sizeof(st));
		return 0;
	}
	r->st_fresh = 0; /* written below: r->st's revision is no longer current */
	rc = sd_store_lock(r->store, r->user.name, &r->err);
	if (rc != 0) {
		sd_wipe(&st, sizeof(st));
		return rc;
	}
	rc = sd_store_load(r->store, r->user.name, &st, &r->err);
	if (rc == -ENOENT) {
		memset(&st, 0, sizeof(st));
		rc = 0;
	}
	if (rc == 0 && sd_state_observe(&st, cls, service, r->now))
		rc = sd_store_save(r->store, r->user.name, &st, 0, &r->err);
	sd_store_unlock(r->store);
	/* Keep the caller's copy in step, so a later save does not undo it. */
	if (rc == 0 && f->state_ok && f->st == &r->st)
		sd_state_observe(&r->st, cls, service, r->now);
	sd_wipe(&st, sizeof(st));
	return rc;
}

void sd_request_free(struct sd_request *r)
{
	sd_store_close(r->store);
	r->store = NULL;
	sd_config_free(&r->cfg);
	sd_strlist_free(&r->problems);
	sd_wipe(&r->st, sizeof(r->st));
}
