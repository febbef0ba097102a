/* secdefaultsctl - the admin command: check the config, enrol users, look at
 * and change their state. It shares the config parser, the store and the
 * policy with the module (src/lib), so what it says is what the module does.
 *
 * Exit status: 0 ok, 1 failed, 2 usage. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../lib/enroll.h"
#include "../lib/recovery.h"
#include "migrate.h"
#include "../lib/request.h"
#include "../lib/totp.h"
#include "../lib/userdb.h"

#define EXIT_USAGE 2

static const char *config_path = SD_DEFAULT_CONFIG;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: secdefaultsctl [--config PATH] VERB ...\n"
		"  check                              validate the configuration\n"
		"  status [USER...] [--json]          show users' state\n"
		"  show USER                          the state the module decides on\n"
		"  enroll USER [--secret BASE32] [--force] [--qr|--no-qr]\n"
		"                                     create or import a TOTP secret\n"
		"  reset USER                         forget secret and state\n"
		"  unlock USER                        clear failures and lock\n"
		"  flag USER [--reason TEXT]          mark compromised\n"
		"  dismiss USER                       clear the compromised flag\n"
		"  codes USER [--count N]             issue one-time recovery codes\n"
		"  explain USER --service NAME [--rhost ADDR] [--tag CLASS] [--account]\n"
		"                                     the decision, changing nothing\n"
		"  import-oath FILE [--force]         import TOTP tokens of a liboath users file\n"
		"  import-google-authenticator USER FILE [--force]\n"
		"                                     import a ~/.google_authenticator file\n"
		"  report [--days N] [--json]         rollout readiness\n"
		"  revoke USER | --all [--yes]        end running sessions\n"
		"  migrate --to etcd|dir [--force]    move every user to the other backend\n"
		"see secdefaultsctl(8)\n");
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("secdefaultsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* Load the config; print problems. 0 ok. */
static int load_config(struct sd_config *c)
{
	struct sd_strlist problems = {0};
	size_t i;
	int rc = sd_config_load(config_path, c, &problems);

	for (i = 0; i < problems.n; i++)
		fprintf(stderr, "%s\n", problems.v[i]);
	sd_strlist_free(&problems);
	return rc;
}

/* Resolve a user name to the canonical NSS name. 0 ok, else prints. */
static int resolve(const char *name, struct sd_user *u)
{
	int rc;

	if (sd_user_name_valid(name) != 0) {
		char clean[64];

		sd_sanitize(clean, sizeof(clean), name);
		fail("invalid user name \"%s\"", clean);
		return -EINVAL;
	}
	rc = sd_user_lookup(name, u);
	if (rc == -ENOENT)
		fail("unknown user \"%s\"", name);
	else if (rc != 0)
		fail("cannot look up user \"%s\": %s", name, strerror(-rc));
	return rc;
}

static void audit(const char *action, const char *user, const char *detail)
{
	char clean[SD_USER_MAX * 2 + 1];

	sd_sanitize(clean, sizeof(clean), user);
	openlog("secdefaultsctl", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_NOTICE, "action=%s user=%s by_uid=%u%s%s", action, clean, (unsigned)getuid(),
	       detail ? " " : "", detail ? detail : "");
	closelog();
}

static int cmd_check(int argc, char **argv)
{
	struct sd_config c;
	int rc;

	if (argc != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = load_config(&c);
	/* The etcd store checks its client key when it opens (no network). */
	if (rc == 0 && c.state_backend == SD_BACKEND_ETCD) {
		struct sd_store *s = NULL;
		struct sd_err err = {""};

		rc = sd_store_open(&c, SD_STORE_READONLY, &s, &err);
		if (rc == 0)
			sd_cli_close_store(s);
		else
			fprintf(stderr, "%s: %s\n", config_path, err.msg);
	}
	sd_config_free(&c);
	if (rc != 0)
		return EXIT_FAILURE;
	printf("%s: OK\n", config_path);
	return EXIT_SUCCESS;
}

/* A read-modify-write of one user's state under the module's lock. */
typedef int (*mutator)(struct sd_store *s, const char *user, struct sd_state *st, void *arg);

enum {
	WS_ANY_USER = 1, /* the name need not be known to NSS (reset of a removed user) */
	WS_NO_LOAD = 2,	 /* do not read the state first (reset of a corrupt file) */
};

/* Run FN under the user's lock; the canonical name goes to CANON. */
static int with_state(const char *name, unsigned flags, mutator fn, void *arg,
		      char canon[SD_USER_MAX + 1])
{
	struct sd_config c;
	struct sd_user u;
	struct sd_store *s = NULL;
	struct sd_state st;
	struct sd_err err = {""};
	int rc;

	memset(&st, 0, sizeof(st));
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems: nothing changed", config_path);
	}
	rc = (flags & WS_ANY_USER) && sd_user_name_valid(name) == 0 ? sd_user_lookup(name, &u)
								    : resolve(name, &u);
	if (rc == -ENOENT && (flags & WS_ANY_USER)) {
		snprintf(u.name, sizeof(u.name), "%s", name);
		rc = 0;
	} else if (rc != 0 && (flags & WS_ANY_USER) && sd_user_name_valid(name) == 0) {
		fail("cannot look up user \"%s\": %s", name, strerror(-rc));
	}
	if (rc != 0) {
		sd_config_free(&c);
		return EXIT_FAILURE;
	}
	memcpy(canon, u.name, sizeof(u.name));
	rc = sd_store_open(&c, 0, &s, &err);
	if (rc == 0)
		rc = sd_store_lock(s, u.name, &err);
	if (rc == 0) {
		if (!(flags & WS_NO_LOAD)) {
			rc = sd_store_load(s, u.name, &st, &err);
			if (rc == -ENOENT) {
				memset(&st, 0, sizeof(st));
				rc = 0;
			}
		}
		if (rc == 0)
			rc = fn(s, u.name, &st, arg);
		sd_store_unlock(s);
	}
	sd_cli_close_store(s);
	sd_config_free(&c);
	sd_wipe(&st, sizeof(st));
	if (rc != 0 && err.msg[0] != '\0')
		return fail("%s", err.msg);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

struct enroll_arg {
	const char *secret_b32;
	int force;
	const struct sd_strlist *scratch; /* imported one-time codes to keep */
	struct sd_config *cfg;
	unsigned char key[SD_MAX_KEY];
	size_t keylen;
};

static int save_state(struct sd_store *s, const char *user, struct sd_state *st)
{
	struct sd_err err = {""};
	int rc = sd_store_save(s, user, st, 0, &err);

	if (rc != 0)
		fail("%s", err.msg);
	return rc;
}

static int do_enroll(struct sd_store *s, const char *user, struct sd_state *st, void *argp)
{
	struct enroll_arg *a = argp;
	struct sd_secret sec;
	struct sd_err err = {""};
	int rc;

	if (st->enrolled != 0 && !a->force) {
		fail("%s is already enrolled: use --force to replace the secret", user);
		return -EEXIST;
	}
	memset(&sec, 0, sizeof(sec));
	memcpy(sec.key, a->key, a->keylen);
	sec.keylen = a->keylen;
	for (size_t i = 0; a->scratch != NULL && i < a->scratch->n && i < SD_MAX_RECOVERY; i++) {
		rc = sd_recovery_hash(a->scratch->v[i], sec.recovery[sec.nrecovery]);
		if (rc != 0) {
			sd_wipe(&sec, sizeof(sec));
			fail("cannot hash a recovery code: %s", strerror(-rc));
			return rc;
		}
		sec.nrecovery++;
	}
	rc = sd_store_save_secret(s, user, &sec, &err);
	sd_wipe(&sec, sizeof(sec));
	if (rc != 0) {
		fail("%s", err.msg);
		return rc;
	}
	st->enrolled = sd_now();
	st->failures = 0;
	st->locked_until = 0;
	/* A new secret has no used steps: the old guard would refuse valid
	 * codes if totp.period changed since. */
	st->last_step = 0;
	return save_state(s, user, st);
}

/* Print the otpauth URI, and its QR code when stdout is a terminal (or
 * --qr asks for it). */
static int print_enrolment(const struct sd_config *c, const char *user, const unsigned char *key,
			   size_t keylen, int qr)
{
	char host[256] = "";
	char *uri = NULL, **lines = NULL;
	struct sd_err qr_err = {""};
	size_t n = 0, i;
	int rc;

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	rc = sd_otpauth_uri(c, user, host, key, keylen, &uri);
	if (rc != 0)
		return fail("cannot build the otpauth URI: %s", strerror(-rc));
	printf("%s\n", uri);
	if (qr && sd_qr_lines(uri, isatty(STDOUT_FILENO), &lines, &n, &qr_err) == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", lines[i]);
		sd_qr_free(lines, n);
	} else if (qr) {
		fprintf(stderr, "secdefaultsctl: no QR code: %s\n", qr_err.msg);
	}
	sd_wipe(uri, strlen(uri));
	free(uri);
	return 0;
}

static int cmd_enroll(int argc, char **argv)
{
	struct enroll_arg a;
	struct sd_config c;
	char canon[SD_USER_MAX + 1] = "";
	const char *user = NULL;
	int i, rc, qr = -1;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
			a.secret_b32 = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			a.force = 1;
		else if (strcmp(argv[i], "--qr") == 0)
			qr = 1;
		else if (strcmp(argv[i], "--no-qr") == 0)
			qr = 0;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (user == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.secret_b32 != NULL) {
		if (sd_base32_decode(a.secret_b32, a.key, sizeof(a.key), &a.keylen) != 0)
			return fail("--secret is not valid base32");
		if (a.keylen < 10) {
			sd_wipe(a.key, sizeof(a.key));
			return fail(
				"--secret is too short: at least 16 base32 characters (80 bits)");
		}
	} else {
		a.keylen = SD_NEW_KEY_BYTES;
		if (sd_new_key(a.key, a.keylen) != 0)
			return fail("cannot get random bytes: %s", strerror(errno));
	}
	rc = with_state(user, 0, do_enroll, &a, canon);
	if (rc == EXIT_SUCCESS && load_config(&c) == 0) {
		print_enrolment(&c, canon, a.key, a.keylen, qr < 0 ? isatty(STDOUT_FILENO) : qr);
		audit("enroll", canon, a.secret_b32 ? "secret=imported" : "secret=generated");
	}
	if (rc == EXIT_SUCCESS)
		sd_config_free(&c);
	sd_wipe(a.key, sizeof(a.key));
	return rc;
}

static int do_reset(struct sd_store *s, const char *user, struct sd_state *st, void *arg)
{
	struct sd_err err = {""};
	int rc = sd_store_remove(s, user, &err);

	(void)st;
	(void)arg;
	if (rc != 0)
		fail("%s", err.msg);
	return rc;
}

static int do_unlock(struct sd_store *s, const char *user, struct sd_state *st, void *arg)
{
	(void)arg;
	st->failures = 0;
	st->locked_until = 0;
	return save_state(s, user, st);
}

static int do_flag(struct sd_store *s, const char *user, struct sd_state *st, void *arg)
{
	const char *reason = arg;

	st->compromised = 1;
	st->compromised_at = sd_now();
	st->password_reset = 0;
	snprintf(st->compromised_reason, sizeof(st->compromised_reason), "%s",
		 reason ? reason : "flagged by an administrator");
	return save_state(s, user, st);
}

static int do_dismiss(struct sd_store *s, const char *user, struct sd_state *st, void *arg)
{
	(void)arg;
	st->compromised = 0;
	st->compromised_at = 0;
	st->password_reset = 0;
	st->compromised_reason[0] = '\0';
	return save_state(s, user, st);
}

static int cmd_simple(const char *verb, int argc, char **argv)
{
	const char *reason = NULL;
	const char *user = NULL;
	char canon[SD_USER_MAX + 1] = "";
	mutator fn;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(verb, "flag") == 0 && strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (user == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (reason != NULL) {
		for (i = 0; reason[i] != '\0'; i++)
			if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
				return fail("--reason must be one line of printable text");
		if (strlen(reason) >= SD_REASON_LEN)
			return fail("--reason is longer than %d bytes", SD_REASON_LEN - 1);
	}
	fn = strcmp(verb, "reset") == 0	   ? do_reset
	     : strcmp(verb, "unlock") == 0 ? do_unlock
	     : strcmp(verb, "flag") == 0   ? do_flag
					   : do_dismiss;
	rc = with_state(user, fn == do_reset ? WS_ANY_USER | WS_NO_LOAD : 0, fn, (void *)reason,
			canon);
	if (rc == EXIT_SUCCESS) {
		printf("%s: %s done\n", canon, verb);
		audit(verb, canon, NULL);
	}
	return rc;
}

/* status */

struct status_ctx {
	struct sd_config *cfg;
	struct sd_store *store;
	int json;
	int first;
	int failed;
	time_t now;
	struct sd_userdb *db; /* listing every user: passwd and group read once */
};

/* Length of the valid UTF-8 sequence at S, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || (n == 2 && s[0] < 0xc2) || (n == 4 && s[0] > 0xf4))
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate or beyond U+10FFFF */
	return n;
}

/* A JSON string: escapes, and U+FFFD for bytes that are not UTF-8. */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	putchar('"');
	while (*s != '\0') {
		size_t n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", stdout);
			s++;
		} else if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, stdout);
			s += n;
		}
	}
	putchar('"');
}

static int status_one(const char *name, void *arg)
{
	struct status_ctx *x = arg;
	struct sd_user u;
	struct sd_state st;
	struct sd_err err = {""};
	const char *role = "unknown";
	char grace[32], locked[SD_TIME_LEN] = "-", last[SD_TIME_LEN] = "-", comp[SD_TIME_LEN] = "-";
	enum sd_role r;
	int rc, lf;

	if (sd_userdb_role(x->db, x->cfg, name, &u, &r, &lf, NULL) == 0)
		role = sd_role_name(r);
	rc = sd_store_load(x->store, name, &st, &err);
	if (rc == -ENOENT) {
		memset(&st, 0, sizeof(st));
		rc = 0;
	}
	if (rc != 0) {
		fprintf(stderr, "secdefaultsctl: %s\n", err.msg);
		x->failed = 1;
		return 0;
	}
	if (st.enrolled != 0)
		snprintf(grace, sizeof(grace), "-");
	else if (sd_grace_over(x->cfg, &st, x->now))
		snprintf(grace, sizeof(grace), "expired");
	else if (st.grace_start == 0)
		snprintf(grace, sizeof(grace), "not-started");
	else {
		time_t end = st.grace_start + (time_t)x->cfg->grace_days * 86400;
		long left = (long)((end - sd_effective_now(&st, x->now) + 86399) / 86400);

		snprintf(grace, sizeof(grace), "%ldd", left);
	}
	if (st.locked_until > x->now)
		sd_time_format(st.locked_until, locked);
	if (st.last_totp != 0)
		sd_time_format(st.last_totp, last);
	if (st.compromised)
		sd_time_format(st.compromised_at, comp);
	if (x->json) {
		char en[SD_TIME_LEN] = "", gs[SD_TIME_LEN] = "";
		size_t i;

		if (st.enrolled)
			sd_time_format(st.enrolled, en);
		if (st.grace_start)
			sd_time_format(st.grace_start, gs);
		printf("%s\n  {\"user\": ", x->first ? "" : ",");
		json_str(name);
		printf(", \"role\": \"%s\", \"enrolled\": %s, \"enrolled_at\": ", role,
		       st.enrolled ? "true" : "false");
		if (st.enrolled)
			json_str(en);
		else
			printf("null");
		printf(", \"grace_start\": ");
		if (st.grace_start)
			json_str(gs);
		else
			printf("null");
		printf(", \"grace\": \"%s\", \"failures\": %u, \"locked_until\": ", grace,
		       st.failures);
		if (st.locked_until > x->now)
			json_str(locked);
		else
			printf("null");
		printf(", \"compromised\": %s, \"compromised_at\": ",
		       st.compromised ? "true" : "false");
		if (st.compromised)
			json_str(comp);
		else
			printf("null");
		printf(", \"compromised_reason\": ");
		if (st.compromised)
			json_str(st.compromised_reason);
		else
			printf("null");
		printf(", \"last_totp\": ");
		if (st.last_totp)
			json_str(last);
		else
			printf("null");
		printf(", \"locations\": [");
		for (i = 0; i < st.nloc; i++) {
			char t[SD_TIME_LEN];

			sd_time_format(st.loc[i].last_totp, t);
			printf("%s{\"network\": ", i ? ", " : "");
			json_str(st.loc[i].net);
			printf(", \"last_totp\": ");
			json_str(t);
			printf("}");
		}
		printf("]}");
	} else {
		printf("%-20s %-10s %-8s %-11s %-20s %-20s %-20s %zu\n", name, role,
		       st.enrolled ? "yes" : "no", grace, locked, comp, last, st.nloc);
	}
	x->first = 0;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const char *user, void *arg)
{
	return sd_strlist_add(arg, user) == 0 ? 0 : -ENOMEM;
}

/* With more users than this, passwd and group are read once (sd_userdb)
 * instead of looked up user by user: getpwnam and getgrouplist over a
 * large files database are each a linear scan. */
#define ENUMERATE_ABOVE 256

/* The tables for NUSERS users, or NULL: the per-user path (few users, or
 * the tables cannot answer, e.g. NSS does not enumerate). */
static struct sd_userdb *bulk_userdb(const struct sd_config *c, size_t nusers)
{
	struct sd_userdb *db = NULL;

	if (nusers > ENUMERATE_ABOVE && sd_userdb_open(c, &db) != 0)
		db = NULL;
	return db;
}

static int cmd_status(int argc, char **argv)
{
	struct status_ctx x;
	struct sd_config c;
	struct sd_strlist users = {0};
	struct sd_err err = {""};
	size_t i;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0) {
			x.json = 1;
		} else if (argv[k][0] == '-') {
			usage(stderr);
			return EXIT_USAGE;
		} else {
			struct sd_user u;

			if (resolve(argv[k], &u) != 0) {
				sd_strlist_free(&users);
				return EXIT_FAILURE;
			}
			if (sd_strlist_add(&users, u.name) != 0) {
				sd_strlist_free(&users);
				return fail("out of memory");
			}
		}
	}
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		sd_strlist_free(&users);
		return fail("configuration %s has problems", config_path);
	}
	x.cfg = &c;
	x.now = sd_now();
	x.first = 1;
	rc = sd_store_open(&c, SD_STORE_READONLY, &x.store, &err);
	if (rc == 0 && users.n == 0) {
		rc = sd_store_list(x.store, collect, &users, &err);
		if (rc == 0 && users.n > 1)
			qsort(users.v, users.n, sizeof(*users.v), cmp_str);
		x.db = bulk_userdb(&c, users.n);
	}
	if (rc != 0) {
		sd_cli_close_store(x.store);
		sd_config_free(&c);
		sd_strlist_free(&users);
		return fail("%s", err.msg[0] ? err.msg : strerror(-rc));
	}
	if (x.json)
		printf("[");
	else
		printf("%-20s %-10s %-8s %-11s %-20s %-20s %-20s %s\n", "USER", "ROLE", "ENROLLED",
		       "GRACE", "LOCKED_UNTIL", "COMPROMISED", "LAST_TOTP", "LOCATIONS");
	for (i = 0; i < users.n; i++)
		status_one(users.v[i], &x);
	if (x.json)
		printf("%s]\n", users.n ? "\n" : "");
	sd_userdb_free(x.db);
	sd_cli_close_store(x.store);
	sd_config_free(&c);
	sd_strlist_free(&users);
	return x.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* show USER: the state the module decides on, in the state file format
 * (the state file with the newest counters of the lock file applied). */
static int cmd_show(int argc, char **argv)
{
	struct sd_config c;
	struct sd_store *s = NULL;
	struct sd_state st;
	struct sd_err err = {""};
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (argc != 1 || argv[0][0] == '-') {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sd_user_name_valid(argv[0]) != 0)
		return fail("invalid user name");
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems", config_path);
	}
	rc = sd_store_open(&c, SD_STORE_READONLY, &s, &err);
	if (rc == 0)
		rc = sd_store_load(s, argv[0], &st, &err);
	if (rc == 0 && sd_state_format(&st, argv[0], &text, &len) != 0)
		rc = -ENOMEM;
	if (s != NULL)
		sd_cli_close_store(s);
	sd_config_free(&c);
	if (rc == -ENOENT)
		return fail("no state for %s", argv[0]);
	if (rc != 0)
		return fail("cannot read state of %s: %s", argv[0],
			    err.msg[0] != '\0' ? err.msg : strerror(-rc));
	fwrite(text, 1, len, stdout);
	free(text);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int cmd_explain(int argc, char **argv)
{
	static const char *const rows[] = {
		"",
		"1 enabled = false",
		"2 configuration missing, unsafe or invalid",
		"3 user name invalid",
		"4 user unknown to NSS",
		"5 role exempt or break-glass",
		"6 service class legacy",
		"7 service class noninteractive",
		"8 state unreadable, corrupt or unsafe",
		"9 locked out, or compromised and not enrolled",
		"10 not enrolled, grace not over",
		"11 not enrolled, grace over",
		"12 enrolled, TOTP required",
		"13 enrolled, TOTP not required",
	};
	struct sd_request r;
	const char *user = NULL;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
			r.service = argv[++i];
		else if (strcmp(argv[i], "--rhost") == 0 && i + 1 < argc)
			r.rhost = argv[++i];
		else if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc)
			r.service_tag = argv[++i];
		else if (strcmp(argv[i], "--account") == 0)
			r.phase = SD_PHASE_ACCOUNT;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (user == NULL || r.service == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r.config_path = config_path;
	r.username = user;
	r.now = sd_now();
	if (!sd_request_gate(&r))
		sd_request_decide(&r, SD_STORE_READONLY);
	for (size_t k = 0; k < r.problems.n; k++)
		printf("config: %s\n", r.problems.v[k]);
	printf("user:     %s\n", r.facts.user_known ? r.user.name : user);
	printf("role:     %s%s\n", r.facts.user_known ? sd_role_name(r.facts.role) : "-",
	       r.group_lookup_failed ? " (group lookup failed)" : "");
	printf("service:  %s (class %s)\n", r.service,
	       r.facts.config_ok ? sd_class_name(r.facts.cls) : "-");
	printf("location: %s%s\n", r.location, r.facts.trusted ? " (trusted network)" : "");
	printf("mode:     %s\n",
	       r.facts.config_ok && r.cfg.mode == SD_MODE_REPORT_ONLY ? "report-only" : "enforce");
	printf("phase:    %s\n", r.phase == SD_PHASE_AUTH ? "auth" : "account");
	if (r.verdict.rule == 8 && r.err.msg[0] != '\0')
		printf("state:    %s\n", r.err.msg);
	for (i = 1; i <= 13 && i < r.verdict.rule; i++)
		printf("  rule %-46s no\n", rows[i]);
	if (r.verdict.rule >= 1 && r.verdict.rule <= 13)
		printf("  rule %-46s DECIDES\n", rows[r.verdict.rule]);
	/* In report-only mode the module abstains on every row it reaches once
	 * the configuration is valid; say so, then what enforce mode would do. */
	printf("decision: %s%s (reason %s",
	       r.facts.config_ok && r.cfg.mode == SD_MODE_REPORT_ONLY
		       ? "report-only: the module abstains; enforce would: "
		       : "",
	       sd_verdict_name(r.verdict.kind), r.verdict.reason);
	if (r.verdict.kind == SD_V_PROMPT)
		printf(", TOTP because %s", sd_why_name(r.verdict.why));
	if (r.verdict.rule == 10)
		printf(", %d days of grace left", r.verdict.days_left);
	printf(")\n");
	if (sd_store_note(r.store) != NULL)
		fprintf(stderr, "secdefaultsctl: warning: %s\n", sd_store_note(r.store));
	sd_request_free(&r);
	return EXIT_SUCCESS;
}

/* codes */

struct codes_arg {
	int count;
	char codes[SD_MAX_RECOVERY][SD_RECOVERY_CODE_LEN];
};

static int do_codes(struct sd_store *s, const char *user, struct sd_state *st, void *argp)
{
	struct codes_arg *a = argp;
	struct sd_secret sec;
	struct sd_err err = {""};
	int rc, i;

	if (st->enrolled == 0) {
		fail("%s is not enrolled: run secdefaultsctl enroll %s first", user, user);
		return -ENOENT;
	}
	rc = sd_store_load_secret(s, user, &sec, &err);
	if (rc != 0) {
		fail("%s", err.msg);
		return rc;
	}
	/* New codes replace every earlier one. */
	sec.nrecovery = 0;
	for (i = 0; i < a->count; i++) {
		rc = sd_recovery_new(a->codes[i], sec.recovery[i]);
		if (rc != 0) {
			sd_wipe(&sec, sizeof(sec));
			fail("cannot make recovery codes: %s", strerror(-rc));
			return rc;
		}
		sec.nrecovery++;
	}
	rc = sd_store_save_secret(s, user, &sec, &err);
	sd_wipe(&sec, sizeof(sec));
	if (rc != 0)
		fail("%s", err.msg);
	return rc;
}

static int cmd_codes(int argc, char **argv)
{
	struct codes_arg a;
	char canon[SD_USER_MAX + 1] = "";
	const char *user = NULL;
	int i, rc;

	memset(&a, 0, sizeof(a));
	a.count = 10;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			uint64_t n;

			if (sd_parse_u64(argv[++i], &n) != 0 || n < 1 || n > SD_MAX_RECOVERY)
				return fail("--count must be between 1 and %d", SD_MAX_RECOVERY);
			a.count = (int)n;
		} else if (argv[i][0] != '-' && user == NULL) {
			user = argv[i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (user == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = with_state(user, 0, do_codes, &a, canon);
	if (rc == EXIT_SUCCESS) {
		printf("Recovery codes for %s (each works once; they replace any earlier codes;\n"
		       "they are shown only now):\n",
		       canon);
		for (i = 0; i < a.count; i++)
			printf("  %s\n", a.codes[i]);
		audit("codes", canon, NULL);
	}
	sd_wipe(&a, sizeof(a));
	return rc;
}

/* imports */

/* Read a whole small file that is ours to trust: no symlink, regular file,
 * at most 1 MiB. A malloc'd NUL-terminated buffer or NULL (reported). */
static char *read_input(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		fail("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
		fail("%s: not a regular file of at most 1 MiB", path);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf != NULL && len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL || len != (size_t)st.st_size) {
		fail("cannot read %s", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fail("%s contains a NUL byte", path);
		sd_wipe(buf, len);
		free(buf);
		return NULL;
	}
	return buf;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Import one user's key; returns NULL on success or why it was skipped. */
static const char *import_one(const struct sd_config *c, const char *user, const unsigned char *key,
			      size_t keylen, const struct sd_strlist *scratch, int force,
			      char canon[SD_USER_MAX + 1])
{
	struct enroll_arg a;
	struct sd_user u;
	int rc;

	if (sd_user_name_valid(user) != 0)
		return "invalid user name";
	rc = sd_user_lookup(user, &u);
	if (rc == -ENOENT)
		return "unknown user";
	if (rc != 0)
		return "user lookup failed";
	if (keylen < 10 || keylen > SD_MAX_KEY)
		return "key must be 10 to 64 bytes";
	memset(&a, 0, sizeof(a));
	a.force = force;
	a.scratch = scratch;
	a.cfg = (struct sd_config *)c;
	memcpy(a.key, key, keylen);
	a.keylen = keylen;
	rc = with_state(u.name, 0, do_enroll, &a, canon);
	sd_wipe(&a, sizeof(a));
	return rc == EXIT_SUCCESS ? NULL : "not imported (see the message above)";
}

static int cmd_import_oath(int argc, char **argv)
{
	struct sd_config c;
	const char *path = NULL;
	char *buf, *rest;
	int i, force = 0, lineno = 0, imported = 0, skipped = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems: nothing imported", config_path);
	}
	buf = read_input(path);
	if (buf == NULL) {
		sd_config_free(&c);
		return EXIT_FAILURE;
	}
	for (rest = buf;;) {
		char *l = strsep(&rest, "\n");
		char *f[8], *fs = NULL, canon[SD_USER_MAX + 1] = "", user[64];
		unsigned char key[SD_MAX_KEY];
		const char *why = NULL;
		size_t keylen = 0, hl;
		unsigned period = 0, digits = 6;
		int nf = 0;

		if (l == NULL)
			break;
		lineno++;
		for (char *t = strtok_r(l, " \t\r", &fs); t != NULL && nf < 8;
		     t = strtok_r(NULL, " \t\r", &fs))
			f[nf++] = t;
		if (nf == 0 || f[0][0] == '#')
			continue;
		sd_sanitize(user, sizeof(user), nf > 1 ? f[1] : "-");
		if (nf < 4) {
			why = "expected: TYPE USER PIN SECRET";
		} else if (strncmp(f[0], "HOTP", 4) != 0) {
			why = "unknown token type";
		} else if (strncmp(f[0], "HOTP/T", 6) != 0) {
			why = "counter-based HOTP tokens cannot become TOTP";
		} else {
			char *end = NULL;

			period = (unsigned)strtoul(f[0] + 6, &end, 10);
			if (end != NULL && *end == '/')
				digits = (unsigned)strtoul(end + 1, &end, 10);
			if (end == NULL || *end != '\0' || period == 0)
				why = "bad token type";
			else if (period != (unsigned)c.totp.period)
				why = "time step differs from totp.period";
			else if (digits != (unsigned)c.totp.digits)
				why = "digits differ from totp.digits";
		}
		if (why == NULL) {
			hl = strlen(f[3]);
			if (hl % 2 != 0 || hl / 2 > sizeof(key))
				why = "secret is not hex of at most 64 bytes";
			for (size_t k = 0; why == NULL && k < hl; k += 2) {
				int hi = hexval(f[3][k]), lo = hexval(f[3][k + 1]);

				if (hi < 0 || lo < 0)
					why = "secret is not hex";
				else
					key[keylen++] = (unsigned char)(hi << 4 | lo);
			}
		}
		if (why == NULL)
			why = import_one(&c, f[1], key, keylen, NULL, force, canon);
		sd_wipe(key, sizeof(key));
		if (why != NULL) {
			printf("skipped line %d (%s): %s\n", lineno, user, why);
			skipped++;
		} else {
			if (strcmp(f[2], "-") != 0 && strcmp(f[2], "+") != 0)
				printf("note: line %d (%s): its PIN is not imported\n", lineno,
				       canon);
			printf("imported %s\n", canon);
			audit("import-oath", canon, NULL);
			imported++;
		}
	}
	printf("%d imported, %d skipped\n", imported, skipped);
	sd_wipe(buf, strlen(buf));
	free(buf);
	sd_config_free(&c);
	return skipped == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int cmd_import_ga(int argc, char **argv)
{
	struct sd_config c;
	struct sd_strlist scratch = {0};
	const char *user = NULL, *path = NULL, *why = NULL;
	char *buf, *rest, canon[SD_USER_MAX + 1] = "";
	unsigned char key[SD_MAX_KEY];
	size_t keylen = 0;
	int i, force = 0, lineno = 0, totp = 0, hotp = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (user == NULL || path == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems: nothing imported", config_path);
	}
	buf = read_input(path);
	if (buf == NULL) {
		sd_config_free(&c);
		return EXIT_FAILURE;
	}
	for (rest = buf; why == NULL;) {
		char *l = strsep(&rest, "\n");
		size_t n;

		if (l == NULL)
			break;
		lineno++;
		n = strlen(l);
		if (n > 0 && l[n - 1] == '\r')
			l[--n] = '\0';
		if (lineno == 1) {
			if (sd_base32_decode(l, key, sizeof(key), &keylen) != 0 || keylen < 10)
				why = "line 1 is not a base32 secret of at least 16 characters";
		} else if (l[0] == '"') {
			unsigned long v;

			if (strncmp(l, "\" TOTP_AUTH", 11) == 0)
				totp = 1;
			else if (strncmp(l, "\" HOTP_COUNTER", 14) == 0)
				hotp = 1;
			else if (sscanf(l, "\" STEP_SIZE %lu", &v) == 1 &&
				 v != (unsigned long)c.totp.period)
				why = "STEP_SIZE differs from totp.period";
		} else if (n == 8 && strspn(l, "0123456789") == 8) {
			if (scratch.n < SD_MAX_RECOVERY && sd_strlist_add(&scratch, l) != 0)
				why = "out of memory";
		} else if (n > 0) {
			why = "unrecognised line";
		}
	}
	if (why == NULL && (hotp || !totp))
		why = "not a TOTP secret (HOTP_COUNTER set or TOTP_AUTH missing)";
	if (why == NULL && c.totp.digits != 6)
		why = "google-authenticator codes have 6 digits but totp.digits is 8";
	if (why == NULL)
		why = import_one(&c, user, key, keylen, &scratch, force, canon);
	sd_wipe(key, sizeof(key));
	for (size_t k = 0; k < scratch.n; k++)
		sd_wipe(scratch.v[k], strlen(scratch.v[k]));
	if (why != NULL) {
		fail("%s: line %d: %s: nothing imported", path, lineno, why);
	} else {
		printf("imported %s with %zu scratch code%s as recovery codes\n", canon, scratch.n,
		       scratch.n == 1 ? "" : "s");
		audit("import-google-authenticator", canon, NULL);
	}
	sd_strlist_free(&scratch);
	sd_wipe(buf, strlen(buf));
	free(buf);
	sd_config_free(&c);
	return why == NULL ? EXIT_SUCCESS : EXIT_FAILURE;
}
/* ---- report and revoke: many users at once ------------------------------
 *
 * Roles come from sd_userdb_role: the module's rule (sd_role_of), answered
 * from one read of passwd and group when there are many users (sd_userdb),
 * else user by user. The configured admin and exempt groups are also read
 * once with getgrnam for their member lists: the report lists admins who
 * have never signed in and exempt accounts from them. */

enum {
	N_PW = 1,	     /* uid and gid are known */
	N_ADMIN_MEMBER = 2,  /* listed member of an admin group */
	N_EXEMPT_MEMBER = 4, /* listed member of an exempt group */
	N_STATE = 8,	     /* has state */
	N_LISTED = 16,	     /* already in the report's exempt list */
	N_NO_PW = 32,	     /* getpwnam said unknown */
	N_ADMIN_LISTED = 64, /* already in the report's admin list */
};

struct nent {
	char *name;
	uid_t uid;
	gid_t gid;
	unsigned flags;
	const char *exempt_group; /* for N_EXEMPT_MEMBER: the group */
};

struct gid_name {
	gid_t gid;
	const char *name; /* from the config */
};

struct roleset {
	const struct sd_config *cfg;
	struct sd_namemap names; /* of struct nent */
	struct gid_name *admin, *exempt;
	size_t nadmin, nexempt;
	struct sd_userdb *db; /* NULL: roles user by user */
};
/* Read group NAME: its gid into *G and its members into RS with FLAG. 0, or
 * -ENOENT (no such group: skipped, as the module does), or -errno. */
static int roles_read_group(struct roleset *rs, const char *name, unsigned flag, gid_t *g)
{
	struct group gr, *res = NULL;
	size_t len = 16384;
	char *buf = NULL, *nb;
	int rc;

	for (;;) {
		nb = realloc(buf, len);
		if (nb == NULL) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		errno = 0;
		rc = getgrnam_r(name, &gr, buf, len, &res);
		if (rc < 0) /* some NSS wrappers return -1 and set errno */
			rc = errno != 0 ? errno : EIO;
		if (rc != ERANGE || len >= 256u * 1024 * 1024)
			break;
		len *= 4;
	}
	if (rc == 0 && res == NULL)
		rc = ENOENT;
	if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) {
		free(buf);
		return -ENOENT;
	}
	if (rc != 0) {
		free(buf);
		return -rc;
	}
	*g = gr.gr_gid;
	for (char **mem = gr.gr_mem; mem != NULL && *mem != NULL; mem++) {
		struct nent *e;

		if (sd_user_name_valid(*mem) != 0)
			continue;
		e = sd_namemap_get(&rs->names, *mem, 1);
		if (e == NULL) {
			free(buf);
			return -ENOMEM;
		}
		if (flag == N_EXEMPT_MEMBER && !(e->flags & N_EXEMPT_MEMBER))
			e->exempt_group = name;
		e->flags |= flag;
	}
	free(buf);
	return 0;
}

static int roles_read_groups(struct roleset *rs, const struct sd_strlist *l, unsigned flag,
			     struct gid_name **out, size_t *nout)
{
	size_t i;

	*out = calloc(l->n + 1, sizeof(**out));
	if (*out == NULL)
		return fail("out of memory");
	for (i = 0; i < l->n; i++) {
		gid_t g;
		int rc = roles_read_group(rs, l->v[i], flag, &g);

		if (rc == -ENOENT)
			continue;
		if (rc != 0)
			return fail("cannot look up group %s: %s", l->v[i], strerror(-rc));
		(*out)[*nout].gid = g;
		(*out)[*nout].name = l->v[i];
		(*nout)++;
	}
	return 0;
}

/* Read the configured groups, and with ENUMERATE passwd and group (see
 * sd_userdb; without it, or when NSS does not enumerate, roles are looked
 * up user by user). 0 or EXIT_FAILURE (printed). */
static int roles_init(struct roleset *rs, const struct sd_config *c, int enumerate)
{
	memset(rs, 0, sizeof(*rs));
	sd_namemap_init(&rs->names, sizeof(struct nent));
	rs->cfg = c;
	if (roles_read_groups(rs, &c->roles.admin_groups, N_ADMIN_MEMBER, &rs->admin,
			      &rs->nadmin) != 0 ||
	    roles_read_groups(rs, &c->roles.exempt_groups, N_EXEMPT_MEMBER, &rs->exempt,
			      &rs->nexempt) != 0)
		return EXIT_FAILURE;
	if (enumerate && sd_userdb_open(c, &rs->db) != 0)
		rs->db = NULL;
	return 0;
}

static void roles_free(struct roleset *rs)
{
	sd_userdb_free(rs->db);
	sd_namemap_free(&rs->names);
	free(rs->admin);
	free(rs->exempt);
}

/* The role of NAME (the module's rule) and its entry (created). 0 known,
 * -ENOENT unknown to NSS, other -errno on a lookup failure. *WHY says why
 * an exempt user is. */
static int roles_of(struct roleset *rs, const char *name, enum sd_role *role, struct nent **ep,
		    const char **why)
{
	const struct sd_config *c = rs->cfg;
	struct nent *e = sd_namemap_get(&rs->names, name, 1);
	struct sd_user u;
	const char *g = NULL;
	int rc, lf = 0;

	*why = NULL;
	if (e == NULL)
		return -ENOMEM;
	*ep = e;
	if (e->flags & N_NO_PW)
		return -ENOENT;
	rc = sd_userdb_role(rs->db, c, name, &u, role, &lf, &g);
	if (rc == -ENOENT)
		e->flags |= N_NO_PW;
	if (rc != 0)
		return rc;
	e->uid = u.uid;
	e->gid = u.gid;
	e->flags |= N_PW;
	if (lf)
		fprintf(stderr, "secdefaultsctl: group lookup failed for %s: counted as admin\n",
			name);
	if (*role == SD_ROLE_BREAKGLASS)
		*why = "breakglass_users";
	else if (*role == SD_ROLE_EXEMPT)
		*why = g != NULL ? g : "exempt_users";
	return 0;
}

/* report */

struct admin_ent {
	char *user;
	time_t last_seen;
};

struct legacy_ent {
	char *service, *user;
	time_t last;
};

struct exempt_ent {
	char *user;
	const char *why; /* "exempt_users" or a group name */
	int has_state;
};

struct report {
	time_t now, since;
	int days;
	size_t with_state, covered, unknown, seen, seen_enrolled, enrolled;
	size_t seen_class[SD_SEEN_NCLASS];
	struct sd_strlist unreadable, legacy_users;
	struct admin_ent *admins;
	size_t nadmins;
	struct legacy_ent *legacy;
	size_t nlegacy;
	struct exempt_ent *exempt;
	size_t nexempt;
};

static int add_admin(struct report *rp, const char *user, time_t last_seen)
{
	struct admin_ent *nv = realloc(rp->admins, (rp->nadmins + 1) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	rp->admins = nv;
	nv[rp->nadmins].user = strdup(user);
	nv[rp->nadmins].last_seen = last_seen;
	if (nv[rp->nadmins].user == NULL)
		return -ENOMEM;
	rp->nadmins++;
	return 0;
}

static int add_exempt(struct report *rp, const char *user, const char *why, int has_state)
{
	struct exempt_ent *nv = realloc(rp->exempt, (rp->nexempt + 1) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	rp->exempt = nv;
	nv[rp->nexempt].user = strdup(user);
	nv[rp->nexempt].why = why;
	nv[rp->nexempt].has_state = has_state;
	if (nv[rp->nexempt].user == NULL)
		return -ENOMEM;
	rp->nexempt++;
	return 0;
}

static int add_legacy(struct report *rp, const char *service, const char *user, time_t last)
{
	struct legacy_ent *nv;

	if (rp->nlegacy % 64 == 0) {
		nv = realloc(rp->legacy, (rp->nlegacy + 64) * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		rp->legacy = nv;
	}
	nv = &rp->legacy[rp->nlegacy];
	nv->service = strdup(service);
	nv->user = strdup(user);
	nv->last = last;
	if (nv->service == NULL || nv->user == NULL) {
		free(nv->service);
		free(nv->user);
		return -ENOMEM;
	}
	rp->nlegacy++;
	return 0;
}

static void report_free(struct report *rp)
{
	size_t i;

	for (i = 0; i < rp->nadmins; i++)
		free(rp->admins[i].user);
	for (i = 0; i < rp->nlegacy; i++) {
		free(rp->legacy[i].service);
		free(rp->legacy[i].user);
	}
	for (i = 0; i < rp->nexempt; i++)
		free(rp->exempt[i].user);
	free(rp->admins);
	free(rp->legacy);
	free(rp->exempt);
	sd_strlist_free(&rp->unreadable);
	sd_strlist_free(&rp->legacy_users);
}

/* One user with state: count, and note what the report lists. */
static int report_user(struct report *rp, struct roleset *rs, struct sd_store *s, const char *name)
{
	struct sd_state st;
	struct sd_err err = {""};
	struct nent *e = NULL;
	enum sd_role role;
	const char *why;
	size_t i;
	int rc, used_legacy = 0;

	rp->with_state++;
	rc = sd_store_load(s, name, &st, &err);
	if (rc == -ENOENT)
		return 0; /* removed since the listing */
	if (rc != 0) {
		fprintf(stderr, "secdefaultsctl: %s\n", err.msg);
		return sd_strlist_add(&rp->unreadable, name);
	}
	rc = roles_of(rs, name, &role, &e, &why);
	if (e != NULL)
		e->flags |= N_STATE;
	if (rc == -ENOENT) {
		rp->unknown++;
		return 0;
	}
	if (rc != 0) {
		fail("cannot look up user %s: %s", name, strerror(-rc));
		return rc;
	}
	if (role == SD_ROLE_EXEMPT || role == SD_ROLE_BREAKGLASS) {
		/* Listed from the configuration below; an exempt user found
		 * through a primary group is listed here. */
		if (role == SD_ROLE_EXEMPT && !(e->flags & N_LISTED) &&
		    !sd_strlist_contains(&rs->cfg->roles.exempt_users, name)) {
			e->flags |= N_LISTED;
			return add_exempt(rp, name, why, 1);
		}
		return 0;
	}
	rp->covered++;
	if (st.enrolled != 0)
		rp->enrolled++;
	if (st.last_seen != 0 && st.last_seen >= rp->since) {
		rp->seen++;
		if (st.enrolled != 0)
			rp->seen_enrolled++;
	}
	for (i = 0; i < SD_SEEN_NCLASS; i++)
		if (st.seen_class[i] != 0 && st.seen_class[i] >= rp->since)
			rp->seen_class[i]++;
	if (role == SD_ROLE_ADMIN && st.enrolled == 0) {
		e->flags |= N_ADMIN_LISTED;
		if (add_admin(rp, name, st.last_seen) != 0)
			return -ENOMEM;
	}
	for (i = 0; i < st.nlegacy; i++) {
		if (st.legacy[i].last < rp->since)
			continue;
		used_legacy = 1;
		if (add_legacy(rp, st.legacy[i].service, name, st.legacy[i].last) != 0)
			return -ENOMEM;
	}
	if (used_legacy && sd_strlist_add(&rp->legacy_users, name) != 0)
		return -ENOMEM;
	return 0;
}

/* Members of admin groups who have no state yet: admins never seen. */
static int report_admin_members(struct report *rp, struct roleset *rs)
{
	struct sd_strlist todo = {0};
	size_t i;
	int rc = 0;

	for (i = 0; i < rs->names.cap; i++) {
		const struct nent *e = sd_namemap_at(&rs->names, i);

		if (e != NULL && (e->flags & N_ADMIN_MEMBER) && !(e->flags & N_STATE) &&
		    sd_strlist_add(&todo, e->name) != 0) {
			sd_strlist_free(&todo);
			return -ENOMEM;
		}
	}
	for (i = 0; i < todo.n && rc == 0; i++) {
		struct nent *e;
		enum sd_role role;
		const char *why;

		rc = roles_of(rs, todo.v[i], &role, &e, &why);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc == 0 && role == SD_ROLE_ADMIN)
			rc = add_admin(rp, todo.v[i], 0);
	}
	sd_strlist_free(&todo);
	return rc;
}

/* The configured exempt users, and members of exempt groups. */
static int report_exempt_config(struct report *rp, struct roleset *rs)
{
	const struct sd_config *c = rs->cfg;
	size_t i;

	for (i = 0; i < c->roles.exempt_users.n; i++) {
		struct nent *e = sd_namemap_get(&rs->names, c->roles.exempt_users.v[i], 1);

		if (e == NULL)
			return -ENOMEM;
		if (sd_strlist_contains(&c->roles.breakglass_users, e->name) ||
		    (e->flags & N_LISTED))
			continue;
		e->flags |= N_LISTED;
		if (add_exempt(rp, e->name, "exempt_users", (e->flags & N_STATE) != 0) != 0)
			return -ENOMEM;
	}
	for (i = 0; i < rs->names.cap; i++) {
		struct nent *e = sd_namemap_at(&rs->names, i);

		if (e == NULL || !(e->flags & N_EXEMPT_MEMBER) || (e->flags & N_LISTED) ||
		    sd_strlist_contains(&c->roles.breakglass_users, e->name))
			continue;
		e->flags |= N_LISTED;
		if (add_exempt(rp, e->name, e->exempt_group, (e->flags & N_STATE) != 0) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int cmp_admin(const void *a, const void *b)
{
	return strcmp(((const struct admin_ent *)a)->user, ((const struct admin_ent *)b)->user);
}

static int cmp_exempt(const void *a, const void *b)
{
	return strcmp(((const struct exempt_ent *)a)->user, ((const struct exempt_ent *)b)->user);
}

static int cmp_legacy(const void *a, const void *b)
{
	const struct legacy_ent *x = a, *y = b;
	int r = strcmp(x->service, y->service);

	return r != 0 ? r : strcmp(x->user, y->user);
}

/* Append "N things (a, b, c, ...)" to OUT: at most 5 of the NNAMES names. */
static void verdict_part(char *out, size_t outlen, size_t n, const char *one, const char *many,
			 const char *const *names, size_t nnames)
{
	size_t len = strlen(out), i;

	if (n == 0 || len + 1 >= outlen)
		return;
	snprintf(out + len, outlen - len, "%s%zu %s (", len ? "; " : "", n, n == 1 ? one : many);
	for (i = 0; i < nnames && i < 5; i++) {
		len = strlen(out);
		snprintf(out + len, outlen - len, "%s%s", i ? ", " : "", names[i]);
	}
	len = strlen(out);
	snprintf(out + len, outlen - len, "%s)", nnames > 5 ? ", ..." : "");
}

static void report_verdict(const struct report *rp, char *out, size_t outlen)
{
	const char *admins[6];
	char parts[900] = "";
	size_t i;

	for (i = 0; i < rp->nadmins && i < 6; i++)
		admins[i] = rp->admins[i].user;
	verdict_part(parts, sizeof(parts), rp->nadmins, "admin not enrolled", "admins not enrolled",
		     admins, rp->nadmins);
	verdict_part(parts, sizeof(parts), rp->legacy_users.n, "user of legacy services",
		     "users of legacy services", (const char *const *)rp->legacy_users.v,
		     rp->legacy_users.n);
	verdict_part(parts, sizeof(parts), rp->unreadable.n, "unreadable state file",
		     "unreadable state files", (const char *const *)rp->unreadable.v,
		     rp->unreadable.n);
	if (parts[0] == '\0')
		snprintf(out, outlen, "ready");
	else
		snprintf(out, outlen, "not ready: %s", parts);
}

static void json_time_or_null(time_t t)
{
	char ts[SD_TIME_LEN];

	if (t == 0) {
		printf("null");
		return;
	}
	sd_time_format(t, ts);
	json_str(ts);
}

static void report_print_json(const struct report *rp, const struct sd_config *c,
			      const char *verdict)
{
	size_t i, j;

	printf("{\"generated\": ");
	json_time_or_null(rp->now);
	printf(", \"mode\": \"%s\", \"days\": %d,\n",
	       c->mode == SD_MODE_REPORT_ONLY ? "report-only" : "enforce", rp->days);
	printf(" \"users_with_state\": %zu, \"covered\": %zu, \"unknown_users\": %zu,\n",
	       rp->with_state, rp->covered, rp->unknown);
	printf(" \"seen\": %zu, \"seen_by_class\": {", rp->seen);
	for (i = 0; i < SD_SEEN_NCLASS; i++)
		printf("%s\"%s\": %zu", i ? ", " : "", sd_seen_class_name((enum sd_seen_class)i),
		       rp->seen_class[i]);
	printf("},\n \"enrolled\": %zu, \"seen_enrolled\": %zu,\n", rp->enrolled,
	       rp->seen_enrolled);
	printf(" \"admins_not_enrolled\": [");
	for (i = 0; i < rp->nadmins; i++) {
		printf("%s{\"user\": ", i ? ", " : "");
		json_str(rp->admins[i].user);
		printf(", \"last_seen\": ");
		json_time_or_null(rp->admins[i].last_seen);
		printf("}");
	}
	printf("],\n \"legacy_services\": [");
	for (i = 0; i < rp->nlegacy; i = j) {
		printf("%s{\"service\": ", i ? ", " : "");
		json_str(rp->legacy[i].service);
		printf(", \"users\": [");
		for (j = i;
		     j < rp->nlegacy && strcmp(rp->legacy[j].service, rp->legacy[i].service) == 0;
		     j++) {
			printf("%s{\"user\": ", j > i ? ", " : "");
			json_str(rp->legacy[j].user);
			printf(", \"last_use\": ");
			json_time_or_null(rp->legacy[j].last);
			printf("}");
		}
		printf("]}");
	}
	printf("],\n \"legacy_users\": %zu,\n \"breakglass\": [", rp->legacy_users.n);
	for (i = 0; i < c->roles.breakglass_users.n; i++) {
		printf("%s", i ? ", " : "");
		json_str(c->roles.breakglass_users.v[i]);
	}
	printf("],\n \"exempt\": [");
	for (i = 0; i < rp->nexempt; i++) {
		printf("%s{\"user\": ", i ? ", " : "");
		json_str(rp->exempt[i].user);
		printf(", \"reason\": ");
		if (strcmp(rp->exempt[i].why, "exempt_users") == 0) {
			json_str("exempt_users");
		} else {
			char why[300];

			snprintf(why, sizeof(why), "group %s", rp->exempt[i].why);
			json_str(why);
		}
		printf(", \"has_state\": %s}", rp->exempt[i].has_state ? "true" : "false");
	}
	printf("],\n \"unreadable\": [");
	for (i = 0; i < rp->unreadable.n; i++) {
		printf("%s", i ? ", " : "");
		json_str(rp->unreadable.v[i]);
	}
	printf("],\n \"ready\": %s, \"verdict\": ",
	       strcmp(verdict, "ready") == 0 ? "true" : "false");
	json_str(verdict);
	printf("}\n");
}

static void report_print_table(const struct report *rp, const struct sd_config *c,
			       const char *verdict)
{
	char ts[SD_TIME_LEN];
	size_t i;

	sd_time_format(rp->now, ts);
	printf("Rollout readiness at %s (mode %s, window %d day%s)\n", ts,
	       c->mode == SD_MODE_REPORT_ONLY ? "report-only" : "enforce", rp->days,
	       rp->days == 1 ? "" : "s");
	printf("users with state:     %zu (%zu covered, %zu unknown to NSS, %zu unreadable)\n",
	       rp->with_state, rp->covered, rp->unknown, rp->unreadable.n);
	printf("seen:                 %zu (standard %zu, privileged %zu, legacy %zu)\n", rp->seen,
	       rp->seen_class[SD_SEEN_STANDARD], rp->seen_class[SD_SEEN_PRIVILEGED],
	       rp->seen_class[SD_SEEN_LEGACY]);
	printf("enrolled:             %zu of %zu covered (%zu of %zu seen)\n", rp->enrolled,
	       rp->covered, rp->seen_enrolled, rp->seen);
	printf("admins not enrolled:  %zu\n", rp->nadmins);
	for (i = 0; i < rp->nadmins; i++) {
		if (rp->admins[i].last_seen != 0) {
			sd_time_format(rp->admins[i].last_seen, ts);
			printf("  %-20s last seen %s\n", rp->admins[i].user, ts);
		} else {
			printf("  %-20s never seen\n", rp->admins[i].user);
		}
	}
	printf("legacy services:      %zu user%s\n", rp->legacy_users.n,
	       rp->legacy_users.n == 1 ? "" : "s");
	for (i = 0; i < rp->nlegacy; i++) {
		sd_time_format(rp->legacy[i].last, ts);
		printf("  %-20s %-20s last use %s\n", rp->legacy[i].service, rp->legacy[i].user,
		       ts);
	}
	printf("break-glass accounts: %zu\n", c->roles.breakglass_users.n);
	for (i = 0; i < c->roles.breakglass_users.n; i++)
		printf("  %s\n", c->roles.breakglass_users.v[i]);
	printf("exempt accounts:      %zu\n", rp->nexempt);
	for (i = 0; i < rp->nexempt; i++)
		printf("  %-20s %s%s%s\n", rp->exempt[i].user,
		       strcmp(rp->exempt[i].why, "exempt_users") == 0 ? "" : "group ",
		       rp->exempt[i].why, rp->exempt[i].has_state ? " (has state)" : "");
	for (i = 0; i < rp->unreadable.n; i++)
		printf("unreadable state:     %s\n", rp->unreadable.v[i]);
	printf("verdict: %s\n", verdict);
}

static int cmd_report(int argc, char **argv)
{
	struct sd_config c;
	struct sd_strlist users = {0};
	struct sd_store *s = NULL;
	struct sd_err err = {""};
	struct roleset rs;
	struct report rp;
	char verdict[1024];
	int i, json = 0, rc;
	size_t k;

	memset(&rp, 0, sizeof(rp));
	rp.days = 30;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			uint64_t n;

			if (sd_parse_u64(argv[++i], &n) != 0 || n < 1 || n > 36500)
				return fail("--days must be between 1 and 36500");
			rp.days = (int)n;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems", config_path);
	}
	rp.now = sd_now();
	rp.since = rp.now - (time_t)rp.days * 86400;
	rc = sd_store_open(&c, SD_STORE_READONLY, &s, &err);
	if (rc == 0)
		rc = sd_store_list(s, collect, &users, &err);
	if (rc != 0) {
		sd_cli_close_store(s);
		sd_config_free(&c);
		sd_strlist_free(&users);
		return fail("%s", err.msg[0] ? err.msg : strerror(-rc));
	}
	if (users.n > 1)
		qsort(users.v, users.n, sizeof(*users.v), cmp_str);
	rc = roles_init(&rs, &c, users.n > ENUMERATE_ABOVE);
	for (k = 0; rc == 0 && k < users.n; k++)
		rc = report_user(&rp, &rs, s, users.v[k]);
	if (rc == 0)
		rc = report_admin_members(&rp, &rs);
	if (rc == 0)
		rc = report_exempt_config(&rp, &rs);
	if (rc == 0) {
		if (rp.nadmins > 1)
			qsort(rp.admins, rp.nadmins, sizeof(*rp.admins), cmp_admin);
		if (rp.nexempt > 1)
			qsort(rp.exempt, rp.nexempt, sizeof(*rp.exempt), cmp_exempt);
		if (rp.nlegacy > 1)
			qsort(rp.legacy, rp.nlegacy, sizeof(*rp.legacy), cmp_legacy);
		report_verdict(&rp, verdict, sizeof(verdict));
		if (json)
			report_print_json(&rp, &c, verdict);
		else
			report_print_table(&rp, &c, verdict);
	} else if (rc == -ENOMEM) {
		fail("out of memory");
	}
	roles_free(&rs);
	report_free(&rp);
	sd_cli_close_store(s);
	sd_strlist_free(&users);
	sd_config_free(&c);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* revoke */

/* One process to signal, identified by pid and start time so that a reused
 * pid is never signalled. */
struct proc {
	pid_t pid, sid;
	uid_t uid;
	unsigned long long start;
	char comm[32];
	const char *user;
	int gone, killed; /* ended; needed SIGKILL */
};

struct proclist {
	struct proc *v;
	size_t n;
};

/* Read /proc/PID/stat and the real uid from /proc/PID/status. 0, or -1 if
 * the process is gone or unreadable. *ZOMBIE is set for a dead process. */
static int proc_read(pid_t pid, struct proc *p, int *zombie)
{
	char path[64], buf[1024], *rp, *save = NULL, *tok;
	unsigned long long start = 0;
	long sid = -1;
	int fd, field;
	ssize_t n;
	FILE *f;
	uid_t uid = (uid_t)-1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* pid (comm) state ppid pgrp session ...: comm may hold anything,
	 * so the fields start after its last ')'. */
	rp = strrchr(buf, ')');
	if (rp == NULL || rp[1] != ' ')
		return -1;
	{
		char *lp = strchr(buf, '(');
		size_t cl = lp != NULL && lp < rp ? (size_t)(rp - lp - 1) : 0;

		if (cl >= sizeof(p->comm))
			cl = sizeof(p->comm) - 1;
		if (lp != NULL)
			memcpy(p->comm, lp + 1, cl);
		p->comm[cl] = '\0';
		for (size_t i = 0; i < cl; i++)
			if ((unsigned char)p->comm[i] < 0x20 || p->comm[i] == 0x7f)
				p->comm[i] = '?';
	}
	*zombie = 0;
	for (field = 3, tok = strtok_r(rp + 2, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3)
			*zombie = tok[0] == 'Z' || tok[0] == 'X';
		else if (field == 6)
			sid = strtol(tok, NULL, 10);
		else if (field == 22) {
			start = strtoull(tok, NULL, 10);
			break;
		}
	}
	if (field != 22 || sid < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		unsigned long u;

		if (sscanf(buf, "Uid: %lu", &u) == 1) {
			uid = (uid_t)u;
			break;
		}
	}
	fclose(f);
	if (uid == (uid_t)-1)
		return -1;
	p->pid = pid;
	p->sid = (pid_t)sid;
	p->uid = uid;
	p->start = start;
	return 0;
}

/* The sessions never touched: the caller's, and those of its ancestors
 * (under sudo with use_pty the command runs in a session of its own while
 * the caller's login session is its parent's). */
static size_t own_sessions(pid_t *out, size_t max)
{
	size_t n = 0;
	pid_t pid = getppid();

	out[n++] = getsid(0);
	for (int depth = 0; pid > 1 && depth < 64 && n < max; depth++) {
		char path[64], buf[512], *rp;
		long ppid = 0;
		int fd;
		ssize_t got;

		out[n++] = getsid(pid);
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			break;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			break;
		buf[got] = '\0';
		rp = strrchr(buf, ')');
		if (rp == NULL || sscanf(rp + 1, " %*c %ld", &ppid) != 1)
			break;
		pid = (pid_t)ppid;
	}
	return n;
}

struct target {
	char name[SD_USER_MAX + 1];
	uid_t uid;
};

static int cmp_uid(const void *a, const void *b)
{
	uid_t x = ((const struct target *)a)->uid, y = ((const struct target *)b)->uid;

	return x < y ? -1 : x > y;
}

/* Session leaders of the targets (sorted by uid), outside the caller's
 * sessions. uid 0 is never signalled: system daemons run as root and lead
 * sessions of their own. */
static int find_leaders(const struct target *t, size_t nt, struct proclist *out)
{
	pid_t own[66];
	size_t nown = own_sessions(own, 66);
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return fail("cannot read /proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		struct target key, *tg;
		struct proc p;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int zombie, mine = 0;

		if (*end != '\0' || pid <= 1)
			continue;
		memset(&p, 0, sizeof(p));
		if (proc_read((pid_t)pid, &p, &zombie) != 0 || zombie || p.sid != p.pid ||
		    p.uid == 0)
			continue;
		for (size_t i = 0; i < nown; i++)
			mine |= own[i] == p.sid;
		key.uid = p.uid;
		tg = bsearch(&key, t, nt, sizeof(*t), cmp_uid);
		if (mine || tg == NULL)
			continue;
		p.user = tg->name;
		if (out->n % 32 == 0) {
			struct proc *nv = realloc(out->v, (out->n + 32) * sizeof(*nv));

			if (nv == NULL) {
				closedir(d);
				return fail("out of memory");
			}
			out->v = nv;
		}
		out->v[out->n++] = p;
	}
	closedir(d);
	return 0;
}

/* Signal P if it is still the process we listed. 1 signalled, 0 gone, -1
 * failed (printed). */
static int proc_signal(const struct proc *p, int sig)
{
	struct proc now;
	int zombie, fd = -1, rc;

#ifdef SYS_pidfd_open
	/* With a pidfd the check below and the signal refer to one process. */
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
#endif
	memset(&now, 0, sizeof(now));
	if (proc_read(p->pid, &now, &zombie) != 0 || zombie || now.start != p->start ||
	    now.uid != p->uid || now.sid != p->sid) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
#ifdef SYS_pidfd_send_signal
	if (fd >= 0) {
		rc = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
		close(fd);
	} else
#endif
		rc = kill(p->pid, sig);
	if (rc != 0 && errno == ESRCH)
		return 0;
	if (rc != 0) {
		fail("cannot signal pid %d of %s: %s", (int)p->pid, p->user, strerror(errno));
		return -1;
	}
	return 1;
}

static int proc_alive(const struct proc *p)
{
	struct proc now;
	int zombie;

	memset(&now, 0, sizeof(now));
	return proc_read(p->pid, &now, &zombie) == 0 && !zombie && now.start == p->start &&
	       now.sid == p->sid;
}

/* Run loginctl with ARGS (NULL-terminated after the verb). With OUT, its
 * standard output is read into a malloc'd string. Returns its exit status,
 * or -1 if it could not be run (not installed). */
static int run_loginctl(const char *const *args, char **out)
{
	int pfd[2] = {-1, -1}, status;
	pid_t pid;
	char *buf = NULL;
	size_t len = 0;

	if (out != NULL && pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		if (out != NULL) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			if (out != NULL)
				dup2(devnull, STDERR_FILENO);
		}
		if (out != NULL)
			dup2(pfd[1], STDOUT_FILENO);
		execvp("loginctl", (char *const *)args);
		_exit(127);
	}
	if (out != NULL) {
		close(pfd[1]);
		for (;;) {
			char *nb;
			ssize_t n;

			if (len > 4u * 1024 * 1024)
				break;
			nb = realloc(buf, len + 4097);
			if (nb == NULL)
				break;
			buf = nb;
			n = read(pfd[0], buf + len, 4096);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(pfd[0]);
		if (buf != NULL)
			buf[len] = '\0';
		*out = buf;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status) == 127)
		return -1;
	return WEXITSTATUS(status);
}

/* The caller's logind session: the session-ID.scope of its cgroup, else
 * $XDG_SESSION_ID. "" if none. */
static void own_logind_session(char *out, size_t outlen)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	const char *env;

	out[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, "/session-"), *e;

		if (p == NULL)
			continue;
		p += 9;
		e = strstr(p, ".scope");
		if (e != NULL && (size_t)(e - p) < outlen) {
			memcpy(out, p, (size_t)(e - p));
			out[e - p] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	env = getenv("XDG_SESSION_ID");
	if (out[0] == '\0' && env != NULL && strlen(env) < outlen && strchr(env, ' ') == NULL)
		snprintf(out, outlen, "%s", env);
}

struct lsession {
	char id[64];
	const struct target *t;
};

/* logind sessions of the targets, or -1 if logind cannot be used here
 * (loginctl missing, or `loginctl list-sessions` failing: no logind). */
static int find_logind(const struct target *t, size_t nt, struct lsession **out, size_t *nout)
{
	static const char *const args[] = {"loginctl", "list-sessions", "--no-legend", "--no-pager",
					   NULL};
	char *text = NULL, *line, *save = NULL;
	int rc = run_loginctl(args, &text);

	*out = NULL;
	*nout = 0;
	if (rc != 0) {
		free(text);
		return -1;
	}
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char id[64];
		unsigned long uid;
		struct target key;
		const struct target *tg;
		struct lsession *nv;

		if (sscanf(line, " %63s %lu", id, &uid) != 2)
			continue;
		key.uid = (uid_t)uid;
		tg = bsearch(&key, t, nt, sizeof(*t), cmp_uid);
		if (tg == NULL)
			continue;
		nv = realloc(*out, (*nout + 1) * sizeof(*nv));
		if (nv == NULL)
			break;
		*out = nv;
		snprintf(nv[*nout].id, sizeof(nv[*nout].id), "%s", id);
		nv[*nout].t = tg;
		(*nout)++;
	}
	free(text);
	return 0;
}

/* Ask on the terminal. 1 yes, 0 no, -1 not on a terminal. */
static int confirm(const char *question)
{
	char line[32];

	if (!isatty(STDIN_FILENO))
		return -1;
	printf("%s [y/N] ", question);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
}

/* The users --all covers: every user with state whose role is user or
 * admin. */
static int revoke_all_targets(struct target **t, size_t *nt)
{
	struct sd_config c;
	struct sd_strlist users = {0};
	struct sd_store *s = NULL;
	struct sd_err err = {""};
	struct roleset rs;
	size_t k, skipped = 0;
	int rc;

	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems: nothing ended", config_path);
	}
	rc = sd_store_open(&c, SD_STORE_READONLY, &s, &err);
	if (rc == 0)
		rc = sd_store_list(s, collect, &users, &err);
	sd_cli_close_store(s);
	if (rc != 0) {
		sd_config_free(&c);
		sd_strlist_free(&users);
		return fail("%s", err.msg[0] ? err.msg : strerror(-rc));
	}
	if (users.n > 1)
		qsort(users.v, users.n, sizeof(*users.v), cmp_str);
	rc = roles_init(&rs, &c, users.n > ENUMERATE_ABOVE);
	*t = calloc(users.n + 1, sizeof(**t));
	if (rc == 0 && *t == NULL)
		rc = fail("out of memory");
	for (k = 0; rc == 0 && k < users.n; k++) {
		struct nent *e;
		enum sd_role role;
		const char *why;
		int r = roles_of(&rs, users.v[k], &role, &e, &why);

		if (r == -ENOENT)
			continue;
		if (r != 0) {
			rc = fail("cannot look up user %s: %s", users.v[k], strerror(-r));
			break;
		}
		if (rs.db != NULL && c.roles.exempt_groups.n > 0 && role != SD_ROLE_EXEMPT &&
		    role != SD_ROLE_BREAKGLASS) {
			/* The role came from enumerated member lists. Before
			 * ending sessions, the module's own group test
			 * (getgrouplist) has the last word on exempt groups:
			 * member lists from NSS can be incomplete (SSSD
			 * ignore_group_members). Only an exempt group can turn
			 * user or admin into "never revoked"; without one the
			 * answer above is already the module's. */
			struct sd_user u;
			int lf;

			u.uid = e->uid;
			u.gid = e->gid;
			snprintf(u.name, sizeof(u.name), "%s", users.v[k]);
			role = sd_role_of(&c, &u, &lf);
		}
		if (role == SD_ROLE_EXEMPT || role == SD_ROLE_BREAKGLASS) {
			if (skipped++ < 10)
				printf("not revoked: %s (%s)\n", users.v[k], sd_role_name(role));
			continue;
		}
		snprintf((*t)[*nt].name, sizeof((*t)[*nt].name), "%s", users.v[k]);
		(*t)[*nt].uid = e->uid;
		(*nt)++;
	}
	if (skipped > 10)
		printf("not revoked: %zu more exempt or break-glass users\n", skipped - 10);
	roles_free(&rs);
	sd_strlist_free(&users);
	sd_config_free(&c);
	return rc;
}

static int revoke_one_target(const char *name, struct target **t, size_t *nt)
{
	struct sd_config c;
	struct sd_user u;
	enum sd_role role;
	int lf;

	if (load_config(&c) != 0) {
		sd_config_free(&c);
		return fail("configuration %s has problems: nothing ended", config_path);
	}
	if (resolve(name, &u) != 0) {
		sd_config_free(&c);
		return EXIT_FAILURE;
	}
	role = sd_role_of(&c, &u, &lf);
	sd_config_free(&c);
	if (lf)
		return fail("group lookup failed for %s: nothing ended", u.name);
	if (role == SD_ROLE_EXEMPT || role == SD_ROLE_BREAKGLASS)
		return fail("%s is %s: its sessions are never revoked", u.name,
			    role == SD_ROLE_EXEMPT ? "exempt" : "a break-glass account");
	*t = calloc(1, sizeof(**t));
	if (*t == NULL)
		return fail("out of memory");
	snprintf((*t)[0].name, sizeof((*t)[0].name), "%s", u.name);
	(*t)[0].uid = u.uid;
	*nt = 1;
	return 0;
}

/* How long a session leader has after SIGHUP before SIGKILL. */
#define REVOKE_WAIT_MS 2000

static int cmd_revoke(int argc, char **argv)
{
	struct target *t = NULL;
	size_t nt = 0, nls = 0, i, ended = 0, todo = 0;
	struct proclist pl = {NULL, 0};
	struct lsession *ls = NULL;
	char own[64];
	const char *user = NULL;
	int all = 0, yes = 0, logind, rc, failed = 0;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (strcmp(argv[i], "--yes") == 0)
			yes = 1;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (all == (user != NULL)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = all ? revoke_all_targets(&t, &nt) : revoke_one_target(user, &t, &nt);
	if (rc != 0) {
		free(t);
		return EXIT_FAILURE;
	}
	if (nt > 1)
		qsort(t, nt, sizeof(*t), cmp_uid);
	own_logind_session(own, sizeof(own));
	logind = find_logind(t, nt, &ls, &nls) == 0;
	if (find_leaders(t, nt, &pl) != 0) {
		free(ls);
		free(t);
		return EXIT_FAILURE;
	}
	for (i = 0; i < nls; i++)
		todo += strcmp(ls[i].id, own) != 0;
	todo += pl.n;
	if (todo == 0) {
		printf("nothing to end%s\n", logind ? "" : " (no systemd-logind here)");
		free(ls);
		free(pl.v);
		free(t);
		return EXIT_SUCCESS;
	}
	for (i = 0; i < nls; i++) {
		if (strcmp(ls[i].id, own) == 0)
			printf("leaving logind session %s of %s alone: it is yours\n", ls[i].id,
			       ls[i].t->name);
		else if (!yes)
			printf("would end logind session %s of %s (uid %u)\n", ls[i].id,
			       ls[i].t->name, (unsigned)ls[i].t->uid);
	}
	for (i = 0; i < pl.n && !yes; i++)
		printf("would end session %d of %s (uid %u): leader pid %d (%s)\n",
		       (int)pl.v[i].sid, pl.v[i].user, (unsigned)pl.v[i].uid, (int)pl.v[i].pid,
		       pl.v[i].comm);
	if (!yes) {
		int ok = confirm("End these sessions?");

		if (ok < 0) {
			free(ls);
			free(pl.v);
			free(t);
			return fail("not on a terminal: nothing ended (run again with --yes)");
		}
		if (ok == 0) {
			printf("nothing ended\n");
			free(ls);
			free(pl.v);
			free(t);
			return EXIT_FAILURE;
		}
	}
	/* logind: whole users, unless the caller's own session is theirs. */
	for (i = 0; i < nt; i++) {
		char uid[24];
		size_t j, n = 0;
		int mine = 0;

		for (j = 0; j < nls; j++)
			if (ls[j].t == &t[i]) {
				n++;
				mine |= strcmp(ls[j].id, own) == 0;
			}
		if (n == 0)
			continue;
		snprintf(uid, sizeof(uid), "%u", (unsigned)t[i].uid);
		if (!mine) {
			const char *const args[] = {"loginctl", "terminate-user", uid, NULL};

			if (run_loginctl(args, NULL) == 0) {
				printf("ended %zu logind session%s of %s (loginctl terminate-user)\n",
				       n, n == 1 ? "" : "s", t[i].name);
				ended += n;
				audit("revoke", t[i].name, "via=logind");
			} else {
				fail("loginctl terminate-user %s failed", uid);
				failed = 1;
			}
			continue;
		}
		for (j = 0; j < nls; j++) {
			const char *const args[] = {"loginctl", "terminate-session", ls[j].id,
						    NULL};

			if (ls[j].t != &t[i] || strcmp(ls[j].id, own) == 0)
				continue;
			if (run_loginctl(args, NULL) == 0) {
				printf("ended logind session %s of %s (loginctl terminate-session)\n",
				       ls[j].id, t[i].name);
				ended++;
				audit("revoke", t[i].name, "via=logind");
			} else {
				fail("loginctl terminate-session %s failed", ls[j].id);
				failed = 1;
			}
		}
	}
	/* Session leaders: SIGHUP, a short wait, then SIGKILL. */
	for (i = 0; i < pl.n; i++) {
		rc = proc_signal(&pl.v[i], SIGHUP);
		if (rc < 0)
			failed = 1;
		pl.v[i].gone = rc <= 0;
	}
	for (int waited = 0; waited < REVOKE_WAIT_MS; waited += 50) {
		size_t left = 0;
		struct timespec ts = {0, 50 * 1000000L};

		for (i = 0; i < pl.n; i++) {
			if (!pl.v[i].gone && !proc_alive(&pl.v[i]))
				pl.v[i].gone = 2;
			left += !pl.v[i].gone;
		}
		if (left == 0)
			break;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < pl.n; i++) {
		if (pl.v[i].gone == 0) {
			rc = proc_signal(&pl.v[i], SIGKILL);
			if (rc < 0) {
				failed = 1;
				continue;
			}
			pl.v[i].killed = rc > 0;
			pl.v[i].gone = 2;
		}
		if (pl.v[i].gone == 2) {
			printf("ended session %d of %s: pid %d (%s) %s\n", (int)pl.v[i].sid,
			       pl.v[i].user, (int)pl.v[i].pid, pl.v[i].comm,
			       pl.v[i].killed ? "killed (SIGKILL)" : "hung up (SIGHUP)");
			ended++;
			audit("revoke", pl.v[i].user, "via=signal");
		}
	}
	printf("%zu session%s ended\n", ended, ended == 1 ? "" : "s");
	free(ls);
	free(pl.v);
	free(t);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	int i = 1;
	const char *verb;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[i++];
	argc -= i;
	argv += i;
	if (strcmp(verb, "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(verb, "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(verb, "enroll") == 0)
		return cmd_enroll(argc, argv);
	if (strcmp(verb, "explain") == 0)
		return cmd_explain(argc, argv);
	if (strcmp(verb, "show") == 0)
		return cmd_show(argc, argv);
	if (strcmp(verb, "codes") == 0)
		return cmd_codes(argc, argv);
	if (strcmp(verb, "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(verb, "revoke") == 0)
		return cmd_revoke(argc, argv);
	if (strcmp(verb, "migrate") == 0)
		return sd_cli_migrate(config_path, argc, argv);
	if (strcmp(verb, "import-oath") == 0)
		return cmd_import_oath(argc, argv);
	if (strcmp(verb, "import-google-authenticator") == 0)
		return cmd_import_ga(argc, argv);
	if (strcmp(verb, "reset") == 0 || strcmp(verb, "unlock") == 0 ||
	    strcmp(verb, "flag") == 0 || strcmp(verb, "dismiss") == 0)
		return cmd_simple(verb, argc, argv);
	fprintf(stderr, "secdefaultsctl: unknown verb \"%s\"\n", verb);
	usage(stderr);
	return EXIT_USAGE;
}
