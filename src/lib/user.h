/* user.h - user names, NSS lookups, roles and service classes. */
#ifndef SD_USER_H
#define SD_USER_H

#include <sys/types.h>

#include "conf.h"

#define SD_USER_MAX 32

enum sd_role { SD_ROLE_USER = 0, SD_ROLE_ADMIN, SD_ROLE_EXEMPT, SD_ROLE_BREAKGLASS };
enum sd_class {
	SD_CLASS_STANDARD = 0,
	SD_CLASS_LEGACY,
	SD_CLASS_PRIVILEGED,
	SD_CLASS_NONINTERACTIVE
};

struct sd_user {
	char name[SD_USER_MAX + 1]; /* canonical pw_name from NSS */
	uid_t uid;
	gid_t gid;
};

/* 0 if NAME may be a user name: 1..32 bytes, no '/', no control characters
 * or whitespace, no leading '.' or '-'. -EINVAL otherwise. */
int sd_user_name_valid(const char *name);

/* Look NAME up with getpwnam_r. 0 found, -ENOENT unknown, other -errno on a
 * lookup failure (which callers must treat as a deny, not as unknown). */
int sd_user_lookup(const char *name, struct sd_user *out);

/* Resolve group NAME with getgrnam_r (the buffer grows to 1 MiB, an entry
 * larger than that is a failed lookup). 0 with *GID, -ENOENT no such
 * group, other -errno on a lookup failure. */
int sd_group_gid(const char *name, gid_t *gid);

/* The error number of a getpwnam_r-style return: RC itself, or errno when
 * RC is -1 (nss_wrapper, when the buffer is too small, returns -1 and sets
 * errno). */
int sd_nss_errno(int rc);

/* The user's role. On a group lookup failure the role is admin (the most
 * restrictive) and *LOOKUP_FAILED is set so the caller can log it. */
enum sd_role sd_role_of(const struct sd_config *c, const struct sd_user *u, int *lookup_failed);
/* The same, and *WHY: the exempt group that made the user exempt, else NULL. */
enum sd_role sd_role_of_why(const struct sd_config *c, const struct sd_user *u, int *lookup_failed,
			    const char **why);

/* The class of a service: TAG (the service_tag= argument) if not NULL, else
 * SERVICE looked up in the services lists (legacy, privileged,
 * noninteractive, in that order), else standard. */
enum sd_class sd_class_of(const struct sd_config *c, const char *service, const char *tag);

/* Parse a service_tag= value; -EINVAL if unknown. */
int sd_class_parse(const char *s, enum sd_class *out);

const char *sd_role_name(enum sd_role r);
const char *sd_class_name(enum sd_class c);

#endif
