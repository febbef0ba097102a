/* fuzz_auth.c - the whole sign-in path: pam_sm_authenticate and
 * pam_sm_acct_mgmt of the real module source, against a fake libpam (this
 * file) whose user name, PAM_RHOST, PAM_SERVICE, conversation replies and
 * the user's state file all come from the fuzz input. Whatever the input,
 * the module must return a PAM code, never crash, leak or read out of
 * bounds; a state file that does not parse must never end in PAM_SUCCESS.
 *
 * Input: fields separated by 0x00 bytes: user, rhost, service, reply 1,
 * reply 2, then the state file bytes (the rest). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/lib/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a fake libpam ------------------------------------------------------ */

struct pam_handle {
	const char *user, *rhost, *service;
	const char *replies[2];
	int nreply;
	const void *data_val;
};

int pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt)
{
	(void)prompt;
	*user = pamh->user;
	return pamh->user != NULL ? PAM_SUCCESS : PAM_SYSTEM_ERR;
}

int pam_get_item(const pam_handle_t *pamh, int type, const void **item)
{
	switch (type) {
	case PAM_SERVICE:
		*item = pamh->service;
		return PAM_SUCCESS;
	case PAM_RHOST:
		*item = pamh->rhost[0] != '\0' ? pamh->rhost : NULL;
		return PAM_SUCCESS;
	default:
		*item = NULL;
		return PAM_SUCCESS;
	}
}

int pam_set_data(pam_handle_t *pamh, const char *name, void *data,
		 void (*cleanup)(pam_handle_t *, void *, int))
{
	(void)name;
	(void)cleanup;
	pamh->data_val = data;
	return PAM_SUCCESS;
}

int pam_get_data(const pam_handle_t *pamh, const char *name, const void **data)
{
	(void)name;
	*data = pamh->data_val;
	return pamh->data_val != NULL ? PAM_SUCCESS : PAM_NO_MODULE_DATA;
}

int pam_prompt(pam_handle_t *pamh, int style, char **resp, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	(void)style;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (resp == NULL) /* pam_info, pam_error */
		return PAM_SUCCESS;
	if (pamh->nreply >= 2) {
		*resp = NULL;
		return PAM_CONV_ERR;
	}
	*resp = strdup(pamh->replies[pamh->nreply++]);
	return *resp != NULL ? PAM_SUCCESS : PAM_BUF_ERR;
}

static void say(const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
}

void pam_syslog(const pam_handle_t *pamh, int prio, const char *fmt, ...)
{
	va_list ap;

	(void)pamh;
	(void)prio;
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

/* ---- the harness ------------------------------------------------------- */

static char dir[64], conf[96];

static void setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/sd-fuzz-auth.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(conf, sizeof(conf), "%s/sd.conf", dir);
	f = fopen(conf, "w");
	if (f == NULL)
		abort();
	fprintf(f, "state_dir = \"%s/state\";\nroles = { admin_groups = []; };\n", dir);
	fclose(f);
	chmod(conf, 0600);
}

static const char *field(const uint8_t **p, const uint8_t *end, char *out, size_t n)
{
	size_t i = 0;

	while (*p < end && **p != 0 && i + 1 < n)
		out[i++] = (char)*(*p)++;
	out[i] = '\0';
	while (*p < end && **p != 0)
		(*p)++;
	if (*p < end)
		(*p)++;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *p = data, *end = data + size;
	char user[64], rhost[128], service[64], r1[64], r2[64], path[160];
	const char *argv[1];
	struct pam_handle h;
	struct sd_state st;
	char why[100];
	int rc, fd, parses;

	if (!ready) {
		setup();
		ready = 1;
	}
	memset(&h, 0, sizeof(h));
	h.user = field(&p, end, user, sizeof(user));
	h.rhost = field(&p, end, rhost, sizeof(rhost));
	h.service = field(&p, end, service, sizeof(service));
	h.replies[0] = field(&p, end, r1, sizeof(r1));
	h.replies[1] = field(&p, end, r2, sizeof(r2));
	/* The state of root (the one user NSS surely knows), from the input. */
	snprintf(path, sizeof(path), "%s/state", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/users", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/users/root", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		if (write(fd, p, (size_t)(end - p)) < 0)
			abort();
		close(fd);
	}
	parses = sd_state_parse((const char *)p, (size_t)(end - p), &st, why, sizeof(why)) == 0;
	if (strcmp(user, "r") == 0)
		h.user = "root";
	snprintf(path, sizeof(path), "config=%s", conf);
	argv[0] = path;
	rc = pam_sm_authenticate(&h, 0, 1, argv);
	/* root is an admin; a corrupt state must deny, never admit, on every
	 * service that reaches the state (the default noninteractive services
	 * abstain before it: decision-table row 7). */
	if (!parses && h.user != NULL && strcmp(h.user, "root") == 0 &&
	    strcmp(service, "cron") != 0 && strcmp(service, "atd") != 0 &&
	    strcmp(service, "systemd-user") != 0 && (rc == PAM_SUCCESS || rc == PAM_IGNORE))
		__builtin_trap();
	h.nreply = 0;
	pam_sm_acct_mgmt(&h, 0, 1, argv);
	return 0;
}
