/* userdb.c - roles of many users from one read of passwd and group. */
#include "config.h"

#include "userdb.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A configured group: admin_groups first, then exempt_groups, in order. */
struct slot {
	const char *name;
	int rc; /* of getgrnam_r: 0, -ENOENT (skipped), other -errno */
	gid_t gid;
	int seen; /* enumeration returned a group with this gid */
};

struct ent {
	char *name;
	uid_t uid;
	gid_t gid;
	int has_pw;	   /* a passwd entry was enumerated for NAME */
	unsigned char *in; /* per slot: listed as a member of a group with its gid */
};

struct sd_userdb {
	const struct sd_config *cfg;
	struct ent *v; /* open addressing, FNV-1a, capacity a power of two */
	size_t cap, n, npw;
	struct slot *slots;
	size_t nadmin, nslots;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int table_grow(struct sd_userdb *db)
{
	size_t ncap = db->cap ? db->cap * 2 : 4096, i;
	struct ent *nv = calloc(ncap, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	for (i = 0; i < db->cap; i++) {
		size_t j;

		if (db->v[i].name == NULL)
			continue;
		for (j = name_hash(db->v[i].name) & (ncap - 1); nv[j].name != NULL;
		     j = (j + 1) & (ncap - 1))
			;
		nv[j] = db->v[i];
	}
	free(db->v);
	db->v = nv;
	db->cap = ncap;
	return 0;
}

/* The entry of NAME, or NULL; with CREATE a new zeroed one (NULL only when
 * out of memory). */
static struct ent *table_get(struct sd_userdb *db, const char *name, int create)
{
	size_t j;

	if (db->cap == 0 || (create && (db->n + 1) * 2 > db->cap)) {
		if (!create)
			return NULL;
		if (table_grow(db) != 0)
			return NULL;
	}
	for (j = name_hash(name) & (db->cap - 1); db->v[j].name != NULL;
	     j = (j + 1) & (db->cap - 1))
		if (strcmp(db->v[j].name, name) == 0)
			return &db->v[j];
	if (!create)
		return NULL;
	db->v[j].name = strdup(name);
	if (db->v[j].name == NULL)
		return NULL;
	db->n++;
	return &db->v[j];
}

/* A buffer for the *_r calls, grown on ERANGE. It starts large: a group
 * with many members needs it, and not every NSS backend keeps its place
 * in an enumeration after an ERANGE. */
struct rbuf {
	char *p;
	size_t len;
};

/* The largest buffer user.c gives getgrnam_r; the first one here. */
#define GROUP_MAX (1024 * 1024)

static int rbuf_grow(struct rbuf *b)
{
	size_t nlen = b->len ? b->len * 4 : GROUP_MAX;
	char *np;

	if (nlen > 256u * 1024 * 1024)
		return -ERANGE;
	np = realloc(b->p, nlen);
	if (np == NULL)
		return -ENOMEM;
	b->p = np;
	b->len = nlen;
	return 0;
}

/* The *_r calls return an error number; some NSS wrappers return -1 and
 * set errno instead. */
static int r_errno(int rc)
{
	if (rc < 0)
		return errno != 0 ? errno : EIO;
	return rc;
}

static int read_passwd(struct sd_userdb *db, struct rbuf *b)
{
	struct passwd pw, *res;
	int rc = 0;

	setpwent();
	for (;;) {
		struct ent *e;

		res = NULL;
		errno = 0;
		rc = r_errno(getpwent_r(&pw, b->p, b->len, &res));
		if (rc == ERANGE) {
			rc = -rbuf_grow(b);
			if (rc != 0)
				break;
			continue;
		}
		if (rc == ENOENT || (rc == 0 && res == NULL)) {
			rc = 0; /* the end */
			break;
		}
		if (rc != 0)
			break;
		if (sd_user_name_valid(pw.pw_name) != 0)
			continue; /* sd_user_lookup refuses it: the per-user path says so */
		e = table_get(db, pw.pw_name, 1);
		if (e == NULL) {
			rc = ENOMEM;
			break;
		}
		if (!e->has_pw) { /* getpwnam returns the first entry */
			e->has_pw = 1;
			e->uid = pw.pw_uid;
			e->gid = pw.pw_gid;
			db->npw++;
		}
	}
	endpwent();
	return -rc;
}

/* getgrnam_r for slot S, as user.c's group_gid does (its buffer stops
 * growing at 1 MiB: an entry larger than that is a failed lookup there, so
 * it is one here too). */
static int resolve_slot(struct slot *s, struct rbuf *b)
{
	struct group gr, *res = NULL;
	int rc;

	errno = 0;
	rc = r_errno(getgrnam_r(s->name, &gr, b->p, GROUP_MAX, &res));
	if (rc == ERANGE)
		return -ENOMEM;
	if (rc == 0 && res != NULL) {
		s->gid = gr.gr_gid;
		return 0;
	}
	if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM || rc == 0)
		return -ENOENT;
	return -rc;
}

static int read_groups(struct sd_userdb *db, struct rbuf *b)
{
	struct group gr, *res;
	size_t k;
	int rc = 0;

	setgrent();
	for (;;) {
		int any = 0;

		res = NULL;
		errno = 0;
		rc = r_errno(getgrent_r(&gr, b->p, b->len, &res));
		if (rc == ERANGE) {
			rc = -rbuf_grow(b);
			if (rc != 0)
				break;
			continue;
		}
		if (rc == ENOENT || (rc == 0 && res == NULL)) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		for (k = 0; k < db->nslots; k++)
			if (db->slots[k].rc == 0 && db->slots[k].gid == gr.gr_gid) {
				db->slots[k].seen = 1;
				any = 1;
			}
		if (!any)
			continue;
		for (char **m = gr.gr_mem; m != NULL && *m != NULL && rc == 0; m++) {
			struct ent *e = table_get(db, *m, 1);

			if (e != NULL && e->in == NULL)
				e->in = calloc(db->nslots, 1);
			if (e == NULL || e->in == NULL) {
				rc = ENOMEM;
				break;
			}
			for (k = 0; k < db->nslots; k++)
				if (db->slots[k].rc == 0 && db->slots[k].gid == gr.gr_gid)
					e->in[k] = 1;
		}
		if (rc != 0)
			break;
	}
	endgrent();
	return -rc;
}

int sd_userdb_open(const struct sd_config *c, struct sd_userdb **out)
{
	const struct sd_strlist *adm = &c->roles.admin_groups, *ex = &c->roles.exempt_groups;
	struct sd_userdb *db = calloc(1, sizeof(*db));
	struct rbuf b = {NULL, 0};
	size_t k;
	int rc;

	*out = NULL;
	if (db == NULL)
		return -ENOMEM;
	db->cfg = c;
	db->nadmin = adm->n;
	db->nslots = adm->n + ex->n;
	db->slots = calloc(db->nslots + 1, sizeof(*db->slots));
	rc = db->slots == NULL ? -ENOMEM : rbuf_grow(&b);
	for (k = 0; rc == 0 && k < db->nslots; k++) {
		struct slot *s = &db->slots[k];

		s->name = k < adm->n ? adm->v[k] : ex->v[k - adm->n];
		s->rc = resolve_slot(s, &b); /* a failure makes users admin, as in sd_role_of */
	}
	if (rc == 0)
		rc = read_passwd(db, &b);
	if (rc == 0 && db->npw == 0)
		rc = -ENODATA; /* no enumeration (e.g. sssd enumerate = false) */
	if (rc == 0 && db->nslots > 0)
		rc = read_groups(db, &b);
	/* A configured group that exists but did not come out of the
	 * enumeration: its members are unknown here. */
	for (k = 0; rc == 0 && k < db->nslots; k++)
		if (db->slots[k].rc == 0 && !db->slots[k].seen)
			rc = -ENODATA;
	free(b.p);
	if (rc != 0) {
		sd_userdb_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

void sd_userdb_free(struct sd_userdb *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->cap; i++) {
		free(db->v[i].name);
		free(db->v[i].in);
	}
	free(db->v);
	free(db->slots);
	free(db);
}

size_t sd_userdb_size(const struct sd_userdb *db)
{
	return db == NULL ? 0 : db->npw;
}

/* in_any_group() of user.c over slots [FROM, TO): 1 (a member; *WHICH its
 * name), 0, or the failed lookup's -errno. */
static int in_slots(const struct sd_userdb *db, const struct ent *e, size_t from, size_t to,
		    const char **which)
{
	size_t k;

	for (k = from; k < to; k++) {
		const struct slot *s = &db->slots[k];

		if (s->rc == -ENOENT)
			continue;
		if (s->rc != 0)
			return s->rc;
		if (e->gid == s->gid || (e->in != NULL && e->in[k])) {
			*which = s->name;
			return 1;
		}
	}
	return 0;
}

/* sd_role_of_why() with the group list from the tables. */
static enum sd_role table_role(const struct sd_userdb *db, const struct ent *e, int *lookup_failed,
			       const char **why)
{
	const struct sd_config *c = db->cfg;
	const char *which = NULL;
	int rc;

	*lookup_failed = 0;
	*why = NULL;
	if (sd_strlist_contains(&c->roles.breakglass_users, e->name))
		return SD_ROLE_BREAKGLASS;
	if (sd_strlist_contains(&c->roles.exempt_users, e->name))
		return SD_ROLE_EXEMPT;
	if (c->roles.exempt_groups.n == 0 && e->uid == 0)
		return SD_ROLE_ADMIN;
	rc = in_slots(db, e, db->nadmin, db->nslots, &which);
	if (rc == 1) {
		*why = which;
		return SD_ROLE_EXEMPT;
	}
	if (rc < 0) {
		*lookup_failed = 1;
		return SD_ROLE_ADMIN;
	}
	if (e->uid == 0)
		return SD_ROLE_ADMIN;
	rc = in_slots(db, e, 0, db->nadmin, &which);
	if (rc < 0)
		*lookup_failed = 1;
	return rc == 0 ? SD_ROLE_USER : SD_ROLE_ADMIN;
}

int sd_userdb_role(struct sd_userdb *db, const struct sd_config *c, const char *name,
		   struct sd_user *u, enum sd_role *role, int *lookup_failed, const char **why)
{
	const struct ent *e = db != NULL ? table_get(db, name, 0) : NULL;
	const char *w;
	int rc;

	if (why == NULL)
		why = &w;
	if (e == NULL || !e->has_pw) {
		/* Not enumerated: the per-user path. */
		rc = sd_user_lookup(name, u);
		if (rc != 0)
			return rc;
		*role = sd_role_of_why(c, u, lookup_failed, why);
		return 0;
	}
	memcpy(u->name, e->name, strlen(e->name) + 1);
	u->uid = e->uid;
	u->gid = e->gid;
	*role = table_role(db, e, lookup_failed, why);
	return 0;
}
