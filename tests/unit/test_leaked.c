#include "config.h"

/* test_leaked.c - the leaked-password check: SHA-1, the range-reply parser,
 * and sd_leaked_check against a real HTTPS server on 127.0.0.1
 * (tests/pam/https_server.py with a throwaway CA from
 * tests/pam/leaked_certs.sh): hits, misses, padding, every fault mode, the
 * certificate checks, and the environment's proxy variables. Nothing here
 * reaches anything but 127.0.0.1. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/leaked.h"

#define PYTHON "/usr/bin/python3"

/* SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8 */
#define PW_HIT "password"
#define HIT_PREFIX "5BAA6"
#define HIT_SUFFIX "1E4C9B93F3F0682250B6CF8331B7EE68FD8"
#define PW_CLEAN "correct horse battery staple 7"
#define PW_BADLINE "sd-malformed-range-test"
#define PW_NOFILE "sd-no-such-range-test"

static char srcdir[PATH_MAX];
static char tmpdir[64];
static char certs[PATH_MAX], ranges[PATH_MAX], logpath[PATH_MAX], portfile[PATH_MAX];
static pid_t server_pid = -1;
static int server_port;
static struct sd_config cfg;

/* ---- helpers ---------------------------------------------------------- */

static int run(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void path_join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", a, b);

	assert_true(n > 0 && n < PATH_MAX);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	path_join(p, dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* The whole file (at most 64 KiB) in a static buffer; "" if missing. */
static const char *slurp(const char *path)
{
	static char buf[65536];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* A 127.0.0.1 port nothing listens on (bound, then released). */
static int dead_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = -1;
	server_port = 0;
}

/* Start https_server.py in MODE with certificate NAME (server or wrong),
 * point cfg at it and trust the test CA. */
static void start_server(const char *mode, const char *name)
{
	char script[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], file[64], url[128];
	const char *argv[] = {PYTHON,  script,	"--port-file",	 portfile, "--cert", cert,
			      "--key", key,	"--mode",	 mode,	   "--dir",  ranges,
			      "--log", logpath, "--max-seconds", "120",	   NULL};
	int i, st;

	stop_server();
	path_join(script, srcdir, "tests/pam/https_server.py");
	snprintf(file, sizeof(file), "%s.crt", name);
	path_join(cert, certs, file);
	snprintf(file, sizeof(file), "%s.key", name);
	path_join(key, certs, file);
	unlink(portfile);
	unlink(logpath);

	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 200 && server_port == 0; i++) {
		FILE *f = fopen(portfile, "r");

		if (f != NULL) {
			if (fscanf(f, "%d", &server_port) != 1)
				server_port = 0;
			fclose(f);
		}
		if (server_port == 0) {
			if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
				server_pid = -1;
				fail_msg("https_server.py exited early");
			}
			usleep(50 * 1000);
		}
	}
	if (server_port <= 0)
		fail_msg("https_server.py did not write its port");

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/range/", server_port);
	free(cfg.leaked.url);
	cfg.leaked.url = strdup(url);
	assert_non_null(cfg.leaked.url);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static void hex_of(const char *pw, char hex[41])
{
	assert_int_equal(sd_leaked_hash(pw, hex), 0);
}

/* ERROR with WANT in the message, and nothing of PW or its hash there: not
 * the prefix, nor any 8 hex digits of it (shorter runs could be a port). */
static void expect_error(const char *pw, const char *want)
{
	struct sd_err err = {{0}};
	char hex[41], part[9];
	size_t i;

	assert_int_equal(sd_leaked_check(&cfg, pw, &err), SD_LEAKED_ERROR);
	print_message("    %s\n", err.msg);
	assert_true(strncmp(err.msg, "leaked-password lookup failed: ", 31) == 0);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	/* "password" is in our own wording: look after it. */
	assert_null(strstr(err.msg + 31, pw));
	hex_of(pw, hex);
	memcpy(part, hex, 5);
	part[5] = '\0';
	if (strcasestr(err.msg, part) != NULL)
		fail_msg("message \"%s\" holds the prefix", err.msg);
	for (i = 0; i + 8 <= 40; i++) {
		memcpy(part, hex + i, 8);
		part[8] = '\0';
		if (strcasestr(err.msg, part) != NULL)
			fail_msg("message \"%s\" holds hash part %s", err.msg, part);
	}
}

static enum sd_leaked_result check(const char *pw)
{
	struct sd_err err = {{0}};
	enum sd_leaked_result r = sd_leaked_check(&cfg, pw, &err);

	if (r == SD_LEAKED_ERROR)
		print_message("sd_leaked_check: %s\n", err.msg);
	return r;
}

/* ---- fixtures --------------------------------------------------------- */

static void find_srcdir(void)
{
	const char *env = getenv("top_srcdir");
	char probe[PATH_MAX];
	const char *tail = "/tests/unit/test_leaked.c";
	size_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(srcdir, sizeof(srcdir), "%s", env);
	} else {
		/* Run by hand: the source file's own path, as the compiler saw it. */
		snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
		n = strlen(srcdir);
		if (n >= strlen(tail) && strcmp(srcdir + n - strlen(tail), tail) == 0)
			srcdir[n - strlen(tail)] = '\0';
		else
			snprintf(srcdir, sizeof(srcdir), ".");
	}
	path_join(probe, srcdir, "tests/pam/https_server.py");
	if (access(probe, R_OK) != 0)
		fail_msg("cannot find %s (set top_srcdir)", probe);
}

static int group_teardown(void **state)
{
	const char *rm[] = {"/bin/rm", "-rf", tmpdir, NULL};

	(void)state;
	stop_server();
	sd_config_free(&cfg);
	if (tmpdir[0] != '\0')
		run(rm);
	return 0;
}

static int group_setup(void **state)
{
	char script[PATH_MAX], hex[41], line[256];
	const char *mk[] = {"/bin/sh", script, certs, NULL};

	(void)state;
	find_srcdir();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sd-leaked-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	path_join(certs, tmpdir, "certs");
	path_join(ranges, tmpdir, "ranges");
	path_join(logpath, tmpdir, "requests.log");
	path_join(portfile, tmpdir, "port");
	if (mkdir(ranges, 0700) != 0)
		goto fail;
	path_join(script, srcdir, "tests/pam/leaked_certs.sh");
	if (run(mk) != 0) {
		print_error("leaked_certs.sh failed (is openssl installed?)\n");
		goto fail;
	}

	/* "password": padded, CRLF, its suffix in lower case, no final newline. */
	write_file(ranges, HIT_PREFIX,
		   "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n"
		   "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n"
		   "1e4c9b93f3f0682250b6cf8331b7ee68fd8:9545824\r\n"
		   "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0");
	/* The clean password: LF lines, its own suffix only as padding. */
	hex_of(PW_CLEAN, hex);
	snprintf(
		line, sizeof(line),
		"0018A45C4D1DEF81644B54AB7F969B88D65:3\n%s:0\nABCDEF0123456789ABCDEF0123456789ABC:1\n",
		hex + 5);
	hex[5] = '\0';
	write_file(ranges, hex, line);
	/* A reply whose third line is broken, after a hit on line 1. */
	hex_of(PW_BADLINE, hex);
	snprintf(line, sizeof(line),
		 "%s:5\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\nnot-a-line\r\n", hex + 5);
	hex[5] = '\0';
	write_file(ranges, hex, line);

	if (sd_config_defaults(&cfg) != 0)
		goto fail;
	cfg.leaked.check = 1;
	cfg.leaked.timeout_ms = 5000;
	return 0;
fail:
	group_teardown(state);
	return -1;
}

static const char *env_vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
				 "HTTP_PROXY", "ALL_PROXY",   "all_proxy",
				 "NO_PROXY",   "no_proxy",    "SSLKEYLOGFILE"};

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

/* Each network test starts from the same settings, and a clean environment
 * even if the test before it failed half-way. */
static int net_setup(void **state)
{
	char ca[PATH_MAX];

	(void)state;
	clear_env();
	path_join(ca, certs, "ca.crt");
	set_str(&cfg.leaked.ca_file, ca);
	set_str(&cfg.leaked.proxy, "");
	cfg.leaked.timeout_ms = 5000;
	return 0;
}

static int net_teardown(void **state)
{
	(void)state;
	stop_server();
	return 0;
}

/* ---- SHA-1 ------------------------------------------------------------ */

static void test_hash_known(void **state)
{
	char hex[41];

	(void)state;
	assert_int_equal(sd_leaked_hash("password", hex), 0);
	assert_string_equal(hex, "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
	assert_int_equal(sd_leaked_hash("", hex), 0);
	assert_string_equal(hex, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");
	assert_int_equal(sd_leaked_hash("abc", hex), 0);
	assert_string_equal(hex, "A9993E364706816ABA3E25717850C26C9CD0D89D");
	assert_int_equal(sd_leaked_hash("p\xc3\xa4ssw\xc3\xb6rd", hex), 0);
	assert_string_equal(hex, "F517DDF1D32A112FF1AD55C66D1B12CB38E7E8F7");
}

static void test_hash_null(void **state)
{
	char hex[41];

	(void)state;
	assert_int_equal(sd_leaked_hash(NULL, hex), -EINVAL);
	assert_int_equal(sd_leaked_hash("x", NULL), -EINVAL);
}

/* ---- the parser ------------------------------------------------------- */

#define SUF HIT_SUFFIX
#define OTHER "00D4F6E8FA6EECAD2A3AA415EEC418D38EC"

static int parse(const char *body, long *count)
{
	return sd_leaked_parse(body, strlen(body), SUF, count);
}

static void test_parse_hit(void **state)
{
	long n = -1;

	(void)state;
	assert_int_equal(parse(OTHER ":2\r\n" SUF ":3861493\r\n", &n), 1);
	assert_int_equal(n, 3861493);
	assert_int_equal(parse(SUF ":1", &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(parse(SUF ":1", NULL), 1);
	/* Listed twice: the larger count. */
	assert_int_equal(parse(SUF ":4\n" SUF ":0\n" SUF ":9\n", &n), 1);
	assert_int_equal(n, 9);
}

static void test_parse_miss(void **state)
{
	long n = -1;

	(void)state;
	assert_int_equal(parse(OTHER ":2\r\n" OTHER ":7\r\n", &n), 0);
	assert_int_equal(n, 0);
	/* Our suffix with one character changed. */
	assert_int_equal(parse("1E4C9B93F3F0682250B6CF8331B7EE68FD9:5\n", &n), 0);
	assert_int_equal(parse("0E4C9B93F3F0682250B6CF8331B7EE68FD8:5\n", &n), 0);
}

static void test_parse_padding(void **state)
{
	long n = -1;

	(void)state;
	assert_int_equal(parse(OTHER ":2\r\n" SUF ":0\r\n", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse(SUF ":0000", &n), 0);
	assert_int_equal(parse(SUF ":007", &n), 1);
	assert_int_equal(n, 7);
}

static void test_parse_case(void **state)
{
	long n = 0;

	(void)state;
	assert_int_equal(parse("1e4c9b93f3f0682250b6cf8331b7ee68fd8:12\n", &n), 1);
	assert_int_equal(n, 12);
	assert_int_equal(parse("1e4C9b93F3f0682250B6cf8331B7ee68Fd8:1", &n), 1);
	/* Our suffix in lower case too. */
	assert_int_equal(sd_leaked_parse(SUF ":3", strlen(SUF ":3"),
					 "1e4c9b93f3f0682250b6cf8331b7ee68fd8", &n),
			 1);
}

static void test_parse_line_ends(void **state)
{
	long n = 0;

	(void)state;
	assert_int_equal(parse(OTHER ":1\r\n" SUF ":2\r\n", &n), 1);
	assert_int_equal(parse(OTHER ":1\n" SUF ":2\n", &n), 1);
	assert_int_equal(parse(OTHER ":1\r\n" SUF ":2\n" OTHER ":3", &n), 1);
	/* Last line without its newline, with or without a lone CR. */
	assert_int_equal(parse(OTHER ":1\n" SUF ":2", &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(parse(OTHER ":1\n" SUF ":2\r", &n), 1);
	assert_int_equal(parse(OTHER ":1\r\n", &n), 0);
}

static void test_parse_malformed(void **state)
{
	static const char *bad[] = {
		SUF ":1\n"
		    "1E4C9B93F3F0682250B6CF8331B7EE68FD:1\n", /* 34 hex */
		SUF ":1\n"
		    "1E4C9B93F3F0682250B6CF8331B7EE68FD8A:1\n", /* 36 hex */
		"1E4C9B93F3F0682250B6CF8331B7EE68FDG:1\n",	/* non-hex */
		"1E4C9B93F3F0682250B6CF8331B7EE68FD8 1\n",	/* no colon */
		"1E4C9B93F3F0682250B6CF8331B7EE68FD8\n",	/* no count */
		SUF ":\n",					/* empty count */
		SUF ":-1\n",					/* negative */
		SUF ":+1\n",					/* signed */
		SUF ":1a\n",					/* non-numeric */
		SUF ":one\n",					/* non-numeric */
		SUF ": 1\n",					/* space */
		SUF ":1 \n",					/* trailing space */
		SUF ":99999999999999999999999\n",		/* overflows a long */
		SUF ":1\r\r\n",					/* two CRs */
		SUF ":1\n\n" OTHER ":1\n",			/* empty line */
		SUF ":1\n\n",					/* blank last line */
		"\n",						/* only a newline */
		"\r\n",
		SUF ":1:2\n",		    /* two colons */
		"<html>" SUF ":1</html>\n", /* overlong line */
	};
	size_t i;
	long n = -1;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &n) != -EBADMSG)
			fail_msg("case %zu accepted: \"%s\"", i, bad[i]);
		assert_int_equal(n, 0);
	}
}

static void test_parse_malformed_after_hit(void **state)
{
	long n = -1;
	char body[128];

	(void)state;
	/* A hit does not excuse the rest of the reply. */
	assert_int_equal(parse(SUF ":5\r\n" OTHER ":2\r\ngarbage\r\n", &n), -EBADMSG);
	assert_int_equal(n, 0);
	assert_int_equal(parse(SUF ":5\n" OTHER, &n), -EBADMSG);
	/* An embedded NUL is not a line end (line 1 is 38 bytes with its LF). */
	memcpy(body, SUF ":5\n", 38);
	memcpy(body + 38, OTHER ":1\0", 38);
	assert_int_equal(sd_leaked_parse(body, 38 + 38, SUF, &n), -EBADMSG);
	assert_int_equal(sd_leaked_parse(body, 38 + 37, SUF, &n), 1);
	/* LEN, not a NUL, ends the body. */
	assert_int_equal(sd_leaked_parse(SUF ":5\nxyz", 38, SUF, &n), 1);
	assert_int_equal(sd_leaked_parse(SUF ":5\nxyz", 39, SUF, &n), -EBADMSG);
}

static void test_parse_empty(void **state)
{
	long n = -1;

	(void)state;
	/* A real range is never empty: an empty reply is malformed. */
	assert_int_equal(sd_leaked_parse("", 0, SUF, &n), -EBADMSG);
	assert_int_equal(n, 0);
	assert_int_equal(sd_leaked_parse(NULL, 0, SUF, &n), -EBADMSG);
}

static void test_parse_bad_suffix(void **state)
{
	long n = -1;

	(void)state;
	assert_int_equal(sd_leaked_parse(SUF ":1", 38, NULL, &n), -EINVAL);
	assert_int_equal(sd_leaked_parse(SUF ":1", 38, "1E4C9B93F3F0682250B6CF8331B7EE68FD", &n),
			 -EINVAL);
	assert_int_equal(sd_leaked_parse(SUF ":1", 38, "1E4C9B93F3F0682250B6CF8331B7EE68FD8A", &n),
			 -EINVAL);
	assert_int_equal(sd_leaked_parse(SUF ":1", 38, "1E4C9B93F3F0682250B6CF8331B7EE68FDX", &n),
			 -EINVAL);
}

/* ---- sd_leaked_check against the local server -------------------------- */

static void test_check_hit(void **state)
{
	const char *log;

	(void)state;
	start_server("normal", "server");
	assert_int_equal(check(PW_HIT), SD_LEAKED_YES);
	log = slurp(logpath);
	/* One request, for the 5-hex prefix only, padded, with our agent. */
	assert_int_equal(count_of(log, "REQUEST "), 1);
	assert_non_null(strstr(log, "REQUEST /range/" HIT_PREFIX "\n"));
	assert_non_null(strstr(log, "prefix=ok\n"));
	assert_non_null(strstr(log, "padding=yes\n"));
	assert_non_null(strstr(log, "header User-Agent: pam_secdefaults\n"));
	assert_null(strcasestr(log, "1E4C9"));
	assert_null(strstr(log, PW_HIT "\n"));
}

static void test_check_clean(void **state)
{
	(void)state;
	start_server("normal", "server");
	/* Its suffix is listed, but only as padding (count 0). */
	assert_int_equal(check(PW_CLEAN), SD_LEAKED_NO);
	assert_non_null(strstr(slurp(logpath), "padding=yes\n"));
}

static void test_check_malformed_line(void **state)
{
	(void)state;
	start_server("normal", "server");
	expect_error(PW_BADLINE, "malformed reply line 3");
}

static void test_check_404(void **state)
{
	(void)state;
	start_server("normal", "server");
	expect_error(PW_NOFILE, "HTTP 404");
}

static void test_check_500(void **state)
{
	(void)state;
	start_server("status500", "server");
	expect_error(PW_HIT, "HTTP 500");
	expect_error(PW_CLEAN, "HTTP 500");
}

static void test_check_garbage(void **state)
{
	(void)state;
	start_server("garbage", "server");
	expect_error(PW_CLEAN, "malformed reply line 1");
}

static void test_check_huge(void **state)
{
	(void)state;
	start_server("huge", "server");
	expect_error(PW_CLEAN, "reply larger than 1 MiB");
	start_server("huge-cl", "server");
	expect_error(PW_CLEAN, "reply larger than 1 MiB");
}

static void test_check_hang(void **state)
{
	struct timespec t0;
	long ms;

	(void)state;
	cfg.leaked.timeout_ms = 500;
	start_server("hang", "server");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(PW_CLEAN, "timeout after 500 ms");
	ms = ms_since(&t0);
	assert_true(ms >= 450);
	if (ms > 1500)
		fail_msg("the lookup took %ld ms with timeout_ms = 500", ms);
	/* Accepted, but TLS never starts: the connect timeout. */
	start_server("hang-tls", "server");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(PW_CLEAN, "timeout after 500 ms");
	ms = ms_since(&t0);
	if (ms > 1500)
		fail_msg("the lookup took %ld ms with timeout_ms = 500", ms);
}

static void test_check_redirect(void **state)
{
	(void)state;
	start_server("redirect", "server");
	expect_error(PW_CLEAN, "HTTP 302");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 1);
}

static void test_check_wrong_cert(void **state)
{
	(void)state;
	start_server("normal", "wrong");
	expect_error(PW_HIT, "certificate");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_system_cas(void **state)
{
	(void)state;
	/* Our test CA is not a system CA. */
	start_server("normal", "server");
	set_str(&cfg.leaked.ca_file, "");
	expect_error(PW_HIT, "certificate");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_ca_missing(void **state)
{
	char ca[PATH_MAX];

	(void)state;
	start_server("normal", "server");
	path_join(ca, tmpdir, "no-such-ca.crt");
	set_str(&cfg.leaked.ca_file, ca);
	expect_error(PW_HIT, "");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_host_mismatch(void **state)
{
	(void)state;
	/* Signed by the trusted CA, but for another name than 127.0.0.1. */
	start_server("normal", "otherhost");
	expect_error(PW_HIT, "");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_server_down(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/range/", dead_port());
	set_str(&cfg.leaked.url, url);
	expect_error(PW_HIT, "");
}

static void test_check_http_refused(void **state)
{
	char url[128];

	(void)state;
	start_server("normal", "server");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/range/", server_port);
	set_str(&cfg.leaked.url, url);
	expect_error(PW_HIT, "only https:// URLs are allowed");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static const char *env_proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
				    "HTTP_PROXY", "ALL_PROXY",	 "all_proxy"};

static void set_env_proxies(const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(env_proxies) / sizeof(env_proxies[0]); i++)
		if (v != NULL)
			setenv(env_proxies[i], v, 1);
		else
			unsetenv(env_proxies[i]);
}

static void test_check_env_proxy_ignored(void **state)
{
	char dead[64];

	(void)state;
	start_server("normal", "server");
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", dead_port());
	set_env_proxies(dead);
	setenv("NO_PROXY", "", 1);
	setenv("no_proxy", "", 1);
	/* leaked.proxy = "": straight to the server, whatever the environment. */
	assert_int_equal(check(PW_HIT), SD_LEAKED_YES);
	assert_int_equal(check(PW_CLEAN), SD_LEAKED_NO);
	set_env_proxies(NULL);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 2);
}

static void test_check_config_proxy_used(void **state)
{
	char dead[64];

	(void)state;
	start_server("normal", "server");
	/* The control for the test above: a configured proxy is used, even for
	 * a host that the environment's NO_PROXY names. */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", dead_port());
	set_str(&cfg.leaked.proxy, dead);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	expect_error(PW_HIT, "");
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	expect_error(PW_HIT, "");
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_proxy_secret_hidden(void **state)
{
	static const char *proxies[] = {"nosuch://sduser:hunter2secret@127.0.0.1:1",
					"http://sduser:hunter2secret@127.0.0.1:1",
					"http://sduser:hunter2secret@[::1"};
	struct sd_err err;
	size_t i;

	(void)state;
	start_server("normal", "server");
	/* libcurl quotes a proxy URL it cannot parse; its credentials must not
	 * reach the message. */
	for (i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++) {
		set_str(&cfg.leaked.proxy, proxies[i]);
		memset(&err, 0, sizeof(err));
		assert_int_equal(sd_leaked_check(&cfg, PW_HIT, &err), SD_LEAKED_ERROR);
		print_message("    %s\n", err.msg);
		assert_null(strstr(err.msg, "hunter2"));
	}
	assert_int_equal(count_of(slurp(logpath), "REQUEST "), 0);
}

static void test_check_sslkeylogfile(void **state)
{
	char keys[PATH_MAX];

	(void)state;
	start_server("normal", "server");
	path_join(keys, tmpdir, "keys.log");
	setenv("SSLKEYLOGFILE", keys, 1);
	expect_error(PW_HIT, "SSLKEYLOGFILE");
	unsetenv("SSLKEYLOGFILE");
	assert_int_equal(access(keys, F_OK), -1);
	assert_int_equal(check(PW_HIT), SD_LEAKED_YES);
	assert_int_equal(access(keys, F_OK), -1);
}

static void test_check_bad_args(void **state)
{
	struct sd_err err = {{0}};

	(void)state;
	assert_int_equal(sd_leaked_check(&cfg, NULL, &err), SD_LEAKED_ERROR);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(sd_leaked_check(NULL, "x", NULL), SD_LEAKED_ERROR);
}

#define NET(f) cmocka_unit_test_setup_teardown(f, net_setup, net_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known),
		cmocka_unit_test(test_hash_null),
		cmocka_unit_test(test_parse_hit),
		cmocka_unit_test(test_parse_miss),
		cmocka_unit_test(test_parse_padding),
		cmocka_unit_test(test_parse_case),
		cmocka_unit_test(test_parse_line_ends),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_malformed_after_hit),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_bad_suffix),
		NET(test_check_hit),
		NET(test_check_clean),
		NET(test_check_malformed_line),
		NET(test_check_404),
		NET(test_check_500),
		NET(test_check_garbage),
		NET(test_check_huge),
		NET(test_check_hang),
		NET(test_check_redirect),
		NET(test_check_wrong_cert),
		NET(test_check_system_cas),
		NET(test_check_ca_missing),
		NET(test_check_host_mismatch),
		NET(test_check_server_down),
		NET(test_check_http_refused),
		NET(test_check_env_proxy_ignored),
		NET(test_check_config_proxy_used),
		NET(test_check_proxy_secret_hidden),
		NET(test_check_sslkeylogfile),
		NET(test_check_bad_args),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
