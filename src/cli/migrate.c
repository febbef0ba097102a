/* migrate.c - `secdefaultsctl migrate --to etcd|dir`: move every user's
 * state and secret between the state directory and etcd.
 *
 * The source is the backend the configuration selects; the destination is
 * the other one, configured by the same file (state_dir for dir, the etcd
 * group for etcd). Each user is written under the destination's lock (for
 * etcd: a compare-and-swap on the key's revision), then read back and
 * compared field by field through the state and secret text formats. A
 * user the destination already has is left alone unless --force is given.
 * Run it with sign-ins stopped or the source still selected: a sign-in
 * during the copy changes only the source. */
#include "config.h"

#include "migrate.h"

#include "../lib/conf.h"
#include "../lib/state.h"
#include "../lib/store.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static const char *backend_name(int b)
{
	return b == SD_BACKEND_ETCD ? "etcd" : "dir";
}

static int collect(const char *user, void *arg)
{
	return sd_strlist_add(arg, user) == 0 ? 0 : -ENOMEM;
}

/* 1 if A and B hold the same state (the backend revision aside). */
static int same_state(const struct sd_state *a, const struct sd_state *b, const char *user)
{
	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	int same;

	if (sd_state_format(a, user, &ta, &la) != 0 || sd_state_format(b, user, &tb, &lb) != 0) {
		free(ta);
		return 0;
	}
	same = la == lb && memcmp(ta, tb, la) == 0;
	free(ta);
	free(tb);
	return same;
}

static int same_secret(const struct sd_secret *a, const struct sd_secret *b)
{
	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	int same = 0;

	if (sd_secret_format(a, &ta, &la) == 0 && sd_secret_format(b, &tb, &lb) == 0)
		same = la == lb && sd_ct_memcmp(ta, tb, la) == 0;
	if (ta != NULL) {
		sd_wipe(ta, la);
		free(ta);
	}
	if (tb != NULL) {
		sd_wipe(tb, lb);
		free(tb);
	}
	return same;
}

struct counts {
	size_t users, secrets, replaced, skipped, failed;
};

/* Copy one user. 0 copied, 1 skipped (exists), -1 failed (printed). */
static int copy_user(struct sd_store *src, struct sd_store *dst, const char *user, int force,
		     struct counts *n)
{
	struct sd_state st, old, back;
	struct sd_secret sec, secback;
	struct sd_err err = {""};
	int rc, has_secret, exists;

	memset(&sec, 0, sizeof(sec));
	rc = sd_store_load(src, user, &st, &err);
	if (rc == 0) {
		rc = sd_store_load_secret(src, user, &sec, &err);
		has_secret = rc == 0;
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc != 0) {
		fprintf(stderr, "secdefaultsctl: migrate %s: cannot read: %s\n", user, err.msg);
		return -1;
	}
	rc = sd_store_lock(dst, user, &err);
	if (rc == 0) {
		rc = sd_store_load(dst, user, &old, &err);
		exists = rc == 0;
		if (rc == -ENOENT)
			rc = 0;
		if (rc == 0 && exists && !force) {
			sd_store_unlock(dst);
			sd_wipe(&sec, sizeof(sec));
			fprintf(stderr,
				"secdefaultsctl: migrate %s: already in the destination (use "
				"--force to replace)\n",
				user);
			return 1;
		}
		/* Replace whole: a secret the source lacks must not survive. */
		if (rc == 0 && exists)
			rc = sd_store_remove(dst, user, &err);
		if (rc == 0)
			rc = sd_store_save(dst, user, &st, 0, &err);
		if (rc == 0 && has_secret)
			rc = sd_store_save_secret(dst, user, &sec, &err);
		sd_store_unlock(dst);
		if (rc == 0 && exists)
			n->replaced++;
	}
	if (rc != 0) {
		sd_wipe(&sec, sizeof(sec));
		fprintf(stderr, "secdefaultsctl: migrate %s: cannot write: %s\n", user, err.msg);
		return -1;
	}
	/* Verify by reading back. */
	rc = sd_store_load(dst, user, &back, &err);
	if (rc == 0 && !same_state(&st, &back, user)) {
		rc = -EBADMSG;
		snprintf(err.msg, sizeof(err.msg), "state read back differs");
	}
	if (rc == 0) {
		rc = sd_store_load_secret(dst, user, &secback, &err);
		if (rc == -ENOENT && !has_secret) {
			rc = 0;
		} else if (rc == 0 && (!has_secret || !same_secret(&sec, &secback))) {
			rc = -EBADMSG;
			snprintf(err.msg, sizeof(err.msg), "secret read back differs");
		}
		sd_wipe(&secback, sizeof(secback));
	}
	sd_wipe(&sec, sizeof(sec));
	if (rc != 0) {
		fprintf(stderr, "secdefaultsctl: migrate %s: verification failed: %s\n", user,
			err.msg);
		return -1;
	}
	n->users++;
	if (has_secret)
		n->secrets++;
	return 0;
}

void sd_cli_close_store(struct sd_store *s)
{
	if (sd_store_note(s) != NULL)
		fprintf(stderr, "secdefaultsctl: warning: %s\n", sd_store_note(s));
	sd_store_close(s);
}

int sd_cli_migrate(const char *config_path, int argc, char **argv)
{
	struct sd_config c;
	struct sd_strlist problems = {0}, users = {0};
	struct sd_store *src = NULL, *dst = NULL;
	struct sd_err err = {""};
	struct counts n = {0, 0, 0, 0, 0};
	const char *to = NULL;
	int i, rc, force = 0, from, target;
	size_t k;

	if (argc > 0 && strcmp(argv[0], "migrate") == 0) {
		argc--;
		argv++;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strncmp(argv[i], "--to=", 5) == 0)
			to = argv[i] + 5;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else
			to = NULL, i = argc;
	}
	if (to == NULL || (strcmp(to, "etcd") != 0 && strcmp(to, "dir") != 0)) {
		fprintf(stderr, "usage: secdefaultsctl [--config PATH] migrate --to etcd|dir "
				"[--force]\n");
		return EXIT_USAGE;
	}
	target = strcmp(to, "etcd") == 0 ? SD_BACKEND_ETCD : SD_BACKEND_DIR;

	memset(&c, 0, sizeof(c));
	rc = sd_config_load(config_path, &c, &problems);
	for (k = 0; k < problems.n; k++)
		fprintf(stderr, "%s\n", problems.v[k]);
	sd_strlist_free(&problems);
	if (rc != 0) {
		sd_config_free(&c);
		fprintf(stderr, "secdefaultsctl: configuration %s has problems: nothing copied\n",
			config_path);
		return EXIT_FAILURE;
	}
	from = c.state_backend;
	if (from == target) {
		sd_config_free(&c);
		fprintf(stderr,
			"secdefaultsctl: state_backend is already \"%s\": migrate copies from the "
			"configured backend to the other one\n",
			to);
		return EXIT_FAILURE;
	}
	if (target == SD_BACKEND_ETCD && c.etcd.endpoints.n == 0) {
		sd_config_free(&c);
		fprintf(stderr, "secdefaultsctl: etcd.endpoints is empty in %s\n", config_path);
		return EXIT_FAILURE;
	}
	rc = sd_store_open(&c, SD_STORE_READONLY, &src, &err);
	if (rc == 0) {
		c.state_backend = target;
		rc = sd_store_open(&c, 0, &dst, &err);
		c.state_backend = from;
	}
	if (rc == 0)
		rc = sd_store_list(src, collect, &users, &err);
	if (rc != 0) {
		fprintf(stderr, "secdefaultsctl: migrate: %s\n",
			err.msg[0] != '\0' ? err.msg : strerror(-rc));
		sd_cli_close_store(src);
		sd_cli_close_store(dst);
		sd_strlist_free(&users);
		sd_config_free(&c);
		return EXIT_FAILURE;
	}
	for (k = 0; k < users.n; k++) {
		rc = copy_user(src, dst, users.v[k], force, &n);
		if (rc > 0)
			n.skipped++;
		else if (rc < 0)
			n.failed++;
	}
	printf("migrated %zu user%s (%zu with a secret) from %s to %s, verified; %zu replaced, "
	       "%zu skipped, %zu failed\n",
	       n.users, n.users == 1 ? "" : "s", n.secrets, backend_name(from), to, n.replaced,
	       n.skipped, n.failed);
	if (n.failed == 0 && n.skipped == 0)
		printf("now set state_backend = \"%s\"; in %s\n", to, config_path);
	sd_cli_close_store(src);
	sd_cli_close_store(dst);
	sd_strlist_free(&users);
	sd_config_free(&c);
	return n.failed == 0 && n.skipped == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
