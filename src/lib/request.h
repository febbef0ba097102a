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

void sd_request_free(struct sd_request *r);

#endif
