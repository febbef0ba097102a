#include "config.h"

/* test_util.c - sanitising, ISO-8601 times, constant-time compare, integer
 * parsing and string lists. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../src/lib/util.h"

/* ---- sd_sanitize ------------------------------------------------------ */

static void test_sanitize_plain(void **unused)
{
	char out[64];

	sd_sanitize(out, sizeof(out), "alice@example.org:22");
	assert_string_equal(out, "alice@example.org:22");
}

static void test_sanitize_replaces(void **unused)
{
	char out[64];

	/* space, '=', control characters, DEL and non-ASCII bytes */
	sd_sanitize(out, sizeof(out),
		    "a b=c\nd\te\x7f"
		    "f\xc3\xa9g\rh");
	assert_string_equal(out, "a?b?c?d?e?f??g?h");
}

static void test_sanitize_forged_log_line(void **unused)
{
	char out[64];

	sd_sanitize(out, sizeof(out), "bob decision=allow");
	assert_null(strchr(out, ' '));
	assert_null(strchr(out, '='));
	assert_string_equal(out, "bob?decision?allow");
}

static void test_sanitize_null_and_empty(void **unused)
{
	char out[8] = "xxxxxxx";

	sd_sanitize(out, sizeof(out), NULL);
	assert_string_equal(out, "-");
	sd_sanitize(out, sizeof(out), "");
	assert_string_equal(out, "");
}

static void test_sanitize_truncates(void **unused)
{
	char out[8];

	memset(out, 'Z', sizeof(out));
	sd_sanitize(out, 4, "abcdef");
	assert_string_equal(out, "abc");
	assert_int_equal(out[4], 'Z'); /* nothing written past N */

	memset(out, 'Z', sizeof(out));
	sd_sanitize(out, 1, "abcdef");
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'Z');

	memset(out, 'Z', sizeof(out));
	sd_sanitize(out, 0, "abcdef");
	assert_int_equal(out[0], 'Z');
}

/* ---- sd_time_format / sd_time_parse ---------------------------------- */

static void test_time_format(void **unused)
{
	char out[SD_TIME_LEN];

	sd_time_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	sd_time_format(1795442700, out);
	assert_string_equal(out, "2026-11-23T14:05:00Z");
	sd_time_format(951825600, out);
	assert_string_equal(out, "2000-02-29T12:00:00Z");
	sd_time_format((time_t)253402300799LL, out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_int_equal(strlen(out), SD_TIME_LEN - 1);
}

static void test_time_format_out_of_range(void **unused)
{
	char out[SD_TIME_LEN];

	sd_time_format(-1, out);
	assert_string_equal(out, "invalid");
	/* year 10000 does not fit the format */
	sd_time_format((time_t)253402300800LL, out);
	assert_string_equal(out, "invalid");
}

static void test_time_parse_valid(void **unused)
{
	time_t t = 12345;

	assert_int_equal(sd_time_parse("2026-11-23T14:05:00Z", &t), 0);
	assert_int_equal(t, 1795442700);
	assert_int_equal(sd_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sd_time_parse("2038-01-19T03:14:08Z", &t), 0);
	assert_int_equal(t, 2147483648LL);
	assert_int_equal(sd_time_parse("2026-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, 1798761599);
}

static void test_time_round_trip(void **unused)
{
	static const time_t samples[] = {
		0,	    1,		59,	    86399,	  86400,	 951825600,
		1709164800, 1795442700, 2147483647, 2147483648LL, 253402300799LL};
	char out[SD_TIME_LEN];
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		time_t t = -5;

		sd_time_format(samples[i], out);
		assert_int_equal(sd_time_parse(out, &t), 0);
		assert_int_equal(t, samples[i]);
	}
}

static void test_time_parse_bad_format(void **unused)
{
	static const char *const bad[] = {
		"",
		"2026-11-23",
		"2026-11-23T14:05:00",	/* no Z */
		"2026-11-23 14:05:00Z", /* space instead of T */
		"2026-11-23t14:05:00Z", /* lower-case t */
		"2026-11-23T14:05:00z", /* lower-case z */
		"2026/11/23T14:05:00Z",
		"2026-11-23T14-05-00Z",
		"2026-1-23T14:05:00Z", /* one-digit month */
		"26-11-23T14:05:00Z",
		"2026-11-23T14:05:00+00:00",
		"2026-11-23T14:05:00.5Z",
		"2026-11-2xT14:05:00Z",
		"2026-11-+3T14:05:00Z",
		" 2026-11-23T14:05:00Z",
		"2026-11-23T14:05:00Z ",    /* trailing junk */
		"2026-11-23T14:05:00Zjunk", /* trailing junk */
		"2026-11-23T14:05:00Z\n",
		"2026-00-10T00:00:00Z", /* month 0 */
		"2026-13-10T00:00:00Z", /* month 13 */
		"2026-11-00T00:00:00Z", /* day 0 */
		"2026-11-31T00:00:00Z", /* 30 days in November */
		"2026-01-32T00:00:00Z",
		"2026-11-23T24:00:00Z",
		"2026-11-23T23:60:00Z",
		"2026-11-23T14:60:00Z",
		"2026-11-23T23:59:60Z", /* no leap seconds */
		"2026-11-23T14:05:60Z",
		"2026-11-23T14:05:99Z",
		"1969-12-31T23:59:59Z", /* before 1970 */
		"0000-01-01T00:00:00Z",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t = 4242;

		if (sd_time_parse(bad[i], &t) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 4242); /* untouched on error */
	}
}

static void test_time_parse_feb29(void **unused)
{
	time_t t;

	/* leap years */
	assert_int_equal(sd_time_parse("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 1709164800);
	assert_int_equal(sd_time_parse("2000-02-29T12:00:00Z", &t), 0);
	assert_int_equal(t, 951825600);
	/* common years, including centuries not divisible by 400 */
	assert_int_equal(sd_time_parse("2023-02-29T00:00:00Z", &t), -EINVAL);
	assert_int_equal(sd_time_parse("2100-02-29T00:00:00Z", &t), -EINVAL);
	assert_int_equal(sd_time_parse("1900-02-29T00:00:00Z", &t), -EINVAL);
	assert_int_equal(sd_time_parse("2024-02-30T00:00:00Z", &t), -EINVAL);
	/* the day after is fine */
	assert_int_equal(sd_time_parse("2023-03-01T00:00:00Z", &t), 0);
	assert_int_equal(sd_time_parse("2023-02-28T23:59:59Z", &t), 0);
}

static void test_time_parse_year_bounds(void **unused)
{
	time_t t;

	assert_int_equal(sd_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sd_time_parse("9999-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, 253402300799LL);
	assert_int_equal(sd_time_parse("1969-01-01T00:00:00Z", &t), -EINVAL);
	assert_int_equal(sd_time_parse("10000-01-01T00:00:00Z", &t), -EINVAL);
}

/* ---- sd_ct_memcmp ---------------------------------------------------- */

static void test_ct_memcmp(void **unused)
{
	const unsigned char a[] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned char b[sizeof(a)];
	size_t i;

	memcpy(b, a, sizeof(a));
	assert_int_equal(sd_ct_memcmp(a, b, sizeof(a)), 0);
	assert_int_equal(sd_ct_memcmp(a, b, 0), 0);
	assert_int_equal(sd_ct_memcmp("123456", "123456", 6), 0);
	assert_int_not_equal(sd_ct_memcmp("123456", "123457", 6), 0);
	/* only the first N bytes count */
	assert_int_equal(sd_ct_memcmp("123456", "123457", 5), 0);
	/* a difference in any single byte or bit is seen */
	for (i = 0; i < sizeof(a); i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 0x80;
		assert_int_not_equal(sd_ct_memcmp(a, b, sizeof(a)), 0);
		b[i] ^= 0x81;
		assert_int_not_equal(sd_ct_memcmp(a, b, sizeof(a)), 0);
	}
}

/* ---- sd_parse_u64 ---------------------------------------------------- */

static void test_parse_u64_valid(void **unused)
{
	uint64_t v = 99;

	assert_int_equal(sd_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sd_parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sd_parse_u64("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sd_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sd_parse_u64("18446744073709551610", &v), 0);
	assert_true(v == UINT64_MAX - 5);
}

static void test_parse_u64_overflow(void **unused)
{
	uint64_t v = 99;

	assert_int_equal(sd_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(sd_parse_u64("18446744073709551620", &v), -ERANGE);
	assert_int_equal(sd_parse_u64("99999999999999999999", &v), -ERANGE);
	assert_int_equal(sd_parse_u64("184467440737095516150", &v), -ERANGE);
	assert_int_equal(v, 99);
}

static void test_parse_u64_junk(void **unused)
{
	static const char *const bad[] = {"",	  "-1",	 "+1",	" 1",  "1 ",  "1\n",
					  "0x10", "1e3", "12a", "a12", "1.0", "\xd9\xa1"};
	uint64_t v = 99;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sd_parse_u64(bad[i], &v) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(sd_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(v, 99);
}

/* ---- sd_strlist ------------------------------------------------------ */

static void test_strlist(void **unused)
{
	struct sd_strlist l = {NULL, 0};
	char src[8] = "wheel";

	assert_int_equal(sd_strlist_contains(&l, "wheel"), 0);
	assert_int_equal(sd_strlist_add(&l, src), 0);
	assert_int_equal(sd_strlist_add(&l, "sudo"), 0);
	assert_int_equal(sd_strlist_add(&l, ""), 0);
	assert_int_equal(l.n, 3);
	/* the list owns copies */
	strcpy(src, "xxxxx");
	assert_string_equal(l.v[0], "wheel");
	assert_string_equal(l.v[1], "sudo");
	assert_string_equal(l.v[2], "");
	assert_int_equal(sd_strlist_contains(&l, "wheel"), 1);
	assert_int_equal(sd_strlist_contains(&l, "sudo"), 1);
	assert_int_equal(sd_strlist_contains(&l, ""), 1);
	assert_int_equal(sd_strlist_contains(&l, "whee"), 0);
	assert_int_equal(sd_strlist_contains(&l, "wheel "), 0);
	assert_int_equal(sd_strlist_contains(&l, "WHEEL"), 0);
	assert_int_equal(sd_strlist_contains(&l, NULL), 0);
	sd_strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(sd_strlist_contains(&l, "wheel"), 0);
	/* freeing twice and reusing after free are fine */
	sd_strlist_free(&l);
	assert_int_equal(sd_strlist_add(&l, "again"), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(sd_strlist_contains(&l, "again"), 1);
	sd_strlist_free(&l);
}

static void test_strlist_many(void **unused)
{
	struct sd_strlist l = {NULL, 0};
	char name[16];
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		assert_int_equal(sd_strlist_add(&l, name), 0);
	}
	assert_int_equal(l.n, 1000);
	assert_string_equal(l.v[0], "g0");
	assert_string_equal(l.v[999], "g999");
	assert_int_equal(sd_strlist_contains(&l, "g500"), 1);
	assert_int_equal(sd_strlist_contains(&l, "g1000"), 0);
	sd_strlist_free(&l);
}

/* ---- sd_err_set / sd_wipe -------------------------------------------- */

static void test_err_set_and_wipe(void **unused)
{
	struct sd_err err;
	char long_arg[600];
	unsigned char buf[16];
	size_t i;

	sd_err_set(&err, "cannot open %s: %d", "x", 5);
	assert_string_equal(err.msg, "cannot open x: 5");
	memset(long_arg, 'a', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	sd_err_set(&err, "%s", long_arg);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	sd_err_set(NULL, "ignored %d", 1); /* must not crash */

	memset(buf, 0xa5, sizeof(buf));
	sd_wipe(buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	sd_wipe(NULL, 10);
}

/* sd_namemap: 5,000 names through several growths, each found again with
 * its entry intact, absent names not found (nor created), a walk that sees
 * every entry once, and free. */
struct nm_ent {
	char *name;
	int value;
};

static void test_namemap(void **state)
{
	struct sd_namemap m;
	char name[32];
	size_t i, seen = 0;
	long sum = 0;

	(void)state;
	sd_namemap_init(&m, sizeof(struct nm_ent));
	assert_null(sd_namemap_get(&m, "nobody", 0));
	for (i = 0; i < 5000; i++) {
		struct nm_ent *e;

		snprintf(name, sizeof(name), "user%zu", i);
		e = sd_namemap_get(&m, name, 1);
		assert_non_null(e);
		assert_string_equal(e->name, name);
		assert_int_equal(e->value, 0); /* new entries are zeroed */
		e->value = (int)i + 1;
	}
	assert_int_equal(m.n, 5000);
	assert_true(m.cap >= 2 * m.n);
	for (i = 0; i < 5000; i++) {
		struct nm_ent *e;

		snprintf(name, sizeof(name), "user%zu", i);
		e = sd_namemap_get(&m, name, 1); /* existing: not created again */
		assert_non_null(e);
		assert_int_equal(e->value, (int)i + 1);
	}
	assert_int_equal(m.n, 5000);
	assert_null(sd_namemap_get(&m, "user5000", 0));
	assert_int_equal(m.n, 5000);
	for (i = 0; i < m.cap; i++) {
		const struct nm_ent *e = sd_namemap_at(&m, i);

		if (e != NULL) {
			seen++;
			sum += e->value;
		}
	}
	assert_null(sd_namemap_at(&m, m.cap));
	assert_int_equal(seen, 5000);
	assert_int_equal(sum, 5000L * 5001 / 2);
	sd_namemap_free(&m);
	assert_int_equal(m.n, 0);
	assert_null(sd_namemap_get(&m, "user1", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_plain),
		cmocka_unit_test(test_sanitize_replaces),
		cmocka_unit_test(test_sanitize_forged_log_line),
		cmocka_unit_test(test_sanitize_null_and_empty),
		cmocka_unit_test(test_sanitize_truncates),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_format_out_of_range),
		cmocka_unit_test(test_time_parse_valid),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_parse_bad_format),
		cmocka_unit_test(test_time_parse_feb29),
		cmocka_unit_test(test_time_parse_year_bounds),
		cmocka_unit_test(test_ct_memcmp),
		cmocka_unit_test(test_parse_u64_valid),
		cmocka_unit_test(test_parse_u64_overflow),
		cmocka_unit_test(test_parse_u64_junk),
		cmocka_unit_test(test_strlist),
		cmocka_unit_test(test_strlist_many),
		cmocka_unit_test(test_namemap),
		cmocka_unit_test(test_err_set_and_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
