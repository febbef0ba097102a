/* counters.c - text format of the per-sign-in counters record.
 *
 *   counters 1 GEN SEQ [pending]
 *   failures N
 *   last_step N
 *   last_totp TIME          (only when set)
 *   location NET TIME       (one per location of the state file, in order)
 *   crc32 XXXXXXXX          (of every byte before this line)
 *
 * GEN is the state file's "counters" id (16 hex digits), SEQ a decimal
 * sequence number. The record is NUL-terminated inside its slot. */
#include "config.h"

#include "counters.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define COUNTERS_VERSION 1

uint32_t sd_crc32(const void *data, size_t len)
{
	/* Half-byte table of the reflected polynomial 0xEDB88320. */
	static const uint32_t t[16] = {0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
				       0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
				       0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
				       0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	while (len-- > 0) {
		crc ^= *p++;
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return crc ^ 0xffffffffu;
}

void sd_counters_get(const struct sd_state *st, struct sd_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->failures = st->failures;
	c->last_step = st->last_step;
	c->last_totp = st->last_totp;
	c->nloc = st->nloc;
	memcpy(c->loc, st->loc, st->nloc * sizeof(st->loc[0]));
}

int sd_counters_put(struct sd_state *st, const struct sd_counters *c)
{
	size_t i;

	if (c->nloc != st->nloc)
		return -EINVAL;
	for (i = 0; i < c->nloc; i++)
		if (strcmp(c->loc[i].net, st->loc[i].net) != 0)
			return -EINVAL;
	st->failures = c->failures;
	st->last_step = c->last_step;
	st->last_totp = c->last_totp;
	for (i = 0; i < c->nloc; i++)
		st->loc[i].last_totp = c->loc[i].last_totp;
	return 0;
}

int sd_state_same_but_counters(const struct sd_state *a, const struct sd_state *b)
{
	size_t i;

	if (a->grace_start != b->grace_start || a->grace_ended != b->grace_ended ||
	    a->enrolled != b->enrolled || a->locked_until != b->locked_until ||
	    a->compromised != b->compromised || a->compromised_at != b->compromised_at ||
	    strncmp(a->compromised_reason, b->compromised_reason, SD_REASON_LEN) != 0 ||
	    a->password_reset != b->password_reset || a->nloc != b->nloc ||
	    a->last_seen != b->last_seen || a->nlegacy != b->nlegacy)
		return 0;
	for (i = 0; i < a->nloc && i < SD_MAX_LOCATIONS; i++)
		if (strncmp(a->loc[i].net, b->loc[i].net, SD_LOCATION_LEN) != 0)
			return 0;
	for (i = 0; i < SD_SEEN_NCLASS; i++)
		if (a->seen_class[i] != b->seen_class[i])
			return 0;
	for (i = 0; i < a->nlegacy && i < SD_MAX_LEGACY; i++)
		if (strncmp(a->legacy[i].service, b->legacy[i].service, SD_SERVICE_LEN) != 0 ||
		    a->legacy[i].last != b->legacy[i].last)
			return 0;
	return 1;
}

struct out {
	char *p;
	size_t len, cap;
	int full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = 1;
		return;
	}
	o->len += (size_t)n;
}

int sd_counters_format(const struct sd_counters *c, char *out, size_t cap, size_t *len)
{
	struct out o = {out, 0, cap, 0};
	char ts[SD_TIME_LEN];
	size_t i;

	if (cap == 0)
		return -E2BIG;
	put(&o, "counters %d %016llx %llu%s\n", COUNTERS_VERSION, (unsigned long long)c->gen,
	    (unsigned long long)c->seq, c->pending ? " pending" : "");
	put(&o, "failures %u\n", c->failures);
	put(&o, "last_step %llu\n", (unsigned long long)c->last_step);
	if (c->last_totp != 0) {
		sd_time_format(c->last_totp, ts);
		put(&o, "last_totp %s\n", ts);
	}
	for (i = 0; i < c->nloc && i < SD_MAX_LOCATIONS; i++) {
		sd_time_format(c->loc[i].last_totp, ts);
		put(&o, "location %s %s\n", c->loc[i].net, ts);
	}
	if (!o.full)
		put(&o, "crc32 %08x\n", (unsigned)sd_crc32(out, o.len));
	if (o.full) {
		out[0] = '\0';
		return -E2BIG;
	}
	*len = o.len;
	return 0;
}

static int bad(char *why, size_t whylen, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(char *why, size_t whylen, int lineno, const char *fmt, ...)
{
	char text[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "counters line %d: %s", lineno, text);
	return -EINVAL;
}

static int parse_line(char *line, int lineno, struct sd_counters *c, int *seen, char *why,
		      size_t whylen)
{
	char *val = strchr(line, ' '), *when;
	uint64_t u;

	if (val == NULL || val[1] == '\0')
		return bad(why, whylen, lineno, "expected \"key value\"");
	*val++ = '\0';
	if (lineno == 1) {
		char gen[17], seq[24], extra[16];
		int n;

		if (strcmp(line, "counters") != 0)
			return bad(why, whylen, lineno, "no counters header");
		extra[0] = '\0';
		n = sscanf(val, "1 %16s %23s %15s", gen, seq, extra);
		if (n < 2 || strlen(gen) != 16 || sd_parse_u64(seq, &c->seq) != 0)
			return bad(why, whylen, lineno, "bad header \"%s\"", val);
		if (n == 3 && strcmp(extra, "pending") != 0)
			return bad(why, whylen, lineno, "bad header \"%s\"", val);
		c->pending = n == 3;
		if (sd_parse_hex(gen, 16, &c->gen) != 0)
			return bad(why, whylen, lineno, "bad id \"%s\"", gen);
		return 0;
	}
	if (strcmp(line, "failures") == 0) {
		if (seen[0]++ || sd_parse_u64(val, &u) != 0 || u > 1000000)
			return bad(why, whylen, lineno, "bad failures \"%s\"", val);
		c->failures = (unsigned)u;
	} else if (strcmp(line, "last_step") == 0) {
		if (seen[1]++ || sd_parse_u64(val, &c->last_step) != 0 ||
		    c->last_step > (1ULL << 40))
			return bad(why, whylen, lineno, "bad last_step \"%s\"", val);
	} else if (strcmp(line, "last_totp") == 0) {
		if (seen[2]++ || sd_time_parse(val, &c->last_totp) != 0)
			return bad(why, whylen, lineno, "bad last_totp \"%s\"", val);
	} else if (strcmp(line, "location") == 0) {
		size_t i;

		when = strrchr(val, ' ');
		if (when == NULL || c->nloc >= SD_MAX_LOCATIONS)
			return bad(why, whylen, lineno, "bad location");
		*when++ = '\0';
		if (*val == '\0' || strlen(val) >= SD_LOCATION_LEN || strchr(val, ' ') != NULL)
			return bad(why, whylen, lineno, "bad location name");
		for (i = 0; i < c->nloc; i++)
			if (strcmp(c->loc[i].net, val) == 0)
				return bad(why, whylen, lineno, "location %s listed twice", val);
		if (sd_time_parse(when, &c->loc[c->nloc].last_totp) != 0)
			return bad(why, whylen, lineno, "bad time \"%s\"", when);
		memcpy(c->loc[c->nloc].net, val, strlen(val) + 1);
		c->nloc++;
	} else {
		return bad(why, whylen, lineno, "unknown key \"%s\"", line);
	}
	return 0;
}

int sd_counters_parse(const char *buf, size_t len, struct sd_counters *c, char *why, size_t whylen)
{
	char line[SD_LOCATION_LEN + 64];
	const char *end, *last, *p;
	uint64_t want;
	int lineno = 0, seen[3] = {0, 0, 0}, rc;

	memset(c, 0, sizeof(*c));
	len = strnlen(buf, len);
	if (len == 0 || buf[len - 1] != '\n')
		return -ENOENT;
	/* The last line is the checksum of everything before it. */
	end = buf + len - 1;
	for (last = end; last > buf && last[-1] != '\n'; last--)
		;
	if (end - last != 14 || memcmp(last, "crc32 ", 6) != 0)
		return -ENOENT;
	memcpy(line, last + 6, 8);
	line[8] = '\0';
	if (sd_parse_hex(line, 8, &want) != 0 || sd_crc32(buf, (size_t)(last - buf)) != want)
		return -ENOENT;
	for (p = buf; p < last;) {
		const char *nl = memchr(p, '\n', (size_t)(last - p));
		size_t n, i;

		lineno++;
		if (nl == NULL || (n = (size_t)(nl - p)) >= sizeof(line))
			return bad(why, whylen, lineno, "line too long");
		memcpy(line, p, n);
		line[n] = '\0';
		for (i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				return bad(why, whylen, lineno, "control character");
		rc = parse_line(line, lineno, c, seen, why, whylen);
		if (rc != 0)
			return rc;
		p = nl + 1;
	}
	if (lineno == 0)
		return bad(why, whylen, 1, "no counters header");
	if (!seen[0] || !seen[1])
		return bad(why, whylen, lineno, "failures and last_step are required");
	return 0;
}
