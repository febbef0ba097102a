/* conf.c - read and validate the configuration file.
 *
 * The file is opened and checked by us (never by libconfig, which would
 * follow symlinks and honour @include), then parsed from memory. Every key is
 * described once in the schema table below: its type, its range and an
 * optional value check; anything not in the table is an error. */
#include "config.h"

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_BOOL, K_INT, K_STR, K_LIST, K_ENUM };

typedef int (*value_check)(const char *v, const char **why);

struct key {
	const char *group; /* NULL: top level */
	const char *name;
	enum kind kind;
	size_t off;
	int min, max;
	const char *const *choices; /* K_ENUM: index is the stored value */
	value_check check;	    /* K_STR and each K_LIST element */
};

static const char *const modes[] = {"enforce", "report-only", NULL};
static const char *const algos[] = {"sha1", "sha256", "sha512", NULL};
static const char *const on_errors[] = {"allow", "deny", NULL};
static const char *const backends[] = {"dir", "etcd", NULL};
static const char *const groups[] = {"roles",	   "services", "totp", "risk", "lockout",
				     "enrollment", "leaked",   "etcd", NULL};

static int printable(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
			return 0;
	return 1;
}

static int check_abs_path(const char *v, const char **why)
{
	if (v[0] != '/' || strlen(v) > 200 || !printable(v) || strstr(v, "/../") != NULL ||
	    (strlen(v) >= 3 && strcmp(v + strlen(v) - 3, "/..") == 0)) {
		*why = "must be an absolute path without '..' (at most 200 bytes)";
		return -1;
	}
	return 0;
}

static int check_opt_path(const char *v, const char **why)
{
	return v[0] == '\0' ? 0 : check_abs_path(v, why);
}

static int check_name(const char *v, const char **why)
{
	if (v[0] == '\0' || strchr(v, '/') != NULL || strchr(v, ' ') != NULL || !printable(v) ||
	    strlen(v) > 64) {
		*why = "must be a user or group name (no '/', spaces or control characters)";
		return -1;
	}
	return 0;
}

static int check_service(const char *v, const char **why)
{
	if (v[0] == '\0' || strchr(v, ' ') != NULL || !printable(v) || strlen(v) > 64) {
		*why = "must be a PAM service name (no spaces or control characters)";
		return -1;
	}
	return 0;
}

static int check_issuer(const char *v, const char **why)
{
	if (strlen(v) > 64 || !printable(v) || strchr(v, ':') != NULL) {
		*why = "must be at most 64 printable characters without ':'";
		return -1;
	}
	return 0;
}

static int check_https(const char *v, const char **why)
{
	if (strncmp(v, "https://", 8) != 0 || strlen(v) <= 8 || strlen(v) > 512 || !printable(v) ||
	    strchr(v, ' ') != NULL) {
		*why = "must be an https:// URL";
		return -1;
	}
	return 0;
}

/* Plain http is for tests on one machine: 127.0.0.0/8, [::1], localhost. */
static int loopback_host(const char *host, size_t n)
{
	struct in_addr a;
	char h[64];

	if (n == 0 || n >= sizeof(h))
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int sd_etcd_endpoint_check(const char *v, const char **why)
{
	const char *p, *host;
	size_t hostlen, digits = 0;
	unsigned long port = 0;
	int https;

	*why = "must be https://HOST[:PORT] (plain http:// only for 127.0.0.0/8, [::1] or "
	       "localhost)";
	if (strlen(v) > 512 || !printable(v) || strpbrk(v, " @?#\\") != NULL)
		return -1;
	if (strncmp(v, "https://", 8) == 0)
		https = 1;
	else if (strncmp(v, "http://", 7) == 0)
		https = 0;
	else
		return -1;
	host = p = v + (https ? 8 : 7);
	if (*p == '[') {
		p = strchr(p, ']');
		if (p == NULL)
			return -1;
		p++;
	} else {
		p += strcspn(p, ":/");
	}
	hostlen = (size_t)(p - host);
	if (hostlen == 0)
		return -1;
	if (*p == ':') {
		for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
			port = port * 10 + (unsigned long)(*p - '0');
		if (digits == 0 || port == 0 || port > 65535)
			return -1;
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		return -1;
	if (!https && !loopback_host(host, hostlen)) {
		*why = "plain http:// is allowed only for loopback endpoints (127.0.0.0/8, [::1], "
		       "localhost): use https:// with a client certificate";
		return -1;
	}
	return 0;
}

static int check_endpoint(const char *v, const char **why)
{
	return sd_etcd_endpoint_check(v, why);
}

static int check_proxy(const char *v, const char **why)
{
	if (strlen(v) > 512 || !printable(v) || strchr(v, ' ') != NULL) {
		*why = "must be empty or a proxy URL";
		return -1;
	}
	return 0;
}

static int check_prefix(const char *v, const char **why)
{
	if (v[0] != '/' || strlen(v) > 128 || !printable(v)) {
		*why = "must start with '/' (at most 128 bytes)";
		return -1;
	}
	return 0;
}

static int check_cidr(const char *v, const char **why)
{
	struct sd_net n;

	if (sd_net_parse(v, &n) != 0) {
		*why = "must be an address or network such as 192.0.2.0/24 or 2001:db8::/48 "
		       "(host bits zero)";
		return -1;
	}
	return 0;
}

#define F(m) offsetof(struct sd_config, m)

static const struct key schema[] = {
	{NULL, "enabled", K_BOOL, F(enabled), 0, 0, NULL, NULL},
	{NULL, "mode", K_ENUM, F(mode), 0, 0, modes, NULL},
	{NULL, "state_dir", K_STR, F(state_dir), 0, 0, NULL, check_abs_path},
	{NULL, "grace_days", K_INT, F(grace_days), 0, 3650, NULL, NULL},
	{NULL, "state_backend", K_ENUM, F(state_backend), 0, 0, backends, NULL},
	{"roles", "admin_groups", K_LIST, F(roles.admin_groups), 0, 0, NULL, check_name},
	{"roles", "exempt_users", K_LIST, F(roles.exempt_users), 0, 0, NULL, check_name},
	{"roles", "exempt_groups", K_LIST, F(roles.exempt_groups), 0, 0, NULL, check_name},
	{"roles", "breakglass_users", K_LIST, F(roles.breakglass_users), 0, 0, NULL, check_name},
	{"services", "legacy", K_LIST, F(services.legacy), 0, 0, NULL, check_service},
	{"services", "privileged", K_LIST, F(services.privileged), 0, 0, NULL, check_service},
	{"services", "noninteractive", K_LIST, F(services.noninteractive), 0, 0, NULL,
	 check_service},
	{"totp", "digits", K_INT, F(totp.digits), 6, 8, NULL, NULL},
	{"totp", "period", K_INT, F(totp.period), 15, 300, NULL, NULL},
	{"totp", "window", K_INT, F(totp.window), 0, 10, NULL, NULL},
	{"totp", "algorithm", K_ENUM, F(totp.algorithm), 0, 0, algos, NULL},
	{"totp", "issuer", K_STR, F(totp.issuer), 0, 0, NULL, check_issuer},
	{"risk", "trusted_networks", K_LIST, F(risk.trusted_networks), 0, 0, NULL, check_cidr},
	{"risk", "remember_days", K_INT, F(risk.remember_days), 0, 3650, NULL, NULL},
	{"lockout", "max_failures", K_INT, F(lockout.max_failures), 1, 100, NULL, NULL},
	{"lockout", "lock_minutes", K_INT, F(lockout.lock_minutes), 1, 525600, NULL, NULL},
	{"enrollment", "at_login", K_BOOL, F(enrollment.at_login), 0, 0, NULL, NULL},
	{"leaked", "check", K_BOOL, F(leaked.check), 0, 0, NULL, NULL},
	{"leaked", "url", K_STR, F(leaked.url), 0, 0, NULL, check_https},
	{"leaked", "timeout_ms", K_INT, F(leaked.timeout_ms), 100, 60000, NULL, NULL},
	{"leaked", "on_error", K_ENUM, F(leaked.on_error), 0, 0, on_errors, NULL},
	{"leaked", "auto_dismiss_on_reset", K_BOOL, F(leaked.auto_dismiss_on_reset), 0, 0, NULL,
	 NULL},
	{"leaked", "ca_file", K_STR, F(leaked.ca_file), 0, 0, NULL, check_opt_path},
	{"leaked", "proxy", K_STR, F(leaked.proxy), 0, 0, NULL, check_proxy},
	{"etcd", "endpoints", K_LIST, F(etcd.endpoints), 0, 0, NULL, check_endpoint},
	{"etcd", "prefix", K_STR, F(etcd.prefix), 0, 0, NULL, check_prefix},
	{"etcd", "ca_file", K_STR, F(etcd.ca_file), 0, 0, NULL, check_opt_path},
	{"etcd", "cert_file", K_STR, F(etcd.cert_file), 0, 0, NULL, check_opt_path},
	{"etcd", "key_file", K_STR, F(etcd.key_file), 0, 0, NULL, check_opt_path},
	{"etcd", "timeout_ms", K_INT, F(etcd.timeout_ms), 100, 60000, NULL, NULL},
};

#undef F

#define AT(c, off, type) ((type *)(void *)((char *)(c) + (off)))

static int set_str(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static int add_all(struct sd_strlist *l, const char *const *v)
{
	for (; *v != NULL; v++)
		if (sd_strlist_add(l, *v) != 0)
			return -ENOMEM;
	return 0;
}

int sd_config_defaults(struct sd_config *c)
{
	static const char *const admin[] = {"sudo", "wheel", "admin", NULL};
	static const char *const legacy[] = {"imap", "imaps", "pop3",	    "pop3s",
					     "pop",  "smtp",  "submission", NULL};
	static const char *const priv[] = {"sudo",   "sudo-i",	 "su",	    "su-l",
					   "pkexec", "polkit-1", "cockpit", NULL};
	static const char *const nonint[] = {"cron", "atd", "systemd-user", NULL};

	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->mode = SD_MODE_ENFORCE;
	c->grace_days = 14;
	c->state_backend = SD_BACKEND_DIR;
	c->totp.digits = 6;
	c->totp.period = 30;
	c->totp.window = 1;
	c->totp.algorithm = SD_ALGO_SHA1;
	c->risk.remember_days = 30;
	c->lockout.max_failures = 5;
	c->lockout.lock_minutes = 15;
	c->enrollment.at_login = 1;
	c->leaked.timeout_ms = 2000;
	c->leaked.on_error = SD_ONERR_ALLOW;
	c->etcd.timeout_ms = 1500;
	if (set_str(&c->path, SD_DEFAULT_CONFIG) ||
	    set_str(&c->state_dir, "/var/lib/secdefaults") || set_str(&c->totp.issuer, "") ||
	    set_str(&c->leaked.url, "https://api.pwnedpasswords.com/range/") ||
	    set_str(&c->leaked.ca_file, "") || set_str(&c->leaked.proxy, "") ||
	    set_str(&c->etcd.prefix, "/secdefaults/") || set_str(&c->etcd.ca_file, "") ||
	    set_str(&c->etcd.cert_file, "") || set_str(&c->etcd.key_file, "") ||
	    add_all(&c->roles.admin_groups, admin) || add_all(&c->services.legacy, legacy) ||
	    add_all(&c->services.privileged, priv) || add_all(&c->services.noninteractive, nonint))
		return -ENOMEM;
	return 0;
}

void sd_config_free(struct sd_config *c)
{
	free(c->path);
	free(c->state_dir);
	free(c->totp.issuer);
	free(c->leaked.url);
	free(c->leaked.ca_file);
	free(c->leaked.proxy);
	free(c->etcd.prefix);
	free(c->etcd.ca_file);
	free(c->etcd.cert_file);
	free(c->etcd.key_file);
	free(c->risk.nets);
	sd_strlist_free(&c->roles.admin_groups);
	sd_strlist_free(&c->roles.exempt_users);
	sd_strlist_free(&c->roles.exempt_groups);
	sd_strlist_free(&c->roles.breakglass_users);
	sd_strlist_free(&c->services.legacy);
	sd_strlist_free(&c->services.privileged);
	sd_strlist_free(&c->services.noninteractive);
	sd_strlist_free(&c->risk.trusted_networks);
	sd_strlist_free(&c->etcd.endpoints);
	memset(c, 0, sizeof(*c));
}

const char *sd_algo_name(int algo)
{
	return algo >= 0 && algo <= SD_ALGO_SHA512 ? algos[algo] : "?";
}

/* Append "name:line: message" to PROBLEMS. */
static void problem(struct sd_strlist *problems, const char *name, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct sd_strlist *problems, const char *name, int line, const char *fmt, ...)
{
	char text[512], full[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", name, line, text);
	else
		snprintf(full, sizeof(full), "%s: %s", name, text);
	/* If even this allocation fails the count below still reports failure. */
	(void)sd_strlist_add(problems, full);
}

static const struct key *find_key(const char *group, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(schema) / sizeof(schema[0]); i++) {
		const struct key *k = &schema[i];

		if (strcmp(k->name, name) != 0)
			continue;
		if ((group == NULL && k->group == NULL) ||
		    (group != NULL && k->group != NULL && strcmp(group, k->group) == 0))
			return k;
	}
	return NULL;
}

static int is_group_name(const char *name)
{
	const char *const *g;

	for (g = groups; *g != NULL; g++)
		if (strcmp(*g, name) == 0)
			return 1;
	return 0;
}

/* Apply one setting; returns the number of problems it added. */
static int apply(struct sd_config *c, const struct key *k, config_setting_t *s, const char *name,
		 struct sd_strlist *problems)
{
	char full[96];
	int line = (int)config_setting_source_line(s);
	int type = config_setting_type(s);
	const char *why = NULL;

	snprintf(full, sizeof(full), "%s%s%s", k->group ? k->group : "", k->group ? "." : "",
		 k->name);
	switch (k->kind) {
	case K_BOOL:
		if (type != CONFIG_TYPE_BOOL) {
			problem(problems, name, line, "'%s' must be true or false", full);
			return 1;
		}
		*AT(c, k->off, int) = config_setting_get_bool(s) ? 1 : 0;
		return 0;
	case K_INT: {
		long long v;

		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			problem(problems, name, line, "'%s' must be an integer", full);
			return 1;
		}
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max) {
			problem(problems, name, line, "'%s' must be between %d and %d, not %lld",
				full, k->min, k->max, v);
			return 1;
		}
		if (strcmp(full, "totp.digits") == 0 && v != 6 && v != 8) {
			problem(problems, name, line, "'totp.digits' must be 6 or 8, not %lld", v);
			return 1;
		}
		*AT(c, k->off, int) = (int)v;
		return 0;
	}
	case K_ENUM:
	case K_STR: {
		const char *v;

		if (type != CONFIG_TYPE_STRING) {
			problem(problems, name, line, "'%s' must be a string", full);
			return 1;
		}
		v = config_setting_get_string(s);
		if (k->kind == K_ENUM) {
			int i;

			for (i = 0; k->choices[i] != NULL; i++)
				if (strcmp(k->choices[i], v) == 0)
					break;
			if (k->choices[i] == NULL) {
				char list[128] = "";

				for (i = 0; k->choices[i] != NULL; i++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list),
						 "%s\"%s\"", i ? ", " : "", k->choices[i]);
				problem(problems, name, line, "'%s' must be one of %s", full, list);
				return 1;
			}
			*AT(c, k->off, int) = i;
			return 0;
		}
		if (k->check != NULL && k->check(v, &why) != 0) {
			problem(problems, name, line, "'%s' %s", full, why);
			return 1;
		}
		if (set_str(AT(c, k->off, char *), v) != 0) {
			problem(problems, name, line, "out of memory");
			return 1;
		}
		return 0;
	}
	case K_LIST: {
		struct sd_strlist *l = AT(c, k->off, struct sd_strlist);
		int i, n, bad = 0;

		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
			problem(problems, name, line,
				"'%s' must be a list of strings, like [\"a\", \"b\"]", full);
			return 1;
		}
		sd_strlist_free(l);
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			int eline = (int)config_setting_source_line(e);

			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				problem(problems, name, eline > 0 ? eline : line,
					"'%s' item %d must be a string", full, i + 1);
				bad++;
				continue;
			}
			if (k->check != NULL && k->check(config_setting_get_string(e), &why) != 0) {
				problem(problems, name, eline > 0 ? eline : line, "'%s' item %d %s",
					full, i + 1, why);
				bad++;
				continue;
			}
			if (sd_strlist_add(l, config_setting_get_string(e)) != 0) {
				problem(problems, name, line, "out of memory");
				bad++;
			}
		}
		return bad;
	}
	}
	return 1;
}

static int walk(struct sd_config *c, config_setting_t *root, const char *name,
		struct sd_strlist *problems)
{
	int i, j, n, bad = 0;

	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *sname = config_setting_name(s);
		int line = (int)config_setting_source_line(s);
		const struct key *k;

		if (sname == NULL)
			continue;
		if (is_group_name(sname)) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
				problem(problems, name, line, "'%s' must be a group: %s = { ... };",
					sname, sname);
				bad++;
				continue;
			}
			for (j = 0; j < config_setting_length(s); j++) {
				config_setting_t *m = config_setting_get_elem(s, (unsigned)j);
				const char *mname = config_setting_name(m);

				k = find_key(sname, mname);
				if (k == NULL) {
					problem(problems, name, (int)config_setting_source_line(m),
						"unknown key '%s.%s'", sname, mname ? mname : "?");
					bad++;
					continue;
				}
				bad += apply(c, k, m, name, problems);
			}
			continue;
		}
		k = find_key(NULL, sname);
		if (k == NULL) {
			problem(problems, name, line, "unknown key '%s'", sname);
			bad++;
			continue;
		}
		bad += apply(c, k, s, name, problems);
	}
	return bad;
}

/* Checks that involve more than one key, or derived values. */
static int finish(struct sd_config *c, const char *name, struct sd_strlist *problems)
{
	size_t i;
	int bad = 0;

	free(c->risk.nets);
	c->risk.nets = NULL;
	c->risk.nnets = 0;
	if (c->risk.trusted_networks.n > 0) {
		c->risk.nets = calloc(c->risk.trusted_networks.n, sizeof(*c->risk.nets));
		if (c->risk.nets == NULL) {
			problem(problems, name, 0, "out of memory");
			return 1;
		}
		for (i = 0; i < c->risk.trusted_networks.n; i++)
			if (sd_net_parse(c->risk.trusted_networks.v[i], &c->risk.nets[i]) != 0)
				bad++; /* already reported by check_cidr */
		c->risk.nnets = c->risk.trusted_networks.n;
	}
	if (c->state_backend == SD_BACKEND_ETCD && c->etcd.endpoints.n == 0) {
		problem(problems, name, 0,
			"state_backend \"etcd\" needs at least one endpoint in etcd.endpoints");
		bad++;
	}
	if (c->etcd.key_file[0] != '\0' && c->etcd.cert_file[0] == '\0') {
		problem(problems, name, 0, "etcd.key_file is set but etcd.cert_file is not");
		bad++;
	}
	return bad;
}

/* The line of the first "@include" directive (first word of a line, where
 * libconfig's scanner looks for it), or 0. */
static int include_line(const char *text)
{
	int line = 1;
	const char *p = text;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) == 0)
			return line;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
		line++;
	}
	return 0;
}

int sd_config_parse(const char *text, const char *name, struct sd_config *c,
		    struct sd_strlist *problems)
{
	config_t cf;
	int bad = 0, line;

	if (c->path == NULL && sd_config_defaults(c) != 0) {
		problem(problems, name, 0, "out of memory");
		return -ENOMEM;
	}
	if (name != NULL && set_str(&c->path, name) != 0) {
		problem(problems, name, 0, "out of memory");
		return -ENOMEM;
	}
	/* libconfig would open any file an @include names, unchecked. */
	if ((line = include_line(text)) > 0) {
		problem(problems, name, line,
			"@include is not supported: keep the whole configuration in one file");
		return -EINVAL;
	}
	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		problem(problems, name, config_error_line(&cf), "syntax error: %s",
			config_error_text(&cf) ? config_error_text(&cf) : "unknown");
		config_destroy(&cf);
		return -EINVAL;
	}
	bad = walk(c, config_root_setting(&cf), name, problems);
	config_destroy(&cf);
	bad += finish(c, name, problems);
	return bad == 0 ? 0 : -EINVAL;
}

int sd_config_load(const char *path, struct sd_config *c, struct sd_strlist *problems)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	size_t len = 0;
	int fd, rc = -EINVAL;

	if (sd_config_defaults(c) != 0) {
		problem(problems, path, 0, "out of memory");
		return -ENOMEM;
	}
	if (set_str(&c->path, path) != 0) {
		problem(problems, path, 0, "out of memory");
		return -ENOMEM;
	}
	if (path[0] != '/') {
		problem(problems, path, 0, "configuration path must be absolute");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		problem(problems, path, 0, "cannot open: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		problem(problems, path, 0, "cannot stat: %s", strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(problems, path, 0, "unsafe: not a regular file");
		goto done;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		problem(problems, path, 0, "unsafe: owned by uid %u, must be owned by root",
			(unsigned)st.st_uid);
		goto done;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		problem(problems, path, 0, "unsafe: writable by group or others (mode %04o)",
			(unsigned)(st.st_mode & 07777));
		goto done;
	}
	if (st.st_size > SD_CONFIG_MAX_SIZE) {
		problem(problems, path, 0, "too large: %lld bytes, at most %d",
			(long long)st.st_size, SD_CONFIG_MAX_SIZE);
		goto done;
	}
	buf = malloc(SD_CONFIG_MAX_SIZE + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		problem(problems, path, 0, "out of memory");
		goto done;
	}
	while (len <= SD_CONFIG_MAX_SIZE) {
		got = read(fd, buf + len, SD_CONFIG_MAX_SIZE + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			problem(problems, path, 0, "cannot read: %s", strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > SD_CONFIG_MAX_SIZE) {
		problem(problems, path, 0, "too large: more than %d bytes", SD_CONFIG_MAX_SIZE);
		goto done;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		problem(problems, path, 0, "contains a NUL byte");
		goto done;
	}
	rc = sd_config_parse(buf, path, c, problems);
done:
	free(buf);
	close(fd);
	return rc;
}
