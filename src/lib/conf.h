/* conf.h - the configuration file: libconfig syntax, validated into a struct.
 * Shared by the PAM module and secdefaultsctl so both read it identically. */
#ifndef SD_CONF_H
#define SD_CONF_H

#include "location.h"
#include "util.h"

#define SD_DEFAULT_CONFIG "/etc/security/secdefaults.conf"
#define SD_CONFIG_MAX_SIZE (64 * 1024)

enum sd_mode { SD_MODE_ENFORCE = 0, SD_MODE_REPORT_ONLY };
enum sd_algo { SD_ALGO_SHA1 = 0, SD_ALGO_SHA256, SD_ALGO_SHA512 };
enum sd_on_error { SD_ONERR_ALLOW = 0, SD_ONERR_DENY };
enum sd_backend { SD_BACKEND_DIR = 0, SD_BACKEND_ETCD };

struct sd_config {
	char *path; /* the file it came from, for messages */
	int enabled;
	int mode;
	char *state_dir;
	int grace_days;
	int state_backend;
	struct {
		struct sd_strlist admin_groups, exempt_users, exempt_groups, breakglass_users;
	} roles;
	struct {
		struct sd_strlist legacy, privileged, noninteractive;
	} services;
	struct {
		int digits, period, window, algorithm;
		char *issuer;
	} totp;
	struct {
		struct sd_strlist trusted_networks;
		struct sd_net *nets; /* parsed trusted_networks */
		size_t nnets;
		int remember_days;
	} risk;
	struct {
		int max_failures, lock_minutes;
	} lockout;
	struct {
		int at_login;
	} enrollment;
	struct {
		int check;
		char *url;
		int timeout_ms;
		int on_error;
		int auto_dismiss_on_reset;
		char *ca_file, *proxy;
	} leaked;
	struct {
		struct sd_strlist endpoints;
		char *prefix, *ca_file, *cert_file, *key_file;
		int timeout_ms;
	} etcd;
};

/* Fill C with the documented defaults. 0 or -ENOMEM. */
int sd_config_defaults(struct sd_config *c);

/* Open PATH safely (no symlink, regular file, owned by root or the effective
 * uid, not group/world-writable, at most SD_CONFIG_MAX_SIZE), parse and
 * validate it over the defaults. Returns 0 when clean; otherwise a negative
 * errno and every problem found appended to PROBLEMS as "file:line: text"
 * (or "file: text"). C must be released with sd_config_free either way. */
int sd_config_load(const char *path, struct sd_config *c, struct sd_strlist *problems);

/* The same from a buffer (NAME is used in messages); for tests and fuzzing. */
int sd_config_parse(const char *text, const char *name, struct sd_config *c,
		    struct sd_strlist *problems);

void sd_config_free(struct sd_config *c);

/* An etcd endpoint: https://HOST[:PORT][/], or http:// to a loopback host
 * (127.0.0.0/8, [::1], localhost); no credentials, path or query. 0, or -1
 * with the reason in *WHY. */
int sd_etcd_endpoint_check(const char *url, const char **why);

const char *sd_algo_name(int algo);

#endif
