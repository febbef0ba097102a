#include "config.h"

/* test_userdb.c - roles from one read of passwd and group (sd_userdb) are
 * the roles of the per-user path (sd_user_lookup + sd_role_of), user by
 * user, on a population with primary and supplementary memberships, users
 * in several role groups, duplicate names and gids, unknown users, and
 * with enumeration that returns nothing.
 *
 * The test writes its passwd and group files and runs itself again under
 * nss_wrapper (skipped, exit 77, when libnss_wrapper.so is not there). The
 * enumeration and getgrnam_r calls pass through functions defined here,
 * which the tests switch off or make fail. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/user.h"
#include "../../src/lib/userdb.h"

#define NUSERS 600

/* ---- interposed NSS calls -------------------------------------------- */

static int no_pwent, no_grent;	  /* enumeration returns nothing */
static const char *fail_grnam;	  /* getgrnam_r of this name fails with EIO */
static unsigned long pwent_calls; /* getpwent_r calls */

int getpwent_r(struct passwd *pw, char *buf, size_t len, struct passwd **res);
int getgrent_r(struct group *gr, char *buf, size_t len, struct group **res);
int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, struct group **res);

int getpwent_r(struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	static int (*real)(struct passwd *, char *, size_t, struct passwd **);

	pwent_calls++;
	if (no_pwent) {
		*res = NULL;
		return ENOENT;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getpwent_r");
	return real(pw, buf, len, res);
}

int getgrent_r(struct group *gr, char *buf, size_t len, struct group **res)
{
	static int (*real)(struct group *, char *, size_t, struct group **);

	if (no_grent) {
		*res = NULL;
		return ENOENT;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getgrent_r");
	return real(gr, buf, len, res);
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, struct group **res)
{
	static int (*real)(const char *, struct group *, char *, size_t, struct group **);

	if (fail_grnam != NULL && strcmp(name, fail_grnam) == 0) {
		*res = NULL;
		return EIO;
	}
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getgrnam_r");
	return real(name, gr, buf, len, res);
}

/* ---- the population ---------------------------------------------------- */

static uint64_t rng = 0x5ec0defa17be4c00ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Role groups: name, gid. "wheel" appears twice (getgrnam sees the first),
 * "sudo2" shares sudo's gid (getgrouplist reports the gid either way). */
static const struct {
	const char *name;
	unsigned gid;
} role_groups[] = {
	{"sudo", 27},  {"wheel", 10}, {"batch", 2000}, {"ops", 2001},
	{"sudo2", 27}, {"wheel", 11}, {"audit", 2002},
};
#define NROLE (sizeof(role_groups) / sizeof(role_groups[0]))

static void write_population(const char *dir)
{
	char path[4096];
	FILE *pw, *gr;
	char *members[NROLE];
	size_t mlen[NROLE];
	unsigned i, k;

	snprintf(path, sizeof(path), "%s/passwd", dir);
	pw = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/group", dir);
	gr = fopen(path, "w");
	if (pw == NULL || gr == NULL)
		exit(1);
	for (k = 0; k < NROLE; k++) {
		members[k] = calloc(1, 1);
		mlen[k] = 0;
	}
	fprintf(pw, "root:x:0:0:root:/root:/bin/sh\n");
	fprintf(pw, "toor:x:0:5000:second root:/root:/bin/sh\n");
	fprintf(gr, "root:x:0:\n");
	for (i = 0; i < NUSERS; i++) {
		unsigned gid = 10000 + i, r = rnd(10);
		char name[32];

		snprintf(name, sizeof(name), "u%u", i);
		/* Primary group: mostly the user's own, else a role group. */
		if (r >= 7)
			gid = role_groups[rnd(NROLE)].gid;
		fprintf(pw, "%s:x:%u:%u::/home/%s:/bin/sh\n", name, 10000 + i, gid, name);
		fprintf(gr, "%s:x:%u:\n", name, 10000 + i);
		/* Supplementary: none, one or several role groups. */
		for (k = 0; k < NROLE; k++) {
			if (rnd(8) != 0)
				continue;
			members[k] = realloc(members[k], mlen[k] + strlen(name) + 2);
			mlen[k] += (size_t)sprintf(members[k] + mlen[k], "%s%s", mlen[k] ? "," : "",
						   name);
		}
	}
	/* A second entry for u1 (getpwnam returns the first) and an invalid
	 * name (never a user). */
	fprintf(pw, "u1:x:4242:27::/:/bin/sh\n");
	fprintf(pw, ".hidden:x:4243:27::/:/bin/sh\n");
	for (k = 0; k < NROLE; k++) {
		/* Names listed in groups without a passwd entry, and root. */
		fprintf(gr, "%s:x:%u:%s%sghost%u%s\n", role_groups[k].name, role_groups[k].gid,
			members[k], mlen[k] ? "," : "", k, k == 3 ? ",root" : "");
		free(members[k]);
	}
	fclose(pw);
	fclose(gr);
}

static char tmpdir[] = "/tmp/test_userdb.XXXXXX";

static void cleanup(void)
{
	char path[4096];

	if (getenv("SD_USERDB_KEEP") != NULL) { /* to look at them */
		printf("# population kept in %s\n", tmpdir);
		return;
	}
	snprintf(path, sizeof(path), "%s/passwd", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/group", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* ---- checks ------------------------------------------------------------ */

static void load(struct sd_config *c, const char *text)
{
	struct sd_strlist problems = {0};

	memset(c, 0, sizeof(*c));
	if (sd_config_parse(text, "test.conf", c, &problems) != 0)
		fail_msg("config: %s", problems.n ? problems.v[0] : "?");
	sd_strlist_free(&problems);
}

/* The names to ask about: everyone in passwd, the member-only ghosts,
 * unknown names and names that differ from a user's only in case. */
static const char *extra_names[] = {"ghost0", "ghost3", "nosuchuser", "U1",
				    "root",   "toor",	"u1",	      ".hidden"};

static void compare_one(struct sd_userdb *db, const struct sd_config *c, const char *name,
			unsigned *counts)
{
	struct sd_user ub, up;
	enum sd_role rb = SD_ROLE_USER, rp = SD_ROLE_USER;
	int lfb = 0, lfp = 0, rcb, rcp;
	const char *wb = NULL, *wp = NULL;

	memset(&ub, 0, sizeof(ub));
	memset(&up, 0, sizeof(up));
	rcb = sd_userdb_role(db, c, name, &ub, &rb, &lfb, &wb);
	rcp = sd_userdb_role(NULL, c, name, &up, &rp, &lfp, &wp);
	if (rcb != rcp)
		fail_msg("%s: rc %d bulk, %d per user", name, rcb, rcp);
	if (rcb != 0)
		return;
	if (rb != rp || lfb != lfp)
		fail_msg("%s: role %s%s bulk, %s%s per user", name, sd_role_name(rb),
			 lfb ? " (lookup failed)" : "", sd_role_name(rp),
			 lfp ? " (lookup failed)" : "");
	if ((wb == NULL) != (wp == NULL) || (wb != NULL && strcmp(wb, wp) != 0))
		fail_msg("%s: why %s bulk, %s per user", name, wb ? wb : "-", wp ? wp : "-");
	assert_string_equal(ub.name, up.name);
	assert_int_equal(ub.uid, up.uid);
	assert_int_equal(ub.gid, up.gid);
	counts[rb]++;
}

/* Every name gives the same answer both ways; returns how many of each
 * role, so the tests can check the population covers them. */
static void compare_all(const char *conf, unsigned counts[4], int want_db)
{
	struct sd_config c;
	struct sd_userdb *db = NULL;
	char name[32];
	unsigned i;
	int rc;

	load(&c, conf);
	rc = sd_userdb_open(&c, &db);
	if (want_db) {
		assert_int_equal(rc, 0);
		assert_non_null(db);
		/* root, toor, u0..u599 (u1 once; .hidden is not valid) */
		assert_int_equal(sd_userdb_size(db), NUSERS + 2);
	} else {
		assert_int_equal(rc, -ENODATA);
		assert_null(db);
	}
	memset(counts, 0, 4 * sizeof(*counts));
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		compare_one(db, &c, name, counts);
	}
	for (i = 0; i < sizeof(extra_names) / sizeof(*extra_names); i++)
		compare_one(db, &c, extra_names[i], counts);
	sd_userdb_free(db);
	sd_config_free(&c);
}

static void test_defaults(void **unused)
{
	unsigned n[4];

	(void)unused;
	compare_all("", n, 1);
	assert_true(n[SD_ROLE_ADMIN] > 50);
	assert_true(n[SD_ROLE_USER] > 50);
}

static void test_exempt_groups_and_names(void **unused)
{
	unsigned n[4];

	(void)unused;
	compare_all(
		"roles = { admin_groups = [\"sudo\", \"wheel\", \"nosuchgroup\", \"audit\"];"
		" exempt_groups = [\"ops\", \"nosuchgroup2\", \"batch\"];"
		" exempt_users = [\"u5\", \"u6\"]; breakglass_users = [\"u7\", \"u5\", \"ghost0\"]; };",
		n, 1);
	assert_true(n[SD_ROLE_ADMIN] > 20);
	assert_true(n[SD_ROLE_USER] > 20);
	assert_true(n[SD_ROLE_EXEMPT] > 20);
	assert_int_equal(n[SD_ROLE_BREAKGLASS], 2);
}

/* An admin group that is only a secondary gid ("wheel" 11 is not what
 * getgrnam gives) and an exempt group root belongs to. */
static void test_root_and_duplicates(void **unused)
{
	unsigned n[4];

	(void)unused;
	compare_all(
		"roles = { admin_groups = [\"sudo2\", \"wheel\"]; exempt_groups = [\"ops\"]; };", n,
		1);
	compare_all("roles = { admin_groups = []; exempt_groups = []; };", n, 1);
	assert_int_equal(n[SD_ROLE_ADMIN], 2); /* root and toor, by uid */
}

/* A configured group whose lookup fails: admin, lookup_failed, both ways. */
static void test_group_lookup_fails(void **unused)
{
	unsigned n[4];

	(void)unused;
	fail_grnam = "batch";
	compare_all("roles = { exempt_groups = [\"ops\", \"batch\"]; };", n, 1);
	assert_true(n[SD_ROLE_ADMIN] > 400);
	compare_all("roles = { admin_groups = [\"sudo\", \"batch\"]; };", n, 1);
	fail_grnam = NULL;
}

/* passwd enumerates nothing (sssd enumerate = false): no tables, and the
 * per-user path still answers. */
static void test_no_enumeration(void **unused)
{
	unsigned n[4];

	(void)unused;
	no_pwent = 1;
	compare_all("roles = { exempt_groups = [\"ops\"]; };", n, 0);
	assert_true(n[SD_ROLE_ADMIN] > 50);
	no_pwent = 0;
}

/* Users enumerate but groups do not: a configured group getgrnam finds is
 * not in the tables, so they cannot answer. */
static void test_groups_not_enumerated(void **unused)
{
	struct sd_config c;
	struct sd_userdb *db = NULL;
	unsigned n[4];

	(void)unused;
	no_grent = 1;
	compare_all("", n, 0);
	/* No configured group exists: group enumeration is not needed. */
	load(&c, "roles = { admin_groups = [\"nosuchgroup\"]; };");
	assert_int_equal(sd_userdb_open(&c, &db), 0);
	sd_userdb_free(db);
	sd_config_free(&c);
	no_grent = 0;
}

/* One pass over passwd, however many users are asked about. */
static void test_one_pass(void **unused)
{
	struct sd_config c;
	struct sd_userdb *db = NULL;
	struct sd_user u;
	enum sd_role r;
	char name[32];
	unsigned long before;
	int lf, i;

	(void)unused;
	load(&c, "");
	before = pwent_calls;
	assert_int_equal(sd_userdb_open(&c, &db), 0);
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(sd_userdb_role(db, &c, name, &u, &r, &lf, NULL), 0);
	}
	/* every entry once, and the end */
	assert_int_equal(pwent_calls - before, NUSERS + 4 + 1);
	sd_userdb_free(db);
	sd_config_free(&c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_exempt_groups_and_names),
		cmocka_unit_test(test_root_and_duplicates),
		cmocka_unit_test(test_group_lookup_fails),
		cmocka_unit_test(test_no_enumeration),
		cmocka_unit_test(test_groups_not_enumerated),
		cmocka_unit_test(test_one_pass),
	};
	struct passwd *pw;

	(void)argc;
	if (getenv("SD_USERDB_TEST") == NULL) {
		char path[4096];

		if (mkdtemp(tmpdir) == NULL)
			return 1;
		write_population(tmpdir);
		setenv("SD_USERDB_TEST", tmpdir, 1);
		setenv("LD_PRELOAD", "libnss_wrapper.so", 1);
#if defined(__SANITIZE_ADDRESS__)
		/* An ASan build links its runtime; nss_wrapper preloaded ahead
		 * of it is what this test wants, not an error. */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
#endif
		snprintf(path, sizeof(path), "%s/passwd", tmpdir);
		setenv("NSS_WRAPPER_PASSWD", path, 1);
		snprintf(path, sizeof(path), "%s/group", tmpdir);
		setenv("NSS_WRAPPER_GROUP", path, 1);
		fflush(stdout);
		switch (fork()) {
		case -1:
			cleanup();
			return 1;
		case 0:
			/* argv[0] first: under valgrind /proc/self/exe is valgrind's
			 * tool, which cannot be run directly. */
			execv(argv[0], argv);
			execv("/proc/self/exe", argv);
			_exit(127);
		default: {
			int status = 0;

			wait(&status);
			cleanup();
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
				printf("# skipped: cannot run under libnss_wrapper.so\n");
				return 77;
			}
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		}
	}
	pw = getpwnam("u599");
	if (pw == NULL || pw->pw_uid != 10599) {
		printf("# skipped: libnss_wrapper.so is not answering\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
