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
	struct sd_namemap map; /* of struct ent */
	size_t npw;
	struct slot *slots;
	size_t nadmin, nslots;
};

/* A buffer for the *_r calls, grown on ERANGE. It starts large: a group
 * with many members needs it, and not every NSS backend keeps its place
 * in an enumeration after an ERANGE. */
struct rbuf {
	char *p;
	size_t len;
};

/* The first buffer: the largest one user.c gives getgrnam_r. */
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

static int read_passwd(struct sd_userdb *db, struct rbuf *b)
{
	struct passwd pw, *res;
	int rc = 0;

	setpwent();
	for (;;) {
		struct ent *e;

		res = NULL;
		errno = 0;
		rc = sd_nss_errno(getpwent_r(&pw, b->p, b->len, &res));
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
		e = sd_namemap_get(&db->map, pw.pw_name, 1);
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
		rc = sd_nss_errno(getgrent_r(&gr, b->p, b->len, &res));
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
			struct ent *e = sd_namemap_get(&db->map, *m, 1);

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
	sd_namemap_init(&db->map, sizeof(struct ent));
	db->nadmin = adm->n;
	db->nslots = adm->n + ex->n;
	db->slots = calloc(db->nslots + 1, sizeof(*db->slots));
	rc = db->slots == NULL ? -ENOMEM : rbuf_grow(&b);
	for (k = 0; rc == 0 && k < db->nslots; k++) {
		struct slot *s = &db->slots[k];

		s->name = k < adm->n ? adm->v[k] : ex->v[k - adm->n];
		/* the module's own lookup; a failure makes users admin, as in
		 * sd_role_of */
		s->rc = sd_group_gid(s->name, &s->gid);
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
	for (i = 0; i < db->map.cap; i++) {
		struct ent *e = sd_namemap_at(&db->map, i);

		if (e != NULL)
			free(e->in);
	}
	sd_namemap_free(&db->map);
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
	const struct ent *e = db != NULL ? sd_namemap_get(&db->map, name, 0) : NULL;
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
