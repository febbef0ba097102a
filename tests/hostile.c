/* hostile.c - a host process that checks what pam_secdefaults does to it.
 * Run under pam_wrapper and nss_wrapper (tests/pam/t_hostile.sh).
 *
 *   hostile host SERVICE USER [CODE]
 *       Set a SIGALRM handler, a signal mask, a umask and a cwd, note the
 *       open descriptors, run pam_start/pam_authenticate/pam_acct_mgmt/
 *       pam_end and check that all of it is the same afterwards. In the
 *       conversation (while the module is inside pam_authenticate, with its
 *       state directory open) every descriptor that was not there before
 *       must have FD_CLOEXEC. Prints the PAM results; exit 0 if all held.
 *   hostile threads SERVICE N LOOPS USER...
 *       N threads, each LOOPS times pam_start/pam_authenticate/pam_end,
 *       cycling through the users (no answer to any prompt). Exit 0 if
 *       every call returned (the sanitizers report the rest).
 *   hostile names SERVICE COUNT
 *       COUNT sign-ins (auth and account) with unknown or invalid user
 *       names; exit 0 if none of them succeeded or was ignored. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXFDS 256

static const char *answer;
static int conv_calls, conv_bad;
/* Set before the threads start: the per-call checks below look at the whole
 * process and share globals, so they belong to the single-threaded runs. */
static int threaded;
static char conv_msg[512];

struct fdset {
	int n;
	int fd[MAXFDS];
};

static void list_fds(struct fdset *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = d ? dirfd(d) : -1;

	s->n = 0;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && s->n < MAXFDS) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd != self)
			s->fd[s->n++] = fd;
	}
	closedir(d);
}

static int has_fd(const struct fdset *s, int fd)
{
	for (int i = 0; i < s->n; i++)
		if (s->fd[i] == fd)
			return 1;
	return 0;
}

static struct fdset before;

/* Every descriptor opened since BEFORE must be close-on-exec. */
static void check_cloexec(void)
{
	struct fdset now;

	list_fds(&now);
	for (int i = 0; i < now.n; i++) {
		int fd = now.fd[i], fl;
		char path[64], target[PATH_MAX] = "";

		if (has_fd(&before, fd))
			continue;
		fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (readlink(path, target, sizeof(target) - 1) < 0)
			snprintf(target, sizeof(target), "?");
		conv_bad++;
		snprintf(conv_msg, sizeof(conv_msg), "fd %d (%s) has no FD_CLOEXEC", fd, target);
	}
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r;

	(void)data;
	if (!threaded) {
		conv_calls++;
		check_cloexec();
	}
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			if (answer == NULL) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(answer);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Compare signal by signal: glibc's sigset_t is larger than the kernel's. */
static int same_set(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return 0;
	return 1;
}

static int same_sigaction(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
	       same_set(&a->sa_mask, &b->sa_mask);
}

static int cmd_host(const char *service, const char *user)
{
	struct pam_conv pc = {conv, NULL};
	struct sigaction sa, sa_before, sa_after;
	sigset_t mask, mask_before, mask_after;
	char cwd_before[PATH_MAX], cwd_after[PATH_MAX];
	struct fdset after;
	pam_handle_t *pamh = NULL;
	mode_t um_before, um_after;
	int rc, arc = -1, bad = 0;

	memset(&sa, 0, sizeof(sa));
	memset(&sa_before, 0, sizeof(sa_before));
	memset(&sa_after, 0, sizeof(sa_after));
	sigemptyset(&mask_before);
	sigemptyset(&mask_after);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	umask(027);
	if (chdir("/proc/self") != 0 && chdir("/") != 0)
		return 2;

	/* nss_wrapper keeps the fake passwd and group files open once used:
	 * let it open them before the snapshot (they are not the module's). */
	(void)getpwnam(user);
	(void)getgrnam("root");

	sigaction(SIGALRM, NULL, &sa_before);
	sigprocmask(SIG_BLOCK, NULL, &mask_before);
	um_before = umask(027);
	if (getcwd(cwd_before, sizeof(cwd_before)) == NULL)
		return 2;
	list_fds(&before);

	rc = pam_start(service, user, &pc, &pamh);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", rc);
		return 2;
	}
	pam_set_item(pamh, PAM_RHOST, "198.51.100.7");
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		arc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);

	sigaction(SIGALRM, NULL, &sa_after);
	sigprocmask(SIG_BLOCK, NULL, &mask_after);
	um_after = umask(027);
	if (getcwd(cwd_after, sizeof(cwd_after)) == NULL)
		snprintf(cwd_after, sizeof(cwd_after), "(getcwd failed)");
	list_fds(&after);

	printf("auth=%s acct=%s conv_calls=%d\n", pam_strerror(NULL, rc),
	       arc == -1 ? "-" : pam_strerror(NULL, arc), conv_calls);
	if (!same_sigaction(&sa_before, &sa_after)) {
		printf("BAD: SIGALRM disposition changed (handler %p flags %#x, was %p flags %#x)\n",
		       (void *)sa_after.sa_handler, (unsigned)sa_after.sa_flags,
		       (void *)sa_before.sa_handler, (unsigned)sa_before.sa_flags);
		bad++;
	}
	if (!same_set(&mask_before, &mask_after)) {
		printf("BAD: signal mask changed\n");
		bad++;
	}
	if (um_before != um_after) {
		printf("BAD: umask changed from %03o to %03o\n", (unsigned)um_before,
		       (unsigned)um_after);
		bad++;
	}
	if (strcmp(cwd_before, cwd_after) != 0) {
		printf("BAD: cwd changed from %s to %s\n", cwd_before, cwd_after);
		bad++;
	}
	for (int i = 0; i < after.n; i++) {
		if (!has_fd(&before, after.fd[i])) {
			char path[64], target[PATH_MAX] = "";

			snprintf(path, sizeof(path), "/proc/self/fd/%d", after.fd[i]);
			if (readlink(path, target, sizeof(target) - 1) < 0)
				snprintf(target, sizeof(target), "?");
			printf("BAD: fd %d (%s) left open after pam_end\n", after.fd[i], target);
			bad++;
		}
	}
	if (conv_bad) {
		printf("BAD: during the call: %s (%d)\n", conv_msg, conv_bad);
		bad++;
	}
	printf("host checks: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

struct job {
	const char *service;
	int loops;
	char **users;
	int nusers;
	int id;
	int done;
};

static void *worker(void *p)
{
	struct job *j = p;
	struct pam_conv pc = {conv, NULL};

	for (int i = 0; i < j->loops; i++) {
		pam_handle_t *pamh = NULL;
		const char *user = j->users[(j->id + i) % j->nusers];
		int rc = pam_start(j->service, user, &pc, &pamh);

		if (rc != PAM_SUCCESS)
			continue;
		pam_set_item(pamh, PAM_RHOST, "198.51.100.7");
		rc = pam_authenticate(pamh, 0);
		pam_end(pamh, rc);
		j->done++;
	}
	return NULL;
}

static int cmd_threads(const char *service, int n, int loops, char **users, int nusers)
{
	threaded = 1;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	struct job *jobs = calloc((size_t)n, sizeof(*jobs));
	int total = 0;

	if (t == NULL || jobs == NULL)
		return 2;
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct job){service, loops, users, nusers, i, 0};
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
			return 2;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		total += jobs[i].done;
	}
	printf("threads=%d loops=%d completed=%d\n", n, loops, total);
	free(t);
	free(jobs);
	return total == n * loops ? 0 : 1;
}

/* The Ith hostile name: unknown but valid, or invalid in one of many ways. */
static void hostile_name(int i, char *buf, size_t len)
{
	static const char *const fixed[] = {
		"",	    ".",	"..",	     "../etc/passwd", "a/b",     "/root",
		".hidden", "bob/",	"bob\n",     "bob\t",	      " bob",	 "bob ",
		"-bob",	   "bob\x7f",	"\033[2Jbob", "bob%n%s",      "bo\377b", "ROOT",
		"Bob",	   "bob\\..",	"*",	     "~bob",	      "bob:x",	 "nobody-here"};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]);

	switch (i % 4) {
	case 0:
		snprintf(buf, len, "%s", fixed[(size_t)(i / 4) % nf]);
		break;
	case 1:
		snprintf(buf, len, "nouser%d", i);
		break;
	case 2: { /* too long */
		size_t l = 200 + (size_t)(i % 300);

		if (l >= len)
			l = len - 1;
		memset(buf, 'a' + i % 26, l);
		buf[l] = '\0';
		break;
	}
	default: /* control or non-ASCII bytes inside */
		snprintf(buf, len, "u%c%dx", (char)(1 + i % 31), i);
		break;
	}
}

static int cmd_names(const char *service, int count)
{
	struct pam_conv pc = {conv, NULL};
	char name[1024];
	int bad = 0;

	answer = "123456";
	for (int i = 0; i < count; i++) {
		pam_handle_t *pamh = NULL;
		int rc, arc;

		hostile_name(i, name, sizeof(name));
		if (pam_start(service, name, &pc, &pamh) != PAM_SUCCESS) {
			printf("pam_start failed for name %d\n", i);
			return 2;
		}
		pam_set_item(pamh, PAM_RHOST, "203.0.113.9");
		rc = pam_authenticate(pamh, 0);
		arc = pam_acct_mgmt(pamh, 0);
		pam_end(pamh, rc);
		if (rc == PAM_SUCCESS || rc == PAM_IGNORE || arc == PAM_SUCCESS || arc == PAM_IGNORE) {
			printf("BAD: name %d allowed (auth %d, account %d)\n", i, rc, arc);
			bad++;
		}
	}
	printf("names=%d allowed=%d\n", count, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "host") == 0) {
		answer = argc >= 5 ? argv[4] : NULL;
		return cmd_host(argv[2], argv[3]);
	}
	if (argc >= 6 && strcmp(argv[1], "threads") == 0)
		return cmd_threads(argv[2], atoi(argv[3]), atoi(argv[4]), argv + 5, argc - 5);
	if (argc == 4 && strcmp(argv[1], "names") == 0)
		return cmd_names(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: hostile host SERVICE USER [CODE] | threads SERVICE N LOOPS USER... | "
			"names SERVICE COUNT\n");
	return 2;
}
