/* user.c - user names, NSS lookups, roles and service classes. */
#include "config.h"

#include "user.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sd_user_name_valid(const char *name)
{
	size_t n, i;

	if (name == NULL)
		return -EINVAL;
	n = strlen(name);
	if (n == 0 || n > SD_USER_MAX || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c == 0x7f || c == '/')
			return -EINVAL;
	}
	return 0;
}

/* The error number of a getpwnam_r / getgrnam_r return: some NSS wrappers
 * (nss_wrapper, when the buffer is too small) return -1 and set errno. */
int sd_nss_errno(int rc)
{
	if (rc < 0)
		return errno != 0 ? errno : EIO;
	return rc;
}

/* One lookup at a time from this module, process-wide. The interfaces are
 * reentrant, but not every NSS backend is: nss_wrapper (the test suite's)
 * implements getgrouplist with the shared setgrent/getgrent iterator and
 * crashed or missed groups when 32 threads signed in at once, and older
 * directory backends keep similar shared state. A host thread that calls
 * NSS itself is not covered. Uncontended, the lock costs tens of ns. No
 * pthread_atfork: the module can be unloaded and its handler with it; a
 * host that forks while another thread signs in may not call PAM in the
 * child anyway (only async-signal-safe functions until exec). */
static pthread_mutex_t nss_lock = PTHREAD_MUTEX_INITIALIZER;

/* getpwnam_r / getgrnam_r with a growing buffer. */
static char *grow(char *buf, size_t *len)
{
	char *nb;

	if (*len >= 1024 * 1024) {
		free(buf);
		return NULL;
	}
	*len *= 2;
	nb = realloc(buf, *len);
	if (nb == NULL)
		free(buf);
	return nb;
}

int sd_user_lookup(const char *name, struct sd_user *out)
{
	struct passwd pw, *res = NULL;
	size_t len = 1024;
	char *buf = malloc(len);
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		pthread_mutex_lock(&nss_lock);
		errno = 0;
		rc = sd_nss_errno(getpwnam_r(name, &pw, buf, len, &res));
		pthread_mutex_unlock(&nss_lock);
		if (rc != ERANGE)
			break;
		buf = grow(buf, &len);
		if (buf == NULL)
			return -ENOMEM;
	}
	if (rc != 0) {
		free(buf);
		/* ENOENT/ESRCH/EBADF/EPERM also mean "not found" per getpwnam(3). */
		if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
			return -ENOENT;
		return -rc;
	}
	if (res == NULL) {
		free(buf);
		return -ENOENT;
	}
	if (sd_user_name_valid(pw.pw_name) != 0) {
		free(buf);
		return -EINVAL;
	}
	memcpy(out->name, pw.pw_name, strlen(pw.pw_name) + 1);
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	free(buf);
	return 0;
}

int sd_group_gid(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	size_t len = 1024;
	char *buf = malloc(len);
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		pthread_mutex_lock(&nss_lock);
		errno = 0;
		rc = sd_nss_errno(getgrnam_r(name, &gr, buf, len, &res));
		pthread_mutex_unlock(&nss_lock);
		if (rc != ERANGE)
			break;
		buf = grow(buf, &len);
		if (buf == NULL)
			return -ENOMEM;
	}
	if (rc == 0 && res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM || (rc == 0 && res == NULL))
		return -ENOENT;
	return -rc;
}

/* The user's primary and supplementary groups. 0 or -errno. */
static int user_groups(const struct sd_user *u, gid_t **out, int *count)
{
	int n = 32;
	gid_t *g = NULL;

	for (int tries = 0; tries < 8; tries++) {
		gid_t *ng = realloc(g, (size_t)n * sizeof(*g));
		int want = n, rc;

		if (ng == NULL) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		pthread_mutex_lock(&nss_lock);
		rc = getgrouplist(u->name, u->gid, g, &want);
		pthread_mutex_unlock(&nss_lock);
		if (rc >= 0) {
			*out = g;
			*count = want;
			return 0;
		}
		if (want <= n || want > 65536) {
			free(g);
			return -EIO;
		}
		n = want;
	}
	free(g);
	return -EIO;
}

/* 1 if the user is in any group of LIST (*WHICH: its name), 0 if not,
 * -errno if unsure. */
static int in_any_group(const struct sd_strlist *list, const gid_t *g, int ng, const char **which)
{
	size_t i;
	int j;

	for (i = 0; i < list->n; i++) {
		gid_t gid = (gid_t)-1;
		int rc = sd_group_gid(list->v[i], &gid);

		if (rc == -ENOENT)
			continue; /* a configured group this host does not have */
		if (rc != 0)
			return rc;
		for (j = 0; j < ng; j++)
			if (g[j] == gid) {
				*which = list->v[i];
				return 1;
			}
	}
	return 0;
}

enum sd_role sd_role_of(const struct sd_config *c, const struct sd_user *u, int *lookup_failed)
{
	const char *why;

	return sd_role_of_why(c, u, lookup_failed, &why);
}

enum sd_role sd_role_of_why(const struct sd_config *c, const struct sd_user *u, int *lookup_failed,
			    const char **why)
{
	gid_t *g = NULL;
	const char *which = NULL;
	int ng = 0, rc;
	enum sd_role role;

	*lookup_failed = 0;
	*why = NULL;
	if (sd_strlist_contains(&c->roles.breakglass_users, u->name))
		return SD_ROLE_BREAKGLASS;
	if (sd_strlist_contains(&c->roles.exempt_users, u->name))
		return SD_ROLE_EXEMPT;
	if (c->roles.exempt_groups.n == 0 && u->uid == 0)
		return SD_ROLE_ADMIN; /* no group lookup needed */
	if (user_groups(u, &g, &ng) != 0) {
		*lookup_failed = 1;
		return SD_ROLE_ADMIN;
	}
	rc = in_any_group(&c->roles.exempt_groups, g, ng, &which);
	if (rc == 1) {
		*why = which;
		role = SD_ROLE_EXEMPT;
		goto done;
	}
	if (rc < 0) {
		*lookup_failed = 1;
		role = SD_ROLE_ADMIN;
		goto done;
	}
	if (u->uid == 0) {
		role = SD_ROLE_ADMIN;
		goto done;
	}
	rc = in_any_group(&c->roles.admin_groups, g, ng, &which);
	if (rc < 0)
		*lookup_failed = 1;
	role = rc == 0 ? SD_ROLE_USER : SD_ROLE_ADMIN;
done:
	free(g);
	return role;
}

static const char *const class_names[] = {"standard", "legacy", "privileged", "noninteractive"};

int sd_class_parse(const char *s, enum sd_class *out)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, class_names[i]) == 0) {
			*out = (enum sd_class)i;
			return 0;
		}
	return -EINVAL;
}

enum sd_class sd_class_of(const struct sd_config *c, const char *service, const char *tag)
{
	enum sd_class cls;

	if (tag != NULL && sd_class_parse(tag, &cls) == 0)
		return cls;
	if (sd_strlist_contains(&c->services.legacy, service))
		return SD_CLASS_LEGACY;
	if (sd_strlist_contains(&c->services.privileged, service))
		return SD_CLASS_PRIVILEGED;
	if (sd_strlist_contains(&c->services.noninteractive, service))
		return SD_CLASS_NONINTERACTIVE;
	return SD_CLASS_STANDARD;
}

const char *sd_role_name(enum sd_role r)
{
	static const char *const names[] = {"user", "admin", "exempt", "breakglass"};

	return (unsigned)r < 4 ? names[r] : "?";
}

const char *sd_class_name(enum sd_class c)
{
	return (unsigned)c < 4 ? class_names[c] : "?";
}
