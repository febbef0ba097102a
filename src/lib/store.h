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
};

enum {
	SD_SAVE_NOSYNC = 1, /* save: replace atomically but skip fsync (see sd_store_sync) */
};

/* Bounded wait for a user's lock. */
#define SD_LOCK_WAIT_MS 3000

struct sd_store_ops {
	const char *name;
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
};

/* Open the configured backend. 0, or -errno with the reason in ERR. */
int sd_store_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		  struct sd_err *err);
void sd_store_close(struct sd_store *s);

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
/* etcd (see store_etcd.c): lock only records the user; every save is a
 * compare-and-swap on the state key's revision and fails with -EAGAIN when
 * another host or sign-in changed the state first: the caller reads again
 * and decides again (the module does so for the attempt count it writes
 * before checking a code) or denies; never a success on stale state. */
int sd_store_etcd_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		       struct sd_err *err);

#endif
