#include "config.h"

/* test_enroll.c - what enrolment shows the user (the otpauth URI and its
 * terminal QR code), new keys, and one-time recovery codes. The QR lines are
 * decoded back into a module matrix and compared with libqrencode's own
 * encoding of the URI, so the picture is proven to carry the URI. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <qrencode.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/lib/enroll.h"
#include "../../src/lib/recovery.h"
#include "../../src/lib/state.h"
#include "../../src/lib/conf.h"

/* RFC 6238's SHA-1 test key and its base32 form. */
static const unsigned char key20[] = "12345678901234567890";
#define KEY20_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

#define FULL "\xe2\x96\x88"  /* both halves light */
#define UPPER "\xe2\x96\x80" /* top light, bottom dark */
#define LOWER "\xe2\x96\x84" /* top dark, bottom light */
#define QUIET 4

/* ---- helpers --------------------------------------------------------- */

/* A config from TEXT (over the defaults); the caller frees it. */
static void parse_cfg(const char *text, struct sd_config *c)
{
	struct sd_strlist p = {0};
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sd_config_parse(text, "t.conf", c, &p);
	for (i = 0; i < p.n; i++)
		print_message("  problem: %s\n", p.v[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(p.n, 0);
	sd_strlist_free(&p);
}

static void set_issuer(struct sd_config *c, const char *issuer)
{
	free(c->totp.issuer);
	c->totp.issuer = strdup(issuer);
	assert_non_null(c->totp.issuer);
}

static void expect_uri(const struct sd_config *c, const char *user, const char *host,
		       const char *want)
{
	char *uri = NULL;

	assert_int_equal(sd_otpauth_uri(c, user, host, key20, 20, &uri), 0);
	assert_non_null(uri);
	assert_string_equal(uri, want);
	free(uri);
}

/* Remove "ESC [ ... m" sequences from LINE in place; returns how many. */
static int strip_ansi(char *line)
{
	char *r = line, *w = line;
	int n = 0;

	while (*r != '\0') {
		if (r[0] == '\033' && r[1] == '[') {
			r += 2;
			while (*r != '\0' && *r != 'm')
				r++;
			assert_int_equal(*r, 'm');
			r++;
			n++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	return n;
}

/* Decode one rendered line into two rows of modules (1 = dark). Returns the
 * number of characters (columns); fails the test on any other glyph. */
static int decode_line(const char *line, unsigned char *top, unsigned char *bottom, int max)
{
	int x = 0;

	while (*line != '\0') {
		int t, b;

		assert_true(x < max);
		if (strncmp(line, FULL, 3) == 0) {
			t = 0, b = 0, line += 3;
		} else if (strncmp(line, UPPER, 3) == 0) {
			t = 0, b = 1, line += 3;
		} else if (strncmp(line, LOWER, 3) == 0) {
			t = 1, b = 0, line += 3;
		} else if (*line == ' ') {
			t = 1, b = 1, line += 1;
		} else {
			fail_msg("unexpected byte 0x%02x in a QR line", (unsigned char)*line);
			return -1;
		}
		top[x] = (unsigned char)t;
		bottom[x] = (unsigned char)b;
		x++;
	}
	return x;
}

/* Render TEXT with sd_qr_lines (ANSI or not), decode the lines and compare
 * every module with libqrencode's encoding of the same text. */
static void qr_round_trip(const char *text, int ansi)
{
	QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	char **lines = NULL;
	size_t n = 0, i;
	int size, rows, x, y;
	unsigned char *m;

	assert_non_null(q);
	size = q->width + 2 * QUIET;
	rows = (size + 1) / 2;
	assert_int_equal(sd_qr_lines(text, ansi, &lines, &n, NULL), 0);
	assert_non_null(lines);
	assert_int_equal(n, (size_t)rows);

	/* The decoded picture: 2 * rows module rows of SIZE columns. */
	m = calloc((size_t)(2 * rows) * (size_t)size, 1);
	assert_non_null(m);
	for (i = 0; i < n; i++) {
		char *copy = strdup(lines[i]);
		int cols, esc;

		assert_non_null(copy);
		esc = strip_ansi(copy);
		if (ansi) {
			/* Wrapped in black background / bright white foreground, reset at
			 * the end, so it reads on a light or dark terminal. */
			assert_int_equal(esc, 2);
			assert_memory_equal(lines[i], "\033[40;97m", 8);
			assert_string_equal(lines[i] + strlen(lines[i]) - 4, "\033[0m");
		} else {
			assert_int_equal(esc, 0);
			assert_null(strchr(lines[i], '\033'));
		}
		cols = decode_line(copy, m + (2 * i) * (size_t)size, m + (2 * i + 1) * (size_t)size,
				   size);
		assert_int_equal(cols, size);
		free(copy);
	}

	for (y = 0; y < 2 * rows; y++) {
		for (x = 0; x < size; x++) {
			int sx = x - QUIET, sy = y - QUIET, want = 0;

			if (sx >= 0 && sy >= 0 && sx < q->width && sy < q->width)
				want = q->data[sy * q->width + sx] & 1;
			if (m[(size_t)y * (size_t)size + (size_t)x] != want)
				fail_msg("module (%d,%d) is %s, expected %s (ansi=%d)", x, y,
					 want ? "light" : "dark", want ? "dark" : "light", ansi);
		}
	}
	/* Sanity: the symbol is not blank, and the three finder patterns'
	 * corners are dark where QR codes have them. */
	assert_int_equal(m[(size_t)QUIET * (size_t)size + QUIET], 1);
	assert_int_equal(m[(size_t)QUIET * (size_t)size + (size_t)(QUIET + q->width - 1)], 1);
	assert_int_equal(m[(size_t)(QUIET + q->width - 1) * (size_t)size + QUIET], 1);
	/* The quiet zone is light all round. */
	for (x = 0; x < size; x++) {
		for (y = 0; y < QUIET; y++) {
			assert_int_equal(m[(size_t)y * (size_t)size + (size_t)x], 0);
			assert_int_equal(
				m[(size_t)(QUIET + q->width + y) * (size_t)size + (size_t)x], 0);
			assert_int_equal(m[(size_t)x * (size_t)size + (size_t)y], 0);
			assert_int_equal(
				m[(size_t)x * (size_t)size + (size_t)(QUIET + q->width + y)], 0);
		}
	}
	free(m);
	sd_qr_free(lines, n);
	QRcode_free(q);
}

/* ---- otpauth URI ------------------------------------------------------ */

static void test_uri_defaults_host_issuer(void **unused)
{
	struct sd_config c;

	(void)unused;
	assert_int_equal(sd_config_defaults(&c), 0);
	expect_uri(&c, "bob", "vm",
		   "otpauth://totp/vm:bob?secret=" KEY20_B32
		   "&issuer=vm&algorithm=SHA1&digits=6&period=30");
	/* No issuer and no host name: a fixed fallback, never an empty label. */
	expect_uri(&c, "bob", "",
		   "otpauth://totp/pam_secdefaults:bob?secret=" KEY20_B32
		   "&issuer=pam_secdefaults&algorithm=SHA1&digits=6&period=30");
	expect_uri(&c, "bob", NULL,
		   "otpauth://totp/pam_secdefaults:bob?secret=" KEY20_B32
		   "&issuer=pam_secdefaults&algorithm=SHA1&digits=6&period=30");
	sd_config_free(&c);
}

static void test_uri_configured_issuer(void **unused)
{
	struct sd_config c;

	(void)unused;
	parse_cfg("totp = { issuer = \"ACME Corp\"; };\n", &c);
	/* totp.issuer wins over the host name; the space is %20. */
	expect_uri(&c, "bob", "vm.example.com",
		   "otpauth://totp/ACME%20Corp:bob?secret=" KEY20_B32
		   "&issuer=ACME%20Corp&algorithm=SHA1&digits=6&period=30");
	sd_config_free(&c);
}

static void test_uri_escaping(void **unused)
{
	struct sd_config c;

	(void)unused;
	assert_int_equal(sd_config_defaults(&c), 0);
	/* Colons, spaces and @ in the issuer and the user are percent-encoded,
	 * so the only literal ':' is the label separator; unreserved
	 * characters (- . _ ~) stay as they are. */
	set_issuer(&c, "IT: A@B");
	expect_uri(&c, "bob smith@ex:1", "vm",
		   "otpauth://totp/IT%3A%20A%40B:bob%20smith%40ex%3A1?secret=" KEY20_B32
		   "&issuer=IT%3A%20A%40B&algorithm=SHA1&digits=6&period=30");
	set_issuer(&c, "");
	expect_uri(&c, "a.b_c-d~e", "host name:2",
		   "otpauth://totp/host%20name%3A2:a.b_c-d~e?secret=" KEY20_B32
		   "&issuer=host%20name%3A2&algorithm=SHA1&digits=6&period=30");
	sd_config_free(&c);
}

static void test_uri_algorithm_digits_period(void **unused)
{
	struct sd_config c;

	(void)unused;
	parse_cfg("totp = { algorithm = \"sha256\"; digits = 8; period = 60; issuer = \"X\"; };\n",
		  &c);
	expect_uri(&c, "alice", "vm",
		   "otpauth://totp/X:alice?secret=" KEY20_B32
		   "&issuer=X&algorithm=SHA256&digits=8&period=60");
	sd_config_free(&c);
	parse_cfg("totp = { algorithm = \"sha512\"; };\n", &c);
	expect_uri(&c, "alice", "vm",
		   "otpauth://totp/vm:alice?secret=" KEY20_B32
		   "&issuer=vm&algorithm=SHA512&digits=6&period=30");
	sd_config_free(&c);
}

static void test_uri_key_length(void **unused)
{
	static const unsigned char k10[10] = {0x48, 0x65, 0x6c, 0x6c, 0x6f,
					      0x21, 0xde, 0xad, 0xbe, 0xef};
	struct sd_config c;
	char *uri = NULL;

	(void)unused;
	assert_int_equal(sd_config_defaults(&c), 0);
	/* The RFC 4648 example key "Hello!\xde\xad\xbe\xef". */
	assert_int_equal(sd_otpauth_uri(&c, "bob", "vm", k10, sizeof(k10), &uri), 0);
	assert_string_equal(uri, "otpauth://totp/vm:bob?secret=JBSWY3DPEHPK3PXP"
				 "&issuer=vm&algorithm=SHA1&digits=6&period=30");
	free(uri);
	sd_config_free(&c);
}

/* ---- QR code --------------------------------------------------------- */

static void test_qr_plain(void **unused)
{
	(void)unused;
	qr_round_trip("otpauth://totp/vm:bob?secret=" KEY20_B32
		      "&issuer=vm&algorithm=SHA1&digits=6&period=30",
		      0);
}

static void test_qr_ansi(void **unused)
{
	(void)unused;
	qr_round_trip("otpauth://totp/vm:bob?secret=" KEY20_B32
		      "&issuer=vm&algorithm=SHA1&digits=6&period=30",
		      1);
}

static void test_qr_of_real_uri(void **unused)
{
	struct sd_config c;
	unsigned char key[SD_MAX_KEY];
	char *uri = NULL;

	(void)unused;
	/* A URI as the module makes it: a new 160-bit key, a long issuer. */
	parse_cfg("totp = { issuer = \"Example Corporation Sign-in\"; algorithm = \"sha512\"; };\n",
		  &c);
	assert_int_equal(sd_new_key(key, SD_NEW_KEY_BYTES), 0);
	assert_int_equal(
		sd_otpauth_uri(&c, "someone.with.a.long.name", "vm", key, SD_NEW_KEY_BYTES, &uri),
		0);
	qr_round_trip(uri, 0);
	qr_round_trip(uri, 1);
	free(uri);
	sd_config_free(&c);
}

static void test_qr_small_and_distinct(void **unused)
{
	char **a = NULL, **b = NULL;
	size_t na = 0, nb = 0, i;
	int differ = 0;

	(void)unused;
	/* A short text makes a version-1 symbol: 21 + 8 = 29 columns, 15 lines. */
	qr_round_trip("x", 0);
	assert_int_equal(sd_qr_lines("x", 0, &a, &na, NULL), 0);
	assert_int_equal(na, 15);
	/* Different texts give different pictures. */
	assert_int_equal(sd_qr_lines("y", 0, &b, &nb, NULL), 0);
	assert_int_equal(nb, na);
	for (i = 0; i < na; i++)
		differ |= strcmp(a[i], b[i]) != 0;
	assert_true(differ);
	sd_qr_free(a, na);
	sd_qr_free(b, nb);
	sd_qr_free(NULL, 0);
}

/* ---- new keys -------------------------------------------------------- */

static void test_new_key(void **unused)
{
	unsigned char a[SD_NEW_KEY_BYTES], b[SD_NEW_KEY_BYTES], zero[SD_NEW_KEY_BYTES];

	(void)unused;
	assert_int_equal(SD_NEW_KEY_BYTES, 20);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(sd_new_key(a, sizeof(a)), 0);
	assert_int_equal(sd_new_key(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(b, zero, sizeof(b));
}

/* ---- recovery codes -------------------------------------------------- */

static void assert_code_format(const char *code)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	int i;

	assert_int_equal(strlen(code), 11);
	for (i = 0; i < 11; i++) {
		if (i == 5)
			assert_int_equal(code[i], '-');
		else if (code[i] == '\0' || strchr(alphabet, code[i]) == NULL)
			fail_msg("character %d of \"%s\" is not in [a-z2-7]", i, code);
	}
}

static void test_recovery_new_format(void **unused)
{
	char code[SD_RECOVERY_CODE_LEN], code2[SD_RECOVERY_CODE_LEN];
	char hash[SD_RECOVERY_HASH], hash2[SD_RECOVERY_HASH];

	(void)unused;
	assert_int_equal(sd_recovery_new(code, hash), 0);
	assert_code_format(code);
	assert_int_equal(strncmp(hash, "$y$", 3), 0);
	/* The hash does not contain the code. */
	assert_null(strstr(hash, code));
	assert_int_equal(sd_recovery_new(code2, hash2), 0);
	assert_code_format(code2);
	assert_string_not_equal(code, code2);
	assert_string_not_equal(hash, hash2);
}

static void test_recovery_alphabet(void **unused)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	char code[SD_RECOVERY_CODE_LEN], hash[SD_RECOVERY_HASH];
	int seen[32] = {0}, i, j;

	(void)unused;
	/* 64 codes are 640 random characters: every one of the 32 appears
	 * unless the codes use only part of the alphabet (50 bits each). The
	 * chance that a fair generator misses one is below 1e-7. */
	for (i = 0; i < 64; i++) {
		assert_int_equal(sd_recovery_new(code, hash), 0);
		assert_code_format(code);
		for (j = 0; code[j] != '\0'; j++)
			if (code[j] != '-')
				seen[strchr(alphabet, code[j]) - alphabet] = 1;
	}
	for (i = 0; i < 32; i++)
		if (!seen[i])
			fail_msg("'%c' never appeared in 64 recovery codes", alphabet[i]);
}

/* A secret holding N fresh codes. */
static void make_codes(struct sd_secret *sec, char codes[][SD_RECOVERY_CODE_LEN], size_t n)
{
	size_t i;

	memset(sec, 0, sizeof(*sec));
	memcpy(sec->key, key20, 20);
	sec->keylen = 20;
	for (i = 0; i < n; i++) {
		assert_int_equal(sd_recovery_new(codes[i], sec->recovery[i]), 0);
		sec->nrecovery++;
	}
}

static void test_recovery_match_forms(void **unused)
{
	struct sd_secret sec;
	char codes[1][SD_RECOVERY_CODE_LEN], buf[64];
	size_t i, j;

	(void)unused;
	make_codes(&sec, codes, 1);
	assert_int_equal(sd_recovery_match(&sec, codes[0]), 0);

	/* Upper case. */
	for (i = 0; codes[0][i] != '\0'; i++)
		buf[i] = (char)toupper((unsigned char)codes[0][i]);
	buf[i] = '\0';
	assert_int_equal(sd_recovery_match(&sec, buf), 0);

	/* Without the dash. */
	for (i = 0, j = 0; codes[0][i] != '\0'; i++)
		if (codes[0][i] != '-')
			buf[j++] = codes[0][i];
	buf[j] = '\0';
	assert_int_equal(strlen(buf), 10);
	assert_int_equal(sd_recovery_match(&sec, buf), 0);

	/* With spaces instead of (and around) the dash. */
	snprintf(buf, sizeof(buf), "  %.5s %s ", codes[0], codes[0] + 6);
	assert_int_equal(sd_recovery_match(&sec, buf), 0);
	snprintf(buf, sizeof(buf), "%.2s %.3s - %.5s", codes[0], codes[0] + 2, codes[0] + 6);
	assert_int_equal(sd_recovery_match(&sec, buf), 0);
	sd_wipe(&sec, sizeof(sec));
}

static void test_recovery_no_match(void **unused)
{
	struct sd_secret sec, empty;
	char codes[1][SD_RECOVERY_CODE_LEN], other[SD_RECOVERY_CODE_LEN];
	char ohash[SD_RECOVERY_HASH], buf[64];

	(void)unused;
	make_codes(&sec, codes, 1);
	assert_int_equal(sd_recovery_new(other, ohash), 0);
	assert_string_not_equal(other, codes[0]);
	assert_int_equal(sd_recovery_match(&sec, other), -1);

	/* One character changed. */
	snprintf(buf, sizeof(buf), "%s", codes[0]);
	buf[10] = buf[10] == 'a' ? 'b' : 'a';
	assert_int_equal(sd_recovery_match(&sec, buf), -1);

	/* Too short: a prefix of the right code, and anything under 8. */
	snprintf(buf, sizeof(buf), "%.7s", codes[0]); /* "abcde-f": 6 characters */
	assert_int_equal(sd_recovery_match(&sec, buf), -1);
	snprintf(buf, sizeof(buf), "%.5s%.2s", codes[0], codes[0] + 6); /* 7 characters */
	assert_int_equal(sd_recovery_match(&sec, buf), -1);
	assert_int_equal(sd_recovery_match(&sec, ""), -1);
	assert_int_equal(sd_recovery_match(&sec, "-----"), -1);

	/* Longer than the code, or other characters in it. */
	snprintf(buf, sizeof(buf), "%sa", codes[0]);
	assert_int_equal(sd_recovery_match(&sec, buf), -1);
	snprintf(buf, sizeof(buf), "%.5s_%s", codes[0], codes[0] + 6);
	assert_int_equal(sd_recovery_match(&sec, buf), -1);
	snprintf(buf, sizeof(buf), "%s\n", codes[0]);
	assert_int_equal(sd_recovery_match(&sec, buf), -1);

	/* A six-digit TOTP code never matches. */
	assert_int_equal(sd_recovery_match(&sec, "123456"), -1);

	/* No codes at all. */
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(sd_recovery_match(&empty, codes[0]), -1);
	sd_wipe(&sec, sizeof(sec));
}

static void test_recovery_index_and_remove(void **unused)
{
	struct sd_secret sec;
	char codes[4][SD_RECOVERY_CODE_LEN];
	char h0[SD_RECOVERY_HASH], h2[SD_RECOVERY_HASH], h3[SD_RECOVERY_HASH];
	static const char zero[SD_RECOVERY_HASH];

	(void)unused;
	make_codes(&sec, codes, 4);
	assert_int_equal(sd_recovery_match(&sec, codes[0]), 0);
	assert_int_equal(sd_recovery_match(&sec, codes[1]), 1);
	assert_int_equal(sd_recovery_match(&sec, codes[2]), 2);
	assert_int_equal(sd_recovery_match(&sec, codes[3]), 3);
	memcpy(h0, sec.recovery[0], sizeof(h0));
	memcpy(h2, sec.recovery[2], sizeof(h2));
	memcpy(h3, sec.recovery[3], sizeof(h3));

	/* Burning code 1 shifts 2 and 3 down and wipes the freed slot. */
	sd_recovery_remove(&sec, 1);
	assert_int_equal(sec.nrecovery, 3);
	assert_string_equal(sec.recovery[0], h0);
	assert_string_equal(sec.recovery[1], h2);
	assert_string_equal(sec.recovery[2], h3);
	assert_memory_equal(sec.recovery[3], zero, sizeof(zero));
	assert_int_equal(sd_recovery_match(&sec, codes[1]), -1);
	assert_int_equal(sd_recovery_match(&sec, codes[0]), 0);
	assert_int_equal(sd_recovery_match(&sec, codes[2]), 1);
	assert_int_equal(sd_recovery_match(&sec, codes[3]), 2);
	/* The key is untouched. */
	assert_memory_equal(sec.key, key20, 20);
	assert_int_equal(sec.keylen, 20);

	/* Out of range: nothing happens. */
	sd_recovery_remove(&sec, 3);
	sd_recovery_remove(&sec, 100);
	assert_int_equal(sec.nrecovery, 3);
	assert_string_equal(sec.recovery[2], h3);

	/* The last one, then the first. */
	sd_recovery_remove(&sec, 2);
	assert_int_equal(sec.nrecovery, 2);
	assert_memory_equal(sec.recovery[2], zero, sizeof(zero));
	assert_int_equal(sd_recovery_match(&sec, codes[3]), -1);
	sd_recovery_remove(&sec, 0);
	assert_int_equal(sec.nrecovery, 1);
	assert_string_equal(sec.recovery[0], h2);
	assert_int_equal(sd_recovery_match(&sec, codes[2]), 0);
	sd_recovery_remove(&sec, 0);
	assert_int_equal(sec.nrecovery, 0);
	assert_int_equal(sd_recovery_match(&sec, codes[2]), -1);
	sd_wipe(&sec, sizeof(sec));
}

static void test_recovery_hash_scratch(void **unused)
{
	struct sd_secret sec;
	char h[SD_RECOVERY_HASH];

	(void)unused;
	/* google-authenticator scratch codes: 8 digits, hashed on import. */
	memset(&sec, 0, sizeof(sec));
	assert_int_equal(sd_recovery_hash("12345678", sec.recovery[0]), 0);
	assert_int_equal(strncmp(sec.recovery[0], "$y$", 3), 0);
	assert_int_equal(sd_recovery_hash("87654321", sec.recovery[1]), 0);
	sec.nrecovery = 2;
	assert_int_equal(sd_recovery_match(&sec, "12345678"), 0);
	assert_int_equal(sd_recovery_match(&sec, "87654321"), 1);
	assert_int_equal(sd_recovery_match(&sec, "12345679"), -1);
	assert_int_equal(sd_recovery_match(&sec, "1234567"), -1);
	/* Salted: the same code hashes differently each time. */
	assert_int_equal(sd_recovery_hash("12345678", h), 0);
	assert_string_not_equal(h, sec.recovery[0]);
	/* Too short or not [A-Za-z0-9 -] cannot be hashed. */
	assert_int_not_equal(sd_recovery_hash("1234567", h), 0);
	assert_int_not_equal(sd_recovery_hash("1234567$", h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_defaults_host_issuer),
		cmocka_unit_test(test_uri_configured_issuer),
		cmocka_unit_test(test_uri_escaping),
		cmocka_unit_test(test_uri_algorithm_digits_period),
		cmocka_unit_test(test_uri_key_length),
		cmocka_unit_test(test_qr_plain),
		cmocka_unit_test(test_qr_ansi),
		cmocka_unit_test(test_qr_of_real_uri),
		cmocka_unit_test(test_qr_small_and_distinct),
		cmocka_unit_test(test_new_key),
		cmocka_unit_test(test_recovery_new_format),
		cmocka_unit_test(test_recovery_alphabet),
		cmocka_unit_test(test_recovery_match_forms),
		cmocka_unit_test(test_recovery_no_match),
		cmocka_unit_test(test_recovery_index_and_remove),
		cmocka_unit_test(test_recovery_hash_scratch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
