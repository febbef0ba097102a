#include "config.h"

/* test_totp.c - code syntax, RFC 6238 test vectors, the window and the
 * replay guard. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/totp.h"

static const unsigned char key20[] = "12345678901234567890";
static const unsigned char key32[] = "12345678901234567890123456789012";
static const unsigned char key64[] = "12345678901234567890123456789012"
				     "34567890123456789012345678901234";

#define NOW ((time_t)1795442700) /* 2026-11-23T14:05:00Z, a step boundary */

static int cfg_setup(void **state)
{
	static struct sd_config c;

	if (sd_config_defaults(&c) != 0)
		return -1;
	*state = &c;
	return 0;
}

static int cfg_teardown(void **state)
{
	sd_config_free(*state);
	return 0;
}

/* Reset the TOTP settings each test may change. */
static struct sd_config *cfg(void **state, int digits, int window, int algo)
{
	struct sd_config *c = *state;

	c->totp.digits = digits;
	c->totp.window = window;
	c->totp.algorithm = algo;
	c->totp.period = 30;
	return c;
}

/* ---- syntax ---------------------------------------------------------- */

static void test_syntax_six(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);

	assert_true(sd_totp_syntax_ok(c, "123456"));
	assert_true(sd_totp_syntax_ok(c, "000000"));
	assert_false(sd_totp_syntax_ok(c, "12345"));
	assert_false(sd_totp_syntax_ok(c, "1234567"));
	assert_false(sd_totp_syntax_ok(c, "12345678"));
	assert_false(sd_totp_syntax_ok(c, "123456789"));
	assert_false(sd_totp_syntax_ok(c, ""));
	assert_false(sd_totp_syntax_ok(c, NULL));
	assert_false(sd_totp_syntax_ok(c, "123456\n"));
	assert_false(sd_totp_syntax_ok(c, "123456 "));
	assert_false(sd_totp_syntax_ok(c, " 123456"));
	assert_false(sd_totp_syntax_ok(c, "12 456"));
	assert_false(sd_totp_syntax_ok(c, "12345a"));
	assert_false(sd_totp_syntax_ok(c, "abcdef"));
	assert_false(sd_totp_syntax_ok(c, "-12345"));
	assert_false(sd_totp_syntax_ok(c, "+12345"));
	assert_false(sd_totp_syntax_ok(c, "12345/"));
	assert_false(sd_totp_syntax_ok(c, "12345:"));
	/* Arabic-Indic digits are not ASCII digits */
	assert_false(sd_totp_syntax_ok(c, "\xd9\xa1\xd9\xa2\xd9\xa3"));
}

static void test_syntax_eight(void **state)
{
	struct sd_config *c = cfg(state, 8, 1, SD_ALGO_SHA1);

	assert_true(sd_totp_syntax_ok(c, "12345678"));
	assert_false(sd_totp_syntax_ok(c, "123456"));
	assert_false(sd_totp_syntax_ok(c, "1234567"));
	assert_false(sd_totp_syntax_ok(c, "123456789"));
	assert_false(sd_totp_syntax_ok(c, "1234567a"));
	assert_false(sd_totp_syntax_ok(c, "12345678\n"));
}

/* ---- RFC 6238 Appendix B --------------------------------------------- */

struct vector {
	time_t t;
	const char *sha1, *sha256, *sha512;
};

static const struct vector vectors[] = {
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{(time_t)20000000000LL, "65353130", "77737706", "47863826"},
};

static void check_vectors(struct sd_config *c, const unsigned char *key, size_t keylen, int which)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		const char *want = which == 0 ? v->sha1 : which == 1 ? v->sha256 : v->sha512;
		uint64_t step = sd_totp_step(c, v->t);
		uint64_t got_step = 0;
		char out[16];

		assert_int_equal(step, (uint64_t)v->t / 30);
		memset(out, 0, sizeof(out));
		assert_int_equal(sd_totp_code(c, key, keylen, step, out), 0);
		if (strcmp(out, want) != 0)
			fail_msg("%s at T=%lld: got %s, want %s", sd_algo_name(c->totp.algorithm),
				 (long long)v->t, out, want);
		/* and the verifier accepts it at that time */
		assert_int_equal(sd_totp_verify(c, key, keylen, v->t, want, 0, &got_step),
				 SD_TOTP_OK);
		assert_int_equal(got_step, step);
	}
}

static void test_rfc6238_sha1(void **state)
{
	check_vectors(cfg(state, 8, 0, SD_ALGO_SHA1), key20, 20, 0);
}

static void test_rfc6238_sha256(void **state)
{
	check_vectors(cfg(state, 8, 0, SD_ALGO_SHA256), key32, 32, 1);
}

static void test_rfc6238_sha512(void **state)
{
	check_vectors(cfg(state, 8, 0, SD_ALGO_SHA512), key64, 64, 2);
}

static void test_six_digits_are_the_low_digits(void **state)
{
	struct sd_config *c = cfg(state, 6, 0, SD_ALGO_SHA1);
	char out[16];

	/* RFC 4226 truncation: the 6-digit code is the last 6 of the 8-digit one */
	assert_int_equal(sd_totp_code(c, key20, 20, 59 / 30, out), 0);
	assert_string_equal(out, "287082");
	assert_int_equal(sd_totp_code(c, key20, 20, 1111111109 / 30, out), 0);
	assert_string_equal(out, "081804");
	assert_int_equal(strlen(out), 6);
}

static void test_step(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);

	assert_int_equal(sd_totp_step(c, 0), 0);
	assert_int_equal(sd_totp_step(c, 29), 0);
	assert_int_equal(sd_totp_step(c, 30), 1);
	assert_int_equal(sd_totp_step(c, NOW), NOW / 30);
	assert_int_equal(sd_totp_step(c, -100), 0);
	c->totp.period = 60;
	assert_int_equal(sd_totp_step(c, 119), 1);
	assert_int_equal(sd_totp_step(c, 120), 2);
	c->totp.period = 30;
}

/* ---- verify ---------------------------------------------------------- */

static void code_at(struct sd_config *c, uint64_t step, char out[16])
{
	assert_int_equal(sd_totp_code(c, key20, 20, step, out), 0);
}

static void test_verify_current(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step = 0;
	char code[16];

	code_at(c, cur, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur);
	/* anywhere inside the step */
	step = 0;
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW + 29, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur);
}

static void test_verify_window_one(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step;
	char code[16];

	code_at(c, cur - 1, code);
	step = 0;
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur - 1);

	code_at(c, cur + 1, code);
	step = 0;
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur + 1);

	code_at(c, cur - 2, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
	code_at(c, cur + 2, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
}

static void test_verify_window_zero(void **state)
{
	struct sd_config *c = cfg(state, 6, 0, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step = 0;
	char code[16];

	code_at(c, cur, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur);
	code_at(c, cur - 1, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
	code_at(c, cur + 1, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
}

static void test_verify_window_two(void **state)
{
	struct sd_config *c = cfg(state, 6, 2, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step = 0;
	char code[16];

	code_at(c, cur - 2, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur - 2);
	code_at(c, cur + 2, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur + 2);
	code_at(c, cur - 3, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
}

static void test_verify_replay(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step;
	char code[16];

	code_at(c, cur, code);
	/* the same step again */
	step = 12345;
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur, &step), SD_TOTP_REPLAY);
	assert_int_equal(step, 12345); /* untouched unless OK */
	/* a later step was already used */
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur + 1, &step), SD_TOTP_REPLAY);
	/* the step before was the last one: this one is new */
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur - 1, &step), SD_TOTP_OK);
	assert_int_equal(step, cur);

	/* an older code inside the window is a replay once a newer step was used */
	code_at(c, cur - 1, code);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur, &step), SD_TOTP_REPLAY);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur - 1, &step), SD_TOTP_REPLAY);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, cur - 2, &step), SD_TOTP_OK);
	assert_int_equal(step, cur - 1);
}

static void test_verify_wrong_code(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);
	uint64_t cur = sd_totp_step(c, NOW), step = 777;
	char near[3][16], code[16];
	int i, d;

	for (i = 0; i < 3; i++)
		code_at(c, cur - 1 + (uint64_t)i, near[i]);
	/* the current code with its last digit changed, matching no step in the window */
	strcpy(code, near[1]);
	for (d = 1; d < 10; d++) {
		code[5] = (char)('0' + (near[1][5] - '0' + d) % 10);
		if (strcmp(code, near[0]) != 0 && strcmp(code, near[2]) != 0)
			break;
	}
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
	assert_int_equal(step, 777);

	/* right digits, wrong shape */
	strcpy(code, near[1]);
	strcat(code, "0");
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
	code[5] = '\0';
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, code, 0, &step), SD_TOTP_BAD);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, "", 0, &step), SD_TOTP_BAD);
	assert_int_equal(sd_totp_verify(c, key20, 20, NOW, NULL, 0, &step), SD_TOTP_BAD);
	assert_int_equal(step, 777);

	/* another key's code */
	{
		static const unsigned char other[] = "abcdefghijabcdefghij";
		char theirs[16];

		assert_int_equal(sd_totp_code(c, other, 20, cur, theirs), 0);
		if (strcmp(theirs, near[0]) != 0 && strcmp(theirs, near[1]) != 0 &&
		    strcmp(theirs, near[2]) != 0)
			assert_int_equal(sd_totp_verify(c, key20, 20, NOW, theirs, 0, &step),
					 SD_TOTP_BAD);
	}
}

static void test_verify_eight_digits(void **state)
{
	struct sd_config *c = cfg(state, 8, 1, SD_ALGO_SHA256);
	uint64_t cur = sd_totp_step(c, NOW), step = 0;
	char code[16];

	assert_int_equal(sd_totp_code(c, key32, 32, cur, code), 0);
	assert_int_equal(strlen(code), 8);
	assert_int_equal(sd_totp_verify(c, key32, 32, NOW, code, 0, &step), SD_TOTP_OK);
	assert_int_equal(step, cur);
	/* the 6-digit tail is not enough when 8 are configured */
	assert_int_equal(sd_totp_verify(c, key32, 32, NOW, code + 2, 0, &step), SD_TOTP_BAD);
	/* the algorithm matters */
	c->totp.algorithm = SD_ALGO_SHA1;
	{
		char sha1code[16];

		assert_int_equal(sd_totp_code(c, key32, 32, cur, sha1code), 0);
		assert_string_not_equal(sha1code, code);
	}
}

static void test_verify_no_key(void **state)
{
	struct sd_config *c = cfg(state, 6, 1, SD_ALGO_SHA1);
	uint64_t step = 0;
	char out[16];

	assert_int_not_equal(sd_totp_code(c, key20, 0, 1, out), 0);
	assert_int_equal(sd_totp_verify(c, key20, 0, NOW, "123456", 0, &step), SD_TOTP_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_six),
		cmocka_unit_test(test_syntax_eight),
		cmocka_unit_test(test_rfc6238_sha1),
		cmocka_unit_test(test_rfc6238_sha256),
		cmocka_unit_test(test_rfc6238_sha512),
		cmocka_unit_test(test_six_digits_are_the_low_digits),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_verify_current),
		cmocka_unit_test(test_verify_window_one),
		cmocka_unit_test(test_verify_window_zero),
		cmocka_unit_test(test_verify_window_two),
		cmocka_unit_test(test_verify_replay),
		cmocka_unit_test(test_verify_wrong_code),
		cmocka_unit_test(test_verify_eight_digits),
		cmocka_unit_test(test_verify_no_key),
	};

	return cmocka_run_group_tests(tests, cfg_setup, cfg_teardown);
}
