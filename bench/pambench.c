/* pambench.c - sign-in latency of a PAM stack, in one process.
 *
 * For CYCLES sign-ins over N users (PREFIX0 .. PREFIX(N-1), as made by
 * bench/provision.sh), each cycle is
 *
 *     pam_start(SERVICE, user) -> pam_set_item(PAM_RHOST) -> pam_authenticate
 *     -> pam_end
 *
 * and the conversation answers every prompt with the user's current TOTP
 * code, computed with liboath from the user's key (bench_key: the same
 * derivation as provision.sh). Users are visited at OFFSET, OFFSET+STRIDE,
 * ... (mod N); with the default stride, CYCLES <= N visits distinct users
 * spread over the whole population, so no code is replayed in one run.
 *
 * Reports p50/p90/p99/max latency of the whole cycle and of pam_authenticate
 * alone, in microseconds, sign-ins per second, the success count, and RSS
 * and open descriptors before, after a warm-up, and at the end (the leak
 * check). The last line is "RESULT key=value ..." for bench/run.sh.
 *
 * Built with -DPAMBENCH_NSS_PRELOAD -shared -fPIC, this file is instead
 * pambench-nss.so: an LD_PRELOAD library, placed before libnss_wrapper.so,
 * that answers getpwnam/getpwuid/getgrnam/getgrgid(_r) and getgrouplist from
 * a hash index of the same NSS_WRAPPER_PASSWD and NSS_WRAPPER_GROUP files,
 * built once per process. nss_wrapper scans its files linearly on every
 * lookup (1 ms at 100,000 users, 12 ms at 1,000,000), which would hide the
 * module's own cost; the index stands for a hashed NSS cache (nscd, sssd).
 *
 * Run it under pam_wrapper and nss_wrapper (see bench/run.sh):
 *   env LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
 *       PAM_WRAPPER_SERVICE_DIR=DIR/svc NSS_WRAPPER_PASSWD=DIR/passwd \
 *       NSS_WRAPPER_GROUP=DIR/group pambench -s pb_sd -n 1000
 */
#define _GNU_SOURCE
#ifdef PAMBENCH_NSS_PRELOAD
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pent {
	char *name, *passwd, *gecos, *dir, *shell;
	uid_t uid;
	gid_t gid;
};
struct gent {
	char *name, *passwd;
	gid_t gid;
	char **mem; /* NULL-terminated */
};

static struct pent *pents;
static struct gent *gents;
static size_t npent, ngent, hcap;
static uint32_t *h_pname, *h_puid; /* index + 1, open addressing */
static int nss_ready;
static pthread_once_t nss_once = PTHREAD_ONCE_INIT;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static uint64_t hash_u32(uint32_t v)
{
	uint64_t h = v * 0x9E3779B97F4A7C15ULL;

	return h ^ (h >> 29);
}

/* The whole file, NUL-terminated, or NULL. */
static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return buf;
}

/* Split LINE at ':' into at most MAX fields; the number found. */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	f[n++] = line;
	for (char *p = line; *p != '\0' && n < max; p++)
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

static void nss_build(void)
{
	char *pw = slurp(getenv("NSS_WRAPPER_PASSWD"));
	char *gr = slurp(getenv("NSS_WRAPPER_GROUP"));
	size_t lines = 0;

	if (pw == NULL || gr == NULL)
		return;
	for (char *p = pw; *p != '\0'; p++)
		lines += *p == '\n';
	pents = calloc(lines + 1, sizeof(*pents));
	for (hcap = 16; hcap < 2 * (lines + 1); hcap *= 2)
		;
	h_pname = calloc(hcap, sizeof(*h_pname));
	h_puid = calloc(hcap, sizeof(*h_puid));
	if (pents == NULL || h_pname == NULL || h_puid == NULL)
		return;
	for (char *line = strtok(pw, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *f[7];
		struct pent *e = &pents[npent];
		size_t k;

		if (fields(line, f, 7) != 7)
			continue;
		e->name = f[0];
		e->passwd = f[1];
		e->uid = (uid_t)strtoul(f[2], NULL, 10);
		e->gid = (gid_t)strtoul(f[3], NULL, 10);
		e->gecos = f[4];
		e->dir = f[5];
		e->shell = f[6];
		for (k = hash_str(e->name) & (hcap - 1); h_pname[k] != 0; k = (k + 1) & (hcap - 1))
			;
		h_pname[k] = (uint32_t)(npent + 1);
		/* The first entry for a uid wins, as in a files backend. */
		for (k = hash_u32(e->uid) & (hcap - 1); h_puid[k] != 0; k = (k + 1) & (hcap - 1))
			if (pents[h_puid[k] - 1].uid == e->uid)
				break;
		if (h_puid[k] == 0)
			h_puid[k] = (uint32_t)(npent + 1);
		npent++;
	}
	lines = 0;
	for (char *p = gr; *p != '\0'; p++)
		lines += *p == '\n';
	gents = calloc(lines + 1, sizeof(*gents));
	if (gents == NULL)
		return;
	for (char *line = strtok(gr, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *f[4], *save = NULL;
		struct gent *e = &gents[ngent];
		size_t nm = 1;

		if (fields(line, f, 4) != 4)
			continue;
		e->name = f[0];
		e->passwd = f[1];
		e->gid = (gid_t)strtoul(f[2], NULL, 10);
		for (char *p = f[3]; *p != '\0'; p++)
			nm += *p == ',';
		e->mem = calloc(nm + 1, sizeof(*e->mem));
		if (e->mem == NULL)
			return;
		nm = 0;
		for (char *m = strtok_r(f[3], ",", &save); m != NULL; m = strtok_r(NULL, ",", &save))
			e->mem[nm++] = m;
		ngent++;
	}
	nss_ready = 1;
}

static int nss_on(void)
{
	pthread_once(&nss_once, nss_build);
	return nss_ready;
}

static const struct pent *pw_by_name(const char *name)
{
	for (size_t k = hash_str(name) & (hcap - 1); h_pname[k] != 0; k = (k + 1) & (hcap - 1))
		if (strcmp(pents[h_pname[k] - 1].name, name) == 0)
			return &pents[h_pname[k] - 1];
	return NULL;
}

static const struct pent *pw_by_uid(uid_t uid)
{
	for (size_t k = hash_u32(uid) & (hcap - 1); h_puid[k] != 0; k = (k + 1) & (hcap - 1))
		if (pents[h_puid[k] - 1].uid == uid)
			return &pents[h_puid[k] - 1];
	return NULL;
}

/* Groups are few here: a scan is fine. */
static const struct gent *gr_find(const char *name, gid_t gid, int by_name)
{
	for (size_t i = 0; i < ngent; i++)
		if (by_name ? strcmp(gents[i].name, name) == 0 : gents[i].gid == gid)
			return &gents[i];
	return NULL;
}

static char *put_str(char **p, char *end, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = *p;

	if ((size_t)(end - *p) < n)
		return NULL;
	memcpy(r, s, n);
	*p += n;
	return r;
}

static int fill_pw(const struct pent *e, struct passwd *pw, char *buf, size_t len,
		   struct passwd **res)
{
	char *p = buf, *end = buf + len;

	*res = NULL;
	if (e == NULL)
		return 0;
	if ((pw->pw_name = put_str(&p, end, e->name)) == NULL ||
	    (pw->pw_passwd = put_str(&p, end, e->passwd)) == NULL ||
	    (pw->pw_gecos = put_str(&p, end, e->gecos)) == NULL ||
	    (pw->pw_dir = put_str(&p, end, e->dir)) == NULL ||
	    (pw->pw_shell = put_str(&p, end, e->shell)) == NULL)
		return ERANGE;
	pw->pw_uid = e->uid;
	pw->pw_gid = e->gid;
	*res = pw;
	return 0;
}

static int fill_gr(const struct gent *e, struct group *gr, char *buf, size_t len,
		   struct group **res)
{
	char *p = buf, *end = buf + len;
	size_t nm = 0, i;
	uintptr_t a;

	*res = NULL;
	if (e == NULL)
		return 0;
	while (e->mem[nm] != NULL)
		nm++;
	a = ((uintptr_t)p + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
	if (a + (nm + 1) * sizeof(char *) > (uintptr_t)end)
		return ERANGE;
	gr->gr_mem = (char **)a;
	p = (char *)(a + (nm + 1) * sizeof(char *));
	for (i = 0; i < nm; i++)
		if ((gr->gr_mem[i] = put_str(&p, end, e->mem[i])) == NULL)
			return ERANGE;
	gr->gr_mem[nm] = NULL;
	if ((gr->gr_name = put_str(&p, end, e->name)) == NULL ||
	    (gr->gr_passwd = put_str(&p, end, e->passwd)) == NULL)
		return ERANGE;
	gr->gr_gid = e->gid;
	*res = gr;
	return 0;
}

#define NEXT(fn) ((__typeof__(fn) *)dlsym(RTLD_NEXT, #fn))

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	if (!nss_on())
		return NEXT(getpwnam_r)(name, pw, buf, len, res);
	return fill_pw(pw_by_name(name), pw, buf, len, res);
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	if (!nss_on())
		return NEXT(getpwuid_r)(uid, pw, buf, len, res);
	return fill_pw(pw_by_uid(uid), pw, buf, len, res);
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, struct group **res)
{
	if (!nss_on())
		return NEXT(getgrnam_r)(name, gr, buf, len, res);
	return fill_gr(gr_find(name, 0, 1), gr, buf, len, res);
}

int getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, struct group **res)
{
	if (!nss_on())
		return NEXT(getgrgid_r)(gid, gr, buf, len, res);
	return fill_gr(gr_find(NULL, gid, 0), gr, buf, len, res);
}

static __thread struct passwd tpw;
static __thread struct group tgr;
static __thread char tbuf[4096];

struct passwd *getpwnam(const char *name)
{
	struct passwd *r = NULL;

	if (!nss_on())
		return NEXT(getpwnam)(name);
	errno = getpwnam_r(name, &tpw, tbuf, sizeof(tbuf), &r);
	return r;
}

struct passwd *getpwuid(uid_t uid)
{
	struct passwd *r = NULL;

	if (!nss_on())
		return NEXT(getpwuid)(uid);
	errno = getpwuid_r(uid, &tpw, tbuf, sizeof(tbuf), &r);
	return r;
}

struct group *getgrnam(const char *name)
{
	struct group *r = NULL;

	if (!nss_on())
		return NEXT(getgrnam)(name);
	errno = getgrnam_r(name, &tgr, tbuf, sizeof(tbuf), &r);
	return r;
}

struct group *getgrgid(gid_t gid)
{
	struct group *r = NULL;

	if (!nss_on())
		return NEXT(getgrgid)(gid);
	errno = getgrgid_r(gid, &tgr, tbuf, sizeof(tbuf), &r);
	return r;
}

int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
	int n = 0, max;

	if (!nss_on())
		return NEXT(getgrouplist)(user, group, groups, ngroups);
	max = *ngroups;
	if (n < max)
		groups[n] = group;
	n++;
	for (size_t i = 0; i < ngent; i++) {
		if (gents[i].gid == group)
			continue;
		for (char **m = gents[i].mem; *m != NULL; m++)
			if (strcmp(*m, user) == 0) {
				if (n < max)
					groups[n] = gents[i].gid;
				n++;
				break;
			}
	}
	*ngroups = n;
	return n <= max ? n : -1;
}

#else /* the program */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <liboath/oath.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEYLEN 20
#define PERIOD 30
#define DIGITS 6
#define MAX_PIN 8
#define MAX_FAIL_SHOWN 10

struct who {
	char name[64];
	unsigned char key[KEYLEN];
	time_t step; /* step of CODE */
	char code[16];
	unsigned prompts, infos, errors;
	char last_error[160];
	int oath_failed;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z;

	*x += 0x9E3779B97F4A7C15ULL;
	z = *x;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* User I's 20-byte key; provision.sh has the same function. */
static void bench_key(uint64_t i, unsigned char key[KEYLEN])
{
	uint64_t x = i * 0x9E3779B97F4A7C15ULL ^ 0x5EC0DEFA17BE4C00ULL;
	unsigned char out[24];

	for (int w = 0; w < 3; w++) {
		uint64_t z = splitmix64(&x);

		for (int b = 0; b < 8; b++)
			out[w * 8 + b] = (unsigned char)(z >> (56 - 8 * b));
	}
	memcpy(key, out, KEYLEN);
}

/* The code for the current step (recomputed only when the step changes). */
static void refresh_code(struct who *w)
{
	time_t now = time(NULL);
	time_t step = now / PERIOD;

	if (step == w->step && w->code[0] != '\0')
		return;
	if (oath_totp_generate((const char *)w->key, KEYLEN, now, PERIOD, 0, DIGITS, w->code) !=
	    OATH_OK) {
		w->oath_failed = 1;
		w->code[0] = '\0';
	}
	w->step = step;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct who *w = data;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			refresh_code(w);
			w->prompts++;
			r[i].resp = strdup(w->code);
			if (r[i].resp == NULL) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_ERROR_MSG:
			w->errors++;
			snprintf(w->last_error, sizeof(w->last_error), "%s",
				 msg[i]->msg ? msg[i]->msg : "");
			break;
		default:
			w->infos++;
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the one opendir holds */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pambench [options]\n"
		"  -s, --service NAME   PAM service (default pb_sd)\n"
		"  -p, --prefix P       user names P0 .. P(N-1) (default bu)\n"
		"  -n, --users N        users in the population (default 1000)\n"
		"  -c, --cycles C       sign-ins (default N)\n"
		"  -o, --offset K       first user index (default 0)\n"
		"  -t, --stride S       index step between sign-ins (default max(1, N/C))\n"
		"  -r, --rhost ADDR     PAM_RHOST (default 192.0.2.7)\n"
		"  -l, --label L        name in the RESULT line (default the service)\n"
		"  -P, --pin SO         dlopen SO once before the loop, so pam_end does not\n"
		"                       unload it (a resident module); repeatable\n"
		"  -w, --warmup W       cycles before the 'warm' RSS/fd sample (default\n"
		"                       min(1000, C/10))\n"
		"  -R, --raw FILE       write 'cycle_ns auth_ns pam_rc' per sign-in\n"
		"  -q, --quiet          no human-readable summary\n"
		"      --nss            time only the NSS lookups pam_secdefaults does\n"
		"                       (getpwnam_r + getgrouplist), no PAM\n"
		"      --no-wrapper-check  run without PAM_WRAPPER=1 (real /etc/pam.d)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"service", required_argument, NULL, 's'},
		{"prefix", required_argument, NULL, 'p'},
		{"users", required_argument, NULL, 'n'},
		{"cycles", required_argument, NULL, 'c'},
		{"offset", required_argument, NULL, 'o'},
		{"stride", required_argument, NULL, 't'},
		{"rhost", required_argument, NULL, 'r'},
		{"label", required_argument, NULL, 'l'},
		{"pin", required_argument, NULL, 'P'},
		{"warmup", required_argument, NULL, 'w'},
		{"raw", required_argument, NULL, 'R'},
		{"quiet", no_argument, NULL, 'q'},
		{"nss", no_argument, NULL, 1},
		{"no-wrapper-check", no_argument, NULL, 2},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *service = "pb_sd", *prefix = "bu", *rhost = "192.0.2.7", *label = NULL;
	const char *raw_path = NULL, *pins[MAX_PIN];
	unsigned long long n_users = 1000, cycles = 0, offset = 0, stride = 0, warmup = ~0ULL;
	int npin = 0, quiet = 0, nss_only = 0, wrapper_check = 1, c;
	uint64_t *lat, *auth, *sorted, t_begin, t_end;
	int *rcs;
	unsigned long long ok = 0, fails = 0, shown = 0, prompts = 0, errors = 0, infos = 0;
	long rss0, rss_warm = -1, rss_end;
	int fd0, fd_warm = -1, fd_end;
	struct who w;
	struct pam_conv pc = {conv, &w};

	while ((c = getopt_long(argc, argv, "s:p:n:c:o:t:r:l:P:w:R:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's': service = optarg; break;
		case 'p': prefix = optarg; break;
		case 'n': n_users = strtoull(optarg, NULL, 10); break;
		case 'c': cycles = strtoull(optarg, NULL, 10); break;
		case 'o': offset = strtoull(optarg, NULL, 10); break;
		case 't': stride = strtoull(optarg, NULL, 10); break;
		case 'r': rhost = optarg; break;
		case 'l': label = optarg; break;
		case 'P':
			if (npin == MAX_PIN) {
				fprintf(stderr, "pambench: at most %d --pin\n", MAX_PIN);
				return 2;
			}
			pins[npin++] = optarg;
			break;
		case 'w': warmup = strtoull(optarg, NULL, 10); break;
		case 'R': raw_path = optarg; break;
		case 'q': quiet = 1; break;
		case 1: nss_only = 1; break;
		case 2: wrapper_check = 0; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || n_users == 0 || strlen(prefix) > 40) {
		usage(stderr);
		return 2;
	}
	if (cycles == 0)
		cycles = n_users;
	if (stride == 0)
		stride = cycles < n_users ? n_users / cycles : 1;
	if (warmup == ~0ULL)
		warmup = cycles / 10 < 1000 ? cycles / 10 : 1000;
	if (label == NULL)
		label = nss_only ? "nss" : service;
	/* pam_wrapper preloaded without PAM_WRAPPER=1 spins forever; and
	 * without it at all this would read the real /etc/pam.d. */
	if (wrapper_check && !nss_only &&
	    (getenv("PAM_WRAPPER") == NULL || strcmp(getenv("PAM_WRAPPER"), "1") != 0 ||
	     getenv("LD_PRELOAD") == NULL || strstr(getenv("LD_PRELOAD"), "pam_wrapper") == NULL)) {
		fprintf(stderr, "pambench: run under pam_wrapper (LD_PRELOAD=libpam_wrapper.so, "
				"PAM_WRAPPER=1), or pass --no-wrapper-check\n");
		return 2;
	}
	if (oath_init() != OATH_OK) {
		fprintf(stderr, "pambench: oath_init failed\n");
		return 1;
	}
	for (int i = 0; i < npin; i++)
		if (dlopen(pins[i], RTLD_NOW | RTLD_LOCAL) == NULL) {
			fprintf(stderr, "pambench: cannot pin %s: %s\n", pins[i], dlerror());
			return 1;
		}

	/* Load the NSS files now (nss_wrapper or the index), as a daemon's NSS
	 * cache would be, so the first sign-in does not pay for reading them. */
	{
		struct passwd pw, *res = NULL;
		char buf[1024], first[64];

		snprintf(first, sizeof(first), "%s0", prefix);
		(void)getpwnam_r(first, &pw, buf, sizeof(buf), &res);
	}

	/* Touch every page now so the arrays do not count as growth. */
	lat = malloc(cycles * sizeof(*lat));
	auth = malloc(cycles * sizeof(*auth));
	sorted = malloc(cycles * sizeof(*sorted));
	rcs = malloc(cycles * sizeof(*rcs));
	if (lat == NULL || auth == NULL || sorted == NULL || rcs == NULL) {
		fprintf(stderr, "pambench: out of memory\n");
		return 1;
	}
	memset(lat, 0xff, cycles * sizeof(*lat));
	memset(auth, 0xff, cycles * sizeof(*auth));
	memset(sorted, 0xff, cycles * sizeof(*sorted));
	memset(rcs, 0xff, cycles * sizeof(*rcs));

	rss0 = rss_kib();
	fd0 = fd_count();
	t_begin = now_ns();
	for (unsigned long long i = 0; i < cycles; i++) {
		unsigned long long idx = (offset + i * stride) % n_users;
		pam_handle_t *h = NULL;
		uint64_t t0, t1, t2, t3;
		const char *why = "lookup failed";
		int rc;

		if (i == warmup && warmup > 0) {
			rss_warm = rss_kib();
			fd_warm = fd_count();
		}
		memset(&w, 0, sizeof(w));
		snprintf(w.name, sizeof(w.name), "%s%llu", prefix, idx);
		bench_key(idx, w.key);
		refresh_code(&w);

		if (nss_only) {
			struct passwd pw, *res = NULL;
			char buf[1024];
			gid_t groups[64];
			int ng = 64;

			t0 = now_ns();
			rc = getpwnam_r(w.name, &pw, buf, sizeof(buf), &res);
			if (rc == 0 && res != NULL && getgrouplist(w.name, pw.pw_gid, groups, &ng) >= 0)
				rc = PAM_SUCCESS;
			else
				rc = PAM_USER_UNKNOWN;
			t3 = now_ns();
			t1 = t0;
			t2 = t3;
		} else {
			t0 = now_ns();
			rc = pam_start(service, w.name, &pc, &h);
			if (rc == PAM_SUCCESS)
				rc = pam_set_item(h, PAM_RHOST, rhost);
			t1 = now_ns();
			if (rc == PAM_SUCCESS)
				rc = pam_authenticate(h, 0);
			t2 = now_ns();
			why = pam_strerror(h, rc); /* a static string in Linux-PAM */
			if (h != NULL)
				pam_end(h, rc);
			t3 = now_ns();
		}
		lat[i] = t3 - t0;
		auth[i] = t2 - t1;
		rcs[i] = rc;
		prompts += w.prompts;
		errors += w.errors;
		infos += w.infos;
		if (rc == PAM_SUCCESS && !w.oath_failed) {
			ok++;
		} else {
			fails++;
			if (shown++ < MAX_FAIL_SHOWN)
				fprintf(stderr, "pambench: %s: sign-in %llu of %s: %s%s%s%s\n", label,
					i, w.name,
					why,
					w.oath_failed ? " (oath_totp_generate failed)" : "",
					w.last_error[0] ? "; module said: " : "", w.last_error);
		}
	}
	t_end = now_ns();
	rss_end = rss_kib();
	fd_end = fd_count();
	if (rss_warm < 0) {
		rss_warm = rss0;
		fd_warm = fd0;
	}

	if (raw_path != NULL) {
		FILE *f = fopen(raw_path, "we");

		if (f == NULL) {
			perror(raw_path);
			return 1;
		}
		for (unsigned long long i = 0; i < cycles; i++)
			fprintf(f, "%llu %llu %d\n", (unsigned long long)lat[i],
				(unsigned long long)auth[i], rcs[i]);
		if (fclose(f) != 0) {
			perror(raw_path);
			return 1;
		}
	}

	{
		double p50, p90, p99, max, a50, a90, a99, amax, mean = 0, dps;

		memcpy(sorted, lat, cycles * sizeof(*sorted));
		qsort(sorted, cycles, sizeof(*sorted), cmp_u64);
		p50 = pct_us(sorted, cycles, 50);
		p90 = pct_us(sorted, cycles, 90);
		p99 = pct_us(sorted, cycles, 99);
		max = (double)sorted[cycles - 1] / 1000.0;
		for (unsigned long long i = 0; i < cycles; i++)
			mean += (double)lat[i];
		mean = mean / (double)cycles / 1000.0;
		memcpy(sorted, auth, cycles * sizeof(*sorted));
		qsort(sorted, cycles, sizeof(*sorted), cmp_u64);
		a50 = pct_us(sorted, cycles, 50);
		a90 = pct_us(sorted, cycles, 90);
		a99 = pct_us(sorted, cycles, 99);
		amax = (double)sorted[cycles - 1] / 1000.0;
		dps = (double)cycles / ((double)(t_end - t_begin) / 1e9);

		if (!quiet) {
			printf("%s: %llu sign-ins over %llu users (offset %llu, stride %llu), "
			       "rhost %s\n",
			       label, cycles, n_users, offset, stride, rhost);
			printf("  cycle latency us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  "
			       "mean %.1f\n",
			       p50, p90, p99, max, mean);
			printf("  pam_authenticate us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", a50,
			       a90, a99, amax);
			printf("  %.0f decisions/s; %llu succeeded, %llu failed; %.2f prompts "
			       "per sign-in\n",
			       dps, ok, fails, (double)prompts / (double)cycles);
			printf("  RSS KiB: %ld before, %ld after %llu warm-up cycles, %ld at end "
			       "(growth %+ld)\n",
			       rss0, rss_warm, warmup, rss_end, rss_end - rss_warm);
			printf("  open fds: %d before, %d after warm-up, %d at end\n", fd0, fd_warm,
			       fd_end);
			if (fails != 0)
				printf("  FAILURES: %llu of %llu sign-ins did not succeed (first ones "
				       "on stderr)\n",
				       fails, cycles);
		}
		printf("RESULT label=%s service=%s users=%llu cycles=%llu offset=%llu stride=%llu "
		       "ok=%llu fail=%llu prompts=%llu errors=%llu infos=%llu "
		       "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f "
		       "auth_p50_us=%.1f auth_p90_us=%.1f auth_p99_us=%.1f auth_max_us=%.1f "
		       "dps=%.1f wall_s=%.3f rss0_kib=%ld rss_warm_kib=%ld rss_end_kib=%ld "
		       "fd0=%d fd_warm=%d fd_end=%d warmup=%llu\n",
		       label, nss_only ? "-" : service, n_users, cycles, offset, stride, ok, fails,
		       prompts, errors, infos, p50, p90, p99, max, mean, a50, a90, a99, amax, dps,
		       (double)(t_end - t_begin) / 1e9, rss0, rss_warm, rss_end, fd0, fd_warm,
		       fd_end, warmup);
	}
	free(lat);
	free(auth);
	free(sorted);
	free(rcs);
	oath_done();
	return fails == 0 ? 0 : 1;
}
#endif /* PAMBENCH_NSS_PRELOAD */
