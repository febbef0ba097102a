/* state.h - one user's inspectable state and TOTP secret, and their text
 * formats (see secdefaults-state(5)). Pure: no files here, see store.h. */
#ifndef SD_STATE_H
#define SD_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "location.h"

#define SD_STATE_VERSION 1
#define SD_STATE_MAX_SIZE (64 * 1024)
#define SD_MAX_LOCATIONS 32
#define SD_REASON_LEN 128
#define SD_MAX_KEY 64	     /* bytes of TOTP key */
#define SD_MAX_RECOVERY 20   /* recovery codes per user */
#define SD_RECOVERY_HASH 128 /* crypt(3) string */
#define SD_MAX_LEGACY 8	     /* legacy services remembered per user */
#define SD_SERVICE_LEN 32    /* a remembered service name, with its NUL */

struct sd_loc {
	char net[SD_LOCATION_LEN];
	time_t last_totp;
};

/* The last use of one legacy service (key legacy_service). */
struct sd_legacy_use {
	char service[SD_SERVICE_LEN];
	time_t last;
};

/* The service classes a sign-in is observed under (see sd_state_observe). */
enum sd_seen_class { SD_SEEN_STANDARD = 0, SD_SEEN_PRIVILEGED, SD_SEEN_LEGACY, SD_SEEN_NCLASS };

/* Times are 0 when unset. */
struct sd_state {
	time_t grace_start;
	time_t grace_ended; /* first time the grace period was found over */
	time_t enrolled;
	uint64_t last_step; /* highest TOTP time step accepted; 0 = none */
	time_t last_totp;
	unsigned failures; /* consecutive wrong codes */
	time_t locked_until;
	int compromised;
	time_t compromised_at;
	char compromised_reason[SD_REASON_LEN];
	int password_reset; /* password changed since the flag was raised */
	size_t nloc;
	struct sd_loc loc[SD_MAX_LOCATIONS];
	/* Observations for the rollout report. They never take part in a
	 * decision (nor in sd_effective_now): a user seen in report-only mode
	 * is still a fresh user when enforcement starts. */
	time_t last_seen;			    /* last sign-in seen, any class */
	time_t seen_class[SD_SEEN_NCLASS];	    /* last sign-in per class */
	size_t nlegacy;				    /* entries in legacy[] */
	struct sd_legacy_use legacy[SD_MAX_LEGACY]; /* last use per legacy service */
	uint64_t rev; /* backend revision, for compare-and-swap stores */
};

struct sd_secret {
	unsigned char key[SD_MAX_KEY];
	size_t keylen;
	size_t nrecovery;
	char recovery[SD_MAX_RECOVERY][SD_RECOVERY_HASH];
	uint64_t rev;
};

/* Parse state text. 0, or -EINVAL with a reason ("line 3: ...") in WHY. */
int sd_state_parse(const char *text, size_t len, struct sd_state *st, char *why, size_t whylen);
/* Format state text into a malloc'd string. 0 or -ENOMEM. USER is written as
 * a comment for people reading the file. */
int sd_state_format(const struct sd_state *st, const char *user, char **out, size_t *outlen);
/* The same with the "counters" line of the state directory (see
 * counters.h): GEN is the id of the counters records that belong to this
 * version of the file; 0 = none (parse: key absent; format: no line). The
 * plain functions read and ignore the key / never write it. */
int sd_state_parse_gen(const char *text, size_t len, struct sd_state *st, uint64_t *gen, char *why,
		       size_t whylen);
int sd_state_format_gen(const struct sd_state *st, const char *user, uint64_t gen, char **out,
			size_t *outlen);

int sd_secret_parse(const char *text, size_t len, struct sd_secret *sec, char *why, size_t whylen);
int sd_secret_format(const struct sd_secret *sec, char **out, size_t *outlen);

/* The location record for NET, or NULL. */
const struct sd_loc *sd_state_find_loc(const struct sd_state *st, const char *net);
/* Record that TOTP was passed from NET at NOW (the oldest entry makes room). */
void sd_state_touch_loc(struct sd_state *st, const char *net, time_t now);

/* Record a sign-in seen at NOW under class CLS (and for SD_SEEN_LEGACY the
 * use of SERVICE, a name of 1 to SD_SERVICE_LEN - 1 bytes without spaces or
 * control characters; anything else is stored as "-"). A field is updated
 * at most once per UTC day: only when NOW falls on a later day than the time
 * it holds. So the times are those of the first sign-in of the last day
 * with one, and a user who signs in all day costs one write a day. The
 * oldest legacy service makes room for a new one. Returns 1 if ST changed
 * (the caller saves it), 0 if not. */
int sd_state_observe(struct sd_state *st, enum sd_seen_class cls, const char *service, time_t now);
/* The entry for legacy service SERVICE, or NULL. */
const struct sd_legacy_use *sd_state_find_legacy(const struct sd_state *st, const char *service);
/* "standard", "privileged", "legacy". */
const char *sd_seen_class_name(enum sd_seen_class cls);

/* Base32 (RFC 4648, no padding needed, case-insensitive, spaces ignored). */
int sd_base32_decode(const char *in, unsigned char *out, size_t outmax, size_t *outlen);
int sd_base32_encode(const unsigned char *in, size_t len, char *out, size_t outmax);

#endif
