/* counters.h - the per-sign-in counters record of the state directory.
 *
 * Most TOTP sign-ins change only a few fields of a user's state: the
 * consecutive failure count, the replay guard (last_step), the time of the
 * last code and the time of the location it came from. Replacing the whole
 * state file for that costs a file creation, a rename and two fsyncs. The
 * directory backend instead writes these fields as a small text record into
 * the user's lock file, which already exists, is already open and already
 * locked: two slots, written in place alternately, each with a sequence
 * number and a CRC-32, so a torn write leaves the other slot whole (see
 * store_dir.c and secdefaults-state(5)). A record belongs to one version of
 * the state file: it carries the file's "counters" id and is ignored once
 * the file is replaced (the replacement has a new id and every field).
 *
 * Pure: no files here. */
#ifndef SD_COUNTERS_H
#define SD_COUNTERS_H

#include "state.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes per slot: slot N starts at N * SD_COUNTERS_SLOT of the lock file. */
#define SD_COUNTERS_SLOT 4096

struct sd_counters {
	uint64_t gen; /* id of the state file version the record belongs to */
	uint64_t seq; /* higher is newer */
	int pending;  /* written before a code was checked, not yet synced */
	unsigned failures;
	uint64_t last_step;
	time_t last_totp;
	size_t nloc;
	struct sd_loc loc[SD_MAX_LOCATIONS];
};

/* Take the counter fields of ST. */
void sd_counters_get(const struct sd_state *st, struct sd_counters *c);
/* Put C's fields into ST. -EINVAL when C's locations are not exactly ST's
 * (a record never adds or drops a location). */
int sd_counters_put(struct sd_state *st, const struct sd_counters *c);
/* 1 when A and B differ at most in counter fields (failures, last_step,
 * last_totp and the times of the same locations, in the same order). */
int sd_state_same_but_counters(const struct sd_state *a, const struct sd_state *b);

/* Format C into OUT (CAP bytes), NUL-terminated; *LEN is the length without
 * the NUL. -E2BIG when it does not fit. */
int sd_counters_format(const struct sd_counters *c, char *out, size_t cap, size_t *len);
/* Parse a slot of LEN bytes (it may hold a NUL-terminated record followed by
 * anything, or nothing). 0 and C filled; -ENOENT for an empty slot or one
 * whose checksum does not match (never written, or a torn write: the other
 * slot holds the previous record); -EINVAL with a reason in WHY when the
 * checksum matches but the content is malformed (the caller denies). */
int sd_counters_parse(const char *buf, size_t len, struct sd_counters *c, char *why, size_t whylen);

/* CRC-32 (IEEE 802.3, as zlib's crc32 of the bytes). */
uint32_t sd_crc32(const void *data, size_t len);

#endif
