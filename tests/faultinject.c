/* faultinject.c - an LD_PRELOAD shim that makes the Nth call of a chosen
 * set of functions fail, counting only the calls made from inside one shared
 * object (by default pam_secdefaults.so), so that pam_wrapper, nss_wrapper,
 * libpam and pamtester, which call the same functions, are left alone.
 *
 * Environment:
 *   SD_FAULT_N=N          fail the Nth counted call (0 or unset: count only)
 *   SD_FAULT_FUNCS=a,b    the functions that count (default: all below
 *                         but dlopen, which counts only when named)
 *   SD_FAULT_MODULE=STR   count calls whose caller's file name contains STR
 *                         (default "pam_secdefaults.so")
 *   SD_FAULT_DELAY_US=N   sleep N microseconds before each counted call
 *                         (t_crash: stretches the module's updates so a
 *                         SIGKILL at a random moment lands between them)
 *   SD_FAULT_LOG=FILE     append what happened to FILE:
 *                           "inject N FUNC +0xOFFSET [style=S]" when the
 *                             fault fires (S: pam_prompt's message style)
 *                           "total N" at exit           calls counted
 *                           "fdleak FD" / "memleak N"   at exit: descriptors
 *                             the module opened and never closed, blocks it
 *                             allocated and nobody freed
 *
 * The caller is told apart with __builtin_return_address(0) and dladdr().
 * Each function fails the way the real one can: NULL/ENOMEM, -1 with EIO,
 * ENOSPC, ENOLCK or EAGAIN, an error number from the *_r lookups,
 * PAM_SYSTEM_ERR / PAM_CONV_ERR from libpam. close() really closes the
 * descriptor before reporting EIO, as Linux does. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum fn {
	F_MALLOC,
	F_CALLOC,
	F_REALLOC,
	F_STRDUP,
	F_OPEN,
	F_OPENAT,
	F_READ,
	F_WRITE,
	F_FSYNC,
	F_RENAMEAT,
	F_FCNTL,
	F_FSTAT,
	F_MKDIRAT,
	F_UNLINKAT,
	F_CLOSE,
	F_FCHMOD,
	F_GETPWNAM_R,
	F_GETGRNAM_R,
	F_GETGROUPLIST,
	F_GETRANDOM,
	F_PAM_GET_ITEM,
	F_PAM_GET_USER,
	F_PAM_PROMPT,
	F_PREAD,
	F_PWRITE,
	F_FDATASYNC,
	F_FALLOCATE,
	F_DLOPEN,
	F_COUNT
};

static const char *const fn_names[F_COUNT] = {
	"malloc",	"calloc",    "realloc",	     "strdup",	     "open",	   "openat",
	"read",		"write",     "fsync",	     "renameat",     "fcntl",	   "fstat",
	"mkdirat",	"unlinkat",  "close",	     "fchmod",	     "getpwnam_r", "getgrnam_r",
	"getgrouplist", "getrandom", "pam_get_item", "pam_get_user", "pam_prompt", "pread",
	"pwrite",	"fdatasync", "fallocate",    "dlopen",
};

static atomic_int inited;
static long fault_n;
static long delay_us;
static unsigned long mask = ~(1UL << F_DLOPEN);
static char module[128] = "pam_secdefaults.so";
static char logpath[512];
static atomic_long counter;
static __thread int busy; /* inside the shim: count nothing */

/* ---- the real functions -------------------------------------------------- */

/* dlsym() may allocate while the allocator is being looked up: serve it
 * from a static arena that free() recognises and ignores. */
static char arena[8192];
static size_t arena_used;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int resolving;

static int in_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

static void *arena_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (arena_used + n > sizeof(arena))
		return NULL;
	p = arena + arena_used;
	arena_used += n;
	return p;
}

static void resolve_alloc(void)
{
	if (real_malloc != NULL || resolving)
		return;
	resolving = 1;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
}

#define REAL(name)                                                                       \
	static __typeof__(&name) real_##name;                                            \
	if (real_##name == NULL)                                                         \
	real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* ---- logging (no allocation, no counted call) ---------------------------- */

static void log_line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	if (logpath[0] == '\0')
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	fd = (int)syscall(SYS_openat, AT_FDCWD, logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0600);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, fd, buf, (size_t)n);
	(void)syscall(SYS_close, fd);
}

static void init(void)
{
	const char *s;

	if (atomic_load(&inited))
		return;
	s = getenv("SD_FAULT_N");
	fault_n = s ? strtol(s, NULL, 10) : 0;
	s = getenv("SD_FAULT_DELAY_US");
	delay_us = s ? strtol(s, NULL, 10) : 0;
	s = getenv("SD_FAULT_MODULE");
	if (s && *s)
		snprintf(module, sizeof(module), "%s", s);
	s = getenv("SD_FAULT_LOG");
	if (s)
		snprintf(logpath, sizeof(logpath), "%s", s);
	s = getenv("SD_FAULT_FUNCS");
	if (s && *s && strcmp(s, "all") != 0) {
		mask = 0;
		for (int i = 0; i < F_COUNT; i++) {
			size_t l = strlen(fn_names[i]);
			const char *p = s;

			while ((p = strstr(p, fn_names[i])) != NULL) {
				if ((p == s || p[-1] == ',') && (p[l] == ',' || p[l] == '\0')) {
					mask |= 1UL << i;
					break;
				}
				p += l;
			}
		}
	}
	atomic_store(&inited, 1);
}

/* The module's load address range, learnt from the first call seen from it
 * (dladdr is slower than two compares). */
static uintptr_t mod_lo, mod_hi;

static int find_range(struct dl_phdr_info *info, size_t size, void *base)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	if ((void *)info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (hi > lo) {
		mod_lo = lo;
		mod_hi = hi;
	}
	return 1;
}

static int from_module(const void *ra)
{
	Dl_info di;

	if (mod_hi != 0 && (uintptr_t)ra - mod_lo < mod_hi - mod_lo)
		return 1;
	if (dladdr(ra, &di) == 0 || di.dli_fname == NULL)
		return 0;
	if (strstr(di.dli_fname, module) == NULL)
		return 0;
	if (mod_hi == 0)
		dl_iterate_phdr(find_range, di.dli_fbase);
	return 1;
}

/* Count this call; 1 if it must fail. */
static int should_fail_note(enum fn f, const void *ra, const char *note)
{
	long n;

	if (busy || resolving)
		return 0;
	busy = 1;
	init();
	if (!(mask & (1UL << f)) || !from_module(ra)) {
		busy = 0;
		return 0;
	}
	n = atomic_fetch_add(&counter, 1) + 1;
	if (delay_us > 0 && delay_us < 1000000) {
		struct timespec ts = {0, delay_us * 1000};

		(void)syscall(SYS_nanosleep, &ts, NULL);
	}
	if (n == fault_n) {
		Dl_info di;
		uintptr_t off = 0;

		if (dladdr(ra, &di) != 0)
			off = (uintptr_t)ra - (uintptr_t)di.dli_fbase;
		log_line("inject %ld %s +0x%lx%s\n", n, fn_names[f], (unsigned long)off, note);
		busy = 0;
		return 1;
	}
	busy = 0;
	return 0;
}

static int should_fail(enum fn f, const void *ra)
{
	return should_fail_note(f, ra, "");
}

/* Descriptors and blocks the module owns, for the leak report at exit. */
#define MAXFD 4096
static atomic_uchar fd_owned[MAXFD];
#define MEMSLOTS 65536
static _Atomic(uintptr_t) mem[MEMSLOTS];
static atomic_flag mem_lock = ATOMIC_FLAG_INIT;
#define TOMB ((uintptr_t)1)

static void fd_own(int fd, const void *ra)
{
	if (fd >= 0 && fd < MAXFD && !busy && from_module(ra))
		atomic_store(&fd_owned[fd], 1);
}

static void mem_add(void *p, const void *ra)
{
	uintptr_t h;

	if (p == NULL || busy || !from_module(ra))
		return;
	while (atomic_flag_test_and_set(&mem_lock))
		;
	h = ((uintptr_t)p >> 4) % MEMSLOTS;
	for (int i = 0; i < MEMSLOTS; i++, h = (h + 1) % MEMSLOTS) {
		uintptr_t v = atomic_load(&mem[h]);

		if (v == 0 || v == TOMB) {
			atomic_store(&mem[h], (uintptr_t)p);
			break;
		}
	}
	atomic_flag_clear(&mem_lock);
}

static void mem_del(void *p)
{
	uintptr_t h;

	if (p == NULL)
		return;
	while (atomic_flag_test_and_set(&mem_lock))
		;
	h = ((uintptr_t)p >> 4) % MEMSLOTS;
	for (int i = 0; i < MEMSLOTS; i++, h = (h + 1) % MEMSLOTS) {
		uintptr_t v = atomic_load(&mem[h]);

		if (v == 0)
			break;
		if (v == (uintptr_t)p) {
			atomic_store(&mem[h], TOMB);
			break;
		}
	}
	atomic_flag_clear(&mem_lock);
}

__attribute__((destructor)) static void report(void)
{
	long leaks = 0;

	busy = 1;
	init();
	for (int fd = 0; fd < MAXFD; fd++)
		if (atomic_load(&fd_owned[fd]))
			log_line("fdleak %d\n", fd);
	for (int i = 0; i < MEMSLOTS; i++)
		if (atomic_load(&mem[i]) > TOMB)
			leaks++;
	if (leaks)
		log_line("memleak %ld\n", leaks);
	log_line("total %ld\n", atomic_load(&counter));
}

/* ---- the wrappers -------------------------------------------------------- */

#define RA __builtin_return_address(0)

void *malloc(size_t n)
{
	void *p;

	resolve_alloc();
	if (real_malloc == NULL)
		return arena_alloc(n);
	if (should_fail(F_MALLOC, RA)) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_malloc(n);
	mem_add(p, RA);
	return p;
}

void *calloc(size_t a, size_t b)
{
	void *p;

	resolve_alloc();
	if (real_calloc == NULL) {
		p = arena_alloc(a * b);
		if (p)
			memset(p, 0, a * b);
		return p;
	}
	if (should_fail(F_CALLOC, RA)) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_calloc(a, b);
	mem_add(p, RA);
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	resolve_alloc();
	if (in_arena(old) || real_realloc == NULL) {
		p = malloc(n);
		if (p && old) {
			size_t avail = (size_t)(arena + sizeof(arena) - (char *)old);

			memcpy(p, old, n < avail ? n : avail); /* arena blocks are never freed */
		}
		return p;
	}
	if (should_fail(F_REALLOC, RA)) {
		errno = ENOMEM;
		return NULL;
	}
	p = real_realloc(old, n);
	if (p != NULL) {
		if (old != NULL)
			mem_del(old);
		mem_add(p, RA);
	}
	return p;
}

void free(void *p)
{
	if (p == NULL || in_arena(p))
		return;
	resolve_alloc();
	mem_del(p);
	real_free(p);
}

char *strdup(const char *s)
{
	size_t l = strlen(s) + 1;
	char *p;

	if (should_fail(F_STRDUP, RA)) {
		errno = ENOMEM;
		return NULL;
	}
	busy++;
	p = malloc(l);
	busy--;
	if (p != NULL) {
		memcpy(p, s, l);
		mem_add(p, RA);
	}
	return p;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;
	REAL(open);

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (should_fail(F_OPEN, RA)) {
		errno = EIO;
		return -1;
	}
	fd = real_open(path, flags, mode);
	fd_own(fd, RA);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;
	REAL(openat);

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (should_fail(F_OPENAT, RA)) {
		errno = (flags & O_CREAT) ? ENOSPC : EIO;
		return -1;
	}
	fd = real_openat(dirfd, path, flags, mode);
	fd_own(fd, RA);
	return fd;
}

ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);

	if (should_fail(F_READ, RA)) {
		errno = EIO;
		return -1;
	}
	return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write);

	if (should_fail(F_WRITE, RA)) {
		errno = ENOSPC;
		return -1;
	}
	return real_write(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(pread);

	if (should_fail(F_PREAD, RA)) {
		errno = EIO;
		return -1;
	}
	return real_pread(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite);

	if (should_fail(F_PWRITE, RA)) {
		errno = ENOSPC;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

int fdatasync(int fd)
{
	REAL(fdatasync);

	if (should_fail(F_FDATASYNC, RA)) {
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL(fallocate);

	if (should_fail(F_FALLOCATE, RA)) {
		errno = ENOSPC;
		return -1;
	}
	return real_fallocate(fd, mode, off, len);
}

int fsync(int fd)
{
	REAL(fsync);

	if (should_fail(F_FSYNC, RA)) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int renameat(int a, const char *from, int b, const char *to)
{
	REAL(renameat);

	if (should_fail(F_RENAMEAT, RA)) {
		errno = EIO;
		return -1;
	}
	return real_renameat(a, from, b, to);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;
	REAL(fcntl);

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (should_fail(F_FCNTL, RA)) {
		errno = ENOLCK;
		return -1;
	}
	return real_fcntl(fd, cmd, arg);
}

int fstat(int fd, struct stat *st)
{
	REAL(fstat);

	if (should_fail(F_FSTAT, RA)) {
		errno = EIO;
		return -1;
	}
	return real_fstat(fd, st);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	REAL(mkdirat);

	if (should_fail(F_MKDIRAT, RA)) {
		errno = ENOSPC;
		return -1;
	}
	return real_mkdirat(dirfd, path, mode);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	REAL(unlinkat);

	if (should_fail(F_UNLINKAT, RA)) {
		errno = EIO;
		return -1;
	}
	return real_unlinkat(dirfd, path, flags);
}

int close(int fd)
{
	int rc;
	REAL(close);

	if (fd >= 0 && fd < MAXFD && !busy && from_module(RA))
		atomic_store(&fd_owned[fd], 0);
	if (should_fail(F_CLOSE, RA)) {
		real_close(fd);
		errno = EIO;
		return -1;
	}
	rc = real_close(fd);
	return rc;
}

DIR *fdopendir(int fd)
{
	DIR *d;
	REAL(fdopendir);

	d = real_fdopendir(fd);
	/* closedir() closes the descriptor inside libc: not a leak to report. */
	if (d != NULL && fd >= 0 && fd < MAXFD)
		atomic_store(&fd_owned[fd], 0);
	return d;
}

int fchmod(int fd, mode_t mode)
{
	REAL(fchmod);

	if (should_fail(F_FCHMOD, RA)) {
		errno = EIO;
		return -1;
	}
	return real_fchmod(fd, mode);
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	REAL(getpwnam_r);

	if (should_fail(F_GETPWNAM_R, RA)) {
		*res = NULL;
		return EIO;
	}
	return real_getpwnam_r(name, pw, buf, len, res);
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, struct group **res)
{
	REAL(getgrnam_r);

	if (should_fail(F_GETGRNAM_R, RA)) {
		*res = NULL;
		return EIO;
	}
	return real_getgrnam_r(name, gr, buf, len, res);
}

int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
	REAL(getgrouplist);

	if (should_fail(F_GETGROUPLIST, RA))
		return -1; /* *ngroups unchanged: "too small" that no size cures */
	return real_getgrouplist(user, group, groups, ngroups);
}

ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
	REAL(getrandom);

	if (should_fail(F_GETRANDOM, RA)) {
		errno = EAGAIN;
		return -1;
	}
	return real_getrandom(buf, n, flags);
}

/* The libraries the module loads on first use (src/lib/lazy.c). */
void *dlopen(const char *file, int mode)
{
	REAL(dlopen);

	if (should_fail(F_DLOPEN, RA))
		return NULL;
	return real_dlopen(file, mode);
}

int pam_get_item(const pam_handle_t *pamh, int type, const void **item)
{
	REAL(pam_get_item);

	if (should_fail(F_PAM_GET_ITEM, RA))
		return PAM_SYSTEM_ERR;
	return real_pam_get_item(pamh, type, item);
}

int pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt)
{
	REAL(pam_get_user);

	if (should_fail(F_PAM_GET_USER, RA))
		return PAM_SYSTEM_ERR;
	return real_pam_get_user(pamh, user, prompt);
}

int pam_prompt(pam_handle_t *pamh, int style, char **resp, const char *fmt, ...)
{
	va_list ap;
	int rc;
	REAL(pam_vprompt);

	/* The style is logged: a failed message (PAM_ERROR_MSG, PAM_TEXT_INFO)
	 * is not a failed question. */
	static const char *const styles[] = {"", " style=echo-off", " style=echo-on",
					     " style=error-msg", " style=text-info"};

	if (should_fail_note(F_PAM_PROMPT, RA, style >= 1 && style <= 4 ? styles[style] : ""))
		return PAM_CONV_ERR;
	va_start(ap, fmt);
	rc = real_pam_vprompt(pamh, style, resp, fmt, ap);
	va_end(ap);
	return rc;
}
