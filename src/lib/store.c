/* store.c - dispatch to the configured state backend. */
#include "config.h"

#include "store.h"

#include <errno.h>

int sd_store_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		  struct sd_err *err)
{
	switch (c->state_backend) {
	case SD_BACKEND_DIR:
		return sd_store_dir_open(c, flags, out, err);
	case SD_BACKEND_ETCD:
		return sd_store_etcd_open(c, flags, out, err);
	default:
		sd_err_set(err, "state backend not available in this build");
		return -ENOTSUP;
	}
}

void sd_store_close(struct sd_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

unsigned sd_store_caps(const struct sd_store *s)
{
	return s != NULL ? s->ops->caps : 0;
}

const char *sd_store_note(const struct sd_store *s)
{
	return s != NULL && s->note[0] != '\0' ? s->note : NULL;
}

int sd_store_lock(struct sd_store *s, const char *user, struct sd_err *err)
{
	return s->ops->lock(s, user, err);
}

void sd_store_unlock(struct sd_store *s)
{
	s->ops->unlock(s);
}

int sd_store_load(struct sd_store *s, const char *user, struct sd_state *st, struct sd_err *err)
{
	return s->ops->load(s, user, st, err);
}

int sd_store_save(struct sd_store *s, const char *user, const struct sd_state *st, unsigned flags,
		  struct sd_err *err)
{
	return s->ops->save(s, user, st, flags, err);
}

int sd_store_sync(struct sd_store *s, const char *user, struct sd_err *err)
{
	return s->ops->sync(s, user, err);
}

int sd_store_load_secret(struct sd_store *s, const char *user, struct sd_secret *sec,
			 struct sd_err *err)
{
	return s->ops->load_secret(s, user, sec, err);
}

int sd_store_save_secret(struct sd_store *s, const char *user, const struct sd_secret *sec,
			 struct sd_err *err)
{
	return s->ops->save_secret(s, user, sec, err);
}

int sd_store_remove(struct sd_store *s, const char *user, struct sd_err *err)
{
	return s->ops->remove(s, user, err);
}

int sd_store_list(struct sd_store *s, int (*cb)(const char *user, void *ctx), void *ctx,
		  struct sd_err *err)
{
	return s->ops->list(s, cb, ctx, err);
}
