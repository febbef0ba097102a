/* secdefaultsctl - the admin command: check the config, enrol users, look at
 * and change their state. It shares the config parser, the store and the
 * policy with the module (src/lib), so what it says is what the module does.
 *
 * Exit status: 0 ok, 1 failed, 2 usage. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../lib/enroll.h"
#include "../lib/recovery.h"
#include "../lib/request.h"
#include "../lib/totp.h"

#define EXIT_USAGE 2

static const char *config_path = SD_DEFAULT_CONFIG;

static void usage(FILE *out)
{
	fprintf(out, "usage: secdefaultsctl [--config PATH] VERB ...\n"
		     "  check                              validate the configuration\n"
		     "  status [USER...] [--json]          show users' state\n"
		     "  enroll USER [--secret BASE32] [--force]\n"
		     "                                     create or import a TOTP secret\n"
		     "  reset USER                         forget secret and state\n"
		     "  unlock USER                        clear failures and lock\n"
		     "  flag USER [--reason TEXT]          mark compromised\n"
		     "  dismiss USER                       clear the compromised flag\n"
		     "  explain USER --service NAME [--rhost ADDR] [--tag CLASS]\n"
		     "                                     the decision, changing nothing\n"
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
	sd_store_close(s);
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
	st->enrolled = time(NULL);
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
	size_t n = 0, i;
	int rc;

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	rc = sd_otpauth_uri(c, user, host, key, keylen, &uri);
	if (rc != 0)
		return fail("cannot build the otpauth URI: %s", strerror(-rc));
	printf("%s\n", uri);
	if (qr && sd_qr_lines(uri, isatty(STDOUT_FILENO), &lines, &n) == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", lines[i]);
		sd_qr_free(lines, n);
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
	st->compromised_at = time(NULL);
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
	int rc, lf;

	if (sd_user_lookup(name, &u) == 0)
		role = sd_role_name(sd_role_of(x->cfg, &u, &lf));
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
	x.now = time(NULL);
	x.first = 1;
	rc = sd_store_open(&c, SD_STORE_READONLY, &x.store, &err);
	if (rc == 0 && users.n == 0) {
		rc = sd_store_list(x.store, collect, &users, &err);
		if (rc == 0 && users.n > 1)
			qsort(users.v, users.n, sizeof(*users.v), cmp_str);
	}
	if (rc != 0) {
		sd_store_close(x.store);
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
	sd_store_close(x.store);
	sd_config_free(&c);
	sd_strlist_free(&users);
	return x.failed ? EXIT_FAILURE : EXIT_SUCCESS;
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
	r.now = time(NULL);
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
	printf("decision: %s (reason %s", sd_verdict_name(r.verdict.kind), r.verdict.reason);
	if (r.verdict.kind == SD_V_PROMPT)
		printf(", TOTP because %s", sd_why_name(r.verdict.why));
	if (r.verdict.rule == 10)
		printf(", %d days of grace left", r.verdict.days_left);
	printf(")\n");
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
	if (strcmp(verb, "codes") == 0)
		return cmd_codes(argc, argv);
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
