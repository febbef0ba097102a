/* request.h - one sign-in (or one `secdefaultsctl explain`): gather the
 * facts the policy needs, in the order the decision table needs them, so
 * the module and the CLI decide exactly alike. No PAM here. */
#ifndef SD_REQUEST_H
#define SD_REQUEST_H

#include "conf.h"
#include "location.h"
#include "policy.h"
#include "store.h"
#include "user.h"

struct sd_request {
	/* inputs */
	enum sd_phase phase;
	const char *config_path;
	const char *username; /* as the application gave it */
	const char *service;
	const char *service_tag; /* NULL: classify by service name */
	const char *rhost;
	time_t now;
	/* gathered */
	struct sd_config cfg;
	struct sd_strlist problems; /* config problems, "file:line: text" */
	struct sd_user user;	    /* user.name is the canonical key */
	int group_lookup_failed;
	char location[SD_LOCATION_LEN];
	struct sd_store *store;
	struct sd_state st;
	/* st is the state as sd_request_decide read it from a compare-and-swap
	 * store, unchanged since (see sd_request_lock_fresh) */
	int st_fresh;
	struct sd_err err; /* the last store error */
	struct sd_facts facts;
	struct sd_verdict verdict;
};

/* Fill the inputs first, then call. Gathers rows 1-7 and returns 1 if one of
 * them decided (r->verdict is final), 0 if the state is needed. */
int sd_request_gate(struct sd_request *r);

/* Open the store (with FLAGS, see store.h), load the user's state and decide
 * the whole table into r->verdict. A store failure decides row 8 (deny). */
void sd_request_decide(struct sd_request *r, unsigned store_flags);

/* Re-read the state under the user's lock and decide again: the caller then
 * changes and saves r->st and calls sd_store_unlock(r->store). Returns 0, or
 * a negative errno (r->err says why; the lock is not held). */
int sd_request_relock(struct sd_request *r);

/* Like sd_request_relock, except on a compare-and-swap store
 * (SD_STORE_CAP_CAS) whose state sd_request_decide read and nobody in this
 * request has written since: then the lock is taken without reading again,
 * once (a later call reads). Every save in the session compares the
 * revision of that read, so a state that changed in between is never
 * overwritten: the save fails with -EAGAIN and the caller must read again
 * (sd_request_relock) and decide again. Saves a round trip in fleet mode. */
int sd_request_lock_fresh(struct sd_request *r);

/* Record the rollout observations of this sign-in (sd_state_observe) for a
 * covered user (role user or admin) through a standard, privileged or
 * legacy service, in either mode and either phase, after rows 1-7 (and 8,
 * if the state was read) are known. Nothing is recorded for invalid names,
 * unknown users, exempt or break-glass users, noninteractive services, or a
 * state that could not be read. The rule: a sign-in writes for this only when
 * a field moves to a later UTC day, so the path that changes nothing else
 * stays write-free within a day; the write is under the user's lock on a
 * fresh read, and touches no other field (grace, lock and replay state are
 * never changed here). r->verdict is left as it is. Returns 0 (recorded or
 * nothing to record) or a negative errno with r->err set: the caller logs it
 * and decides as if nothing happened. */
int sd_request_observe(struct sd_request *r);

/* Apply this sign-in's observations to ST in memory, for a save the caller
 * makes anyway (enforce mode records them only alongside such writes). */
void sd_request_note(struct sd_request *r, struct sd_state *st);

void sd_request_free(struct sd_request *r);

#endif
