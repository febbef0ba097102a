#include "config.h"

/* test_etcd.c - the network-free parts of the etcd backend: base64, the
 * prefix range end, and the parsing of /v3/kv/range, /v3/kv/txn and error
 * replies of the JSON gateway (as etcd 3.4 writes them), including the
 * malformed replies a broken or hostile member could send. Opening the
 * backend without endpoints fails cleanly. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/lib/conf.h"
#include "../../src/lib/store.h"
#include "../../src/lib/store_etcd.h"

static void enc(const char *in, size_t len, const char *want)
{
	char *out = NULL;

	assert_int_equal(sd_etcd_b64_encode((const unsigned char *)in, len, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_b64_encode(void **unused)
{
	(void)unused;
	enc("", 0, "");
	enc("f", 1, "Zg==");
	enc("fo", 2, "Zm8=");
	enc("foo", 3, "Zm9v");
	enc("foob", 4, "Zm9vYg==");
	enc("fooba", 5, "Zm9vYmE=");
	enc("foobar", 6, "Zm9vYmFy");
	enc("\xff\xfe\x00", 3, "//4A");
	enc("/secdefaults/state/alice", 24, "L3NlY2RlZmF1bHRzL3N0YXRlL2FsaWNl");
}

static void dec_ok(const char *in, const char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t n = 99;

	assert_int_equal(sd_etcd_b64_decode(in, &out, &n), 0);
	assert_int_equal(n, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[n], 0);
	free(out);
}

static void dec_bad(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t n = 99;

	if (sd_etcd_b64_decode(in, &out, &n) != -EINVAL)
		fail_msg("\"%s\" decoded", in);
	assert_null(out);
	assert_int_equal(n, 0);
}

static void test_b64_decode(void **unused)
{
	(void)unused;
	dec_ok("", "", 0);
	dec_ok("Zg==", "f", 1);
	dec_ok("Zm8=", "fo", 2);
	dec_ok("Zm9v", "foo", 3);
	dec_ok("Zm9vYmFy", "foobar", 6);
	dec_ok("//4A", "\xff\xfe\x00", 3);
	dec_bad("Zg");
	dec_bad("Zg=");
	dec_bad("Z===");
	dec_bad("====");
	dec_bad("Zg==Zg==");
	dec_bad("Zm9v\n");
	dec_bad("Zm 9");
	dec_bad("Zm9-");
	dec_bad("Zh=="); /* non-zero bits dropped by the padding */
	dec_bad("Zm9=");
}

static void test_b64_round_trip(void **unused)
{
	unsigned char in[300], *back = NULL;
	char *out = NULL;
	size_t i, len, n;

	(void)unused;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len < sizeof(in); len += 7) {
		assert_int_equal(sd_etcd_b64_encode(in, len, &out), 0);
		assert_int_equal(strlen(out), (len + 2) / 3 * 4);
		assert_int_equal(sd_etcd_b64_decode(out, &back, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
		free(out);
		free(back);
	}
}

static void test_prefix_end(void **unused)
{
	unsigned char *e = NULL;
	size_t n = 0;

	(void)unused;
	assert_int_equal(sd_etcd_prefix_end((const unsigned char *)"/sd/state/", 10, &e, &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(e, "/sd/state0", 10);
	free(e);
	assert_int_equal(sd_etcd_prefix_end((const unsigned char *)"a\xff\xff", 3, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(e, "b", 1);
	free(e);
	assert_int_equal(sd_etcd_prefix_end((const unsigned char *)"\xff", 1, &e, &n), -EINVAL);
	assert_int_equal(sd_etcd_prefix_end((const unsigned char *)"", 0, &e, &n), -EINVAL);
}

#define HDR                                                                                        \
	"\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"12\",\"raft_term\":\"2\"}"

static int range(const char *body, struct sd_etcd_kv **kvs, size_t *n, int *more)
{
	char why[160] = "";

	return sd_etcd_parse_range(body, strlen(body), 1024, kvs, n, more, why, sizeof(why));
}

static void test_parse_range(void **unused)
{
	struct sd_etcd_kv *kvs = NULL;
	size_t n = 9;
	int more = 9;
	const char *one = "{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"5\","
			  "\"mod_revision\":\"12\",\"version\":\"3\",\"value\":\"YmFy\"}],"
			  "\"count\":\"1\"}\n";
	const char *keys =
		"{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":\"5\","
		"\"mod_revision\":\"7\",\"version\":\"1\"},{\"key\":\"Yg==\","
		"\"create_revision\":6,\"mod_revision\":8}],\"more\":true,\"count\":\"9\"}";

	(void)unused;
	/* a missing key: no kvs at all */
	assert_int_equal(range("{" HDR "}", &kvs, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_null(kvs);
	assert_int_equal(more, 0);

	assert_int_equal(range(one, &kvs, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kvs[0].keylen, 3);
	assert_string_equal((char *)kvs[0].key, "foo");
	assert_int_equal(kvs[0].vlen, 3);
	assert_string_equal((char *)kvs[0].value, "bar");
	assert_int_equal(kvs[0].create_revision, 5);
	assert_int_equal(kvs[0].mod_revision, 12);
	sd_etcd_kvs_free(kvs, n);

	/* keys_only, numbers as numbers, more pages */
	assert_int_equal(range(keys, &kvs, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_int_equal(more, 1);
	assert_string_equal((char *)kvs[1].key, "b");
	assert_null(kvs[1].value);
	assert_int_equal(kvs[1].mod_revision, 8);
	sd_etcd_kvs_free(kvs, n);
}

static void test_parse_range_bad(void **unused)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"[]",
		"null",
		"{}",								/* no header */
		"{" HDR ",\"kvs\":{}}",						/* not an array */
		"{" HDR ",\"kvs\":[1]}",					/* not an object */
		"{" HDR ",\"kvs\":[{\"mod_revision\":\"3\"}]}",			/* no key */
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\"}]}",			/* no revision */
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9\",\"mod_revision\":\"3\"}]}", /* bad base64 */
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"-3\"}]}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":-3}]}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"x\"}]}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"3\",\"value\":7}]}",
		"{" HDR ",\"more\":\"yes\"}",
		"{" HDR "} trailing",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}]", /* cut short */
		NULL};
	static const char *const nohdr[] = {"{\"header\":{}}",
					    "{\"header\":\"x\",\"kvs\":[]}",
					    "{\"header\":{\"revision\":\"0\"}}",
					    "{\"header\":{\"revision\":\"x\"}}",
					    "{\"header\":{\"revision\":-1}}",
					    NULL};
	struct sd_etcd_kv *kvs = NULL;
	size_t i, n = 9;
	int more = 9;

	(void)unused;
	for (i = 0; bad[i] != NULL; i++) {
		if (range(bad[i], &kvs, &n, &more) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_null(kvs);
		assert_int_equal(n, 0);
		assert_int_equal(more, 0);
	}
	/* No usable header revision: an empty range like this would say "no
	 * such key" (a new user), and no etcd member sends it. */
	for (i = 0; nohdr[i] != NULL; i++)
		if (range(nohdr[i], &kvs, &n, &more) != -EBADMSG)
			fail_msg("accepted: %s", nohdr[i]);
}

static void test_parse_range_too_big(void **unused)
{
	struct sd_etcd_kv *kvs = NULL;
	size_t n = 0;
	int more = 0;
	char why[160] = "";
	const char *body = "{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"3\","
			   "\"value\":\"Zm9vYmFy\"}]}";

	(void)unused;
	assert_int_equal(
		sd_etcd_parse_range(body, strlen(body), 5, &kvs, &n, &more, why, sizeof(why)),
		-EBADMSG);
	assert_non_null(strstr(why, "too large"));
	assert_int_equal(
		sd_etcd_parse_range(body, strlen(body), 6, &kvs, &n, &more, why, sizeof(why)), 0);
	sd_etcd_kvs_free(kvs, n);
}

/* The read-only transaction that fetches state and secret together. */
static void test_parse_txn_ranges(void **unused)
{
	/* "s/alice" = "cy9hbGljZQ==", value "state" = "c3RhdGU="; the secret
	 * range empty (a user without a secret). */
	const char *ok =
		"{" HDR ",\"succeeded\":true,\"responses\":["
		"{\"response_range\":{\"header\":{\"revision\":\"12\"},\"kvs\":[{\"key\":"
		"\"cy9hbGljZQ==\",\"create_revision\":\"3\",\"mod_revision\":\"9\",\"version\":"
		"\"2\",\"value\":\"c3RhdGU=\"}],\"count\":\"1\"}},"
		"{\"response_range\":{\"header\":{\"revision\":\"12\"}}}]}";
	static const char *const bad[] = {
		"{" HDR ",\"succeeded\":false,\"responses\":[]}",
		"{" HDR ",\"succeeded\":true}",
		"{" HDR
		",\"succeeded\":true,\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"12\"}}}]}",
		"{" HDR
		",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"12\"}}},"
		"{\"response_range\":{\"header\":{\"revision\":\"12\"}}}]}",
		"{" HDR
		",\"succeeded\":true,\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"12\"},"
		"\"more\":true}},{\"response_range\":{\"header\":{\"revision\":\"12\"}}}]}",
		"{\"succeeded\":true,\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"12\"}}},"
		"{\"response_range\":{\"header\":{\"revision\":\"12\"}}}]}",
		"{" HDR
		",\"succeeded\":true,\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"12\"},"
		"\"kvs\":[{\"key\":\"!!\",\"mod_revision\":\"1\"}]}},{\"response_range\":{\"header\""
		":{}}}]}",
		NULL};
	struct sd_etcd_kv *kvs[2] = {NULL, NULL};
	size_t nkv[2] = {9, 9}, i;
	char why[160];

	(void)unused;
	assert_int_equal(
		sd_etcd_parse_txn_ranges(ok, strlen(ok), 1024, 2, kvs, nkv, why, sizeof(why)), 0);
	assert_int_equal(nkv[0], 1);
	assert_int_equal(nkv[1], 0);
	assert_null(kvs[1]);
	assert_string_equal((const char *)kvs[0][0].key, "s/alice");
	assert_string_equal((const char *)kvs[0][0].value, "state");
	assert_int_equal(kvs[0][0].mod_revision, 9);
	sd_etcd_kvs_free(kvs[0], nkv[0]);
	/* too large a value */
	assert_int_equal(sd_etcd_parse_txn_ranges(ok, strlen(ok), 4, 2, kvs, nkv, why, sizeof(why)),
			 -EBADMSG);
	assert_null(kvs[0]);
	for (i = 0; bad[i] != NULL; i++) {
		if (sd_etcd_parse_txn_ranges(bad[i], strlen(bad[i]), 1024, 2, kvs, nkv, why,
					     sizeof(why)) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_null(kvs[0]);
		assert_null(kvs[1]);
		assert_int_equal(nkv[0] + nkv[1], 0);
	}
}

static void test_parse_txn(void **unused)
{
	const char *ok = "{\"header\":{\"revision\":\"13\"},\"succeeded\":true,\"responses\":"
			 "[{\"response_put\":{\"header\":{\"revision\":\"13\"}}}]}";
	const char *lost = "{\"header\":{\"revision\":\"14\"}}";
	char why[160];
	uint64_t rev = 0;
	int succ = 9;

	(void)unused;
	assert_int_equal(sd_etcd_parse_txn(ok, strlen(ok), &succ, &rev, why, sizeof(why)), 0);
	assert_int_equal(succ, 1);
	assert_int_equal(rev, 13);
	assert_int_equal(sd_etcd_parse_txn(lost, strlen(lost), &succ, &rev, why, sizeof(why)), 0);
	assert_int_equal(succ, 0);
	assert_int_equal(rev, 14);
	assert_int_equal(sd_etcd_parse_txn("{}", 2, &succ, &rev, why, sizeof(why)), -EBADMSG);
	assert_int_equal(sd_etcd_parse_txn("{\"header\":{},\"succeeded\":true}", 30, &succ, &rev,
					   why, sizeof(why)),
			 -EBADMSG);
	assert_int_equal(succ, 0);
	assert_int_equal(sd_etcd_parse_txn("{\"header\":{\"revision\":\"3\"},\"succeeded\":1}", 41,
					   &succ, &rev, why, sizeof(why)),
			 -EBADMSG);
	assert_int_equal(succ, 0);
	assert_int_equal(sd_etcd_parse_txn("<html>", 6, &succ, &rev, why, sizeof(why)), -EBADMSG);
}

static void test_error_text(void **unused)
{
	const char *e = "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
			"\"message\":\"etcdserver: request\\ntimed out\"}";
	char out[64];

	(void)unused;
	sd_etcd_error_text(e, strlen(e), out, sizeof(out));
	assert_string_equal(out, "etcdserver: request?timed out");
	sd_etcd_error_text("{\"error\":\"x\"}", 13, out, sizeof(out));
	assert_string_equal(out, "x");
	sd_etcd_error_text("nope", 4, out, sizeof(out));
	assert_string_equal(out, "");
	sd_etcd_error_text(e, strlen(e), out, 5);
	assert_string_equal(out, "etcd");
}

static void test_open_without_endpoints(void **unused)
{
	struct sd_config c;
	struct sd_store *s = NULL;
	struct sd_err err = {""};

	(void)unused;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sd_config_defaults(&c), 0);
	c.state_backend = SD_BACKEND_ETCD;
	assert_int_equal(sd_store_open(&c, 0, &s, &err), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "endpoints"));
	/* an endpoint the configuration would refuse is refused here too */
	assert_int_equal(sd_strlist_add(&c.etcd.endpoints, "http://192.0.2.1:2379"), 0);
	assert_int_equal(sd_store_open(&c, 0, &s, &err), -EINVAL);
	assert_null(s);
	sd_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_encode),
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_range_bad),
		cmocka_unit_test(test_parse_range_too_big),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_parse_txn_ranges),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_open_without_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
