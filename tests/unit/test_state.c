#include "config.h"

/* test_state.c - the state and secret text formats, base32, and the state
 * directory store (modes, hostile files, locking). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/counters.h"
#include "../../src/lib/state.h"
#include "../../src/lib/store.h"

#define T0 ((time_t)1795442700) /* 2026-11-23T14:05:00Z */

/* ---- helpers --------------------------------------------------------- */

static int parse_text(const char *text, struct sd_state *st, char *why, size_t whylen)
{
	return sd_state_parse(text, strlen(text), st, why, whylen);
}

static void fill_state(struct sd_state *st)
{
	memset(st, 0, sizeof(*st));
	st->grace_start = T0;
	st->grace_ended = T0 + 14 * 86400;
	st->enrolled = T0 + 86400;
	st->last_step = 59848123;
	st->last_totp = T0 + 90000;
	st->failures = 3;
	st->locked_until = T0 + 91000;
	st->compromised = 1;
	st->compromised_at = T0 + 1000;
	snprintf(st->compromised_reason, sizeof(st->compromised_reason), "%s",
		 "password found in leak list (k-anon, 12 hits)");
	st->password_reset = 1;
	st->nloc = 3;
	snprintf(st->loc[0].net, sizeof(st->loc[0].net), "192.0.2.0/24");
	st->loc[0].last_totp = T0 + 5;
	snprintf(st->loc[1].net, sizeof(st->loc[1].net), "2001:db8:1:2::/64");
	st->loc[1].last_totp = T0 + 6;
	snprintf(st->loc[2].net, sizeof(st->loc[2].net), "host-1.example.org");
	st->loc[2].last_totp = T0 - 86400;
}

static void assert_state_equal(const struct sd_state *a, const struct sd_state *b)
{
	size_t i;

	assert_int_equal(a->grace_start, b->grace_start);
	assert_int_equal(a->grace_ended, b->grace_ended);
	assert_int_equal(a->enrolled, b->enrolled);
	assert_int_equal(a->last_step, b->last_step);
	assert_int_equal(a->last_totp, b->last_totp);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->locked_until, b->locked_until);
	assert_int_equal(a->compromised, b->compromised);
	assert_int_equal(a->compromised_at, b->compromised_at);
	assert_string_equal(a->compromised_reason, b->compromised_reason);
	assert_int_equal(a->password_reset, b->password_reset);
	assert_int_equal(a->nloc, b->nloc);
	for (i = 0; i < a->nloc; i++) {
		assert_string_equal(a->loc[i].net, b->loc[i].net);
		assert_int_equal(a->loc[i].last_totp, b->loc[i].last_totp);
	}
}

/* ---- sd_state_format / sd_state_parse -------------------------------- */

static void test_state_round_trip(void **unused)
{
	struct sd_state st, back;
	char why[200] = "";
	char *text;
	size_t len;

	fill_state(&st);
	assert_int_equal(sd_state_format(&st, "alice", &text, &len), 0);
	assert_int_equal(strlen(text), len);
	/* the documented, human-readable lines */
	assert_non_null(strstr(text, "alice"));
	assert_non_null(strstr(text, "\nversion 1\n"));
	assert_non_null(strstr(text, "\ngrace_start 2026-11-23T14:05:00Z\n"));
	assert_non_null(strstr(text, "\ngrace_ended 2026-12-07T14:05:00Z\n"));
	assert_non_null(strstr(text, "\nenrolled 2026-11-24T14:05:00Z\n"));
	assert_non_null(strstr(text, "\nlast_step 59848123\n"));
	assert_non_null(strstr(text, "\nfailures 3\n"));
	assert_non_null(strstr(text, "\ncompromised 2026-11-23T14:21:40Z password found in leak "
				     "list (k-anon, 12 hits)\n"));
	assert_non_null(strstr(text, "\npassword_reset yes\n"));
	assert_non_null(strstr(text, "\nlocation 192.0.2.0/24 2026-11-23T14:05:05Z\n"));
	assert_non_null(strstr(text, "\nlocation host-1.example.org 2026-11-22T14:05:00Z\n"));

	memset(&back, 0x5a, sizeof(back));
	if (sd_state_parse(text, len, &back, why, sizeof(why)) != 0)
		fail_msg("parse of formatted state failed: %s\n%s", why, text);
	assert_state_equal(&st, &back);
	free(text);
}

static void test_state_round_trip_empty(void **unused)
{
	struct sd_state st, back;
	char *text;
	size_t len;

	memset(&st, 0, sizeof(st));
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	/* unset keys are left out */
	assert_null(strstr(text, "grace_start"));
	assert_null(strstr(text, "grace_ended"));
	assert_null(strstr(text, "failures"));
	assert_null(strstr(text, "compromised"));
	assert_null(strstr(text, "location"));
	assert_null(strstr(text, "password_reset"));
	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(sd_state_parse(text, len, &back, NULL, 0), 0);
	assert_state_equal(&st, &back);
	free(text);
}

static void test_state_round_trip_compromised_no_reason(void **unused)
{
	struct sd_state st, back;
	char *text;
	size_t len;

	memset(&st, 0, sizeof(st));
	st.compromised = 1;
	st.compromised_at = T0;
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	assert_non_null(strstr(text, "\ncompromised 2026-11-23T14:05:00Z\n"));
	assert_int_equal(sd_state_parse(text, len, &back, NULL, 0), 0);
	assert_state_equal(&st, &back);
	free(text);
}

static void test_state_reason_control_chars(void **unused)
{
	struct sd_state st, back;
	char *text;
	size_t len;

	/* a reason with a newline must not be able to add a line to the file */
	memset(&st, 0, sizeof(st));
	st.compromised = 1;
	st.compromised_at = T0;
	snprintf(st.compromised_reason, sizeof(st.compromised_reason), "x\nfailures 0\rz\t");
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	assert_null(strstr(text, "\nfailures"));
	assert_int_equal(sd_state_parse(text, len, &back, NULL, 0), 0);
	assert_int_equal(back.compromised, 1);
	assert_int_equal(back.failures, 0);
	assert_null(strchr(back.compromised_reason, '\n'));
	assert_string_equal(back.compromised_reason, "x failures 0 z ");
	free(text);
}

static void test_state_parse_handwritten(void **unused)
{
	struct sd_state st;
	char why[200] = "";
	int rc;

	rc = parse_text("# written by hand\n"
			"\n"
			"version 1\n"
			"location local 2026-11-23T14:05:00Z\n"
			"failures 0\n"
			"last_totp 2026-11-23T14:05:10Z\n",
			&st, why, sizeof(why));
	if (rc != 0)
		fail_msg("%s", why);
	assert_int_equal(st.nloc, 1);
	assert_string_equal(st.loc[0].net, "local");
	assert_int_equal(st.loc[0].last_totp, T0);
	assert_int_equal(st.last_totp, T0 + 10);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.enrolled, 0);
	assert_int_equal(st.compromised, 0);

	/* no trailing newline */
	assert_int_equal(parse_text("version 1\nfailures 7", &st, NULL, 0), 0);
	assert_int_equal(st.failures, 7);
}

/* TEXT must be refused with a reason that names LINE (0: any). */
static void state_bad(const char *text, size_t len, int line)
{
	struct sd_state st;
	char why[200] = "";
	char want[32];

	if (sd_state_parse(text, len, &st, why, sizeof(why)) != -EINVAL)
		fail_msg("accepted:\n%s", text);
	assert_true(why[0] != '\0');
	if (line > 0) {
		snprintf(want, sizeof(want), "line %d:", line);
		if (strstr(why, want) == NULL)
			fail_msg("reason \"%s\" does not name %s", why, want);
	}
}

#define BAD(text, line) state_bad(text, sizeof(text) - 1, line)

static void test_state_parse_version(void **unused)
{
	BAD("", 0);
	BAD("# only a comment\n", 0);
	BAD("failures 1\n", 1);
	BAD("failures 1\nversion 1\n", 1);
	BAD("location 192.0.2.0/24 2026-11-23T14:05:00Z\nversion 1\n", 1);
	BAD("version 2\n", 1);
	BAD("version 0\n", 1);
	BAD("version x\n", 1);
	BAD("version\n", 1);
	BAD("version \n", 1);
	BAD("version 1 \n", 1);
	BAD("version 1\nversion 1\n", 2);
}

static void test_state_parse_keys(void **unused)
{
	BAD("version 1\nshoe_size 42\n", 2);
	BAD("version 1\nFailures 1\n", 2);
	BAD("version 1\nfailures 1\nfailures 2\n", 3);
	BAD("version 1\ngrace_start 2026-11-23T14:05:00Z\ngrace_start 2026-11-23T14:05:00Z\n", 3);
	BAD("version 1\ngrace_ended 2026-11-23T14:05:00Z\ngrace_ended 2026-11-23T14:05:00Z\n", 3);
	BAD("version 1\ncompromised 2026-11-23T14:05:00Z\ncompromised 2026-11-23T14:05:00Z\n", 3);
	BAD("version 1\nfailures\n", 2);
	BAD("version 1\nfailures \n", 2);
	BAD("version 1\n failures 1\n", 2);
	BAD("version 1\npassword_reset no\n", 2);
}

static void test_state_parse_values(void **unused)
{
	/* times */
	BAD("version 1\ngrace_start 2026-02-30T00:00:00Z\n", 2);
	BAD("version 1\ngrace_ended yes\n", 2);
	BAD("version 1\nenrolled 2026-11-23 14:05:00\n", 2);
	BAD("version 1\nlast_totp 1795442700\n", 2);
	BAD("version 1\nlocked_until 2026-11-23T14:05:00Z junk\n", 2);
	BAD("version 1\ncompromised yesterday\n", 2);
	BAD("version 1\nlocation 192.0.2.0/24 2026-13-01T00:00:00Z\n", 2);
	BAD("version 1\nlocation 192.0.2.0/24\n", 2);
	/* numbers */
	BAD("version 1\nfailures x\n", 2);
	BAD("version 1\nfailures -1\n", 2);
	BAD("version 1\nfailures 1000001\n", 2);
	BAD("version 1\nfailures 99999999999999999999999\n", 2);
	BAD("version 1\nlast_step 12ab\n", 2);
	BAD("version 1\nlast_step 1099511627777\n", 2);
	BAD("version 1\nlast_step 18446744073709551616\n", 2);
}

static void test_state_parse_locations(void **unused)
{
	char text[8192], name[SD_LOCATION_LEN + 8];
	struct sd_state st;
	size_t len;
	int i;

	/* exactly SD_MAX_LOCATIONS is fine, one more is not */
	len = (size_t)snprintf(text, sizeof(text), "version 1\n");
	for (i = 0; i < SD_MAX_LOCATIONS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"location 10.0.%d.0/24 2026-11-23T14:05:00Z\n", i);
	assert_int_equal(sd_state_parse(text, len, &st, NULL, 0), 0);
	assert_int_equal(st.nloc, SD_MAX_LOCATIONS);
	snprintf(text + len, sizeof(text) - len, "location 10.1.0.0/24 2026-11-23T14:05:00Z\n");
	state_bad(text, strlen(text), SD_MAX_LOCATIONS + 2);

	BAD("version 1\nlocation 192.0.2.0/24 2026-11-23T14:05:00Z\n"
	    "location 192.0.2.0/24 2026-11-24T14:05:00Z\n",
	    3);
	BAD("version 1\nlocation a b 2026-11-23T14:05:00Z\n", 2);
	BAD("version 1\nlocation  2026-11-23T14:05:00Z\n", 2);

	/* a name of SD_LOCATION_LEN - 1 bytes fits, SD_LOCATION_LEN does not */
	memset(name, 'h', SD_LOCATION_LEN - 1);
	name[SD_LOCATION_LEN - 1] = '\0';
	snprintf(text, sizeof(text), "version 1\nlocation %s 2026-11-23T14:05:00Z\n", name);
	assert_int_equal(parse_text(text, &st, NULL, 0), 0);
	assert_string_equal(st.loc[0].net, name);
	memset(name, 'h', SD_LOCATION_LEN);
	name[SD_LOCATION_LEN] = '\0';
	snprintf(text, sizeof(text), "version 1\nlocation %s 2026-11-23T14:05:00Z\n", name);
	state_bad(text, strlen(text), 2);
}

static void test_state_parse_control_chars(void **unused)
{
	BAD("version 1\r\n", 1);
	BAD("version 1\nfailures 1\r\n", 2);
	BAD("version 1\nfailures\t1\n", 2);
	BAD("version 1\n# a comment with an \x1b escape\n", 2);
	BAD("version 1\nfailures 1\x7f\n", 2);
	/* a NUL inside the buffer is not the end of the text */
	BAD("version 1\nfailures 1\0\n", 2);
	BAD("version 1\n\0failures 1\n", 2);
}

static void test_state_parse_long_line(void **unused)
{
	char text[1200];
	struct sd_state st;

	/* 511 bytes is the longest line */
	memset(text, 0, sizeof(text));
	memcpy(text, "version 1\n#", 11);
	memset(text + 11, 'a', 510);
	text[521] = '\n';
	assert_int_equal(parse_text(text, &st, NULL, 0), 0);

	memset(text, 0, sizeof(text));
	memcpy(text, "version 1\n#", 11);
	memset(text + 11, 'a', 1000);
	text[1011] = '\n';
	state_bad(text, strlen(text), 2);
}

static void test_state_parse_max_size(void **unused)
{
	char *text = malloc(SD_STATE_MAX_SIZE + 2);
	struct sd_state st;
	size_t i;

	assert_non_null(text);
	/* "version 1\n" then comment lines of 100 bytes, to exactly the limit */
	memcpy(text, "version 1\n", 10);
	for (i = 10; i < SD_STATE_MAX_SIZE; i++)
		text[i] = (i - 10) % 100 == 99 ? '\n' : '#';
	text[SD_STATE_MAX_SIZE - 1] = '\n';
	assert_int_equal(sd_state_parse(text, SD_STATE_MAX_SIZE, &st, NULL, 0), 0);
	/* one byte more */
	text[SD_STATE_MAX_SIZE] = '\n';
	state_bad(text, SD_STATE_MAX_SIZE + 1, 0);
	free(text);
}

/* ---- locations in the state ----------------------------------------- */

static void test_touch_loc_update_and_add(void **unused)
{
	struct sd_state st;
	const struct sd_loc *l;

	memset(&st, 0, sizeof(st));
	assert_null(sd_state_find_loc(&st, "192.0.2.0/24"));
	sd_state_touch_loc(&st, "192.0.2.0/24", T0);
	assert_int_equal(st.nloc, 1);
	sd_state_touch_loc(&st, "local", T0 + 10);
	assert_int_equal(st.nloc, 2);
	l = sd_state_find_loc(&st, "192.0.2.0/24");
	assert_non_null(l);
	assert_int_equal(l->last_totp, T0);

	/* touching again updates the time, not the count */
	sd_state_touch_loc(&st, "192.0.2.0/24", T0 + 100);
	assert_int_equal(st.nloc, 2);
	l = sd_state_find_loc(&st, "192.0.2.0/24");
	assert_int_equal(l->last_totp, T0 + 100);
	assert_int_equal(sd_state_find_loc(&st, "local")->last_totp, T0 + 10);

	/* names are compared exactly */
	assert_null(sd_state_find_loc(&st, "192.0.2.0"));
	assert_null(sd_state_find_loc(&st, "LOCAL"));

	/* a name too long to store is ignored, never truncated into another */
	{
		char name[SD_LOCATION_LEN + 4];

		memset(name, 'x', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		sd_state_touch_loc(&st, name, T0);
		assert_int_equal(st.nloc, 2);
	}
}

static void test_touch_loc_evicts_oldest(void **unused)
{
	struct sd_state st;
	char name[32];
	int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < SD_MAX_LOCATIONS; i++) {
		snprintf(name, sizeof(name), "10.0.%d.0/24", i);
		/* entry 7 is the oldest, entry 0 the second oldest */
		sd_state_touch_loc(&st, name, i == 7 ? T0 - 1000 : T0 + i);
	}
	assert_int_equal(st.nloc, SD_MAX_LOCATIONS);

	sd_state_touch_loc(&st, "203.0.113.0/24", T0 + 500);
	assert_int_equal(st.nloc, SD_MAX_LOCATIONS);
	assert_null(sd_state_find_loc(&st, "10.0.7.0/24"));
	assert_non_null(sd_state_find_loc(&st, "203.0.113.0/24"));
	assert_int_equal(sd_state_find_loc(&st, "203.0.113.0/24")->last_totp, T0 + 500);
	for (i = 0; i < SD_MAX_LOCATIONS; i++) {
		if (i == 7)
			continue;
		snprintf(name, sizeof(name), "10.0.%d.0/24", i);
		assert_non_null(sd_state_find_loc(&st, name));
	}

	/* the next one goes in place of entry 0, now the oldest */
	sd_state_touch_loc(&st, "198.51.100.0/24", T0 + 600);
	assert_int_equal(st.nloc, SD_MAX_LOCATIONS);
	assert_null(sd_state_find_loc(&st, "10.0.0.0/24"));
	assert_non_null(sd_state_find_loc(&st, "203.0.113.0/24"));
	assert_non_null(sd_state_find_loc(&st, "198.51.100.0/24"));
}

/* ---- secrets --------------------------------------------------------- */

static void fill_secret(struct sd_secret *sec, size_t keylen, size_t nrec)
{
	size_t i;

	memset(sec, 0, sizeof(*sec));
	for (i = 0; i < keylen; i++)
		sec->key[i] = (unsigned char)(i * 37 + 11);
	sec->keylen = keylen;
	for (i = 0; i < nrec; i++)
		snprintf(sec->recovery[i], SD_RECOVERY_HASH, "$6$salt%zu$hashvalue%zu", i, i);
	sec->nrecovery = nrec;
}

static void test_secret_round_trip(void **unused)
{
	static const size_t lens[] = {10, 20, 32, SD_MAX_KEY};
	struct sd_secret sec, back;
	char why[200] = "";
	size_t i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *text;
		size_t len;

		fill_secret(&sec, lens[i], i * 3);
		assert_int_equal(sd_secret_format(&sec, &text, &len), 0);
		assert_int_equal(strlen(text), len);
		memset(&back, 0x5a, sizeof(back));
		if (sd_secret_parse(text, len, &back, why, sizeof(why)) != 0)
			fail_msg("%s\n%s", why, text);
		assert_int_equal(back.keylen, sec.keylen);
		assert_memory_equal(back.key, sec.key, sec.keylen);
		assert_int_equal(back.nrecovery, sec.nrecovery);
		for (j = 0; j < sec.nrecovery; j++)
			assert_string_equal(back.recovery[j], sec.recovery[j]);
		free(text);
	}
}

static void test_secret_parse(void **unused)
{
	struct sd_secret sec;
	char why[200];
	const char *t;

	t = "version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nrecovery $6$a$b\nrecovery $6$c$d\n";
	assert_int_equal(sd_secret_parse(t, strlen(t), &sec, why, sizeof(why)), 0);
	assert_int_equal(sec.keylen, 20);
	assert_memory_equal(sec.key, "12345678901234567890", 20);
	assert_int_equal(sec.nrecovery, 2);
	assert_string_equal(sec.recovery[0], "$6$a$b");
	assert_string_equal(sec.recovery[1], "$6$c$d");

	/* the key is case-insensitive and may be grouped */
	t = "version 1\nkey gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n";
	assert_int_equal(sd_secret_parse(t, strlen(t), &sec, why, sizeof(why)), 0);
	assert_memory_equal(sec.key, "12345678901234567890", 20);
	assert_int_equal(sec.nrecovery, 0);

	/* 10 bytes is the shortest key */
	t = "version 1\nkey AAAQEAYEAUDAOCAJ\n";
	assert_int_equal(sd_secret_parse(t, strlen(t), &sec, why, sizeof(why)), 0);
	assert_int_equal(sec.keylen, 10);
}

static void secret_bad(const char *t)
{
	struct sd_secret sec;
	char why[200] = "";

	if (sd_secret_parse(t, strlen(t), &sec, why, sizeof(why)) != -EINVAL)
		fail_msg("accepted:\n%s", t);
	assert_true(why[0] != '\0');
}

static void test_secret_parse_bad(void **unused)
{
	char text[4096];
	size_t len;
	int i;

	secret_bad("");
	secret_bad("version 1\n");			      /* no key */
	secret_bad("version 1\nrecovery $6$a$b\n");	      /* no key */
	secret_bad("key GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"); /* no version */
	secret_bad("version 2\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
	secret_bad("version 1\nversion 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
	secret_bad("version 1\nkey AAAQEAYEAUDAOCA\n");			 /* 9 bytes: too short */
	secret_bad("version 1\nkey GEZDGNBV\n");			 /* 5 bytes */
	secret_bad("version 1\nkey GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ\n"); /* '1' */
	secret_bad("version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"
		   "key GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
	secret_bad("version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nsalt x\n");
	secret_bad("version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nrecovery a b\n");
	secret_bad("version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\r\n");

	/* SD_MAX_RECOVERY codes are fine, one more is not */
	len = (size_t)snprintf(text, sizeof(text),
			       "version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
	for (i = 0; i < SD_MAX_RECOVERY; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "recovery $6$s$h%d\n", i);
	{
		struct sd_secret sec;

		assert_int_equal(sd_secret_parse(text, len, &sec, NULL, 0), 0);
		assert_int_equal(sec.nrecovery, SD_MAX_RECOVERY);
	}
	snprintf(text + len, sizeof(text) - len, "recovery $6$s$extra\n");
	secret_bad(text);
}

/* ---- base32 ---------------------------------------------------------- */

static void test_base32_rfc4648(void **unused)
{
	static const char *const plain[] = {"f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"MY",	     "MZXQ",	 "MZXW6",
					  "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
	static const char *const padded[] = {
		"MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
	unsigned char out[16];
	char b32[32];
	size_t i, n;

	for (i = 0; i < 6; i++) {
		assert_int_equal(sd_base32_encode((const unsigned char *)plain[i], strlen(plain[i]),
						  b32, sizeof(b32)),
				 0);
		assert_string_equal(b32, enc[i]);
		n = 99;
		assert_int_equal(sd_base32_decode(enc[i], out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(out, plain[i], n);
		n = 99;
		assert_int_equal(sd_base32_decode(padded[i], out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(out, plain[i], n);
	}
}

static void test_base32_round_trip(void **unused)
{
	unsigned char in[SD_MAX_KEY], out[SD_MAX_KEY];
	char b32[SD_MAX_KEY * 2];
	size_t len, i, n;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 151 + 7);
	for (len = 1; len <= sizeof(in); len++) {
		assert_int_equal(sd_base32_encode(in, len, b32, sizeof(b32)), 0);
		assert_int_equal(strlen(b32), (len * 8 + 4) / 5);
		assert_int_equal(sd_base32_decode(b32, out, sizeof(out), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
	}
}

static void test_base32_lenient_input(void **unused)
{
	unsigned char out[32];
	size_t n;

	assert_int_equal(sd_base32_decode("mzxw6ytboi", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(sd_base32_decode("MzXw 6yTb oI", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(sd_base32_decode("MZXW-6YTB-OI==", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
}

static void test_base32_invalid(void **unused)
{
	static const char *const bad[] = {
		"",	 "   ",	      "====",	"MZXW0",     "MZXW1",  "MZXW8",
		"MZXW9", "MZ!W",      "MZ_W",	"MZ\tW",     "MZ\nXW", "MZXW\xc3\xa9",
		"MY=A",	 "MY======A", "MY==  ", "MZXW6YTB+",
	};
	unsigned char out[32];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sd_base32_decode(bad[i], out, sizeof(out), &n) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void test_base32_bounds(void **unused)
{
	const unsigned char in[6] = {'f', 'o', 'o', 'b', 'a', 'r'};
	unsigned char out[8];
	char b32[16];
	size_t n;

	/* the decoder never writes more than OUTMAX bytes */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(sd_base32_decode("MZXW6YTBOI", out, 5, &n), -EINVAL);
	assert_int_equal(out[5], 0xee);
	assert_int_equal(sd_base32_decode("MZXW6YTBOI", out, 6, &n), 0);
	assert_int_equal(n, 6);
	/* the encoder needs room for the NUL */
	assert_int_equal(sd_base32_encode(in, 6, b32, 10), -EINVAL);
	assert_int_equal(sd_base32_encode(in, 6, b32, 11), 0);
	assert_string_equal(b32, "MZXW6YTBOI");
	assert_int_equal(sd_base32_encode(in, 0, b32, sizeof(b32)), 0);
	assert_string_equal(b32, "");
}

/* ---- the state directory store --------------------------------------- */

struct fx {
	char dir[64];
	struct sd_config cfg;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int store_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/sd-state-XXXXXX");
	if (mkdtemp(fx->dir) == NULL || sd_config_defaults(&fx->cfg) != 0) {
		free(fx);
		return -1;
	}
	free(fx->cfg.state_dir);
	fx->cfg.state_dir = strdup(fx->dir);
	if (fx->cfg.state_dir == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int store_teardown(void **state)
{
	struct fx *fx = *state;
	int rc;

	rc = nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	sd_config_free(&fx->cfg);
	free(fx);
	return rc;
}

static void set_state_dir(struct fx *fx, const char *sub)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, sub);
	free(fx->cfg.state_dir);
	fx->cfg.state_dir = strdup(path);
	assert_non_null(fx->cfg.state_dir);
}

static void path_in(const struct fx *fx, const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", fx->dir, rel);
}

static void write_at(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The whole content of PATH (malloc'd), or NULL. */
static char *slurp(const char *path)
{
	char *buf = calloc(1, 8192);
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	ssize_t n;

	assert_non_null(buf);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	n = read(fd, buf, 8191);
	close(fd);
	assert_true(n >= 0);
	return buf;
}

static struct sd_store *open_store(struct fx *fx, unsigned flags)
{
	struct sd_store *s = NULL;
	struct sd_err err = {""};
	int rc = sd_store_dir_open(&fx->cfg, flags, &s, &err);

	if (rc != 0)
		fail_msg("sd_store_dir_open: %d %s", rc, err.msg);
	assert_non_null(s);
	return s;
}

static void save_locked(struct sd_store *s, const char *user, const struct sd_state *st)
{
	struct sd_err err = {""};

	assert_int_equal(sd_store_lock(s, user, &err), 0);
	if (sd_store_save(s, user, st, 0, &err) != 0)
		fail_msg("save %s: %s", user, err.msg);
	sd_store_unlock(s);
}

static void assert_mode(const char *path, mode_t type, mode_t perm)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		fail_msg("%s: missing", path);
	assert_int_equal(sb.st_mode & S_IFMT, type);
	assert_int_equal(sb.st_mode & 07777, perm);
}

static void test_store_open_creates(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s;
	char p[128];

	s = open_store(fx, 0);
	path_in(fx, "users", p, sizeof(p));
	assert_mode(p, S_IFDIR, 0700);
	path_in(fx, "secrets", p, sizeof(p));
	assert_mode(p, S_IFDIR, 0700);
	path_in(fx, "locks", p, sizeof(p));
	assert_mode(p, S_IFDIR, 0700);
	sd_store_close(s);

	/* opening again over existing directories is fine */
	s = open_store(fx, 0);
	sd_store_close(s);

	/* a missing state directory is created too, 0700 */
	set_state_dir(fx, "new");
	s = open_store(fx, 0);
	path_in(fx, "new", p, sizeof(p));
	assert_mode(p, S_IFDIR, 0700);
	path_in(fx, "new/users", p, sizeof(p));
	assert_mode(p, S_IFDIR, 0700);
	sd_store_close(s);
}

static void test_store_open_dispatch(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = NULL;
	struct sd_err err = {""};

	assert_int_equal(sd_store_open(&fx->cfg, 0, &s, &err), 0);
	assert_non_null(s);
	sd_store_close(s);
	sd_store_close(NULL);

	fx->cfg.state_backend = SD_BACKEND_ETCD;
	s = NULL;
	assert_int_not_equal(sd_store_open(&fx->cfg, 0, &s, &err), 0);
	assert_null(s);
	assert_true(err.msg[0] != '\0');
	fx->cfg.state_backend = SD_BACKEND_DIR;
}

static void test_store_load_missing(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err = {""};

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(sd_store_load(s, "alice", &st, &err), -ENOENT);
	assert_int_equal(st.grace_start, 0);
	assert_int_equal(st.nloc, 0);
	assert_int_equal(sd_store_load_secret(s, "alice", &sec, &err), -ENOENT);
	sd_store_close(s);
}

static void test_store_round_trip(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st, back;
	struct sd_err err = {""};
	char p[128];
	struct stat sb;

	fill_state(&st);
	save_locked(s, "alice", &st);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), 0);
	assert_state_equal(&st, &back);

	path_in(fx, "users/alice", p, sizeof(p));
	assert_mode(p, S_IFREG, 0600);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_nlink, 1);
	path_in(fx, "users/.alice.tmp", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);

	/* a second save replaces the first */
	st.failures = 0;
	st.nloc = 1;
	save_locked(s, "alice", &st);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), 0);
	assert_state_equal(&st, &back);

	/* NOSYNC saves are complete too, and sync makes them durable */
	st.failures = 2;
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_equal(sd_store_save(s, "alice", &st, SD_SAVE_NOSYNC, &err), 0);
	assert_int_equal(sd_store_sync(s, "alice", &err), 0);
	sd_store_unlock(s);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), 0);
	assert_int_equal(back.failures, 2);

	/* a new handle reads the same */
	sd_store_close(s);
	s = open_store(fx, SD_STORE_READONLY);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), 0);
	assert_state_equal(&st, &back);
	sd_store_close(s);
}

static void test_store_secret_round_trip(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_secret sec, back;
	struct sd_err err = {""};
	char p[128];

	fill_secret(&sec, 20, 4);
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_equal(sd_store_save_secret(s, "alice", &sec, &err), 0);
	sd_store_unlock(s);
	assert_int_equal(sd_store_load_secret(s, "alice", &back, &err), 0);
	assert_int_equal(back.keylen, 20);
	assert_memory_equal(back.key, sec.key, 20);
	assert_int_equal(back.nrecovery, 4);
	assert_string_equal(back.recovery[3], sec.recovery[3]);
	path_in(fx, "secrets/alice", p, sizeof(p));
	assert_mode(p, S_IFREG, 0600);
	/* the secret is not in the inspectable state */
	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
	sd_store_close(s);
}

static void test_store_save_without_lock(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err = {""};
	char p[128];

	fill_state(&st);
	fill_secret(&sec, 20, 0);
	assert_int_not_equal(sd_store_save(s, "alice", &st, 0, &err), 0);
	assert_true(err.msg[0] != '\0');
	assert_int_not_equal(sd_store_save_secret(s, "alice", &sec, &err), 0);
	assert_int_not_equal(sd_store_remove(s, "alice", &err), 0);
	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
	path_in(fx, "secrets/alice", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);

	/* a lock for one user does not cover another */
	assert_int_equal(sd_store_lock(s, "bob", &err), 0);
	assert_int_equal(sd_store_save(s, "bob", &st, 0, &err), 0);
	sd_store_unlock(s);
	assert_int_not_equal(sd_store_save(s, "bob", &st, 0, &err), 0);
	sd_store_close(s);
}

static void test_store_invalid_names(void **state)
{
	static const char *const bad[] = {
		"",   "../etc", ".alice.tmp", "a/b",
		"-x", "a b",	"x\n",	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_err err = {""};
	size_t i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sd_store_load(s, bad[i], &st, &err);

		if (rc == 0 || rc == -ENOENT)
			fail_msg("load accepted the name \"%s\" (%d)", bad[i], rc);
		assert_int_not_equal(sd_store_lock(s, bad[i], &err), 0);
	}
	sd_store_close(s);
}

static void test_store_corrupt(void **state)
{
	static const char *const bodies[] = {"garbage\n", "", "version 2\n",
					     "version 1\nfailures x\n"};
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err;
	char p[128];
	size_t i;

	path_in(fx, "users/alice", p, sizeof(p));
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		unlink(p);
		write_at(p, bodies[i], strlen(bodies[i]), 0600);
		memset(&err, 0, sizeof(err));
		assert_int_equal(sd_store_load(s, "alice", &st, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "alice"));
	}

	path_in(fx, "secrets/alice", p, sizeof(p));
	write_at(p, "version 1\n", 10, 0600);
	assert_int_equal(sd_store_load_secret(s, "alice", &sec, &err), -EBADMSG);
	sd_store_close(s);
}

static const char valid_state[] = "version 1\nfailures 4\n";
static const char valid_secret[] = "version 1\nkey GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n";

/* Loading USER must fail with anything but -ENOENT. */
static void load_refused(struct sd_store *s, const char *user)
{
	struct sd_state st;
	struct sd_err err = {""};
	int rc = sd_store_load(s, user, &st, &err);

	if (rc == 0 || rc == -ENOENT)
		fail_msg("load of a hostile users/%s gave %d", user, rc);
	assert_true(err.msg[0] != '\0');
}

static void test_store_symlink(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_err err = {""};
	char target[128], link[128], *before, *after;

	path_in(fx, "target", target, sizeof(target));
	write_at(target, valid_state, strlen(valid_state), 0600);
	path_in(fx, "users/alice", link, sizeof(link));
	assert_int_equal(symlink(target, link), 0);
	before = slurp(target);

	load_refused(s, "alice");
	/* a save replaces the link, never writes through it */
	fill_state(&st);
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	(void)sd_store_save(s, "alice", &st, 0, &err);
	sd_store_unlock(s);
	after = slurp(target);
	assert_string_equal(before, after);
	assert_mode(target, S_IFREG, 0600);
	free(before);
	free(after);

	/* a symlinked lock file is refused too */
	path_in(fx, "locks/bob", link, sizeof(link));
	assert_int_equal(symlink(target, link), 0);
	assert_int_not_equal(sd_store_lock(s, "bob", &err), 0);
	sd_store_close(s);
}

static void test_store_fifo(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_secret sec;
	struct sd_err err = {""};
	char p[128];

	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0600), 0);
	path_in(fx, "secrets/alice", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10); /* a blocking open would hang: SIGALRM fails the test instead */
	load_refused(s, "alice");
	assert_int_not_equal(sd_store_load_secret(s, "alice", &sec, &err), 0);
	alarm(0);
	path_in(fx, "users/alice", p, sizeof(p));
	assert_mode(p, S_IFIFO, 0600);
	sd_store_close(s);
}

static void test_store_hard_link(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_err err = {""};
	char other[128], p[128], *after;

	path_in(fx, "other", other, sizeof(other));
	write_at(other, valid_state, strlen(valid_state), 0600);
	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(link(other, p), 0);

	load_refused(s, "alice");
	fill_state(&st);
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	(void)sd_store_save(s, "alice", &st, 0, &err);
	sd_store_unlock(s);
	after = slurp(other);
	assert_string_equal(after, valid_state);
	free(after);
	sd_store_close(s);
}

static void test_store_directory(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_err err = {""};
	char p[128];

	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	load_refused(s, "alice");
	fill_state(&st);
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_not_equal(sd_store_save(s, "alice", &st, 0, &err), 0);
	sd_store_unlock(s);
	assert_mode(p, S_IFDIR, 0700);
	sd_store_close(s);
}

static void test_store_loose_mode(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_secret sec;
	struct sd_err err = {""};
	char p[128], *after;

	path_in(fx, "users/alice", p, sizeof(p));
	write_at(p, valid_state, strlen(valid_state), 0644);
	load_refused(s, "alice");
	after = slurp(p);
	assert_string_equal(after, valid_state);
	free(after);
	assert_mode(p, S_IFREG, 0644);

	path_in(fx, "users/bob", p, sizeof(p));
	write_at(p, valid_state, strlen(valid_state), 0640);
	load_refused(s, "bob");

	path_in(fx, "secrets/alice", p, sizeof(p));
	write_at(p, valid_secret, strlen(valid_secret), 0604);
	assert_int_not_equal(sd_store_load_secret(s, "alice", &sec, &err), 0);
	sd_store_close(s);
}

static void test_store_foreign_owner(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s;
	char p[128];

	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	s = open_store(fx, 0);
	path_in(fx, "users/alice", p, sizeof(p));
	write_at(p, valid_state, strlen(valid_state), 0600);
	assert_int_equal(chown(p, 65534, 65534), 0);
	load_refused(s, "alice");
	sd_store_close(s);
}

static void test_store_too_large(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	char *big = malloc(SD_STATE_MAX_SIZE + 1);
	char p[128];

	assert_non_null(big);
	memset(big, '#', SD_STATE_MAX_SIZE + 1);
	memcpy(big, "version 1\n", 10);
	path_in(fx, "users/alice", p, sizeof(p));
	write_at(p, big, SD_STATE_MAX_SIZE + 1, 0600);
	load_refused(s, "alice");
	free(big);
	sd_store_close(s);
}

static void test_store_unsafe_dirs(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = NULL;
	struct sd_err err = {""};
	char p[128], q[128];

	/* the state directory itself */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	assert_int_equal(sd_store_dir_open(&fx->cfg, 0, &s, &err), -EPERM);
	assert_null(s);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(sd_store_dir_open(&fx->cfg, SD_STORE_READONLY, &s, &err), -EPERM);
	assert_int_equal(chmod(fx->dir, 0700), 0);

	/* a subdirectory */
	s = open_store(fx, 0);
	sd_store_close(s);
	s = NULL;
	path_in(fx, "users", p, sizeof(p));
	assert_int_equal(chmod(p, 0711), 0);
	assert_int_equal(sd_store_dir_open(&fx->cfg, 0, &s, &err), -EPERM);
	assert_null(s);
	assert_int_equal(chmod(p, 0700), 0);

	/* a subdirectory replaced by a symlink to a private directory */
	path_in(fx, "elsewhere", q, sizeof(q));
	assert_int_equal(mkdir(q, 0700), 0);
	path_in(fx, "secrets", p, sizeof(p));
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_int_not_equal(sd_store_dir_open(&fx->cfg, 0, &s, &err), 0);
	assert_null(s);

	/* the state directory given as a symlink */
	set_state_dir(fx, "linked");
	path_in(fx, "linked", p, sizeof(p));
	assert_int_equal(symlink(q, p), 0);
	assert_int_not_equal(sd_store_dir_open(&fx->cfg, 0, &s, &err), 0);
	assert_null(s);
}

static int count_cb(const char *user, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_store_readonly_missing(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s;
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err = {""};
	char p[128];
	int n = 0;

	set_state_dir(fx, "absent");
	s = open_store(fx, SD_STORE_READONLY);
	assert_int_equal(sd_store_load(s, "alice", &st, &err), -ENOENT);
	assert_int_equal(sd_store_load_secret(s, "alice", &sec, &err), -ENOENT);
	assert_int_equal(sd_store_list(s, count_cb, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_not_equal(sd_store_lock(s, "alice", &err), 0);
	sd_store_close(s);
	path_in(fx, "absent", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);

	/* an existing directory without subdirectories: nothing is added */
	set_state_dir(fx, "bare");
	path_in(fx, "bare", p, sizeof(p));
	assert_int_equal(mkdir(p, 0700), 0);
	s = open_store(fx, SD_STORE_READONLY);
	assert_int_equal(sd_store_load(s, "alice", &st, &err), -ENOENT);
	sd_store_close(s);
	path_in(fx, "bare/users", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
	path_in(fx, "bare/locks", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
}

static void test_store_remove(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err = {""};
	char p[128];

	fill_state(&st);
	fill_secret(&sec, 20, 1);
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_equal(sd_store_save(s, "alice", &st, 0, &err), 0);
	assert_int_equal(sd_store_save_secret(s, "alice", &sec, &err), 0);
	sd_store_unlock(s);
	save_locked(s, "bob", &st);

	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_equal(sd_store_remove(s, "alice", &err), 0);
	/* removing what is not there is fine */
	assert_int_equal(sd_store_remove(s, "alice", &err), 0);
	sd_store_unlock(s);

	assert_int_equal(sd_store_load(s, "alice", &st, &err), -ENOENT);
	assert_int_equal(sd_store_load_secret(s, "alice", &sec, &err), -ENOENT);
	path_in(fx, "users/alice", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
	path_in(fx, "secrets/alice", p, sizeof(p));
	assert_int_equal(access(p, F_OK), -1);
	/* other users are untouched */
	assert_int_equal(sd_store_load(s, "bob", &st, &err), 0);
	assert_int_equal(st.failures, 3);
	sd_store_close(s);
}

struct seen {
	char names[8][SD_LOCATION_LEN];
	int n;
	int stop_after;
};

static int list_cb(const char *user, void *ctx)
{
	struct seen *seen = ctx;

	if (seen->n < 8)
		snprintf(seen->names[seen->n], sizeof(seen->names[0]), "%s", user);
	seen->n++;
	return seen->stop_after > 0 && seen->n >= seen->stop_after ? 42 : 0;
}

static int seen_has(const struct seen *seen, const char *name)
{
	int i;

	for (i = 0; i < seen->n && i < 8; i++)
		if (strcmp(seen->names[i], name) == 0)
			return 1;
	return 0;
}

static void test_store_list(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st;
	struct sd_secret sec;
	struct sd_err err = {""};
	struct seen seen;
	char p[128];

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(sd_store_list(s, list_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 0);

	fill_state(&st);
	save_locked(s, "alice", &st);
	save_locked(s, "bob", &st);
	save_locked(s, "carol", &st);
	/* debris and a secret without state are not users with state */
	path_in(fx, "users/.x.tmp", p, sizeof(p));
	write_at(p, "junk", 4, 0600);
	path_in(fx, "users/.alice.tmp", p, sizeof(p));
	write_at(p, "junk", 4, 0600);
	fill_secret(&sec, 20, 0);
	assert_int_equal(sd_store_lock(s, "dave", &err), 0);
	assert_int_equal(sd_store_save_secret(s, "dave", &sec, &err), 0);
	sd_store_unlock(s);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(sd_store_list(s, list_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_true(seen_has(&seen, "alice"));
	assert_true(seen_has(&seen, "bob"));
	assert_true(seen_has(&seen, "carol"));

	/* a non-zero callback return stops the walk and is returned */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	assert_int_equal(sd_store_list(s, list_cb, &seen, &err), 42);
	assert_int_equal(seen.n, 2);
	sd_store_close(s);
}

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Child side of the lock test: exit 0 when everything was as expected.
 * INHERITED is the parent's handle; closing this process's copy of it does
 * not release the parent's lock (an OFD lock lives until its last
 * descriptor is closed). */
static int lock_child(struct fx *fx, struct sd_store *inherited)
{
	struct sd_store *s = NULL;
	struct sd_err err = {""};
	struct timespec t0;
	double took;
	int rc, ret = 0;

	sd_store_close(inherited);
	if (sd_store_dir_open(&fx->cfg, 0, &s, &err) != 0)
		return 10;
	/* another user's lock is free */
	if (sd_store_lock(s, "bob", &err) != 0) {
		ret = 11;
		goto out;
	}
	sd_store_unlock(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sd_store_lock(s, "alice", &err);
	took = elapsed_since(&t0);
	if (rc == 0)
		ret = 12;
	else if (rc != -ETIMEDOUT)
		ret = 13;
	else if (took < (SD_LOCK_WAIT_MS / 1000.0) * 0.9)
		ret = 14;
out:
	sd_store_close(s);
	return ret;
}

static void test_store_lock_exclusive(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0), *s2;
	struct sd_err err = {""};
	int status;
	pid_t pid;

	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	/* a handle holds one lock at a time */
	assert_int_not_equal(sd_store_lock(s, "alice", &err), 0);
	assert_int_not_equal(sd_store_lock(s, "bob", &err), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(lock_child(fx, s));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* released on unlock: another handle gets it at once */
	sd_store_unlock(s);
	s2 = open_store(fx, 0);
	assert_int_equal(sd_store_lock(s2, "alice", &err), 0);
	sd_store_unlock(s2);
	sd_store_close(s2);
	/* and the first handle can lock again */
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	sd_store_unlock(s);
	sd_store_close(s);
}

/* ---- rollout observations (last_seen*, legacy_service) ---------------- */

static void test_state_observe_round_trip(void **unused)
{
	struct sd_state st, back;
	char why[200] = "";
	char *text;
	size_t len, i;

	fill_state(&st);
	st.last_seen = T0 + 7200;
	st.seen_class[SD_SEEN_STANDARD] = T0 + 3600;
	st.seen_class[SD_SEEN_PRIVILEGED] = T0 + 7200;
	st.seen_class[SD_SEEN_LEGACY] = T0 - 86400;
	st.nlegacy = 2;
	snprintf(st.legacy[0].service, sizeof(st.legacy[0].service), "imap");
	st.legacy[0].last = T0 - 86400;
	snprintf(st.legacy[1].service, sizeof(st.legacy[1].service), "pop3");
	st.legacy[1].last = T0 - 2 * 86400;
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	assert_non_null(strstr(text, "\nlast_seen 2026-11-23T16:05:00Z\n"));
	assert_non_null(strstr(text, "\nlast_seen_standard 2026-11-23T15:05:00Z\n"));
	assert_non_null(strstr(text, "\nlast_seen_privileged 2026-11-23T16:05:00Z\n"));
	assert_non_null(strstr(text, "\nlast_seen_legacy 2026-11-22T14:05:00Z\n"));
	assert_non_null(strstr(text, "\nlegacy_service imap 2026-11-22T14:05:00Z\n"));
	assert_non_null(strstr(text, "\nlegacy_service pop3 2026-11-21T14:05:00Z\n"));
	memset(&back, 0x5a, sizeof(back));
	if (sd_state_parse(text, len, &back, why, sizeof(why)) != 0)
		fail_msg("parse of formatted state failed: %s\n%s", why, text);
	assert_state_equal(&st, &back);
	assert_int_equal(back.last_seen, st.last_seen);
	for (i = 0; i < SD_SEEN_NCLASS; i++)
		assert_int_equal(back.seen_class[i], st.seen_class[i]);
	assert_int_equal(back.nlegacy, 2);
	assert_string_equal(back.legacy[0].service, "imap");
	assert_int_equal(back.legacy[0].last, T0 - 86400);
	assert_string_equal(back.legacy[1].service, "pop3");
	assert_int_equal(back.legacy[1].last, T0 - 2 * 86400);
	free(text);

	/* unset observations are left out */
	memset(&st, 0, sizeof(st));
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	assert_null(strstr(text, "last_seen"));
	assert_null(strstr(text, "legacy_service"));
	free(text);
}

static void test_state_observe_parse_handwritten(void **unused)
{
	struct sd_state st;
	char why[200] = "";
	int rc;

	rc = parse_text("version 1\n"
			"legacy_service smtp 2026-11-23T14:05:00Z\n"
			"last_seen_legacy 2026-11-23T14:05:00Z\n"
			"last_seen 2026-11-23T14:05:00Z\n"
			"legacy_service imap 2026-11-22T14:05:00Z\n",
			&st, why, sizeof(why));
	if (rc != 0)
		fail_msg("%s", why);
	assert_int_equal(st.last_seen, T0);
	assert_int_equal(st.seen_class[SD_SEEN_LEGACY], T0);
	assert_int_equal(st.seen_class[SD_SEEN_STANDARD], 0);
	assert_int_equal(st.nlegacy, 2);
	assert_non_null(sd_state_find_legacy(&st, "imap"));
	assert_int_equal(sd_state_find_legacy(&st, "imap")->last, T0 - 86400);
	assert_null(sd_state_find_legacy(&st, "pop3"));
	/* observations never make a user look enrolled, flagged or in grace */
	assert_int_equal(st.enrolled, 0);
	assert_int_equal(st.grace_start, 0);
	assert_int_equal(st.compromised, 0);
}

static void test_state_observe_parse_bad(void **unused)
{
	char text[2048], name[SD_SERVICE_LEN + 8];
	struct sd_state st;
	size_t len;
	int i;

	/* before the version line, repeated, bad times */
	BAD("last_seen 2026-11-23T14:05:00Z\nversion 1\n", 1);
	BAD("legacy_service imap 2026-11-23T14:05:00Z\nversion 1\n", 1);
	BAD("version 1\nlast_seen 2026-11-23T14:05:00Z\nlast_seen 2026-11-23T14:05:00Z\n", 3);
	BAD("version 1\nlast_seen_standard 2026-11-23T14:05:00Z\n"
	    "last_seen_standard 2026-11-24T14:05:00Z\n",
	    3);
	BAD("version 1\nlast_seen yesterday\n", 2);
	BAD("version 1\nlast_seen_privileged 1795442700\n", 2);
	BAD("version 1\nlast_seen_legacy 2026-11-31T00:00:00Z\n", 2);
	BAD("version 1\nlast_seen_noninteractive 2026-11-23T14:05:00Z\n", 2);
	BAD("version 1\nLast_seen 2026-11-23T14:05:00Z\n", 2);
	/* legacy_service: a name and a time, each service once */
	BAD("version 1\nlegacy_service imap\n", 2);
	BAD("version 1\nlegacy_service 2026-11-23T14:05:00Z\n", 2);
	BAD("version 1\nlegacy_service  2026-11-23T14:05:00Z\n", 2);
	BAD("version 1\nlegacy_service im ap 2026-11-23T14:05:00Z\n", 2);
	BAD("version 1\nlegacy_service imap 2026-11-23\n", 2);
	BAD("version 1\nlegacy_service imap 2026-11-23T14:05:00Z\n"
	    "legacy_service imap 2026-11-24T14:05:00Z\n",
	    3);
	BAD("version 1\nlegacy_service imap\x01 2026-11-23T14:05:00Z\n", 2);

	/* SD_MAX_LEGACY services are fine, one more is not */
	len = (size_t)snprintf(text, sizeof(text), "version 1\n");
	for (i = 0; i < SD_MAX_LEGACY; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"legacy_service svc%d 2026-11-23T14:05:00Z\n", i);
	assert_int_equal(sd_state_parse(text, len, &st, NULL, 0), 0);
	assert_int_equal(st.nlegacy, SD_MAX_LEGACY);
	snprintf(text + len, sizeof(text) - len, "legacy_service more 2026-11-23T14:05:00Z\n");
	state_bad(text, strlen(text), SD_MAX_LEGACY + 2);

	/* a name of SD_SERVICE_LEN - 1 bytes fits, SD_SERVICE_LEN does not */
	memset(name, 's', SD_SERVICE_LEN - 1);
	name[SD_SERVICE_LEN - 1] = '\0';
	snprintf(text, sizeof(text), "version 1\nlegacy_service %s 2026-11-23T14:05:00Z\n", name);
	assert_int_equal(parse_text(text, &st, NULL, 0), 0);
	assert_string_equal(st.legacy[0].service, name);
	memset(name, 's', SD_SERVICE_LEN);
	name[SD_SERVICE_LEN] = '\0';
	snprintf(text, sizeof(text), "version 1\nlegacy_service %s 2026-11-23T14:05:00Z\n", name);
	state_bad(text, strlen(text), 2);
}

static void test_state_observe_daily(void **unused)
{
	struct sd_state st, before;
	time_t midnight = T0 - T0 % 86400;

	memset(&st, 0, sizeof(st));
	/* the first sign-in records the time, the class and nothing else */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, NULL, T0), 1);
	assert_int_equal(st.last_seen, T0);
	assert_int_equal(st.seen_class[SD_SEEN_STANDARD], T0);
	assert_int_equal(st.seen_class[SD_SEEN_PRIVILEGED], 0);
	assert_int_equal(st.seen_class[SD_SEEN_LEGACY], 0);
	assert_int_equal(st.nlegacy, 0);
	assert_int_equal(st.grace_start, 0);
	/* later the same UTC day: nothing changes (no write) */
	before = st;
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, NULL, T0 + 3600), 0);
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, NULL, midnight + 86399), 0);
	assert_memory_equal(&st, &before, sizeof(st));
	/* another class the same day: only that field */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_PRIVILEGED, "sudo", T0 + 60), 1);
	assert_int_equal(st.seen_class[SD_SEEN_PRIVILEGED], T0 + 60);
	assert_int_equal(st.last_seen, T0);
	assert_int_equal(st.nlegacy, 0);
	/* the next day moves it */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, NULL, midnight + 86400), 1);
	assert_int_equal(st.last_seen, midnight + 86400);
	assert_int_equal(st.seen_class[SD_SEEN_STANDARD], midnight + 86400);
	assert_int_equal(st.seen_class[SD_SEEN_PRIVILEGED], T0 + 60);
	/* an earlier time (clock set back) never moves anything back */
	before = st;
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, NULL, T0 - 30 * 86400), 0);
	assert_memory_equal(&st, &before, sizeof(st));
	/* out-of-range class: nothing */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_NCLASS, NULL, T0 + 99 * 86400), 0);
	assert_memory_equal(&st, &before, sizeof(st));
}

static void test_state_observe_legacy(void **unused)
{
	struct sd_state st, back;
	char name[16], *text;
	size_t len;
	int i;

	memset(&st, 0, sizeof(st));
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "imap", T0), 1);
	assert_int_equal(st.nlegacy, 1);
	assert_string_equal(st.legacy[0].service, "imap");
	assert_int_equal(st.legacy[0].last, T0);
	assert_int_equal(st.seen_class[SD_SEEN_LEGACY], T0);
	assert_int_equal(st.last_seen, T0);
	/* the same service the same day: nothing; another one: a new entry */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "imap", T0 + 10), 0);
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "pop3", T0 + 10), 1);
	assert_int_equal(st.nlegacy, 2);
	assert_int_equal(sd_state_find_legacy(&st, "pop3")->last, T0 + 10);
	assert_int_equal(sd_state_find_legacy(&st, "imap")->last, T0);
	/* the next day moves only that service's time */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "imap", T0 + 86400), 1);
	assert_int_equal(sd_state_find_legacy(&st, "imap")->last, T0 + 86400);
	assert_int_equal(sd_state_find_legacy(&st, "pop3")->last, T0 + 10);
	/* a name that cannot be stored as it is becomes "-" */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "a b", T0 + 86400), 1);
	assert_non_null(sd_state_find_legacy(&st, "-"));
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, NULL, T0 + 86400), 0);
	assert_int_equal(st.nlegacy, 3);
	/* other classes never add a legacy entry */
	assert_int_equal(sd_state_observe(&st, SD_SEEN_STANDARD, "imap2", T0 + 86400), 1);
	assert_null(sd_state_find_legacy(&st, "imap2"));

	/* at most SD_MAX_LEGACY: the oldest makes room */
	memset(&st, 0, sizeof(st));
	for (i = 0; i < SD_MAX_LEGACY; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		/* svc3 is the oldest */
		sd_state_observe(&st, SD_SEEN_LEGACY, name, T0 + (i == 3 ? -5 : i) * 86400);
	}
	assert_int_equal(st.nlegacy, SD_MAX_LEGACY);
	assert_int_equal(sd_state_observe(&st, SD_SEEN_LEGACY, "newest", T0 + 20 * 86400), 1);
	assert_int_equal(st.nlegacy, SD_MAX_LEGACY);
	assert_null(sd_state_find_legacy(&st, "svc3"));
	assert_non_null(sd_state_find_legacy(&st, "svc0"));
	assert_int_equal(sd_state_find_legacy(&st, "newest")->last, T0 + 20 * 86400);
	/* and what it made still parses */
	assert_int_equal(sd_state_format(&st, "bob", &text, &len), 0);
	assert_int_equal(sd_state_parse(text, len, &back, NULL, 0), 0);
	assert_int_equal(back.nlegacy, SD_MAX_LEGACY);
	free(text);
	assert_string_equal(sd_seen_class_name(SD_SEEN_STANDARD), "standard");
	assert_string_equal(sd_seen_class_name(SD_SEEN_PRIVILEGED), "privileged");
	assert_string_equal(sd_seen_class_name(SD_SEEN_LEGACY), "legacy");
}

/* ---- counters records (counters.h) and their slots in the lock file --- */

static void test_crc32_vectors(void **unused)
{
	(void)unused;
	assert_int_equal(sd_crc32("", 0), 0);
	assert_int_equal(sd_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(sd_crc32("The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);
}

static void fill_counters(struct sd_counters *c)
{
	struct sd_state st;

	fill_state(&st);
	sd_counters_get(&st, c);
	c->gen = 0x0123456789abcdefULL;
	c->seq = 42;
}

static void test_counters_round_trip(void **unused)
{
	struct sd_counters c, back;
	char buf[SD_COUNTERS_SLOT], why[160] = "";
	size_t len = 0, i;

	(void)unused;
	fill_counters(&c);
	for (c.pending = 0; c.pending < 2; c.pending++) {
		assert_int_equal(sd_counters_format(&c, buf, sizeof(buf), &len), 0);
		assert_int_equal(strlen(buf), len);
		assert_int_equal(sd_counters_parse(buf, sizeof(buf), &back, why, sizeof(why)), 0);
		assert_int_equal(back.gen, c.gen);
		assert_int_equal(back.seq, c.seq);
		assert_int_equal(back.pending, c.pending);
		assert_int_equal(back.failures, c.failures);
		assert_int_equal(back.last_step, c.last_step);
		assert_int_equal(back.last_totp, c.last_totp);
		assert_int_equal(back.nloc, c.nloc);
		for (i = 0; i < c.nloc; i++) {
			assert_string_equal(back.loc[i].net, c.loc[i].net);
			assert_int_equal(back.loc[i].last_totp, c.loc[i].last_totp);
		}
	}
	/* a slot that never held a record, or holds only NULs */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sd_counters_parse(buf, sizeof(buf), &back, why, sizeof(why)), -ENOENT);
	assert_int_equal(sd_counters_parse(buf, 0, &back, why, sizeof(why)), -ENOENT);
}

static void test_counters_torn(void **unused)
{
	struct sd_counters c, back;
	char buf[SD_COUNTERS_SLOT], why[160] = "";
	size_t len = 0, cut;

	(void)unused;
	fill_counters(&c);
	assert_int_equal(sd_counters_format(&c, buf, sizeof(buf), &len), 0);
	/* every prefix of the record (a write cut short) is "no record" */
	for (cut = 0; cut < len; cut++) {
		char t[SD_COUNTERS_SLOT];

		memcpy(t, buf, cut);
		memset(t + cut, 0, sizeof(t) - cut);
		assert_int_equal(sd_counters_parse(t, sizeof(t), &back, why, sizeof(why)), -ENOENT);
	}
	/* one flipped bit anywhere: the checksum says no */
	for (cut = 0; cut + 15 < len; cut += 7) {
		char t[SD_COUNTERS_SLOT];

		memcpy(t, buf, sizeof(t));
		t[cut] ^= 0x04;
		assert_int_equal(sd_counters_parse(t, sizeof(t), &back, why, sizeof(why)), -ENOENT);
	}
}

/* Text with a correct checksum line appended. */
static void with_crc(const char *body, char *out, size_t cap)
{
	snprintf(out, cap, "%scrc32 %08x\n", body, (unsigned)sd_crc32(body, strlen(body)));
}

static void test_counters_malformed(void **unused)
{
	static const char *const bad[] = {
		"failures 1\nlast_step 2\n",
		"counters 2 0123456789abcdef 1\nfailures 1\nlast_step 2\n",
		"counters 1 0123456789abcdeg 1\nfailures 1\nlast_step 2\n",
		"counters 1 0123456789abcdef x\nfailures 1\nlast_step 2\n",
		"counters 1 0123456789abcdef 1 later\nfailures 1\nlast_step 2\n",
		"counters 1 0123456789abcdef 1\nlast_step 2\n",
		"counters 1 0123456789abcdef 1\nfailures 1\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nfailures 1\nlast_step 2\n",
		"counters 1 0123456789abcdef 1\nfailures -1\nlast_step 2\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nlast_step 2\nlast_totp yesterday\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nlast_step 2\nlocation 10.0.0.0/24\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nlast_step 2\n"
		"location a 2026-11-23T14:05:00Z\nlocation a 2026-11-23T14:05:00Z\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nlast_step 2\nenrolled 2026-11-23T14:05:00Z\n",
		"counters 1 0123456789abcdef 1\nfailures 1\nlast_step 2\x01\n",
	};
	struct sd_counters back;
	char buf[SD_COUNTERS_SLOT], why[160];
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		with_crc(bad[i], buf, sizeof(buf));
		why[0] = '\0';
		if (sd_counters_parse(buf, sizeof(buf), &back, why, sizeof(why)) != -EINVAL)
			fail_msg("accepted malformed record %zu", i);
		assert_true(strncmp(why, "counters line ", 14) == 0);
	}
	with_crc("counters 1 0123456789abcdef 7 pending\nfailures 1\nlast_step 2\n", buf,
		 sizeof(buf));
	assert_int_equal(sd_counters_parse(buf, sizeof(buf), &back, why, sizeof(why)), 0);
	assert_int_equal(back.seq, 7);
	assert_true(back.pending);
}

static void test_counters_too_big(void **unused)
{
	struct sd_counters c;
	char buf[SD_COUNTERS_SLOT];
	size_t len = 0, i;

	(void)unused;
	memset(&c, 0, sizeof(c));
	c.gen = 1;
	c.nloc = SD_MAX_LOCATIONS;
	for (i = 0; i < c.nloc; i++) {
		memset(c.loc[i].net, 'a', 200);
		c.loc[i].net[0] = (char)('A' + i);
		c.loc[i].net[200] = '\0';
	}
	assert_int_equal(sd_counters_format(&c, buf, sizeof(buf), &len), -E2BIG);
}

static void test_counters_put_and_compare(void **unused)
{
	struct sd_state a, b;
	struct sd_counters c;

	(void)unused;
	fill_state(&a);
	b = a;
	assert_true(sd_state_same_but_counters(&a, &b));
	b.failures = 9;
	b.last_step++;
	b.last_totp++;
	b.loc[1].last_totp += 60;
	assert_true(sd_state_same_but_counters(&a, &b));
	sd_counters_get(&b, &c);
	assert_int_equal(sd_counters_put(&a, &c), 0);
	assert_int_equal(a.failures, 9);
	assert_int_equal(a.loc[1].last_totp, b.loc[1].last_totp);
	/* every other field is not a counter */
#define DIFFERS(stmt)                                                                              \
	do {                                                                                       \
		b = a;                                                                             \
		stmt;                                                                              \
		assert_false(sd_state_same_but_counters(&a, &b));                                  \
	} while (0)
	DIFFERS(b.grace_start++);
	DIFFERS(b.grace_ended++);
	DIFFERS(b.enrolled++);
	DIFFERS(b.locked_until++);
	DIFFERS(b.compromised = 0);
	DIFFERS(b.compromised_at++);
	DIFFERS(b.compromised_reason[0] = 'X');
	DIFFERS(b.password_reset = 0);
	DIFFERS(b.nloc--);
	DIFFERS(b.loc[2].net[0] = 'X');
	DIFFERS(b.last_seen++);
	DIFFERS(b.seen_class[SD_SEEN_LEGACY]++);
	DIFFERS(b.nlegacy++);
#undef DIFFERS
	/* a record for other locations does not apply */
	b = a;
	b.loc[0].net[0] = 'X';
	sd_counters_get(&b, &c);
	assert_int_equal(sd_counters_put(&a, &c), -EINVAL);
	c.nloc--;
	assert_int_equal(sd_counters_put(&a, &c), -EINVAL);
}

/* The bytes of slot SLOT of alice's lock file (malloc'd, NUL-terminated). */
static char *slot_text(struct fx *fx, int slot)
{
	char p[128], *buf = calloc(1, SD_COUNTERS_SLOT + 1);
	int fd;

	assert_non_null(buf);
	path_in(fx, "locks/alice", p, sizeof(p));
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(pread(fd, buf, SD_COUNTERS_SLOT, (off_t)slot * SD_COUNTERS_SLOT) >= 0);
	close(fd);
	return buf;
}

static void load_ok(struct sd_store *s, struct sd_state *st)
{
	struct sd_err err = {""};

	if (sd_store_load(s, "alice", st, &err) != 0)
		fail_msg("load: %s", err.msg);
}

/* Lock, load, let CHANGE edit the state, save with FLAGS, unlock. */
static void update(struct sd_store *s, void (*change)(struct sd_state *), unsigned flags)
{
	struct sd_err err = {""};
	struct sd_state st;

	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	load_ok(s, &st);
	change(&st);
	if (sd_store_save(s, "alice", &st, flags, &err) != 0)
		fail_msg("save: %s", err.msg);
	sd_store_unlock(s);
}

static void one_more_failure(struct sd_state *st)
{
	st->failures++;
	st->last_step++;
	st->loc[0].last_totp += 30;
}

static void enrol_again(struct sd_state *st)
{
	st->enrolled += 1;
	st->failures = 0;
}

static void test_store_counters_in_lock_file(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0), *r;
	struct sd_state st, back;
	char p[128], *file0, *file1, *slot;

	fill_state(&st);
	st.failures = 0;
	st.locked_until = 0;
	save_locked(s, "alice", &st);
	path_in(fx, "users/alice", p, sizeof(p));
	file0 = slurp(p);
	assert_non_null(strstr(file0, "\ncounters "));

	/* counters-only changes: the state file stays byte for byte */
	update(s, one_more_failure, 0);
	update(s, one_more_failure, 0);
	update(s, one_more_failure, 0);
	file1 = slurp(p);
	assert_string_equal(file0, file1);
	free(file1);
	r = open_store(fx, SD_STORE_READONLY); /* a reader without the lock */
	load_ok(r, &back);
	assert_int_equal(back.failures, 3);
	assert_int_equal(back.last_step, st.last_step + 3);
	assert_int_equal(back.loc[0].last_totp, st.loc[0].last_totp + 90);
	assert_int_equal(back.enrolled, st.enrolled);
	/* the two slots alternate: seq 3 in slot 0, seq 2 in slot 1 */
	slot = slot_text(fx, 0);
	assert_non_null(strstr(slot, " 3\nfailures 3\n"));
	free(slot);
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 2\nfailures 2\n"));
	free(slot);

	/* a torn write of the newest slot: the previous record holds */
	{
		int fd;

		path_in(fx, "locks/alice", p, sizeof(p));
		fd = open(p, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "XX", 2, 40), 2);
		close(fd);
	}
	load_ok(r, &back);
	assert_int_equal(back.failures, 2);

	/* any other change replaces the file under a new id: old records stop
	 * applying, the file has every field */
	update(s, enrol_again, 0);
	path_in(fx, "users/alice", p, sizeof(p));
	file1 = slurp(p);
	assert_string_not_equal(file0, file1);
	assert_null(strstr(file1, "\nfailures "));
	load_ok(r, &back);
	assert_int_equal(back.failures, 0);
	assert_int_equal(back.enrolled, st.enrolled + 1);
	assert_int_equal(back.last_step, st.last_step + 2);
	free(file0);
	free(file1);
	sd_store_close(r);
	sd_store_close(s);
}

static void test_store_counters_pending(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_err err = {""};
	struct sd_state st, back;
	char *slot;

	fill_state(&st);
	st.failures = 0;
	st.locked_until = 0;
	save_locked(s, "alice", &st);
	update(s, one_more_failure, 0); /* seq 1, slot 0, durable */

	/* counted before a check, then the process dies: the count stands */
	update(s, one_more_failure, SD_SAVE_NOSYNC); /* seq 2, slot 1, pending */
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 2 pending\n"));
	free(slot);
	load_ok(s, &back);
	assert_int_equal(back.failures, 2);

	/* the next session takes it as durable and writes the other slot */
	update(s, one_more_failure, SD_SAVE_NOSYNC); /* seq 3 -> slot 0 */
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 2 pending\n"));
	free(slot);
	/* a pending record and its sync land in the same slot */
	assert_int_equal(sd_store_lock(s, "alice", &err), 0);
	load_ok(s, &back);
	assert_int_equal(back.failures, 3);
	back.failures++;
	assert_int_equal(sd_store_save(s, "alice", &back, SD_SAVE_NOSYNC, &err), 0);
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 4 pending\nfailures 4\n"));
	free(slot);
	assert_int_equal(sd_store_sync(s, "alice", &err), 0);
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 4\nfailures 4\n"));
	free(slot);
	/* synced, it is the durable one: the next save goes to the other slot */
	back.failures = 0;
	assert_int_equal(sd_store_save(s, "alice", &back, 0, &err), 0);
	sd_store_unlock(s);
	slot = slot_text(fx, 0);
	assert_non_null(strstr(slot, " 5\nfailures 0\n"));
	free(slot);
	slot = slot_text(fx, 1);
	assert_non_null(strstr(slot, " 4\nfailures 4\n"));
	free(slot);
	load_ok(s, &back);
	assert_int_equal(back.failures, 0);
	sd_store_close(s);
}

static void test_store_counters_bad(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_err err = {""};
	struct sd_state st, back;
	char p[128], rec[SD_COUNTERS_SLOT], *file, *id;
	int fd;

	fill_state(&st);
	st.failures = 0;
	st.locked_until = 0;
	save_locked(s, "alice", &st);
	path_in(fx, "users/alice", p, sizeof(p));
	file = slurp(p);
	id = strstr(file, "\ncounters ");
	assert_non_null(id);
	id[10 + 16] = '\0';

	/* a checksummed record of this file that names other locations */
	snprintf(p, sizeof(p), "counters 1 %s 9\nfailures 1\nlast_step 2\n", id + 10);
	with_crc(p, rec, sizeof(rec));
	path_in(fx, "locks/alice", p, sizeof(p));
	fd = open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rec, strlen(rec) + 1), (ssize_t)strlen(rec) + 1);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "does not match"));

	/* malformed but checksummed: corrupt, never ignored */
	with_crc("counters 1 0000000000000001 1\nfailures many\nlast_step 2\n", rec, sizeof(rec));
	assert_int_equal(pwrite(fd, rec, strlen(rec) + 1, 0), (ssize_t)strlen(rec) + 1);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "corrupt counters"));

	/* a record of another file version (other id) is ignored */
	with_crc("counters 1 0000000000000001 99\nfailures 7\nlast_step 2\n", rec, sizeof(rec));
	assert_int_equal(pwrite(fd, rec, strlen(rec) + 1, 0), (ssize_t)strlen(rec) + 1);
	close(fd);
	load_ok(s, &back);
	assert_int_equal(back.failures, 0);
	free(file);

	/* the lock file is checked like every other file */
	path_in(fx, "locks/alice", p, sizeof(p));
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(sd_store_load(s, "alice", &back, &err), -EPERM);
	sd_store_close(s);
}

static void test_store_counters_fallback(void **state)
{
	struct fx *fx = *state;
	struct sd_store *s = open_store(fx, 0);
	struct sd_state st, back;
	char p[128], *file;
	size_t i;

	/* locations too long for a slot: the file is replaced instead */
	memset(&st, 0, sizeof(st));
	st.nloc = SD_MAX_LOCATIONS;
	for (i = 0; i < st.nloc; i++) {
		snprintf(st.loc[i].net, sizeof(st.loc[i].net), "host:%zu%0200d.example", i, 0);
		st.loc[i].last_totp = T0;
	}
	save_locked(s, "alice", &st);
	update(s, one_more_failure, 0);
	path_in(fx, "users/alice", p, sizeof(p));
	file = slurp(p);
	assert_non_null(file);
	assert_non_null(strstr(file, "\nfailures 1\n"));
	free(file);
	load_ok(s, &back);
	assert_int_equal(back.failures, 1);
	assert_int_equal(back.loc[0].last_totp, T0 + 30);
	assert_int_equal(access(p, F_OK), 0);
	{
		char *slot = slot_text(fx, 0);

		assert_string_equal(slot, "");
		free(slot);
	}
	/* removing the user voids the records of the removed file */
	fill_state(&st);
	st.failures = 0;
	save_locked(s, "alice", &st);
	update(s, one_more_failure, 0);
	{
		struct sd_err err = {""};

		assert_int_equal(sd_store_lock(s, "alice", &err), 0);
		assert_int_equal(sd_store_remove(s, "alice", &err), 0);
		assert_int_equal(sd_store_save(s, "alice", &st, 0, &err), 0);
		sd_store_unlock(s);
	}
	load_ok(s, &back);
	assert_int_equal(back.failures, 0);
	sd_store_close(s);
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, store_setup, store_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_round_trip_empty),
		cmocka_unit_test(test_state_round_trip_compromised_no_reason),
		cmocka_unit_test(test_state_reason_control_chars),
		cmocka_unit_test(test_state_parse_handwritten),
		cmocka_unit_test(test_state_parse_version),
		cmocka_unit_test(test_state_parse_keys),
		cmocka_unit_test(test_state_parse_values),
		cmocka_unit_test(test_state_parse_locations),
		cmocka_unit_test(test_state_parse_control_chars),
		cmocka_unit_test(test_state_parse_long_line),
		cmocka_unit_test(test_state_parse_max_size),
		cmocka_unit_test(test_touch_loc_update_and_add),
		cmocka_unit_test(test_touch_loc_evicts_oldest),
		cmocka_unit_test(test_secret_round_trip),
		cmocka_unit_test(test_secret_parse),
		cmocka_unit_test(test_secret_parse_bad),
		cmocka_unit_test(test_base32_rfc4648),
		cmocka_unit_test(test_base32_round_trip),
		cmocka_unit_test(test_base32_lenient_input),
		cmocka_unit_test(test_base32_invalid),
		cmocka_unit_test(test_base32_bounds),
		STORE_TEST(test_store_open_creates),
		STORE_TEST(test_store_open_dispatch),
		STORE_TEST(test_store_load_missing),
		STORE_TEST(test_store_round_trip),
		STORE_TEST(test_store_secret_round_trip),
		STORE_TEST(test_store_save_without_lock),
		STORE_TEST(test_store_invalid_names),
		STORE_TEST(test_store_corrupt),
		STORE_TEST(test_store_symlink),
		STORE_TEST(test_store_fifo),
		STORE_TEST(test_store_hard_link),
		STORE_TEST(test_store_directory),
		STORE_TEST(test_store_loose_mode),
		STORE_TEST(test_store_foreign_owner),
		STORE_TEST(test_store_too_large),
		STORE_TEST(test_store_unsafe_dirs),
		STORE_TEST(test_store_readonly_missing),
		STORE_TEST(test_store_remove),
		STORE_TEST(test_store_list),
		STORE_TEST(test_store_lock_exclusive),
		cmocka_unit_test(test_state_observe_round_trip),
		cmocka_unit_test(test_state_observe_parse_handwritten),
		cmocka_unit_test(test_state_observe_parse_bad),
		cmocka_unit_test(test_state_observe_daily),
		cmocka_unit_test(test_state_observe_legacy),
		cmocka_unit_test(test_crc32_vectors),
		cmocka_unit_test(test_counters_round_trip),
		cmocka_unit_test(test_counters_torn),
		cmocka_unit_test(test_counters_malformed),
		cmocka_unit_test(test_counters_too_big),
		cmocka_unit_test(test_counters_put_and_compare),
		STORE_TEST(test_store_counters_in_lock_file),
		STORE_TEST(test_store_counters_pending),
		STORE_TEST(test_store_counters_bad),
		STORE_TEST(test_store_counters_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
