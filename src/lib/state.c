/* state.c - text formats of the per-user state and secret files.
 *
 * The state file is for people as much as for the module: one "key value"
 * per line, ISO-8601 UTC times, keys that are unset are left out. Parsing is
 * strict: an unknown key, a repeated key, a bad value or a missing version
 * line makes the whole file corrupt, and the caller denies.
 *
 * Observation keys (version 1 files may have them or not; the module
 * records them in both modes, see sd_state_observe, and only the rollout
 * report reads them; no decision depends on them):
 *   last_seen TIME             the last sign-in the module saw for this user
 *                              (auth or account phase, any class below)
 *   last_seen_standard TIME    the last sign-in through a standard service
 *   last_seen_privileged TIME  the last sign-in through a privileged service
 *   last_seen_legacy TIME      the last attempt through a legacy service
 *   legacy_service NAME TIME   the last attempt through legacy service NAME
 *                              (PAM_SERVICE, sanitised); one line per service,
 *                              at most SD_MAX_LEGACY, each name once
 * Each time is updated at most once per UTC day, so it is the first sign-in
 * of the latest day with one. Noninteractive services are not recorded. */
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
	S_SEEN,
	S_SEEN_STANDARD,
	S_SEEN_PRIVILEGED,
	S_SEEN_LEGACY,
	S_COUNTERS,
	S_NKEYS
};
static const char *const state_keys[S_NKEYS] = {"version",
						"grace_start",
						"grace_ended",
						"enrolled",
						"last_step",
						"last_totp",
						"failures",
						"locked_until",
						"compromised",
						"password_reset",
						"last_seen",
						"last_seen_standard",
						"last_seen_privileged",
						"last_seen_legacy",
						"counters"};

static const char *const seen_class_names[SD_SEEN_NCLASS] = {"standard", "privileged", "legacy"};

const char *sd_seen_class_name(enum sd_seen_class cls)
{
	return (unsigned)cls < SD_SEEN_NCLASS ? seen_class_names[cls] : "?";
}

/* A service name as stored: 1..SD_SERVICE_LEN-1 printable bytes, no space. */
static int service_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n >= SD_SERVICE_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* "NAME TIME" of a location or legacy_service line: splits VAL at the last
 * space. The time, or NULL. */
static char *split_last(char *val)
{
	char *when = strrchr(val, ' ');

	if (when != NULL)
		*when++ = '\0';
	return when;
}

int sd_state_parse(const char *text, size_t len, struct sd_state *st, char *why, size_t whylen)
{
	return sd_state_parse_gen(text, len, st, NULL, why, whylen);
}

int sd_state_parse_gen(const char *text, size_t len, struct sd_state *st, uint64_t *gen, char *why,
		       size_t whylen)
{
	struct line_iter it = {text, text + len, 0, ""};
	int seen[S_NKEYS] = {0};
	int r, k;

	memset(st, 0, sizeof(*st));
	if (gen != NULL)
		*gen = 0;
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
			char *when = split_last(val);
			struct sd_loc *l;

			if (!seen[S_VERSION])
				return fail(why, whylen, it.lineno, "version line must come first");
			if (when == NULL)
				return fail(why, whylen, it.lineno,
					    "location needs a network and a time");
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
		if (strcmp(key, "legacy_service") == 0) {
			char *when = split_last(val);
			struct sd_legacy_use *lu;

			if (!seen[S_VERSION])
				return fail(why, whylen, it.lineno, "version line must come first");
			if (when == NULL)
				return fail(why, whylen, it.lineno,
					    "legacy_service needs a service name and a time");
			if (st->nlegacy >= SD_MAX_LEGACY)
				return fail(why, whylen, it.lineno, "more than %d legacy services",
					    SD_MAX_LEGACY);
			if (!service_name_ok(val))
				return fail(why, whylen, it.lineno, "bad service name");
			if (sd_state_find_legacy(st, val) != NULL)
				return fail(why, whylen, it.lineno,
					    "legacy service %s listed twice", val);
			lu = &st->legacy[st->nlegacy];
			if (sd_time_parse(when, &lu->last) != 0)
				return fail(why, whylen, it.lineno, "bad time \"%s\"", when);
			memcpy(lu->service, val, strlen(val) + 1);
			st->nlegacy++;
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
		case S_LOCKED:
		case S_SEEN:
		case S_SEEN_STANDARD:
		case S_SEEN_PRIVILEGED:
		case S_SEEN_LEGACY: {
			time_t *dst = k == S_GRACE	       ? &st->grace_start
				      : k == S_GRACE_END       ? &st->grace_ended
				      : k == S_ENROLLED	       ? &st->enrolled
				      : k == S_LAST_TOTP       ? &st->last_totp
				      : k == S_LOCKED	       ? &st->locked_until
				      : k == S_SEEN	       ? &st->last_seen
				      : k == S_SEEN_STANDARD   ? &st->seen_class[SD_SEEN_STANDARD]
				      : k == S_SEEN_PRIVILEGED ? &st->seen_class[SD_SEEN_PRIVILEGED]
							       : &st->seen_class[SD_SEEN_LEGACY];

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
		case S_COUNTERS: {
			uint64_t g;

			if (sd_parse_hex(val, 16, &g) != 0 || g == 0)
				return fail(why, whylen, it.lineno,
					    "counters must be 16 hex digits, not all zero");
			if (gen != NULL)
				*gen = g;
			break;
		}
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
	return sd_state_format_gen(st, user, 0, out, outlen);
}

int sd_state_format_gen(const struct sd_state *st, const char *user, uint64_t gen, char **out,
			size_t *outlen)
{
	struct buf b;
	size_t i;

	if (buf_init(&b) != 0)
		return -ENOMEM;
	add(&b, "# pam_secdefaults state of %s; see secdefaults-state(5)\n", user);
	add(&b, "version %d\n", SD_STATE_VERSION);
	if (gen != 0)
		add(&b, "counters %016llx\n", (unsigned long long)gen);
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
	add_time(&b, "last_seen", st->last_seen);
	for (i = 0; i < SD_SEEN_NCLASS; i++) {
		char key[32];

		snprintf(key, sizeof(key), "last_seen_%s", seen_class_names[i]);
		add_time(&b, key, st->seen_class[i]);
	}
	for (i = 0; i < st->nlegacy; i++) {
		char ts[SD_TIME_LEN];

		sd_time_format(st->legacy[i].last, ts);
		add(&b, "legacy_service %s %s\n", st->legacy[i].service, ts);
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

const struct sd_legacy_use *sd_state_find_legacy(const struct sd_state *st, const char *service)
{
	size_t i;

	for (i = 0; i < st->nlegacy; i++)
		if (strcmp(st->legacy[i].service, service) == 0)
			return &st->legacy[i];
	return NULL;
}

/* The once-a-day rule: set *T to NOW if NOW is on a later UTC day. */
static int bump_daily(time_t *t, time_t now)
{
	if (now < 0 || now / 86400 <= *t / 86400)
		return 0;
	*t = now;
	return 1;
}

int sd_state_observe(struct sd_state *st, enum sd_seen_class cls, const char *service, time_t now)
{
	int changed = 0;
	size_t i, oldest = 0;

	if ((unsigned)cls >= SD_SEEN_NCLASS)
		return 0;
	changed |= bump_daily(&st->last_seen, now);
	changed |= bump_daily(&st->seen_class[cls], now);
	if (cls != SD_SEEN_LEGACY)
		return changed;
	if (service == NULL || !service_name_ok(service))
		service = "-";
	for (i = 0; i < st->nlegacy; i++) {
		if (strcmp(st->legacy[i].service, service) == 0)
			return changed | bump_daily(&st->legacy[i].last, now);
		if (st->legacy[i].last < st->legacy[oldest].last)
			oldest = i;
	}
	if (now < 0)
		return changed;
	i = st->nlegacy < SD_MAX_LEGACY ? st->nlegacy++ : oldest;
	memcpy(st->legacy[i].service, service, strlen(service) + 1);
	st->legacy[i].last = now;
	return 1;
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
