/* util.c - small helpers shared by the core, the module and the CLI. */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sd_err_set(struct sd_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int sd_strlist_add(struct sd_strlist *l, const char *s)
{
	char **nv;
	char *copy;

	copy = strdup(s);
	if (copy == NULL)
		return -ENOMEM;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(copy);
		return -ENOMEM;
	}
	l->v = nv;
	l->v[l->n++] = copy;
	return 0;
}

int sd_strlist_contains(const struct sd_strlist *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

void sd_strlist_free(struct sd_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void sd_sanitize(char *dst, size_t n, const char *src)
{
	size_t i;

	if (n == 0)
		return;
	if (src == NULL)
		src = "-";
	for (i = 0; i + 1 < n && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c > 0x20 && c < 0x7f && c != '=') ? (char)c : '?';
	}
	dst[i] = '\0';
}

void sd_time_format(time_t t, char out[SD_TIME_LEN])
{
	struct tm tm;

	if (t < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, SD_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, SD_TIME_LEN, "%s", "invalid");
}

int sd_time_parse(const char *s, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct tm tm;
	int v[6];
	size_t i;
	time_t t;

	/* YYYY-MM-DDTHH:MM:SSZ, checked character by character. */
	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return -EINVAL;
	for (i = 0; i < 19; i++) {
		if (i == 4 || i == 7 || i == 10 || i == 13 || i == 16)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	}
	v[0] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	v[1] = (s[5] - '0') * 10 + (s[6] - '0');
	v[2] = (s[8] - '0') * 10 + (s[9] - '0');
	v[3] = (s[11] - '0') * 10 + (s[12] - '0');
	v[4] = (s[14] - '0') * 10 + (s[15] - '0');
	v[5] = (s[17] - '0') * 10 + (s[18] - '0');
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] ||
	    v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* timegm normalises 29 Feb in a common year to 1 Mar: refuse that. */
	if (tm.tm_mday != v[2])
		return -EINVAL;
	*out = t;
	return 0;
}

time_t sd_now(void)
{
	time_t t = time(NULL);
#ifdef SD_TEST_CLOCK
	const char *off = getenv("SD_TEST_TIME_OFFSET");

	if (off != NULL)
		t += (time_t)strtoll(off, NULL, 10);
#endif
	return t;
}

void sd_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

int sd_ct_memcmp(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d != 0;
}

int sd_parse_hex(const char *s, size_t digits, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || digits == 0 || digits > 16)
		return -EINVAL;
	for (i = 0; i < digits; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = (v << 4) | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (v << 4) | (uint64_t)(c - 'a' + 10);
		else
			return -EINVAL;
	}
	if (s[digits] != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

int sd_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- sd_namemap ---------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static char *slot_name(const struct sd_namemap *m, const char *v, size_t i)
{
	char *name;

	memcpy(&name, v + i * m->esize, sizeof(name));
	return name;
}

void sd_namemap_init(struct sd_namemap *m, size_t esize)
{
	memset(m, 0, sizeof(*m));
	m->esize = esize;
}

static int namemap_grow(struct sd_namemap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024, i;
	char *nv = calloc(ncap, m->esize);

	if (nv == NULL)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		const char *name = slot_name(m, m->v, i);
		size_t j;

		if (name == NULL)
			continue;
		for (j = name_hash(name) & (ncap - 1); slot_name(m, nv, j) != NULL;
		     j = (j + 1) & (ncap - 1))
			;
		memcpy(nv + j * m->esize, m->v + i * m->esize, m->esize);
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return 0;
}

void *sd_namemap_get(struct sd_namemap *m, const char *name, int create)
{
	const char *found;
	char *copy;
	size_t j;

	if (m->cap == 0 || (create && (m->n + 1) * 2 > m->cap)) {
		if (!create || namemap_grow(m) != 0)
			return NULL;
	}
	for (j = name_hash(name) & (m->cap - 1); (found = slot_name(m, m->v, j)) != NULL;
	     j = (j + 1) & (m->cap - 1))
		if (strcmp(found, name) == 0)
			return m->v + j * m->esize;
	if (!create || (copy = strdup(name)) == NULL)
		return NULL;
	memcpy(m->v + j * m->esize, &copy, sizeof(copy));
	m->n++;
	return m->v + j * m->esize;
}

void *sd_namemap_at(const struct sd_namemap *m, size_t i)
{
	return i < m->cap && slot_name(m, m->v, i) != NULL ? m->v + i * m->esize : NULL;
}

void sd_namemap_free(struct sd_namemap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(slot_name(m, m->v, i));
	free(m->v);
	sd_namemap_init(m, m->esize);
}
