/* store_etcd.h - the pieces of the etcd backend that need no network: the
 * base64 of the JSON gateway and the parsing of its replies. Exposed for
 * the unit tests; the backend itself is opened through store.h. */
#ifndef SD_STORE_ETCD_H
#define SD_STORE_ETCD_H

#include <stddef.h>
#include <stdint.h>

/* Largest reply read from etcd (a page of user names is the biggest). */
#define SD_ETCD_MAX_REPLY (1024 * 1024)

/* Base64 (RFC 4648, with padding), as the gateway writes bytes. Encode into
 * a malloc'd string; decode a whole string (no spaces, padding required
 * when the length is not a multiple of 4) into a malloc'd, NUL-terminated
 * buffer. 0, -ENOMEM or -EINVAL. */
int sd_etcd_b64_encode(const unsigned char *in, size_t len, char **out);
int sd_etcd_b64_decode(const char *in, unsigned char **out, size_t *outlen);

/* The key right after every key starting with PREFIX (the range_end of a
 * prefix range): PREFIX with its last byte that is not 0xff incremented and
 * what follows dropped. Into a malloc'd buffer of *OUTLEN bytes; 0 or
 * -ENOMEM, -EINVAL for an empty or all-0xff prefix. */
int sd_etcd_prefix_end(const unsigned char *prefix, size_t len, unsigned char **out,
		       size_t *outlen);

struct sd_etcd_kv {
	unsigned char *key; /* NUL-terminated, KEYLEN bytes before the NUL */
	size_t keylen;
	unsigned char *value; /* likewise; NULL for a keys_only range */
	size_t vlen;
	uint64_t create_revision, mod_revision;
};

/* A /v3/kv/range reply: its key-values (malloc'd array, *N entries, may be
 * 0 with *KVS NULL) and whether more keys lie beyond them. Values longer
 * than MAXVAL are an error. 0, -ENOMEM or -EBADMSG (with the reason in
 * WHY). */
int sd_etcd_parse_range(const char *body, size_t len, size_t maxval, struct sd_etcd_kv **kvs,
			size_t *n, int *more, char *why, size_t whylen);
void sd_etcd_kvs_free(struct sd_etcd_kv *kvs, size_t n);

/* The reply of a read-only /v3/kv/txn whose NR operations are all
 * request_range: per range, its key-values into KVS[i] and NKV[i], as
 * sd_etcd_parse_range gives them. A transaction that did not succeed, a
 * different number of responses, a response that is not a range or a
 * range with "more" set is -EBADMSG. 0, -ENOMEM or -EBADMSG (with the
 * reason in WHY); on error every KVS[i] is NULL. */
int sd_etcd_parse_txn_ranges(const char *body, size_t len, size_t maxval, size_t nr,
			     struct sd_etcd_kv **kvs, size_t *nkv, char *why, size_t whylen);

/* A /v3/kv/txn reply: whether the comparisons held, and the store revision
 * after it (the new mod_revision of what a successful txn put). 0 or
 * -EBADMSG. */
int sd_etcd_parse_txn(const char *body, size_t len, int *succeeded, uint64_t *revision, char *why,
		      size_t whylen);

/* The "message" (or "error") of a gateway error reply, printable ASCII, or
 * "" when the body has none. */
void sd_etcd_error_text(const char *body, size_t len, char *out, size_t outlen);

#endif
