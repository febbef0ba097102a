/* store.h - where per-user state and secrets live.
 *
 * The narrow interface every backend implements (the state directory now, a
 * fleet store later). Read-modify-write happens under the user's lock:
 *
 *     sd_store_lock(s, user) → sd_store_load → change → sd_store_save → unlock
 *
 * Loads without the lock are allowed for read-only uses (files are replaced
 * atomically, so a reader sees the old or the new version whole). A missing
 * record is -ENOENT: a new user. Any other negative return is an error the
 * caller must treat as a deny; a corrupt record is never "new". */
#ifndef SD_STORE_H
#define SD_STORE_H

#include "conf.h"
#include "state.h"
#include "util.h"

struct sd_store;

enum {
	SD_STORE_READONLY = 1, /* open: create nothing; a missing directory is empty */
	/* open: the caller will likely want the secret after the state (a
	 * sign-in that may prompt). A backend that can fetch both in one round
	 * trip does so at sd_store_load and serves the secret once, to the
	 * sd_store_load_secret of the lock session that follows (etcd); the
	 * others ignore it. Never combined with SD_STORE_READONLY. */
	SD_STORE_WITH_SECRET = 2,
};

enum {
	SD_SAVE_NOSYNC = 1, /* save: replace atomically but skip fsync (see sd_store_sync) */
};

/* sd_store_ops.caps: what callers may rely on beyond the interface above.
 *
 * SD_STORE_CAP_CAS: every save is a compare-and-swap on the revision of the
 * state as this handle read it (or, when it has not read it under the lock,
 * as the caller's struct says: st->rev), and fails with -EAGAIN, writing
 * nothing, when anyone changed it since (and, once the secret was read
 * under the lock, when the secret changed). The lock excludes nobody. So:
 *   - a state read before the lock need not be read again under it: a save
 *     on stale state cannot succeed (see sd_request_lock_fresh);
 *   - an SD_SAVE_NOSYNC save is held in memory and written with the next
 *     sd_store_save, sd_store_save_secret or sd_store_sync of the same lock
 *     session, in one transaction; sd_store_unlock drops it unwritten. A
 *     caller that makes one must end the session with one of those three
 *     and answer nothing before it returns 0; on -EAGAIN it reads again
 *     and decides again.
 * The dir backend has no capabilities: its lock excludes, and an
 * SD_SAVE_NOSYNC save is in place at once. */
enum {
	SD_STORE_CAP_CAS = 1,
};

/* Bounded wait for a user's lock. */
#define SD_LOCK_WAIT_MS 3000

struct sd_store_ops {
	const char *name;
	unsigned caps; /* SD_STORE_CAP_* */
	int (*lock)(struct sd_store *s, const char *user, struct sd_err *err);
	void (*unlock)(struct sd_store *s);
	int (*load)(struct sd_store *s, const char *user, struct sd_state *st, struct sd_err *err);
	int (*save)(struct sd_store *s, const char *user, const struct sd_state *st, unsigned flags,
		    struct sd_err *err);
	int (*sync)(struct sd_store *s, const char *user, struct sd_err *err);
	int (*load_secret)(struct sd_store *s, const char *user, struct sd_secret *sec,
			   struct sd_err *err);
	int (*save_secret)(struct sd_store *s, const char *user, const struct sd_secret *sec,
			   struct sd_err *err);
	int (*remove)(struct sd_store *s, const char *user, struct sd_err *err);
	int (*list)(struct sd_store *s, int (*cb)(const char *user, void *ctx), void *ctx,
		    struct sd_err *err);
	void (*close)(struct sd_store *s);
};

struct sd_store {
	const struct sd_store_ops *ops;
	/* Something that did not fail the operation but that the operator
	 * should hear about (fleet mode: an endpoint skipped); "" if none. */
	char note[320];
};

/* Open the configured backend. 0, or -errno with the reason in ERR. */
int sd_store_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		  struct sd_err *err);
void sd_store_close(struct sd_store *s);
/* SD_STORE_CAP_* of the backend. */
unsigned sd_store_caps(const struct sd_store *s);
/* The backend's note for the operator (a warning to log), or NULL. */
const char *sd_store_note(const struct sd_store *s);

int sd_store_lock(struct sd_store *s, const char *user, struct sd_err *err);
void sd_store_unlock(struct sd_store *s);
int sd_store_load(struct sd_store *s, const char *user, struct sd_state *st, struct sd_err *err);
int sd_store_save(struct sd_store *s, const char *user, const struct sd_state *st, unsigned flags,
		  struct sd_err *err);
/* Make an earlier SD_SAVE_NOSYNC save durable. */
int sd_store_sync(struct sd_store *s, const char *user, struct sd_err *err);
int sd_store_load_secret(struct sd_store *s, const char *user, struct sd_secret *sec,
			 struct sd_err *err);
int sd_store_save_secret(struct sd_store *s, const char *user, const struct sd_secret *sec,
			 struct sd_err *err);
/* Forget the user's state and secret. */
int sd_store_remove(struct sd_store *s, const char *user, struct sd_err *err);
/* Call CB for every user that has state; a non-zero CB return stops the walk
 * and is returned. */
int sd_store_list(struct sd_store *s, int (*cb)(const char *user, void *ctx), void *ctx,
		  struct sd_err *err);

/* Backends. */
int sd_store_dir_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		      struct sd_err *err);
/* etcd (see store_etcd.c): SD_STORE_CAP_CAS. lock only records the user;
 * every save is a compare-and-swap on the state key's revision and fails
 * with -EAGAIN when another host or sign-in changed the state first: the
 * caller reads again and decides again (the module does so, up to three
 * times, for the one transaction that carries a checked code's count and
 * outcome) or denies; never a success on stale state. */
int sd_store_etcd_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		       struct sd_err *err);

#endif
