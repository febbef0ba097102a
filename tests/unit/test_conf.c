#include "config.h"

/* test_conf.c - the configuration file: defaults, every key, every kind of
 * mistake, and the safety checks on the file itself. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/lib/conf.h"

#define NAME "t.conf"

/* ---- helpers --------------------------------------------------------- */

static void dump_problems(const struct sd_strlist *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		print_message("  problem: %s\n", p->v[i]);
}

/* Parse TEXT into a fresh config; the caller frees C and P. */
static int parse(const char *text, struct sd_config *c, struct sd_strlist *p)
{
	memset(c, 0, sizeof(*c));
	memset(p, 0, sizeof(*p));
	return sd_config_parse(text, NAME, c, p);
}

static void parse_ok(const char *text, struct sd_config *c)
{
	struct sd_strlist p;
	int rc = parse(text, c, &p);

	if (rc != 0 || p.n != 0) {
		dump_problems(&p);
		fail_msg("rejected a valid configuration (rc %d):\n%s", rc, text);
	}
	sd_strlist_free(&p);
}

/* 1 if some problem starts with PREFIX and contains WORD. */
static int has_problem(const struct sd_strlist *p, const char *prefix, const char *word)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strncmp(p->v[i], prefix, strlen(prefix)) == 0 &&
		    (word == NULL || strstr(p->v[i], word) != NULL))
			return 1;
	return 0;
}

/* TEXT must be rejected with a problem "t.conf:LINE: ..." mentioning WORD. */
static void parse_bad(const char *text, int line, const char *word)
{
	struct sd_config c;
	struct sd_strlist p;
	char prefix[32];
	int rc = parse(text, &c, &p);

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", NAME, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", NAME);
	if (rc != -EINVAL || !has_problem(&p, prefix, word)) {
		dump_problems(&p);
		fail_msg("rc %d; expected a problem \"%s...%s\" for:\n%s", rc, prefix,
			 word ? word : "", text);
	}
	sd_config_free(&c);
	sd_strlist_free(&p);
}

static void assert_list(const struct sd_strlist *l, const char *const *want)
{
	size_t n;

	for (n = 0; want[n] != NULL; n++) {
		if (n >= l->n)
			fail_msg("list too short: missing \"%s\"", want[n]);
		assert_string_equal(l->v[n], want[n]);
	}
	assert_int_equal(l->n, n);
}

/* ---- defaults -------------------------------------------------------- */

static void check_defaults(const struct sd_config *c)
{
	static const char *const admin[] = {"sudo", "wheel", "admin", NULL};
	static const char *const legacy[] = {"imap", "imaps", "pop3",	    "pop3s",
					     "pop",  "smtp",  "submission", NULL};
	static const char *const priv[] = {"sudo",   "sudo-i",	 "su",	    "su-l",
					   "pkexec", "polkit-1", "cockpit", NULL};
	static const char *const nonint[] = {"cron", "atd", "systemd-user", NULL};
	static const char *const none[] = {NULL};

	assert_int_equal(c->enabled, 1);
	assert_int_equal(c->mode, SD_MODE_ENFORCE);
	assert_string_equal(c->state_dir, "/var/lib/secdefaults");
	assert_int_equal(c->grace_days, 14);
	assert_int_equal(c->state_backend, SD_BACKEND_DIR);
	assert_list(&c->roles.admin_groups, admin);
	assert_list(&c->roles.exempt_users, none);
	assert_list(&c->roles.exempt_groups, none);
	assert_list(&c->roles.breakglass_users, none);
	assert_list(&c->services.legacy, legacy);
	assert_list(&c->services.privileged, priv);
	assert_list(&c->services.noninteractive, nonint);
	assert_int_equal(c->totp.digits, 6);
	assert_int_equal(c->totp.period, 30);
	assert_int_equal(c->totp.window, 1);
	assert_int_equal(c->totp.algorithm, SD_ALGO_SHA1);
	assert_string_equal(c->totp.issuer, "");
	assert_list(&c->risk.trusted_networks, none);
	assert_int_equal(c->risk.nnets, 0);
	assert_int_equal(c->risk.remember_days, 30);
	assert_int_equal(c->lockout.max_failures, 5);
	assert_int_equal(c->lockout.lock_minutes, 15);
	assert_int_equal(c->enrollment.at_login, 1);
	assert_int_equal(c->leaked.check, 0);
	assert_string_equal(c->leaked.url, "https://api.pwnedpasswords.com/range/");
	assert_int_equal(c->leaked.timeout_ms, 2000);
	assert_int_equal(c->leaked.on_error, SD_ONERR_ALLOW);
	assert_int_equal(c->leaked.auto_dismiss_on_reset, 0);
	assert_string_equal(c->leaked.ca_file, "");
	assert_string_equal(c->leaked.proxy, "");
	assert_list(&c->etcd.endpoints, none);
	assert_string_equal(c->etcd.prefix, "/secdefaults/");
	assert_string_equal(c->etcd.ca_file, "");
	assert_string_equal(c->etcd.cert_file, "");
	assert_string_equal(c->etcd.key_file, "");
	assert_int_equal(c->etcd.timeout_ms, 1500);
}

static void test_defaults_function(void **unused)
{
	struct sd_config c;

	assert_int_equal(sd_config_defaults(&c), 0);
	check_defaults(&c);
	assert_string_equal(c.path, SD_DEFAULT_CONFIG);
	sd_config_free(&c);
	assert_null(c.state_dir);
	assert_int_equal(c.roles.admin_groups.n, 0);
}

static void test_empty_text_is_defaults(void **unused)
{
	struct sd_config c;

	parse_ok("", &c);
	check_defaults(&c);
	assert_string_equal(c.path, NAME);
	sd_config_free(&c);

	parse_ok("# only a comment\n\n// another\n/* and a block */\n", &c);
	check_defaults(&c);
	sd_config_free(&c);

	/* empty groups leave their defaults too */
	parse_ok("roles = {}; services = {}; totp = {}; risk = {}; lockout = {};\n"
		 "enrollment = {}; leaked = {}; etcd = {};\n",
		 &c);
	check_defaults(&c);
	sd_config_free(&c);
}

/* ---- every key, valid values ----------------------------------------- */

static const char every_key[] =
	"enabled = false;\n"
	"mode = \"report-only\";\n"
	"state_dir = \"/srv/secdefaults\";\n"
	"grace_days = 7;\n"
	"state_backend = \"dir\";\n"
	"roles = {\n"
	"  admin_groups = [\"ops\", \"dba\"];\n"
	"  exempt_users = [\"svc-backup\"];\n"
	"  exempt_groups = [\"robots\", \"batch\"];\n"
	"  breakglass_users = [\"rescue\"];\n"
	"};\n"
	"services = {\n"
	"  legacy = [\"imap\", \"dovecot\"];\n"
	"  privileged = [\"sudo\", \"doas\"];\n"
	"  noninteractive = [];\n"
	"};\n"
	"totp = { digits = 8; period = 60; window = 2; algorithm = \"sha512\";\n"
	"         issuer = \"Example Corp\"; };\n"
	"risk = { trusted_networks = [\"192.0.2.0/24\", \"2001:db8::/48\", \"203.0.113.9\"];\n"
	"         remember_days = 7; };\n"
	"lockout = { max_failures = 3; lock_minutes = 60; };\n"
	"enrollment = { at_login = false; };\n"
	"leaked = { check = true; url = \"https://hibp.example.org/range/\"; timeout_ms = 500;\n"
	"           on_error = \"deny\"; auto_dismiss_on_reset = true;\n"
	"           ca_file = \"/etc/ssl/mirror.pem\"; proxy = \"http://proxy.example:3128\"; };\n"
	"etcd = { endpoints = [\"https://etcd1.example:2379\", \"http://127.0.0.1:2379\"];\n"
	"         prefix = \"/fleet/\"; ca_file = \"/etc/etcd/ca.pem\";\n"
	"         cert_file = \"/etc/etcd/client.pem\"; key_file = \"/etc/etcd/client.key\";\n"
	"         timeout_ms = 900; };\n";

static void test_every_key(void **unused)
{
	static const char *const admin[] = {"ops", "dba", NULL};
	static const char *const exu[] = {"svc-backup", NULL};
	static const char *const exg[] = {"robots", "batch", NULL};
	static const char *const bg[] = {"rescue", NULL};
	static const char *const legacy[] = {"imap", "dovecot", NULL};
	static const char *const priv[] = {"sudo", "doas", NULL};
	static const char *const none[] = {NULL};
	static const char *const nets[] = {"192.0.2.0/24", "2001:db8::/48", "203.0.113.9", NULL};
	static const char *const eps[] = {"https://etcd1.example:2379", "http://127.0.0.1:2379",
					  NULL};
	struct sd_config c;

	parse_ok(every_key, &c);
	assert_int_equal(c.enabled, 0);
	assert_int_equal(c.mode, SD_MODE_REPORT_ONLY);
	assert_string_equal(c.state_dir, "/srv/secdefaults");
	assert_int_equal(c.grace_days, 7);
	assert_int_equal(c.state_backend, SD_BACKEND_DIR);
	assert_list(&c.roles.admin_groups, admin);
	assert_list(&c.roles.exempt_users, exu);
	assert_list(&c.roles.exempt_groups, exg);
	assert_list(&c.roles.breakglass_users, bg);
	assert_list(&c.services.legacy, legacy);
	assert_list(&c.services.privileged, priv);
	assert_list(&c.services.noninteractive, none);
	assert_int_equal(c.totp.digits, 8);
	assert_int_equal(c.totp.period, 60);
	assert_int_equal(c.totp.window, 2);
	assert_int_equal(c.totp.algorithm, SD_ALGO_SHA512);
	assert_string_equal(c.totp.issuer, "Example Corp");
	assert_list(&c.risk.trusted_networks, nets);
	assert_int_equal(c.risk.nnets, 3);
	assert_non_null(c.risk.nets);
	assert_int_equal(c.risk.nets[0].family, AF_INET);
	assert_int_equal(c.risk.nets[0].prefix, 24);
	assert_int_equal(c.risk.nets[1].family, AF_INET6);
	assert_int_equal(c.risk.nets[1].prefix, 48);
	assert_int_equal(c.risk.nets[2].prefix, 32);
	assert_int_equal(c.risk.remember_days, 7);
	assert_int_equal(c.lockout.max_failures, 3);
	assert_int_equal(c.lockout.lock_minutes, 60);
	assert_int_equal(c.enrollment.at_login, 0);
	assert_int_equal(c.leaked.check, 1);
	assert_string_equal(c.leaked.url, "https://hibp.example.org/range/");
	assert_int_equal(c.leaked.timeout_ms, 500);
	assert_int_equal(c.leaked.on_error, SD_ONERR_DENY);
	assert_int_equal(c.leaked.auto_dismiss_on_reset, 1);
	assert_string_equal(c.leaked.ca_file, "/etc/ssl/mirror.pem");
	assert_string_equal(c.leaked.proxy, "http://proxy.example:3128");
	assert_list(&c.etcd.endpoints, eps);
	assert_string_equal(c.etcd.prefix, "/fleet/");
	assert_string_equal(c.etcd.ca_file, "/etc/etcd/ca.pem");
	assert_string_equal(c.etcd.cert_file, "/etc/etcd/client.pem");
	assert_string_equal(c.etcd.key_file, "/etc/etcd/client.key");
	assert_int_equal(c.etcd.timeout_ms, 900);
	sd_config_free(&c);
}

static void test_enum_values(void **unused)
{
	struct sd_config c;

	parse_ok("mode = \"enforce\"; totp = { algorithm = \"sha256\"; };", &c);
	assert_int_equal(c.mode, SD_MODE_ENFORCE);
	assert_int_equal(c.totp.algorithm, SD_ALGO_SHA256);
	sd_config_free(&c);
	parse_ok("totp = { algorithm = \"sha1\"; }; leaked = { on_error = \"allow\"; };", &c);
	assert_int_equal(c.totp.algorithm, SD_ALGO_SHA1);
	assert_int_equal(c.leaked.on_error, SD_ONERR_ALLOW);
	sd_config_free(&c);
	parse_ok("enabled = true; enrollment = { at_login = true; };", &c);
	assert_int_equal(c.enabled, 1);
	assert_int_equal(c.enrollment.at_login, 1);
	sd_config_free(&c);

	assert_string_equal(sd_algo_name(SD_ALGO_SHA1), "sha1");
	assert_string_equal(sd_algo_name(SD_ALGO_SHA256), "sha256");
	assert_string_equal(sd_algo_name(SD_ALGO_SHA512), "sha512");
	assert_string_equal(sd_algo_name(3), "?");
	assert_string_equal(sd_algo_name(-1), "?");
}

static void test_int_bounds_accepted(void **unused)
{
	struct sd_config c;

	parse_ok("grace_days = 0; totp = { digits = 6; period = 15; window = 0; };\n"
		 "risk = { remember_days = 0; };\n"
		 "lockout = { max_failures = 1; lock_minutes = 1; };\n"
		 "leaked = { timeout_ms = 100; }; etcd = { timeout_ms = 100; };\n",
		 &c);
	assert_int_equal(c.grace_days, 0);
	assert_int_equal(c.totp.digits, 6);
	assert_int_equal(c.totp.period, 15);
	assert_int_equal(c.totp.window, 0);
	assert_int_equal(c.risk.remember_days, 0);
	assert_int_equal(c.lockout.max_failures, 1);
	assert_int_equal(c.lockout.lock_minutes, 1);
	assert_int_equal(c.leaked.timeout_ms, 100);
	assert_int_equal(c.etcd.timeout_ms, 100);
	sd_config_free(&c);

	parse_ok("grace_days = 3650; totp = { period = 300; window = 10; };\n"
		 "risk = { remember_days = 3650; };\n"
		 "lockout = { max_failures = 100; lock_minutes = 525600; };\n"
		 "leaked = { timeout_ms = 60000; }; etcd = { timeout_ms = 60000; };\n",
		 &c);
	assert_int_equal(c.grace_days, 3650);
	assert_int_equal(c.totp.period, 300);
	assert_int_equal(c.totp.window, 10);
	assert_int_equal(c.risk.remember_days, 3650);
	assert_int_equal(c.lockout.max_failures, 100);
	assert_int_equal(c.lockout.lock_minutes, 525600);
	assert_int_equal(c.leaked.timeout_ms, 60000);
	assert_int_equal(c.etcd.timeout_ms, 60000);
	sd_config_free(&c);

	/* hex and 64-bit literals are integers too */
	parse_ok("grace_days = 0x10; lockout = { lock_minutes = 30L; };", &c);
	assert_int_equal(c.grace_days, 16);
	assert_int_equal(c.lockout.lock_minutes, 30);
	sd_config_free(&c);
}

static void test_lists_replace_defaults(void **unused)
{
	static const char *const one[] = {"ops", NULL};
	static const char *const none[] = {NULL};
	static const char *const paren[] = {"pop3", "imap", NULL};
	struct sd_config c;

	parse_ok("roles = { admin_groups = [\"ops\"]; };", &c);
	assert_list(&c.roles.admin_groups, one);
	assert_int_equal(sd_strlist_contains(&c.roles.admin_groups, "wheel"), 0);
	sd_config_free(&c);

	parse_ok("roles = { admin_groups = []; };", &c);
	assert_list(&c.roles.admin_groups, none);
	sd_config_free(&c);

	/* libconfig's ( ... ) lists are accepted as well as [ ... ] arrays */
	parse_ok("services = { legacy = (\"pop3\", \"imap\"); };", &c);
	assert_list(&c.services.legacy, paren);
	sd_config_free(&c);
}

/* ---- unknown keys ---------------------------------------------------- */

static void test_unknown_keys(void **unused)
{
	parse_bad("enabled = true;\nfoo = 1;\n", 2, "'foo'");
	parse_bad("totp = {\n  digits = 6;\n  colour = \"red\";\n};\n", 3, "'totp.colour'");
	parse_bad("\n\nroles = { admins = [\"x\"]; };\n", 3, "'roles.admins'");
	/* a group key at the top level, a top-level key inside a group */
	parse_bad("digits = 6;\n", 1, "'digits'");
	parse_bad("totp = {\n enabled = true;\n};\n", 2, "'totp.enabled'");
	/* a nested group that does not exist */
	parse_bad("leaked = {\n  extra = { a = 1; };\n};\n", 2, "'leaked.extra'");
	/* keys are case-sensitive */
	parse_bad("Enabled = true;\n", 1, "'Enabled'");
}

/* ---- wrong types ----------------------------------------------------- */

static void test_wrong_types(void **unused)
{
	/* string, float and bool for an int */
	parse_bad("grace_days = \"14\";\n", 1, "grace_days");
	parse_bad("\ngrace_days = 1.5;\n", 2, "grace_days");
	parse_bad("grace_days = true;\n", 1, "grace_days");
	parse_bad("totp = {\n period = \"30\";\n};\n", 2, "totp.period");
	/* int and string for a bool */
	parse_bad("enabled = 1;\n", 1, "enabled");
	parse_bad("enabled = \"true\";\n", 1, "enabled");
	parse_bad("enrollment = { at_login = 0; };\n", 1, "enrollment.at_login");
	/* int for a string or an enum */
	parse_bad("state_dir = 5;\n", 1, "state_dir");
	parse_bad("mode = 1;\n", 1, "mode");
	parse_bad("totp = { algorithm = 1; };\n", 1, "totp.algorithm");
	/* scalar for a list */
	parse_bad("roles = {\n  admin_groups = \"wheel\";\n};\n", 2, "roles.admin_groups");
	parse_bad("risk = { trusted_networks = \"192.0.2.0/24\"; };\n", 1, "risk.trusted_networks");
	/* a group for a list or a scalar */
	parse_bad("services = { legacy = { a = \"imap\"; }; };\n", 1, "services.legacy");
	parse_bad("enabled = { };\n", 1, "enabled");
	/* non-string list items */
	parse_bad("roles = {\n  admin_groups = [1, 2];\n};\n", 2, "roles.admin_groups");
	parse_bad("services = {\n  legacy = (\"imap\", 5);\n};\n", 2, "services.legacy");
	parse_bad("etcd = { endpoints = [true]; };\n", 1, "etcd.endpoints");
	/* a scalar where a group is expected */
	parse_bad("\ntotp = 6;\n", 2, "totp");
	parse_bad("roles = [\"wheel\"];\n", 1, "roles");
}

/* ---- out-of-range ints ----------------------------------------------- */

static void test_int_ranges(void **unused)
{
	parse_bad("totp = {\n  digits = 7;\n};\n", 2, "totp.digits");
	parse_bad("totp = { digits = 5; };\n", 1, "totp.digits");
	parse_bad("totp = { digits = 9; };\n", 1, "totp.digits");
	parse_bad("totp = { period = 0; };\n", 1, "totp.period");
	parse_bad("totp = { period = 14; };\n", 1, "totp.period");
	parse_bad("totp = { period = 301; };\n", 1, "totp.period");
	parse_bad("totp = { window = -1; };\n", 1, "totp.window");
	parse_bad("totp = { window = 11; };\n", 1, "totp.window");
	parse_bad("grace_days = -1;\n", 1, "grace_days");
	parse_bad("grace_days = 3651;\n", 1, "grace_days");
	parse_bad("grace_days = 10000000000L;\n", 1, "grace_days");
	parse_bad("grace_days = -4294967296L;\n", 1, "grace_days");
	parse_bad("lockout = {\n\n  max_failures = 0;\n};\n", 3, "lockout.max_failures");
	parse_bad("lockout = { max_failures = 101; };\n", 1, "lockout.max_failures");
	parse_bad("lockout = { lock_minutes = 0; };\n", 1, "lockout.lock_minutes");
	parse_bad("risk = { remember_days = -1; };\n", 1, "risk.remember_days");
	parse_bad("leaked = { timeout_ms = 99; };\n", 1, "leaked.timeout_ms");
	parse_bad("etcd = { timeout_ms = 60001; };\n", 1, "etcd.timeout_ms");
}

/* ---- bad enum values ------------------------------------------------- */

static void test_bad_enums(void **unused)
{
	struct sd_config c;
	struct sd_strlist p;

	parse_bad("mode = \"audit\";\n", 1, "mode");
	parse_bad("mode = \"\";\n", 1, "mode");
	parse_bad("mode = \"Enforce\";\n", 1, "mode");
	parse_bad("totp = { algorithm = \"md5\"; };\n", 1, "totp.algorithm");
	parse_bad("totp = { algorithm = \"SHA1\"; };\n", 1, "totp.algorithm");
	parse_bad("leaked = { on_error = \"maybe\"; };\n", 1, "leaked.on_error");
	parse_bad("state_backend = \"file\";\n", 1, "state_backend");

	/* etcd needs at least one endpoint */
	assert_int_equal(parse("state_backend = \"etcd\";\n", &c, &p), -EINVAL);
	assert_true(has_problem(&p, NAME ":", "etcd.endpoints"));
	sd_config_free(&c);
	sd_strlist_free(&p);
	parse_ok("state_backend = \"etcd\";\n"
		 "etcd = { endpoints = [\"https://10.0.0.1:2379\", \"http://127.0.0.1:2379\"]; };\n",
		 &c);
	assert_int_equal(c.state_backend, SD_BACKEND_ETCD);
	sd_config_free(&c);
	/* a key without its certificate */
	assert_int_equal(parse("etcd = { endpoints = [\"https://e:2379\"]; key_file = \"/k.pem\"; };\n",
			       &c, &p),
			 -EINVAL);
	assert_true(has_problem(&p, NAME ":", "etcd.key_file"));
	sd_config_free(&c);
	sd_strlist_free(&p);
}

static void test_etcd_endpoints(void **unused)
{
	static const char *const good[] = {
		"https://etcd1.example:2379", "https://10.0.0.1:2379/", "https://[2001:db8::1]:2379",
		"https://etcd", "http://127.0.0.1:2379", "http://127.1.2.3:1", "http://[::1]:2379",
		"http://localhost:2379", "http://LOCALHOST", NULL};
	static const char *const bad[] = {
		"http://10.0.0.2:2379", "http://etcd.example:2379", "http://128.0.0.1:2379",
		"http://127.0.0.1.evil.example:2379", "http://[::2]:2379", "http://localhost.evil:1",
		"http://user@127.0.0.1:2379", "https://user:pw@etcd:2379", "https://etcd:2379/v3",
		"https://etcd:2379?x=1", "https://etcd:0", "https://etcd:65536", "https://etcd:",
		"https://", "https://:2379", "https://[::1", "ftp://etcd:2379", "etcd:2379",
		"https://etcd:2379#f", NULL};
	const char *why;
	size_t i;

	for (i = 0; good[i] != NULL; i++) {
		why = NULL;
		if (sd_etcd_endpoint_check(good[i], &why) != 0)
			fail_msg("%s refused: %s", good[i], why);
	}
	for (i = 0; bad[i] != NULL; i++) {
		why = NULL;
		if (sd_etcd_endpoint_check(bad[i], &why) == 0)
			fail_msg("%s accepted", bad[i]);
		assert_non_null(why);
	}
	parse_bad("etcd = { endpoints = [\"http://10.0.0.2:2379\"]; };\n", 1, "loopback");
}

/* ---- bad paths and strings ------------------------------------------- */

static void test_bad_paths(void **unused)
{
	parse_bad("state_dir = \"var/lib/secdefaults\";\n", 1, "state_dir");
	parse_bad("state_dir = \"\";\n", 1, "state_dir");
	parse_bad("state_dir = \"..\";\n", 1, "state_dir");
	parse_bad("state_dir = \"/..\";\n", 1, "state_dir");
	parse_bad("state_dir = \"/var/lib/../../etc\";\n", 1, "state_dir");
	parse_bad("state_dir = \"/var/lib/..\";\n", 1, "state_dir");
	parse_bad("state_dir = \"/var/lib/\\x01x\";\n", 1, "state_dir");
	parse_bad("leaked = { ca_file = \"ca.pem\"; };\n", 1, "leaked.ca_file");
	parse_bad("etcd = { ca_file = \"/etc/../ca.pem\"; };\n", 1, "etcd.ca_file");
	parse_bad("etcd = { cert_file = \"c.pem\"; };\n", 1, "etcd.cert_file");
	parse_bad("etcd = { key_file = \"./k.pem\"; };\n", 1, "etcd.key_file");
	parse_bad("etcd = { prefix = \"fleet/\"; };\n", 1, "etcd.prefix");
}

static void test_bad_strings(void **unused)
{
	parse_bad("roles = { admin_groups = [\"wheel\", \"a b\"]; };\n", 1, "roles.admin_groups");
	parse_bad("roles = { exempt_users = [\"a/b\"]; };\n", 1, "roles.exempt_users");
	parse_bad("roles = { breakglass_users = [\"\"]; };\n", 1, "roles.breakglass_users");
	parse_bad("roles = { exempt_groups = [\"g\\n\"]; };\n", 1, "roles.exempt_groups");
	parse_bad("services = { privileged = [\"su do\"]; };\n", 1, "services.privileged");
	parse_bad("services = { noninteractive = [\"\"]; };\n", 1, "services.noninteractive");
	parse_bad("totp = { issuer = \"a:b\"; };\n", 1, "totp.issuer");
	parse_bad("leaked = { url = \"http://api.pwnedpasswords.com/range/\"; };\n", 1,
		  "leaked.url");
	parse_bad("leaked = { url = \"https://\"; };\n", 1, "leaked.url");
	parse_bad("leaked = { proxy = \"http://a b\"; };\n", 1, "leaked.proxy");
	parse_bad("etcd = { endpoints = [\"ftp://etcd:2379\"]; };\n", 1, "etcd.endpoints");
}

/* ---- trusted networks ------------------------------------------------ */

static void test_bad_cidr(void **unused)
{
	parse_bad("risk = {\n  trusted_networks = [\"192.0.2.1/24\"];\n};\n", 2,
		  "risk.trusted_networks");
	parse_bad("risk = { trusted_networks = [\"garbage\"]; };\n", 1, "risk.trusted_networks");
	parse_bad("risk = { trusted_networks = [\"10.0.0.0/33\"]; };\n", 1,
		  "risk.trusted_networks");
	parse_bad("risk = { trusted_networks = [\"2001:db8::1/48\"]; };\n", 1,
		  "risk.trusted_networks");
	parse_bad("risk = { trusted_networks = [\"192.0.2.0/24\", \"\"]; };\n", 1,
		  "risk.trusted_networks");
}

/* ---- @include, syntax errors, several problems ----------------------- */

static void test_include_rejected(void **unused)
{
	struct sd_config c;
	struct sd_strlist p;

	assert_int_equal(parse("@include \"/etc/passwd\"\n", &c, &p), -EINVAL);
	assert_true(has_problem(&p, NAME ":", "@include"));
	sd_config_free(&c);
	sd_strlist_free(&p);

	assert_int_equal(parse("enabled = true;\n  @include \"/tmp/x.conf\"\n", &c, &p), -EINVAL);
	assert_true(has_problem(&p, NAME ":2:", "@include"));
	sd_config_free(&c);
	sd_strlist_free(&p);

	/* Only the directive is refused: the word in a comment is fine. */
	assert_int_equal(parse("# never use @include here\nenabled = true;\n", &c, &p), 0);
	sd_config_free(&c);
	sd_strlist_free(&p);
}

static void test_syntax_error_line(void **unused)
{
	parse_bad("enabled = true;\nmode = ;\n", 2, "syntax error");
	parse_bad("enabled = true;\n\n\ngrace_days = = 3;\n", 4, "syntax error");
	parse_bad("roles = {\n  admin_groups = [\"a\", \"b\";\n};\n", 2, "syntax error");
	/* libconfig refuses a setting given twice */
	parse_bad("grace_days = 1;\ngrace_days = 2;\n", 2, NULL);
}

static void test_all_problems_reported(void **unused)
{
	struct sd_config c;
	struct sd_strlist p;

	assert_int_equal(parse("foo = 1;\n"
			       "grace_days = -1;\n"
			       "totp = { digits = 7; };\n"
			       "mode = \"audit\";\n",
			       &c, &p),
			 -EINVAL);
	assert_int_equal(p.n, 4);
	assert_true(has_problem(&p, NAME ":1: ", "foo"));
	assert_true(has_problem(&p, NAME ":2: ", "grace_days"));
	assert_true(has_problem(&p, NAME ":3: ", "totp.digits"));
	assert_true(has_problem(&p, NAME ":4: ", "mode"));
	sd_config_free(&c);
	sd_strlist_free(&p);
}

/* ---- sd_config_load on real files ------------------------------------ */

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sd-conf-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int teardown_dir(void **state)
{
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write LEN bytes of DATA to tmpdir/NAME with MODE; the path goes to OUT. */
static void write_file(const char *name, const char *data, size_t len, mode_t mode, char *out,
		       size_t outlen)
{
	int fd;

	snprintf(out, outlen, "%s/%s", tmpdir, name);
	unlink(out);
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* sd_config_load must refuse PATH with a "PATH: ..." problem. */
static int load_refused(const char *path, const char *word)
{
	struct sd_config c;
	struct sd_strlist p = {NULL, 0};
	char prefix[128];
	int rc;

	rc = sd_config_load(path, &c, &p);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (rc == 0 || !has_problem(&p, prefix, word)) {
		dump_problems(&p);
		fail_msg("%s: rc %d, expected a refusal mentioning \"%s\"", path, rc,
			 word ? word : "");
	}
	sd_config_free(&c);
	sd_strlist_free(&p);
	return rc;
}

static const char small_conf[] = "grace_days = 3;\ntotp = { digits = 8; };\n";

static void test_load_valid(void **unused)
{
	struct sd_config c;
	struct sd_strlist p = {NULL, 0};
	char path[128];

	write_file("ok.conf", small_conf, strlen(small_conf), 0600, path, sizeof(path));
	assert_int_equal(sd_config_load(path, &c, &p), 0);
	assert_int_equal(p.n, 0);
	assert_string_equal(c.path, path);
	assert_int_equal(c.grace_days, 3);
	assert_int_equal(c.totp.digits, 8);
	assert_int_equal(c.lockout.max_failures, 5); /* untouched keys keep defaults */
	sd_config_free(&c);

	/* 0644 and 0400 are fine: only group/world write is unsafe */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(sd_config_load(path, &c, &p), 0);
	sd_config_free(&c);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(sd_config_load(path, &c, &p), 0);
	sd_config_free(&c);
	assert_int_equal(p.n, 0);

	/* an empty file means the defaults */
	write_file("empty.conf", "", 0, 0600, path, sizeof(path));
	assert_int_equal(sd_config_load(path, &c, &p), 0);
	check_defaults(&c);
	sd_config_free(&c);
	sd_strlist_free(&p);
}

static void test_load_invalid_content(void **unused)
{
	struct sd_config c;
	struct sd_strlist p = {NULL, 0};
	char path[128], prefix[160];

	write_file("bad.conf", "enabled = true;\nbogus = 1;\n", 27, 0600, path, sizeof(path));
	assert_int_equal(sd_config_load(path, &c, &p), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:2: ", path);
	assert_true(has_problem(&p, prefix, "bogus"));
	sd_config_free(&c);
	sd_strlist_free(&p);
}

static void test_load_missing(void **unused)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(load_refused(path, "cannot open"), -ENOENT);
}

static void test_load_relative(void **unused)
{
	assert_int_equal(load_refused("secdefaults.conf", "absolute"), -EINVAL);
}

static void test_load_symlink(void **unused)
{
	char target[128], link[128];

	write_file("target.conf", small_conf, strlen(small_conf), 0600, target, sizeof(target));
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	load_refused(link, NULL);
}

static void test_load_directory(void **unused)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/dir.conf", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	load_refused(path, "regular file");
}

static void test_load_fifo(void **unused)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10); /* a blocking open would hang: let SIGALRM fail the test */
	load_refused(path, "regular file");
	alarm(0);
}

static void test_load_group_writable(void **unused)
{
	char path[128];

	write_file("gw.conf", small_conf, strlen(small_conf), 0664, path, sizeof(path));
	load_refused(path, "writable");
	assert_int_equal(chmod(path, 0620), 0);
	load_refused(path, "writable");
}

static void test_load_world_writable(void **unused)
{
	char path[128];

	write_file("ww.conf", small_conf, strlen(small_conf), 0646, path, sizeof(path));
	load_refused(path, "writable");
	assert_int_equal(chmod(path, 0666), 0);
	load_refused(path, "writable");
}

static void test_load_foreign_owner(void **unused)
{
	char path[128];

	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	write_file("nobody.conf", small_conf, strlen(small_conf), 0644, path, sizeof(path));
	assert_int_equal(chown(path, 65534, 65534), 0);
	load_refused(path, "owned by");
}

static void test_load_too_large(void **unused)
{
	struct sd_config c;
	struct sd_strlist p = {NULL, 0};
	char path[128];
	char *big = malloc(SD_CONFIG_MAX_SIZE + 2);

	assert_non_null(big);
	/* exactly the limit: comments and a final setting, accepted */
	memset(big, '#', SD_CONFIG_MAX_SIZE);
	memcpy(big + SD_CONFIG_MAX_SIZE - 16, "\ngrace_days = 2;", 16);
	write_file("limit.conf", big, SD_CONFIG_MAX_SIZE, 0600, path, sizeof(path));
	assert_int_equal(sd_config_load(path, &c, &p), 0);
	assert_int_equal(c.grace_days, 2);
	sd_config_free(&c);
	sd_strlist_free(&p);

	/* one byte more: refused */
	memset(big, '#', SD_CONFIG_MAX_SIZE + 1);
	big[SD_CONFIG_MAX_SIZE] = '\n';
	write_file("big.conf", big, SD_CONFIG_MAX_SIZE + 1, 0600, path, sizeof(path));
	load_refused(path, "too large");
	free(big);
}

static void test_load_nul_byte(void **unused)
{
	static const char data[] = "enabled = true;\n\0grace_days = 1;\n";
	char path[128];

	write_file("nul.conf", data, sizeof(data) - 1, 0600, path, sizeof(path));
	load_refused(path, "NUL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_function),
		cmocka_unit_test(test_empty_text_is_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_int_bounds_accepted),
		cmocka_unit_test(test_lists_replace_defaults),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_int_ranges),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_include_rejected),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_all_problems_reported),
		cmocka_unit_test(test_load_valid),
		cmocka_unit_test(test_load_invalid_content),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_relative),
		cmocka_unit_test(test_load_symlink),
		cmocka_unit_test(test_load_directory),
		cmocka_unit_test(test_load_fifo),
		cmocka_unit_test(test_load_group_writable),
		cmocka_unit_test(test_load_world_writable),
		cmocka_unit_test(test_load_foreign_owner),
		cmocka_unit_test(test_load_too_large),
		cmocka_unit_test(test_load_nul_byte),
		cmocka_unit_test(test_etcd_endpoints),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
