/* userdb.h - roles of many users from one read of the passwd and group
 * databases.
 *
 * sd_user_lookup + sd_role_of cost one getpwnam and one getgrouplist (plus a
 * getgrnam per configured group) for each user; with a flat-file NSS
 * (glibc's files backend, nss_wrapper) each is a scan of the whole file, so
 * walking every user is quadratic. A userdb reads passwd and group once
 * through NSS (setpwent/getpwent_r, setgrent/getgrent_r: files, sssd, LDAP
 * alike) into hash tables and answers the same question from them, with
 * the same result as the per-user path:
 *
 *   - the passwd entry of a name is the first one enumerated (getpwnam's);
 *   - a configured group name is resolved with getgrnam_r, as sd_role_of
 *     does (a group this host lacks is skipped, a failed lookup makes the
 *     user admin and sets lookup_failed);
 *   - the user's groups are the primary gid and the gid of every group
 *     entry that lists the user as a member (what getgrouplist returns);
 *   - the precedence is sd_role_of's.
 *
 * A name the enumeration did not return (an NSS source that does not
 * enumerate, a non-canonical spelling) is answered by the per-user path.
 * When the tables cannot answer at all (no passwd entry enumerated, a
 * configured group that getgrnam finds but enumeration does not, an
 * enumeration error), sd_userdb_open says so and the caller uses the
 * per-user path (a NULL userdb) for every user: correctness never depends
 * on enumeration. The one thing the tables take on trust is that
 * enumerated member lists are the memberships getgrouplist sees (true for
 * files, nss_wrapper, sssd unless ignore_group_members is set). */
#ifndef SD_USERDB_H
#define SD_USERDB_H

#include "conf.h"
#include "user.h"

struct sd_userdb;

/* Read passwd and group (for config C, which must outlive the userdb).
 * 0 with *OUT set; -ENODATA when the tables cannot answer (see above), or
 * another -errno: in every failure case *OUT is NULL and the per-user path
 * is the answer. */
int sd_userdb_open(const struct sd_config *c, struct sd_userdb **out);
void sd_userdb_free(struct sd_userdb *db);

/* What sd_user_lookup(NAME) then sd_role_of(C) give, from DB's tables
 * (opened with the same C), or by those two calls when DB is NULL or does
 * not hold NAME: 0 with *U and
 * *ROLE set (and *LOOKUP_FAILED as sd_role_of sets it), or
 * sd_user_lookup's error (-ENOENT unknown, ...). *WHY (if WHY is not NULL)
 * is the configured group that made an exempt user exempt, else NULL. */
int sd_userdb_role(struct sd_userdb *db, const struct sd_config *c, const char *name,
		   struct sd_user *u, enum sd_role *role, int *lookup_failed, const char **why);

/* How many passwd entries DB holds (0 for NULL). */
size_t sd_userdb_size(const struct sd_userdb *db);

#endif
