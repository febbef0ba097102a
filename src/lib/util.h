/* util.h - small helpers shared by the core, the module and the CLI.
 * Nothing here includes PAM headers. */
#ifndef SD_UTIL_H
#define SD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* An error message for the caller to log; the core never logs itself. */
struct sd_err {
	char msg[320];
};

void sd_err_set(struct sd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable list of strings (owned copies). */
struct sd_strlist {
	char **v;
	size_t n;
};

int sd_strlist_add(struct sd_strlist *l, const char *s);
int sd_strlist_contains(const struct sd_strlist *l, const char *s);
void sd_strlist_free(struct sd_strlist *l);

/* Copy SRC into DST (size N), replacing every byte that is not printable
 * ASCII, and every space and '=', with '?': user-controlled values can then
 * neither forge log lines nor break key=value parsing. NULL becomes "-". */
void sd_sanitize(char *dst, size_t n, const char *src);

/* ISO-8601 UTC, "2026-11-23T14:05:00Z" (20 chars + NUL). */
#define SD_TIME_LEN 21
void sd_time_format(time_t t, char out[SD_TIME_LEN]);
/* 0 on success; -EINVAL unless exactly that format with a valid date in
 * years 1970..9999. */
int sd_time_parse(const char *s, time_t *out);

/* The current time: the one clock the module and the CLI read. In builds
 * configured with --enable-sanitizers (test builds, never installed) the
 * environment variable SD_TEST_TIME_OFFSET (seconds) shifts it, because
 * libfaketime cannot be preloaded together with AddressSanitizer. */
time_t sd_now(void);

/* Wipe memory the compiler must not optimise away. */
void sd_wipe(void *p, size_t n);

/* Constant-time comparison of two equal-length buffers: 0 if equal. */
int sd_ct_memcmp(const void *a, const void *b, size_t n);

/* Parse a base-10 unsigned integer that must fill the whole string. */
int sd_parse_u64(const char *s, uint64_t *out);
/* Exactly DIGITS (1-16) lower-case hex digits and nothing after them. */
int sd_parse_hex(const char *s, size_t digits, uint64_t *out);

/* A hash map from names to entries of ESIZE bytes whose first member is
 * the name (char *, a copy the map owns): open addressing, FNV-1a, the
 * capacity a power of two kept at least twice the count. Entries move
 * when the map grows: a pointer to one is good until the next create. */
struct sd_namemap {
	char *v; /* cap entries of esize bytes */
	size_t esize, cap, n;
};
void sd_namemap_init(struct sd_namemap *m, size_t esize);
/* The entry of NAME, or NULL; with CREATE a new zeroed one (NULL only when
 * out of memory). */
void *sd_namemap_get(struct sd_namemap *m, const char *name, int create);
/* Slot I (0 .. cap - 1), or NULL when it is empty: for walking the map. */
void *sd_namemap_at(const struct sd_namemap *m, size_t i);
/* Free the names and the table (not what entries point to). */
void sd_namemap_free(struct sd_namemap *m);

#endif
