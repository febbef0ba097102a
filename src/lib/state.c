/* state.c - text formats of the per-user state and secret files.
 *
 * The state file is for people as much as for the module: one "key value"
 * per line, ISO-8601 UTC times, keys that are unset are left out. Parsing is
 * strict: an unknown key, a repeated key, a bad value or a missing version
 * line makes the whole file corrupt, and the caller denies. */
#include "config.h"

#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_iter {
	const char *p, *end;
	int lineno;
	char buf[512];
};

/* Next line into it->buf without the newline; 1 got one, 0 end, -1 too long
 * or contains a NUL/control byte. */
static int next_line(struct line_iter *it)
{
	const char *nl;
	size_t n, i;

	if (it->p >= it->end)
		return 0;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	n = nl != NULL ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	it->lineno++;
	if (n >= sizeof(it->buf))
		return -1;
	memcpy(it->buf, it->p, n);
	it->buf[n] = '\0';
	it->p = nl != NULL ? nl + 1 : it->end;
	for (i = 0; i < n; i++)
		if ((unsigned char)it->buf[i] < 0x20 || it->buf[i] == 0x7f)
			return -1;
	return 1;
}

static int fail(char *why, size_t whylen, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int lineno, const char *fmt, ...)
{
	char text[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "line %d: %s", lineno, text);
	return -EINVAL;
}

/* Split "key rest" at the first space. */
static char *split(char *line)
{
	char *sp = strchr(line, ' ');

	if (sp == NULL)
		return NULL;
	*sp = '\0';
	return sp + 1;
}

enum {
	S_VERSION,
	S_GRACE,
	S_GRACE_END,
	S_ENROLLED,
	S_STEP,
	S_LAST_TOTP,
	S_FAILURES,
	S_LOCKED,
	S_COMPROMISED,
	S_PWRESET,
	S_NKEYS
};
static const char *const state_keys[S_NKEYS] = {
	"version",   "grace_start", "grace_ended",  "enrolled",	   "last_step",
	"last_totp", "failures",    "locked_until", "compromised", "password_reset"};

int sd_state_parse(const char *text, size_t len, struct sd_state *st, char *why, size_t whylen)
{
	struct line_iter it = {text, text + len, 0, ""};
	int seen[S_NKEYS] = {0};
	int r, k;

	memset(st, 0, sizeof(*st));
	if (len > SD_STATE_MAX_SIZE)
		return fail(why, whylen, 0, "file larger than %d bytes", SD_STATE_MAX_SIZE);
	while ((r = next_line(&it)) > 0) {
		char *key = it.buf, *val;
		uint64_t u;

		if (key[0] == '#' || key[0] == '\0')
			continue;
		val = split(key);
		if (val == NULL || *val == '\0')
			return fail(why, whylen, it.lineno, "expected \"key value\"");
		if (strcmp(key, "location") == 0) {
			char *when = strrchr(val, ' ');
			struct sd_loc *l;

			if (!seen[S_VERSION])
				return fail(why, whylen, it.lineno, "version line must come first");
			if (when == NULL)
				return fail(why, whylen, it.lineno,
					    "location needs a network and a time");
			*when++ = '\0';
			if (st->nloc >= SD_MAX_LOCATIONS)
				return fail(why, whylen, it.lineno, "more than %d locations",
					    SD_MAX_LOCATIONS);
			if (*val == '\0' || strlen(val) >= SD_LOCATION_LEN ||
			    strchr(val, ' ') != NULL)
				return fail(why, whylen, it.lineno, "bad location name");
			if (sd_state_find_loc(st, val) != NULL)
				return fail(why, whylen, it.lineno, "location %s listed twice",
					    val);
			l = &st->loc[st->nloc];
			if (sd_time_parse(when, &l->last_totp) != 0)
				return fail(why, whylen, it.lineno, "bad time \"%s\"", when);
			memcpy(l->net, val, strlen(val) + 1);
			st->nloc++;
			continue;
		}
		for (k = 0; k < S_NKEYS; k++)
			if (strcmp(key, state_keys[k]) == 0)
				break;
		if (k == S_NKEYS)
			return fail(why, whylen, it.lineno, "unknown key \"%s\"", key);
		if (seen[k])
			return fail(why, whylen, it.lineno, "\"%s\" given twice", key);
		if (k != S_VERSION && !seen[S_VERSION])
			return fail(why, whylen, it.lineno, "version line must come first");
		seen[k] = 1;
		switch (k) {
		case S_VERSION:
			if (sd_parse_u64(val, &u) != 0 || u != SD_STATE_VERSION)
				return fail(why, whylen, it.lineno,
					    "unsupported version \"%s\" (this build reads %d)", val,
					    SD_STATE_VERSION);
			break;
		case S_GRACE:
		case S_GRACE_END:
		case S_ENROLLED:
		case S_LAST_TOTP:
		case S_LOCKED: {
			time_t *dst = k == S_GRACE	 ? &st->grace_start
				      : k == S_GRACE_END ? &st->grace_ended
				      : k == S_ENROLLED	 ? &st->enrolled
				      : k == S_LAST_TOTP ? &st->last_totp
							 : &st->locked_until;

			if (sd_time_parse(val, dst) != 0)
				return fail(why, whylen, it.lineno, "bad time \"%s\"", val);
			break;
		}
		case S_STEP:
			if (sd_parse_u64(val, &st->last_step) != 0 || st->last_step > (1ULL << 40))
				return fail(why, whylen, it.lineno, "bad step \"%s\"", val);
			break;
		case S_FAILURES:
			if (sd_parse_u64(val, &u) != 0 || u > 1000000)
				return fail(why, whylen, it.lineno, "bad count \"%s\"", val);
			st->failures = (unsigned)u;
			break;
		case S_COMPROMISED: {
			char *reason = split(val);

			if (sd_time_parse(val, &st->compromised_at) != 0)
				return fail(why, whylen, it.lineno, "bad time \"%s\"", val);
			st->compromised = 1;
			if (reason != NULL)
				snprintf(st->compromised_reason, sizeof(st->compromised_reason),
					 "%s", reason);
			break;
		}
		case S_PWRESET:
			if (strcmp(val, "yes") != 0)
				return fail(why, whylen, it.lineno,
					    "password_reset must be \"yes\"");
			st->password_reset = 1;
			break;
		}
	}
	if (r < 0)
		return fail(why, whylen, it.lineno, "line too long or has control characters");
	if (!seen[S_VERSION])
		return fail(why, whylen, it.lineno, "no version line");
	return 0;
}

/* A growable text buffer. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (b->cap + (size_t)n + 1) * 2;
			char *np = malloc(ncap);

			if (np == NULL) {
				b->oom = 1;
				return;
			}
			memcpy(np, b->p, b->len);
			sd_wipe(b->p, b->cap);
			free(b->p);
			b->p = np;
			b->cap = ncap;
		}
	}
}

static int buf_init(struct buf *b)
{
	b->cap = 512;
	b->len = 0;
	b->oom = 0;
	b->p = malloc(b->cap);
	return b->p != NULL ? 0 : -ENOMEM;
}

static int buf_done(struct buf *b, char **out, size_t *outlen)
{
	if (b->oom) {
		sd_wipe(b->p, b->cap);
		free(b->p);
		return -ENOMEM;
	}
	*out = b->p;
	*outlen = b->len;
	return 0;
}

static void add_time(struct buf *b, const char *key, time_t t)
{
	char ts[SD_TIME_LEN];

	if (t == 0)
		return;
	sd_time_format(t, ts);
	add(b, "%s %s\n", key, ts);
}

int sd_state_format(const struct sd_state *st, const char *user, char **out, size_t *outlen)
{
	struct buf b;
	size_t i;

	if (buf_init(&b) != 0)
		return -ENOMEM;
	add(&b, "# pam_secdefaults state of %s; see secdefaults-state(5)\n", user);
	add(&b, "version %d\n", SD_STATE_VERSION);
	add_time(&b, "grace_start", st->grace_start);
	add_time(&b, "grace_ended", st->grace_ended);
	add_time(&b, "enrolled", st->enrolled);
	if (st->last_step != 0)
		add(&b, "last_step %llu\n", (unsigned long long)st->last_step);
	add_time(&b, "last_totp", st->last_totp);
	if (st->failures != 0)
		add(&b, "failures %u\n", st->failures);
	add_time(&b, "locked_until", st->locked_until);
	if (st->compromised) {
		char ts[SD_TIME_LEN], reason[SD_REASON_LEN];
		size_t j;

		sd_time_format(st->compromised_at, ts);
		/* Keep the reason on one line of printable text. */
		for (j = 0; st->compromised_reason[j] != '\0' && j + 1 < sizeof(reason); j++) {
			unsigned char c = (unsigned char)st->compromised_reason[j];

			reason[j] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		}
		reason[j] = '\0';
		if (reason[0] != '\0')
			add(&b, "compromised %s %s\n", ts, reason);
		else
			add(&b, "compromised %s\n", ts);
	}
	if (st->password_reset)
		add(&b, "password_reset yes\n");
	for (i = 0; i < st->nloc; i++) {
		char ts[SD_TIME_LEN];

		sd_time_format(st->loc[i].last_totp, ts);
		add(&b, "location %s %s\n", st->loc[i].net, ts);
	}
	return buf_done(&b, out, outlen);
}

const struct sd_loc *sd_state_find_loc(const struct sd_state *st, const char *net)
{
	size_t i;

	for (i = 0; i < st->nloc; i++)
		if (strcmp(st->loc[i].net, net) == 0)
			return &st->loc[i];
	return NULL;
}

void sd_state_touch_loc(struct sd_state *st, const char *net, time_t now)
{
	size_t i, oldest = 0;

	for (i = 0; i < st->nloc; i++) {
		if (strcmp(st->loc[i].net, net) == 0) {
			if (now > st->loc[i].last_totp)
				st->loc[i].last_totp = now;
			return;
		}
		if (st->loc[i].last_totp < st->loc[oldest].last_totp)
			oldest = i;
	}
	if (strlen(net) >= SD_LOCATION_LEN)
		return;
	if (st->nloc < SD_MAX_LOCATIONS)
		i = st->nloc++;
	else
		i = oldest;
	memcpy(st->loc[i].net, net, strlen(net) + 1);
	st->loc[i].last_totp = now;
}

int sd_secret_parse(const char *text, size_t len, struct sd_secret *sec, char *why, size_t whylen)
{
	struct line_iter it = {text, text + len, 0, ""};
	int have_version = 0, r;

	memset(sec, 0, sizeof(*sec));
	if (len > SD_STATE_MAX_SIZE)
		return fail(why, whylen, 0, "file larger than %d bytes", SD_STATE_MAX_SIZE);
	while ((r = next_line(&it)) > 0) {
		char *key = it.buf, *val;
		uint64_t u;

		if (key[0] == '#' || key[0] == '\0')
			continue;
		val = split(key);
		if (val == NULL || *val == '\0')
			return fail(why, whylen, it.lineno, "expected \"key value\"");
		if (strcmp(key, "version") == 0) {
			if (have_version)
				return fail(why, whylen, it.lineno, "\"version\" given twice");
			if (sd_parse_u64(val, &u) != 0 || u != SD_STATE_VERSION)
				return fail(why, whylen, it.lineno, "unsupported version");
			have_version = 1;
		} else if (!have_version) {
			return fail(why, whylen, it.lineno, "version line must come first");
		} else if (strcmp(key, "key") == 0) {
			if (sec->keylen != 0)
				return fail(why, whylen, it.lineno, "\"key\" given twice");
			if (sd_base32_decode(val, sec->key, sizeof(sec->key), &sec->keylen) != 0 ||
			    sec->keylen < 10)
				return fail(why, whylen, it.lineno, "bad key");
		} else if (strcmp(key, "recovery") == 0) {
			if (sec->nrecovery >= SD_MAX_RECOVERY)
				return fail(why, whylen, it.lineno, "too many recovery codes");
			if (strlen(val) >= SD_RECOVERY_HASH || strchr(val, ' ') != NULL)
				return fail(why, whylen, it.lineno, "bad recovery code hash");
			memcpy(sec->recovery[sec->nrecovery++], val, strlen(val) + 1);
		} else {
			return fail(why, whylen, it.lineno, "unknown key \"%s\"", key);
		}
	}
	sd_wipe(it.buf, sizeof(it.buf));
	if (r < 0)
		return fail(why, whylen, it.lineno, "line too long or has control characters");
	if (!have_version)
		return fail(why, whylen, it.lineno, "no version line");
	if (sec->keylen == 0)
		return fail(why, whylen, it.lineno, "no key");
	return 0;
}

int sd_secret_format(const struct sd_secret *sec, char **out, size_t *outlen)
{
	char b32[SD_MAX_KEY * 2];
	struct buf b;
	size_t i;

	if (sd_base32_encode(sec->key, sec->keylen, b32, sizeof(b32)) != 0)
		return -EINVAL;
	if (buf_init(&b) != 0) {
		sd_wipe(b32, sizeof(b32));
		return -ENOMEM;
	}
	add(&b, "# pam_secdefaults TOTP secret: keep private\nversion %d\nkey %s\n",
	    SD_STATE_VERSION, b32);
	for (i = 0; i < sec->nrecovery; i++)
		add(&b, "recovery %s\n", sec->recovery[i]);
	sd_wipe(b32, sizeof(b32));
	return buf_done(&b, out, outlen);
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int sd_base32_decode(const char *in, unsigned char *out, size_t outmax, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in != '\0'; in++) {
		char c = *in;
		const char *pos;

		if (c == ' ' || c == '-')
			continue;
		if (c == '=')
			break;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		pos = strchr(b32_alphabet, c);
		if (pos == NULL || c == '\0')
			return -EINVAL;
		acc = (acc << 5) | (uint32_t)(pos - b32_alphabet);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outmax)
				return -EINVAL;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	for (; *in != '\0'; in++)
		if (*in != '=')
			return -EINVAL;
	*outlen = n;
	return n > 0 ? 0 : -EINVAL;
}

int sd_base32_encode(const unsigned char *in, size_t len, char *out, size_t outmax)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			if (n + 1 >= outmax)
				return -EINVAL;
			out[n++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0) {
		if (n + 1 >= outmax)
			return -EINVAL;
		out[n++] = b32_alphabet[(acc << (5 - bits)) & 31];
	}
	out[n] = '\0';
	return 0;
}
