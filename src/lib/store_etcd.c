/* store_etcd.c - the fleet backend: per-user state and secrets in etcd v3,
 * through its HTTP/JSON gateway (POST /v3/kv/range and /v3/kv/txn, keys
 * and values in base64), with libcurl and json-c.
 *
 *   PREFIX "state/" USER     the state text (secdefaults-state(5))
 *   PREFIX "secrets/" USER   the secret text; a separate range, so an etcd
 *                            role can read state without reading secrets
 *
 * Concurrency. etcd has no cheap per-user lock over the gateway, so
 * sd_store_lock only records the user, and every write is a transaction
 * that compares the state key's mod_revision with the one this handle last
 * read or wrote (create_revision == 0 for a user not yet stored), and the
 * secret key's once the lock session read the secret, before it puts. A
 * write that loses the race fails with -EAGAIN and changes nothing; the
 * caller must not treat the sign-in as a success (SD_STORE_CAP_CAS in
 * store.h). Secret writes are guarded by the state key's revision too (a
 * secret saved during a sign-in that has since lost the race is not
 * stored).
 *
 * One read and one transaction per sign-in with a code. A handle opened
 * with SD_STORE_WITH_SECRET reads the state and the secret in one
 * read-only transaction of two ranges (as linearizable as a range) and
 * hands the secret, once, to the load_secret of the lock session that
 * follows. An SD_SAVE_NOSYNC save (the module's count before it checks a
 * code) is held in the handle and written by the next save, save_secret or
 * sync of the session, in the same transaction as the outcome; unlock
 * drops it. The module answers only after that transaction, and when it
 * loses the race reads, decides and checks again (up to three times). So
 * when two hosts check the same code at once, the second sees the step
 * already used: no step can be accepted twice, and no counted failure can
 * be overwritten. A transaction that returns is in the log of a quorum of
 * members: there is nothing else for sync to make durable.
 *
 * Requests. Each request goes to the endpoint that answered last and, when
 * that one fails (no connection, timeout, HTTP 5xx, an unreadable reply),
 * to the next one, each endpoint at most once per request and each attempt
 * bounded by etcd.timeout_ms. Reads are linearizable (etcd's default), so
 * a member without quorum cannot answer with old state. libcurl is locked
 * down by http.c, as for the leaked check: the scheme of the endpoint only
 * (https, or http for loopback endpoints, which the configuration
 * enforces), peer and host verified with etcd.ca_file, client certificate
 * etcd.cert_file, TLS 1.2 or later, no redirects, no proxy (the
 * environment's proxy variables are ignored), no signals, a size cap on
 * replies. The client key (etcd.key_file) is checked and read once per
 * handle through one descriptor and given to libcurl from memory, never by
 * name. Request bodies and replies that may carry a secret are wiped;
 * the copies json-c makes while parsing a secret's reply are not. */
#include "config.h"

#include <curl/curl.h>

#include "http.h"
#include "lazy.h"
#include "store.h"
#include "store_etcd.h"
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_DIR "state/"
#define SECRET_DIR "secrets/"
#define LIST_PAGE 500

/* ---- base64 and replies (no network) ------------------------------------ */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sd_etcd_b64_encode(const unsigned char *in, size_t len, char **out)
{
	size_t i, o = 0;
	char *s;

	*out = NULL;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return -ENOMEM;
	s = malloc((len + 2) / 3 * 4 + 1);
	if (s == NULL)
		return -ENOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		s[o++] = b64chars[v >> 18];
		s[o++] = b64chars[(v >> 12) & 63];
		s[o++] = b64chars[(v >> 6) & 63];
		s[o++] = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		s[o++] = b64chars[v >> 18];
		s[o++] = b64chars[(v >> 12) & 63];
		s[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int b64val(char ch)
{
	const char *p;

	if (ch == '\0' || ch == '=')
		return -1;
	p = strchr(b64chars, ch);
	return p == NULL ? -1 : (int)(p - b64chars);
}

int sd_etcd_b64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(in), i, o = 0, pad = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0)
		return -EINVAL;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	buf = malloc(len / 4 * 3 + 1);
	if (buf == NULL)
		return -ENOMEM;
	for (i = 0; i < len; i += 4) {
		int v[4], k, last = i + 4 == len;
		uint32_t x;

		for (k = 0; k < 4; k++) {
			v[k] = b64val(in[i + k]);
			if (v[k] < 0 && !(last && k >= 4 - (int)pad && in[i + k] == '=')) {
				sd_wipe(buf, len / 4 * 3 + 1);
				free(buf);
				return -EINVAL;
			}
			if (v[k] < 0)
				v[k] = 0;
		}
		x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		buf[o++] = (unsigned char)(x >> 16);
		if (!last || pad < 2)
			buf[o++] = (unsigned char)(x >> 8);
		if (!last || pad < 1)
			buf[o++] = (unsigned char)x;
		/* Canonical only: the bits a padded group drops must be zero. */
		if (last && ((pad == 2 && (x & 0xffff) != 0) || (pad == 1 && (x & 0xff) != 0))) {
			sd_wipe(buf, len / 4 * 3 + 1);
			free(buf);
			return -EINVAL;
		}
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

int sd_etcd_prefix_end(const unsigned char *prefix, size_t len, unsigned char **out, size_t *outlen)
{
	size_t n = len;
	unsigned char *e;

	*out = NULL;
	*outlen = 0;
	while (n > 0 && prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
		return -EINVAL;
	e = malloc(n + 1);
	if (e == NULL)
		return -ENOMEM;
	memcpy(e, prefix, n);
	e[n - 1]++;
	e[n] = '\0';
	*out = e;
	*outlen = n;
	return 0;
}

static void set_why(char *why, size_t whylen, const char *text)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", text);
}

/* The gateway writes int64 fields as strings; accept numbers too. An absent
 * field is 0 (proto3 leaves zero values out). */
static int get_u64(json_object *o, const char *name, uint64_t *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return sd_parse_u64(json_object_get_string(v), out) == 0 ? 0 : -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);

		if (x < 0)
			return -1;
		*out = (uint64_t)x;
		return 0;
	}
	return -1;
}

static int get_bool(json_object *o, const char *name, int *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

static json_object *parse_json(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (body == NULL || len == 0 || len > SD_ETCD_MAX_REPLY)
		return NULL;
	tok = json_tokener_new_ex(16);
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	/* Only white space may follow the object. */
	if (o != NULL) {
		size_t used = json_tokener_get_parse_end(tok);

		for (; used < len; used++)
			if (body[used] != ' ' && body[used] != '\n' && body[used] != '\r' &&
			    body[used] != '\t') {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* The base64 string field NAME of O, decoded. Absent: *OUT NULL and 0. */
static int get_bytes(json_object *o, const char *name, unsigned char **out, size_t *outlen)
{
	json_object *v;

	*out = NULL;
	*outlen = 0;
	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	return sd_etcd_b64_decode(json_object_get_string(v), out, outlen);
}

void sd_etcd_kvs_free(struct sd_etcd_kv *kvs, size_t n)
{
	size_t i;

	if (kvs == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		if (kvs[i].value != NULL) {
			sd_wipe(kvs[i].value, kvs[i].vlen);
			free(kvs[i].value);
		}
	}
	free(kvs);
}

/* The key-values of one range result O (a /v3/kv/range reply, or a
 * response_range inside a transaction's reply). */
static int range_of(json_object *o, size_t maxval, struct sd_etcd_kv **kvs, size_t *n, int *more,
		    char *why, size_t whylen)
{
	json_object *arr = NULL;
	struct sd_etcd_kv *v = NULL;
	size_t i, cnt = 0;
	int rc = 0;

	*kvs = NULL;
	*n = 0;
	*more = 0;
	if (!json_object_object_get_ex(o, "header", NULL)) {
		set_why(why, whylen, "reply has no header");
		rc = -EBADMSG;
		goto done;
	}
	if (get_bool(o, "more", more) != 0) {
		set_why(why, whylen, "\"more\" is not a boolean");
		rc = -EBADMSG;
		goto done;
	}
	if (json_object_object_get_ex(o, "kvs", &arr) && arr != NULL) {
		if (!json_object_is_type(arr, json_type_array)) {
			set_why(why, whylen, "\"kvs\" is not an array");
			rc = -EBADMSG;
			goto done;
		}
		cnt = json_object_array_length(arr);
	}
	if (cnt > 0) {
		v = calloc(cnt, sizeof(*v));
		if (v == NULL) {
			rc = -ENOMEM;
			goto done;
		}
	}
	for (i = 0; i < cnt; i++) {
		json_object *kv = json_object_array_get_idx(arr, i);

		if (kv == NULL || !json_object_is_type(kv, json_type_object)) {
			set_why(why, whylen, "a kvs entry is not an object");
			rc = -EBADMSG;
			break;
		}
		if (get_u64(kv, "create_revision", &v[i].create_revision) != 0 ||
		    get_u64(kv, "mod_revision", &v[i].mod_revision) != 0) {
			set_why(why, whylen, "a revision is not a number");
			rc = -EBADMSG;
			break;
		}
		rc = get_bytes(kv, "key", &v[i].key, &v[i].keylen);
		if (rc == 0 && v[i].key == NULL)
			rc = -EINVAL;
		if (rc == 0)
			rc = get_bytes(kv, "value", &v[i].value, &v[i].vlen);
		if (rc == -ENOMEM)
			break;
		if (rc != 0) {
			set_why(why, whylen, "a key or value is not base64");
			rc = -EBADMSG;
			break;
		}
		if (v[i].vlen > maxval) {
			set_why(why, whylen, "a value is too large");
			rc = -EBADMSG;
			break;
		}
		if (v[i].mod_revision == 0) {
			set_why(why, whylen, "a key has no mod_revision");
			rc = -EBADMSG;
			break;
		}
	}
	if (rc == 0) {
		*kvs = v;
		*n = cnt;
		v = NULL;
	}
done:
	sd_etcd_kvs_free(v, cnt);
	if (rc != 0)
		*more = 0;
	return rc;
}

/* The revision a member's reply was read at (header.revision, > 0): a reply
 * without one is not from etcd. 0, or -EBADMSG. */
static int header_revision(json_object *o, uint64_t *revision)
{
	json_object *hdr = NULL;

	if (!json_object_object_get_ex(o, "header", &hdr) || hdr == NULL ||
	    !json_object_is_type(hdr, json_type_object) ||
	    get_u64(hdr, "revision", revision) != 0 || *revision == 0)
		return -EBADMSG;
	return 0;
}

int sd_etcd_parse_range(const char *body, size_t len, size_t maxval, struct sd_etcd_kv **kvs,
			size_t *n, int *more, char *why, size_t whylen)
{
	json_object *o;
	uint64_t revision = 0;
	int rc;

	*kvs = NULL;
	*n = 0;
	*more = 0;
	o = parse_json(body, len);
	if (o == NULL) {
		set_why(why, whylen, "reply is not a JSON object");
		return -EBADMSG;
	}
	/* A member's reply carries the revision it was read at: without one it
	 * is not from etcd, and its empty range must not say "no such key". */
	if (header_revision(o, &revision) != 0) {
		set_why(why, whylen, "reply has no header revision");
		json_object_put(o);
		return -EBADMSG;
	}
	rc = range_of(o, maxval, kvs, n, more, why, whylen);
	json_object_put(o);
	return rc;
}

int sd_etcd_parse_txn_ranges(const char *body, size_t len, size_t maxval, size_t nr,
			     struct sd_etcd_kv **kvs, size_t *nkv, char *why, size_t whylen)
{
	json_object *o, *arr = NULL;
	uint64_t revision = 0;
	size_t i;
	int rc = 0, succeeded = 0, more = 0;

	for (i = 0; i < nr; i++) {
		kvs[i] = NULL;
		nkv[i] = 0;
	}
	o = parse_json(body, len);
	if (o == NULL) {
		set_why(why, whylen, "reply is not a JSON object");
		return -EBADMSG;
	}
	if (header_revision(o, &revision) != 0) {
		set_why(why, whylen, "reply has no header revision");
		rc = -EBADMSG;
	} else if (get_bool(o, "succeeded", &succeeded) != 0 || !succeeded) {
		set_why(why, whylen, "the transaction did not succeed");
		rc = -EBADMSG;
	} else if (!json_object_object_get_ex(o, "responses", &arr) || arr == NULL ||
		   !json_object_is_type(arr, json_type_array) ||
		   json_object_array_length(arr) != nr) {
		set_why(why, whylen, "\"responses\" is not an array of the ranges asked for");
		rc = -EBADMSG;
	}
	for (i = 0; rc == 0 && i < nr; i++) {
		json_object *r = json_object_array_get_idx(arr, i), *rr = NULL;

		if (r == NULL || !json_object_is_type(r, json_type_object) ||
		    !json_object_object_get_ex(r, "response_range", &rr) || rr == NULL ||
		    !json_object_is_type(rr, json_type_object)) {
			set_why(why, whylen, "a response is not a range result");
			rc = -EBADMSG;
			break;
		}
		rc = range_of(rr, maxval, &kvs[i], &nkv[i], &more, why, whylen);
		if (rc == 0 && more) {
			set_why(why, whylen, "a single-key range has more keys");
			rc = -EBADMSG;
		}
	}
	json_object_put(o);
	if (rc != 0)
		for (i = 0; i < nr; i++) {
			sd_etcd_kvs_free(kvs[i], nkv[i]);
			kvs[i] = NULL;
			nkv[i] = 0;
		}
	return rc;
}

int sd_etcd_parse_txn(const char *body, size_t len, int *succeeded, uint64_t *revision, char *why,
		      size_t whylen)
{
	json_object *o;
	int rc = 0;

	*succeeded = 0;
	*revision = 0;
	o = parse_json(body, len);
	if (o == NULL) {
		set_why(why, whylen, "reply is not a JSON object");
		return -EBADMSG;
	}
	if (header_revision(o, revision) != 0) {
		set_why(why, whylen, "reply has no header revision");
		rc = -EBADMSG;
	} else if (get_bool(o, "succeeded", succeeded) != 0) {
		set_why(why, whylen, "\"succeeded\" is not a boolean");
		rc = -EBADMSG;
	}
	json_object_put(o);
	if (rc != 0)
		*succeeded = 0;
	return rc;
}

void sd_etcd_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	json_object *o = parse_json(body, len), *v = NULL;
	const char *s = "";
	size_t i;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (o == NULL)
		return;
	if ((json_object_object_get_ex(o, "message", &v) && v != NULL &&
	     json_object_is_type(v, json_type_string)) ||
	    (json_object_object_get_ex(o, "error", &v) && v != NULL &&
	     json_object_is_type(v, json_type_string)))
		s = json_object_get_string(v);
	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[i] = '\0';
	json_object_put(o);
}

/* ---- the backend --------------------------------------------------------- */

struct etcd_store {
	struct sd_store base;
	struct sd_strlist endpoints;
	size_t cur; /* the endpoint that answered last */
	char *prefix, *ca_file, *cert_file;
	char *key; /* the client key, read once from the checked file */
	size_t key_len;
	/* STATE_DIR, whose etcd-endpoint file names the endpoint that
	 * answered last on this host (NULL: no state_dir); HINT_EP its
	 * index, or SIZE_MAX. */
	char *hint_dir;
	size_t hint_ep;
	long timeout_ms;
	int readonly, with_secret;
	CURL *h;
	/* The "lock": the user, and the state key's mod_revision as this
	 * handle last read or wrote it (0: absent), once known; the secret
	 * key's, once read under the lock (every write then compares it too). */
	int locked, have_rev, have_srev;
	char user[SD_USER_MAX + 1];
	uint64_t rev, srev;
	/* SD_STORE_WITH_SECRET: the secret fetched with the last load of
	 * SEC_USER's state (SEC_VAL NULL: the user has none), served once by
	 * the load_secret of the lock session that follows, wiped then, at
	 * unlock, at the next load and at close. */
	int have_sec;
	char sec_user[SD_USER_MAX + 1];
	char *sec_val;
	size_t sec_len;
	uint64_t sec_rev;
	/* An SD_SAVE_NOSYNC save held back (see etcd_save): the state text
	 * and the state revision it replaces. */
	char *pending;
	size_t pending_len;
	uint64_t pending_expect;
};

static const struct sd_store_ops etcd_ops;

static int dup_str(char **dst, const char *src)
{
	*dst = strdup(src != NULL ? src : "");
	return *dst == NULL ? -ENOMEM : 0;
}

static void drop_secret(struct etcd_store *d)
{
	if (d->sec_val != NULL) {
		sd_wipe(d->sec_val, d->sec_len);
		free(d->sec_val);
	}
	d->sec_val = NULL;
	d->sec_len = 0;
	d->sec_rev = 0;
	d->have_sec = 0;
	d->sec_user[0] = '\0';
}

static void drop_pending(struct etcd_store *d)
{
	if (d->pending != NULL) {
		sd_wipe(d->pending, d->pending_len);
		free(d->pending);
	}
	d->pending = NULL;
	d->pending_len = 0;
	d->pending_expect = 0;
}

static void etcd_close(struct sd_store *s)
{
	struct etcd_store *d = (struct etcd_store *)s;

	drop_secret(d);
	drop_pending(d);
	if (d->h != NULL)
		curl_easy_cleanup(d->h);
	sd_strlist_free(&d->endpoints);
	free(d->prefix);
	free(d->ca_file);
	free(d->cert_file);
	free(d->hint_dir);
	if (d->key != NULL) {
		sd_wipe(d->key, d->key_len);
		free(d->key);
	}
	free(d);
}

/* The endpoint memory. Each sign-in is a new handle (and often a new
 * process), so without it every request would start at the first
 * endpoint and wait out a hanging one (etcd.timeout_ms, more than once)
 * before rotating, on every sign-in. The file holds the URL of the
 * endpoint that answered last; it only orders the configured endpoints
 * (anything else in it is ignored), so it is written in place, without
 * fsync, and a torn or stale file costs one rotation. Best effort both
 * ways: a missing or unsafe state_dir (not owned by root, writable by
 * others), or a file that is not a plain single-link file of ours that
 * only we can read, means "start at the first endpoint"; it is then not
 * written either. */
#define HINT_NAME "etcd-endpoint"
#define HINT_MAX 1024

/* The state directory, if it is safe to keep the file in: a directory
 * owned by root (or the user running this) that nobody else can write.
 * A descriptor, or -1. */
static int hint_dirfd(const struct etcd_store *d)
{
	struct stat st;
	int fd;

	if (d->hint_dir == NULL)
		return -1;
	fd = open(d->hint_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()) ||
			(st.st_mode & 022) != 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The file's rules (secdefaults-state(5)): a plain file with one link,
 * owned by the user running this, that nobody else can read or write. */
static int hint_file_ok(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & 077) == 0 && st.st_nlink == 1 && st.st_size <= HINT_MAX;
}

static void hint_load(struct etcd_store *d)
{
	char buf[HINT_MAX + 1];
	ssize_t n = -1;
	size_t i;
	int dfd = hint_dirfd(d), fd;

	d->hint_ep = SIZE_MAX;
	if (dfd < 0)
		return;
	fd = openat(dfd, HINT_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	close(dfd);
	if (fd < 0)
		return;
	if (hint_file_ok(fd))
		n = read(fd, buf, HINT_MAX);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	for (i = 0; i < d->endpoints.n; i++)
		if (strcmp(buf, d->endpoints.v[i]) == 0) {
			d->hint_ep = d->cur = i;
			return;
		}
}

static void hint_save(struct etcd_store *d, size_t ep)
{
	const char *url = d->endpoints.v[ep];
	size_t len = strlen(url);
	char *line;
	int dfd, fd;

	d->hint_ep = ep;
	if (len >= HINT_MAX || (dfd = hint_dirfd(d)) < 0)
		return;
	fd = openat(dfd, HINT_NAME,
		    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
	close(dfd);
	if (fd < 0)
		return;
	line = malloc(len + 2);
	if (line != NULL && hint_file_ok(fd)) {
		memcpy(line, url, len);
		line[len] = '\n';
		if (pwrite(fd, line, len + 1, 0) == (ssize_t)(len + 1) &&
		    ftruncate(fd, (off_t)(len + 1)) != 0) {
			/* best effort: a longer old name left after it is ignored */
		}
	}
	free(line);
	close(fd);
}

/* The file with the client's private key (key_file, else cert_file, which
 * may hold both): whoever reads it is a trusted host to etcd, so it must be
 * a regular file owned by root (or by the user running this) that nobody
 * else can read or write. It is read here, through the descriptor that was
 * checked, and handed to libcurl from memory: no one can swap the file
 * between the check and its use. A symlink is followed (certbot-style
 * layouts); what is checked is the file it leads to. *OUT (wiped and freed
 * by the caller) holds *LEN bytes and a NUL. */
#define KEY_FILE_MAX (64 * 1024)
static int key_file_load(const char *path, char **out, size_t *len, struct sd_err *err)
{
	struct stat st, pre;
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, rc = 0;

	/* Not even opened unless it is a regular file (opening a device can
	 * have effects); then checked again on the descriptor. */
	if (stat(path, &pre) != 0) {
		rc = -errno;
		sd_err_set(err, "etcd: key file %s: %s", path, strerror(-rc));
		return rc;
	}
	st = pre;
	if (S_ISREG(pre.st_mode)) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0 || fstat(fd, &st) != 0) {
			rc = -errno;
			sd_err_set(err, "etcd: key file %s: %s", path, strerror(-rc));
			goto out;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		sd_err_set(err, "etcd: key file %s is not a regular file", path);
		rc = -EPERM;
		goto out;
	}
	if (st.st_dev != pre.st_dev || st.st_ino != pre.st_ino) {
		sd_err_set(err, "etcd: key file %s was replaced while it was checked", path);
		rc = -EAGAIN;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		sd_err_set(err, "etcd: key file %s is owned by uid %u: it must be owned by root",
			   path, (unsigned)st.st_uid);
		rc = -EPERM;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		sd_err_set(err,
			   "etcd: key file %s has mode %04o: others must not read it (chmod 0600)",
			   path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	if (st.st_nlink != 1) {
		sd_err_set(err, "etcd: key file %s has %lu hard links: it must have exactly one",
			   path, (unsigned long)st.st_nlink);
		rc = -EPERM;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > KEY_FILE_MAX) {
		sd_err_set(err, "etcd: key file %s: %s (%lld bytes; at most %d)", path,
			   st.st_size <= 0 ? "empty" : "too large", (long long)st.st_size,
			   KEY_FILE_MAX);
		rc = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		sd_err_set(err, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			sd_err_set(err, "etcd: key file %s: %s", path,
				   n < 0 ? strerror(-rc) : "shorter than its size");
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	if (buf != NULL) {
		sd_wipe(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int sd_store_etcd_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		       struct sd_err *err)
{
	struct etcd_store *d;
	struct sd_err load_err = {""};
	const char *why = "";
	int https = 0, loaded;
	size_t i;

	if (c->etcd.endpoints.n == 0) {
		sd_err_set(err, "etcd: no endpoints configured (etcd.endpoints)");
		return -EINVAL;
	}
	for (i = 0; i < c->etcd.endpoints.n; i++) {
		if (sd_etcd_endpoint_check(c->etcd.endpoints.v[i], &why) != 0) {
			sd_err_set(err, "etcd: endpoint %zu %s", i + 1, why);
			return -EINVAL;
		}
		if (strncmp(c->etcd.endpoints.v[i], "https://", 8) == 0)
			https = 1;
	}
	/* libcurl would append every TLS secret to the file it names. */
	if (https && getenv("SSLKEYLOGFILE") != NULL) {
		sd_err_set(err, "etcd: SSLKEYLOGFILE is set in the environment");
		return -EPERM;
	}
	/* libcurl is loaded (and initialised, once) on first use: lazy.h. */
	loaded = sd_lazy_curl(&load_err);
	if (loaded != 0) {
		sd_err_set(err, "etcd: %s", load_err.msg);
		return loaded;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	if (c->etcd.key_file[0] != '\0' || c->etcd.cert_file[0] != '\0') {
		int rc = key_file_load(c->etcd.key_file[0] != '\0' ? c->etcd.key_file
								   : c->etcd.cert_file,
				       &d->key, &d->key_len, err);

		if (rc != 0) {
			free(d);
			return rc;
		}
	}
	d->base.ops = &etcd_ops;
	d->timeout_ms = c->etcd.timeout_ms > 0 ? c->etcd.timeout_ms : 1500;
	d->readonly = (flags & SD_STORE_READONLY) != 0;
	/* A read-only handle (status, explain, report) may belong to an etcd
	 * role that cannot read secrets: it never asks for them unasked. */
	d->with_secret = !d->readonly && (flags & SD_STORE_WITH_SECRET) != 0;
	for (i = 0; i < c->etcd.endpoints.n; i++)
		if (sd_strlist_add(&d->endpoints, c->etcd.endpoints.v[i]) != 0)
			break;
	if (i < c->etcd.endpoints.n || dup_str(&d->prefix, c->etcd.prefix) != 0 ||
	    dup_str(&d->ca_file, c->etcd.ca_file) != 0 ||
	    dup_str(&d->cert_file, c->etcd.cert_file) != 0 || (d->h = curl_easy_init()) == NULL) {
		etcd_close(&d->base);
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	if (c->state_dir != NULL && c->state_dir[0] == '/')
		d->hint_dir = strdup(c->state_dir);
	hint_load(d);
	*out = &d->base;
	return 0;
}

/* Checks a 200 reply and takes what it needs from it into CTX: 0, -EBADMSG
 * (an unreadable reply: try the next endpoint) or another -errno. */
typedef int (*reply_fn)(const char *body, size_t len, void *ctx, char *why, size_t whylen);

/* The endpoint URL with PATH appended, without a doubled slash. */
static char *make_url(const char *ep, const char *path)
{
	size_t n = strlen(ep), m = strlen(path);
	char *u;

	if (n > 0 && ep[n - 1] == '/')
		n--;
	u = malloc(n + m + 1);
	if (u == NULL)
		return NULL;
	memcpy(u, ep, n);
	memcpy(u + n, path, m + 1);
	return u;
}

/* POST BODY to PATH on the endpoints in turn until one gives a reply FN
 * accepts. */
static int request(struct etcd_store *d, const char *path, const char *body, reply_fn fn, void *ctx,
		   struct sd_err *err)
{
	char errbuf[CURL_ERROR_SIZE], why[160], last[256] = "";
	struct curl_slist *hdrs = NULL, *h2;
	size_t i, n = d->endpoints.n;
	int rc = -EIO, timeouts = 0;

	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	h2 = hdrs != NULL ? curl_slist_append(hdrs, "Expect:") : NULL;
	if (h2 == NULL) {
		curl_slist_free_all(hdrs);
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		size_t ep = (d->cur + i) % n;
		struct sd_http_reply r = {NULL, 0, 0, SD_ETCD_MAX_REPLY, 0, 0};
		struct sd_http_request req;
		char *url = make_url(d->endpoints.v[ep], path);
		long status = 0;
		CURLcode e;

		if (url == NULL) {
			rc = -ENOMEM;
			snprintf(last, sizeof(last), "out of memory");
			break;
		}
		errbuf[0] = '\0';
		memset(&req, 0, sizeof(req));
		req.url = url;
		req.allow_http = 1; /* loopback only: sd_etcd_endpoint_check */
		req.body = body;
		req.blen = strlen(body);
		req.ca_file = d->ca_file;
		req.cert_file = d->cert_file;
		req.key = d->key;
		req.key_len = d->key_len;
		req.timeout_ms = d->timeout_ms;
		req.hdrs = hdrs;
		req.reply = &r;
		req.errbuf = errbuf;
		e = sd_http_setup(d->h, &req);
		if (e != CURLE_OK) {
			free(url);
			rc = -EIO;
			snprintf(last, sizeof(last), "libcurl refused an option: %s",
				 curl_easy_strerror(e));
			break;
		}
		e = curl_easy_perform(d->h);
		free(url);
		if (e == CURLE_OK &&
		    curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
			status = 0;
		if (e != CURLE_OK) {
			if (r.nomem) {
				snprintf(last, sizeof(last), "out of memory");
			} else if (r.too_big || e == CURLE_FILESIZE_EXCEEDED) {
				snprintf(last, sizeof(last), "%s: reply larger than %d bytes",
					 d->endpoints.v[ep], SD_ETCD_MAX_REPLY);
			} else if (e == CURLE_OPERATION_TIMEDOUT) {
				timeouts++;
				snprintf(last, sizeof(last), "%s: timeout after %ld ms",
					 d->endpoints.v[ep], d->timeout_ms);
			} else {
				size_t k;

				for (k = 0; errbuf[k] != '\0'; k++)
					if ((unsigned char)errbuf[k] < 0x20 ||
					    (unsigned char)errbuf[k] >= 0x7f)
						errbuf[k] = ' ';
				snprintf(last, sizeof(last), "%.80s: %.160s", d->endpoints.v[ep],
					 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(e));
			}
			rc = r.nomem ? -ENOMEM : -EIO;
		} else if (status == 200) {
			why[0] = '\0';
			rc = fn(r.buf, r.len, ctx, why, sizeof(why));
			if (rc == -EBADMSG)
				snprintf(last, sizeof(last), "%s: unreadable reply: %s",
					 d->endpoints.v[ep], why);
		} else {
			sd_etcd_error_text(r.buf, r.len, why, sizeof(why));
			snprintf(last, sizeof(last), "%s: HTTP %ld%s%s", d->endpoints.v[ep], status,
				 why[0] != '\0' ? ": " : "", why);
			/* A request the cluster refuses is refused by every
			 * member; a member in trouble answers 5xx. */
			rc = status >= 500 ? -EIO : -EPROTO;
		}
		sd_http_reply_free(&r);
		if (rc == 0 && i > 0)
			snprintf(d->base.note, sizeof(d->base.note),
				 "etcd: %zu endpoint%s skipped (%.160s); %.80s answered", i,
				 i == 1 ? "" : "s", last, d->endpoints.v[ep]);
		if (rc == 0 && ep != d->hint_ep)
			hint_save(d, ep);
		if (rc == 0)
			d->cur = ep;
		if (rc == 0 || rc == -ENOMEM || rc == -EPROTO)
			break;
	}
	curl_slist_free_all(hdrs);
	if (rc != 0) {
		if (rc == -EIO && timeouts == (int)n)
			rc = -ETIMEDOUT;
		if (rc == -EIO || rc == -ETIMEDOUT)
			sd_err_set(err, "etcd unavailable (%zu endpoint%s tried): %s", n,
				   n == 1 ? "" : "s", last);
		else
			sd_err_set(err, "etcd request failed: %s", last);
	}
	return rc;
}

/* request() for a BODY the caller built: BUILD is 0, or the -errno of
 * building it (BODY is then NULL). BODY is wiped (it may carry a secret)
 * and freed either way. */
static int post(struct etcd_store *d, const char *path, char *body, int build, reply_fn fn,
		void *ctx, struct sd_err *err)
{
	int rc = build != 0 ? build : body == NULL ? -ENOMEM : 0;

	if (rc != 0) {
		free(body);
		sd_err_set(err, "cannot build etcd request: %s", strerror(-rc));
		return rc;
	}
	rc = request(d, path, body, fn, ctx, err);
	sd_wipe(body, strlen(body));
	free(body);
	return rc;
}

static int check_user(const char *user, struct sd_err *err)
{
	if (sd_user_name_valid(user) != 0) {
		sd_err_set(err, "invalid user name");
		return -EINVAL;
	}
	return 0;
}

/* The key DIR USER under the prefix, base64. */
static int key_b64(struct etcd_store *d, const char *dir, const char *user, char **out)
{
	char key[512];
	int n = snprintf(key, sizeof(key), "%s%s%s", d->prefix, dir, user);

	if (n < 0 || (size_t)n >= sizeof(key))
		return -ENAMETOOLONG;
	return sd_etcd_b64_encode((const unsigned char *)key, (size_t)n, out);
}

struct range_ctx {
	size_t maxval;
	struct sd_etcd_kv *kvs;
	size_t n;
	int more;
};

static int on_range(const char *body, size_t len, void *ctx, char *why, size_t whylen)
{
	struct range_ctx *rc = ctx;

	return sd_etcd_parse_range(body, len, rc->maxval, &rc->kvs, &rc->n, &rc->more, why, whylen);
}

struct txn_ctx {
	int succeeded;
	uint64_t revision;
};

struct txn_ranges_ctx {
	struct sd_etcd_kv **kvs;
	size_t *nkv;
};

static int on_txn_ranges(const char *body, size_t len, void *ctx, char *why, size_t whylen)
{
	struct txn_ranges_ctx *t = ctx;
	size_t i;

	/* A reply from an earlier endpoint that turned out unreadable. */
	for (i = 0; i < 2; i++) {
		sd_etcd_kvs_free(t->kvs[i], t->nkv[i]);
		t->kvs[i] = NULL;
		t->nkv[i] = 0;
	}
	return sd_etcd_parse_txn_ranges(body, len, SD_STATE_MAX_SIZE, 2, t->kvs, t->nkv, why,
					whylen);
}

static int on_txn(const char *body, size_t len, void *ctx, char *why, size_t whylen)
{
	struct txn_ctx *t = ctx;

	return sd_etcd_parse_txn(body, len, &t->succeeded, &t->revision, why, whylen);
}

/* Read one key: 0 with its value (wipe and free it) and mod_revision, or
 * -ENOENT, or an error. */
static int get_key(struct etcd_store *d, const char *dir, const char *user, char **value,
		   size_t *vlen, uint64_t *rev, struct sd_err *err)
{
	struct range_ctx ctx = {SD_STATE_MAX_SIZE, NULL, 0, 0};
	char *k = NULL, *body = NULL;
	int rc;

	*value = NULL;
	*vlen = 0;
	*rev = 0;
	rc = key_b64(d, dir, user, &k);
	if (rc == 0 && asprintf(&body, "{\"key\":\"%s\"}", k) < 0) {
		body = NULL;
		rc = -ENOMEM;
	}
	free(k);
	rc = post(d, "/v3/kv/range", body, rc, on_range, &ctx, err);
	if (rc != 0)
		return rc;
	if (ctx.n == 0) {
		rc = -ENOENT;
	} else if (ctx.n != 1 || ctx.kvs[0].value == NULL) {
		sd_err_set(err, "etcd: unexpected reply for the key of %s", user);
		rc = -EBADMSG;
	} else {
		*value = (char *)ctx.kvs[0].value;
		*vlen = ctx.kvs[0].vlen;
		*rev = ctx.kvs[0].mod_revision;
		ctx.kvs[0].value = NULL;
		ctx.kvs[0].vlen = 0;
	}
	sd_etcd_kvs_free(ctx.kvs, ctx.n);
	return rc;
}

static void free_value(char *v, size_t n)
{
	if (v != NULL) {
		sd_wipe(v, n);
		free(v);
	}
}

/* Read the state and the secret of USER in one round trip (a read-only
 * transaction of two ranges, as linearizable as a range): the state as
 * get_key gives it, and the secret kept in the handle for the load_secret
 * of the lock session that follows (see etcd_load_secret). */
static int get_state_and_secret(struct etcd_store *d, const char *user, char **value, size_t *vlen,
				uint64_t *rev, struct sd_err *err)
{
	struct sd_etcd_kv *kvs[2] = {NULL, NULL};
	size_t nkv[2] = {0, 0};
	struct txn_ranges_ctx ctx = {kvs, nkv};
	char *ck = NULL, *sk = NULL, *body = NULL;
	int rc, n = -1;

	*value = NULL;
	*vlen = 0;
	*rev = 0;
	rc = key_b64(d, STATE_DIR, user, &ck);
	if (rc == 0)
		rc = key_b64(d, SECRET_DIR, user, &sk);
	if (rc == 0) {
		n = asprintf(&body,
			     "{\"success\":[{\"request_range\":{\"key\":\"%s\"}},"
			     "{\"request_range\":{\"key\":\"%s\"}}]}",
			     ck, sk);
		if (n < 0) {
			body = NULL;
			rc = -ENOMEM;
		}
	}
	free(ck);
	free(sk);
	rc = post(d, "/v3/kv/txn", body, rc, on_txn_ranges, &ctx, err);
	if (rc != 0)
		return rc;
	if (nkv[0] > 1 || nkv[1] > 1 || (nkv[0] == 1 && kvs[0][0].value == NULL) ||
	    (nkv[1] == 1 && kvs[1][0].value == NULL)) {
		sd_err_set(err, "etcd: unexpected reply for the keys of %s", user);
		rc = -EBADMSG;
	} else {
		if (nkv[0] == 0) {
			rc = -ENOENT;
		} else {
			*value = (char *)kvs[0][0].value;
			*vlen = kvs[0][0].vlen;
			*rev = kvs[0][0].mod_revision;
			kvs[0][0].value = NULL;
			kvs[0][0].vlen = 0;
		}
		drop_secret(d);
		d->have_sec = 1;
		snprintf(d->sec_user, sizeof(d->sec_user), "%s", user);
		if (nkv[1] == 1) {
			d->sec_val = (char *)kvs[1][0].value;
			d->sec_len = kvs[1][0].vlen;
			d->sec_rev = kvs[1][0].mod_revision;
			kvs[1][0].value = NULL;
			kvs[1][0].vlen = 0;
		}
	}
	sd_etcd_kvs_free(kvs[0], nkv[0]);
	sd_etcd_kvs_free(kvs[1], nkv[1]);
	return rc;
}

static int etcd_lock(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->readonly) {
		sd_err_set(err, "state store opened read-only");
		return -EROFS;
	}
	if (d->locked) {
		sd_err_set(err, "internal: a lock is already held");
		return -EDEADLK;
	}
	snprintf(d->user, sizeof(d->user), "%s", user);
	d->locked = 1;
	d->have_rev = 0;
	d->rev = 0;
	d->have_srev = 0;
	d->srev = 0;
	drop_pending(d);
	/* A secret fetched with this user's state is kept for this session. */
	if (d->have_sec && strcmp(d->sec_user, user) != 0)
		drop_secret(d);
	return 0;
}

static void etcd_unlock(struct sd_store *s)
{
	struct etcd_store *d = (struct etcd_store *)s;

	d->locked = 0;
	d->have_rev = 0;
	d->rev = 0;
	d->have_srev = 0;
	d->srev = 0;
	d->user[0] = '\0';
	drop_pending(d); /* never written: see etcd_save */
	drop_secret(d);
}

static int holds(struct etcd_store *d, const char *user)
{
	return d->locked && strcmp(d->user, user) == 0;
}

static int etcd_load(struct sd_store *s, const char *user, struct sd_state *st, struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	char why[160], *v = NULL;
	size_t n = 0;
	uint64_t rev = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->with_secret)
		rc = get_state_and_secret(d, user, &v, &n, &rev, err);
	else
		rc = get_key(d, STATE_DIR, user, &v, &n, &rev, err);
	if (rc == 0) {
		rc = sd_state_parse(v, n, st, why, sizeof(why));
		if (rc != 0) {
			sd_err_set(err, "corrupt state of %s in etcd (%s%s%s): %s", user, d->prefix,
				   STATE_DIR, user, why);
			memset(st, 0, sizeof(*st));
			rc = -EBADMSG;
		}
	}
	free_value(v, n);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	st->rev = rc == 0 ? rev : 0;
	if (holds(d, user)) {
		d->have_rev = 1;
		d->rev = st->rev;
	}
	return rc;
}

/* The compare clause "KEY's revision is REV" (REV 0: KEY does not exist). */
static int compare_clause(const char *k, uint64_t rev, char **out)
{
	int n;

	if (rev == 0)
		n = asprintf(out,
			     "{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
			     "\"create_revision\":\"0\"}",
			     k);
	else
		n = asprintf(out,
			     "{\"key\":\"%s\",\"target\":\"MOD\",\"result\":\"EQUAL\","
			     "\"mod_revision\":\"%" PRIu64 "\"}",
			     k, rev);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Append ITEM to the comma-separated list *LIST (a JSON array's inside). */
static int list_add(char **list, const char *item)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s%s", *list != NULL ? *list : "",
		     *list != NULL && **list != '\0' ? "," : "", item) < 0)
		return -ENOMEM;
	if (*list != NULL) {
		sd_wipe(*list, strlen(*list));
		free(*list);
	}
	*list = n;
	return 0;
}

/* Append the compare "KEY (base64) is at REV" to *CMPS. */
static int add_compare(char **cmps, const char *k, uint64_t rev)
{
	char *c = NULL;
	int rc = compare_clause(k, rev, &c);

	if (rc == 0)
		rc = list_add(cmps, c);
	free(c);
	return rc;
}

/* Append "put TEXT at KEY (base64)" to *OPS. */
static int add_put(char **ops, const char *k, const char *text, size_t len)
{
	char *val = NULL, *op = NULL;
	int rc = sd_etcd_b64_encode((const unsigned char *)text, len, &val);

	if (rc == 0 &&
	    asprintf(&op, "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}", k, val) < 0) {
		op = NULL;
		rc = -ENOMEM;
	}
	if (rc == 0)
		rc = list_add(ops, op);
	if (val != NULL) {
		sd_wipe(val, strlen(val));
		free(val);
	}
	if (op != NULL) {
		sd_wipe(op, strlen(op));
		free(op);
	}
	return rc;
}

/* One transaction: if every compare of CMPS holds, do OPS. 0 with the new
 * revision, -EAGAIN when a comparison failed (nothing was done), or an
 * error. The request body is wiped (it may carry a secret). */
static int txn(struct etcd_store *d, const char *cmps, const char *ops, uint64_t *newrev,
	       struct sd_err *err)
{
	struct txn_ctx t = {0, 0};
	char *body = NULL;
	int rc, n;

	n = asprintf(&body, "{\"compare\":[%s],\"success\":[%s]}", cmps != NULL ? cmps : "",
		     ops != NULL ? ops : "");
	if (n < 0)
		body = NULL;
	rc = post(d, "/v3/kv/txn", body, n < 0 ? -ENOMEM : 0, on_txn, &t, err);
	if (rc != 0)
		return rc;
	if (!t.succeeded)
		return -EAGAIN;
	*newrev = t.revision;
	return 0;
}

static void free_list(char *l)
{
	if (l != NULL) {
		sd_wipe(l, strlen(l));
		free(l);
	}
}

/* Write the state text TEXT of the locked user, and with SECRET (not
 * NULL) the secret text too, in one transaction that compares the state
 * key with EXPECT and, when this lock session read the secret, the secret
 * key with the revision read (else, for a secret write without a known
 * state revision, the secret key with SECREV). TEXT NULL: the secret
 * alone. */
static int commit(struct etcd_store *d, const char *text, size_t len, uint64_t expect,
		  int have_expect, const char *secret, size_t slen, uint64_t secrev,
		  uint64_t *newrev, struct sd_err *err)
{
	char *ck = NULL, *sk = NULL, *cmps = NULL, *ops = NULL;
	int rc;

	rc = key_b64(d, STATE_DIR, d->user, &ck);
	if (rc == 0)
		rc = key_b64(d, SECRET_DIR, d->user, &sk);
	if (rc == 0 && have_expect)
		rc = add_compare(&cmps, ck, expect);
	if (rc == 0 && d->have_srev)
		rc = add_compare(&cmps, sk, d->srev);
	else if (rc == 0 && secret != NULL && !have_expect)
		rc = add_compare(&cmps, sk, secrev);
	if (rc == 0 && text != NULL)
		rc = add_put(&ops, ck, text, len);
	if (rc == 0 && secret != NULL)
		rc = add_put(&ops, sk, secret, slen);
	if (rc == 0)
		rc = txn(d, cmps, ops, newrev, err);
	else
		sd_err_set(err, "cannot build etcd request: %s", strerror(-rc));
	free(ck);
	free(sk);
	free_list(cmps);
	free_list(ops);
	return rc;
}

/* After a write at NEWREV: what this handle now knows of the keys. */
static void committed(struct etcd_store *d, int state, int secret, uint64_t newrev)
{
	if (state) {
		d->have_rev = 1;
		d->rev = newrev;
	}
	if (secret && d->have_srev)
		d->srev = newrev;
}

/* A write that lost the race: forget the revisions, so nothing more is
 * written on what this session read. */
static void lost(struct etcd_store *d)
{
	d->have_rev = 0;
	d->have_srev = 0;
	drop_pending(d);
}

/* Saves. An SD_SAVE_NOSYNC save (the attempt count the module writes before
 * it checks a code) is held in this handle, not sent: the next save,
 * save_secret or sync of the lock session writes it, in the same
 * transaction as what the sign-in decided, and unlock drops it unwritten.
 * The module answers only after that transaction, so the count is in etcd
 * before any verdict leaves the host, and one transaction carries both
 * (see SECURITY.md). */
static int etcd_save(struct sd_store *s, const char *user, const struct sd_state *st,
		     unsigned flags, struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	uint64_t expect, newrev = 0;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (!holds(d, user)) {
		sd_err_set(err, "internal: state of %s saved without its lock", user);
		return -ENOLCK;
	}
	/* The revision this handle last saw: after its own save, st->rev (from
	 * the load) is older than the key, and the key is still ours. */
	expect = d->have_rev ? d->rev : st->rev;
	if (sd_state_format(st, user, &text, &len) != 0) {
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	drop_pending(d); /* this save replaces it */
	if (flags & SD_SAVE_NOSYNC) {
		d->pending = text;
		d->pending_len = len;
		d->pending_expect = expect;
		return 0;
	}
	rc = commit(d, text, len, expect, 1, NULL, 0, 0, &newrev, err);
	sd_wipe(text, len);
	free(text);
	if (rc == -EAGAIN) {
		sd_err_set(err,
			   "state of %s changed on another host or sign-in (etcd revision "
			   "%" PRIu64 " is no longer current): not saved",
			   user, expect);
		lost(d);
		return rc;
	}
	if (rc != 0)
		return rc;
	committed(d, 1, 0, newrev);
	return 0;
}

/* Write a held-back SD_SAVE_NOSYNC save, if any. */
static int etcd_sync(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	uint64_t newrev = 0;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->pending == NULL || !holds(d, user))
		return 0;
	rc = commit(d, d->pending, d->pending_len, d->pending_expect, 1, NULL, 0, 0, &newrev, err);
	if (rc == -EAGAIN) {
		sd_err_set(err,
			   "state of %s changed on another host or sign-in (etcd revision "
			   "%" PRIu64 " is no longer current): not saved",
			   user, d->pending_expect);
		lost(d);
		return rc;
	}
	drop_pending(d);
	if (rc != 0)
		return rc;
	committed(d, 1, 0, newrev);
	return 0;
}

static int etcd_load_secret(struct sd_store *s, const char *user, struct sd_secret *sec,
			    struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	char why[160], *v = NULL;
	size_t n = 0;
	uint64_t rev = 0;
	int rc;

	memset(sec, 0, sizeof(*sec));
	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->have_sec && holds(d, user) && strcmp(d->sec_user, user) == 0) {
		/* Fetched with the state (SD_STORE_WITH_SECRET): served once. */
		v = d->sec_val;
		n = d->sec_len;
		rev = d->sec_rev;
		rc = v != NULL ? 0 : -ENOENT;
		d->sec_val = NULL;
		drop_secret(d);
	} else {
		rc = get_key(d, SECRET_DIR, user, &v, &n, &rev, err);
	}
	if (rc == 0) {
		rc = sd_secret_parse(v, n, sec, why, sizeof(why));
		if (rc != 0) {
			sd_wipe(sec, sizeof(*sec));
			sd_err_set(err, "corrupt secret of %s in etcd (%s%s%s): %s", user,
				   d->prefix, SECRET_DIR, user, why);
			rc = -EBADMSG;
		} else {
			sec->rev = rev;
		}
	}
	free_value(v, n);
	if ((rc == 0 || rc == -ENOENT) && holds(d, user)) {
		/* Every write of this session now compares it too. */
		d->have_srev = 1;
		d->srev = rc == 0 ? rev : 0;
	}
	return rc;
}

static int etcd_save_secret(struct sd_store *s, const char *user, const struct sd_secret *sec,
			    struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	char *text = NULL;
	size_t len = 0;
	uint64_t newrev = 0, expect = 0;
	int rc, have_expect, with_state;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (!holds(d, user)) {
		sd_err_set(err, "internal: secret of %s saved without its lock", user);
		return -ENOLCK;
	}
	if (sd_secret_format(sec, &text, &len) != 0) {
		sd_err_set(err, "cannot format secret");
		return -ENOMEM;
	}
	/* Guarded by the state's revision when this handle read the state
	 * (every sign-in and every secdefaultsctl change does), else by the
	 * secret's own; a held-back state save goes in the same transaction. */
	with_state = d->pending != NULL;
	have_expect = with_state || d->have_rev;
	expect = with_state ? d->pending_expect : d->rev;
	rc = commit(d, with_state ? d->pending : NULL, d->pending_len, expect, have_expect, text,
		    len, sec->rev, &newrev, err);
	sd_wipe(text, len);
	free(text);
	if (rc == -EAGAIN) {
		sd_err_set(err, "state of %s changed on another host or sign-in: secret not saved",
			   user);
		lost(d);
		return rc;
	}
	if (rc != 0)
		return rc;
	drop_pending(d);
	committed(d, with_state, 1, newrev);
	return 0;
}

static int etcd_remove(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	struct txn_ctx t = {0, 0};
	char *sk = NULL, *ck = NULL, *cmp = NULL, *body = NULL;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (!holds(d, user)) {
		sd_err_set(err, "internal: state of %s removed without its lock", user);
		return -ENOLCK;
	}
	rc = key_b64(d, SECRET_DIR, user, &sk);
	if (rc == 0)
		rc = key_b64(d, STATE_DIR, user, &ck);
	if (rc == 0 && d->have_rev)
		rc = compare_clause(ck, d->rev, &cmp);
	if (rc == 0 &&
	    asprintf(&body,
		     "{\"compare\":[%s],\"success\":[{\"request_delete_range\":{\"key\":\"%s\"}},"
		     "{\"request_delete_range\":{\"key\":\"%s\"}}]}",
		     cmp != NULL ? cmp : "", sk, ck) < 0) {
		body = NULL;
		rc = -ENOMEM;
	}
	free(sk);
	free(ck);
	free(cmp);
	rc = post(d, "/v3/kv/txn", body, rc, on_txn, &t, err);
	if (rc != 0)
		return rc;
	if (!t.succeeded) {
		sd_err_set(err, "state of %s changed on another host: not removed", user);
		lost(d);
		return -EAGAIN;
	}
	drop_pending(d);
	d->have_rev = 1;
	d->rev = 0;
	if (d->have_srev)
		d->srev = 0;
	return 0;
}

static int etcd_list(struct sd_store *s, int (*cb)(const char *user, void *ctx), void *ctx,
		     struct sd_err *err)
{
	struct etcd_store *d = (struct etcd_store *)s;
	struct sd_strlist names = {NULL, 0};
	unsigned char *start = NULL, *end = NULL;
	size_t startlen, endlen = 0, plen, i;
	char *endb64 = NULL, pfx[256];
	int rc;

	plen = strlen(d->prefix) + strlen(STATE_DIR);
	startlen = plen;
	if (plen >= sizeof(pfx)) {
		sd_err_set(err, "etcd.prefix is too long");
		return -ENAMETOOLONG;
	}
	start = malloc(plen + 1);
	if (start == NULL) {
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	snprintf((char *)start, plen + 1, "%s%s", d->prefix, STATE_DIR);
	memcpy(pfx, start, plen + 1);
	rc = sd_etcd_prefix_end(start, plen, &end, &endlen);
	if (rc == 0)
		rc = sd_etcd_b64_encode(end, endlen, &endb64);
	free(end);
	while (rc == 0) {
		struct range_ctx rctx = {0, NULL, 0, 0};
		char *startb64 = NULL, *body = NULL;

		rc = sd_etcd_b64_encode(start, startlen, &startb64);
		if (rc == 0 && asprintf(&body,
					"{\"key\":\"%s\",\"range_end\":\"%s\",\"keys_only\":true,"
					"\"limit\":\"%d\"}",
					startb64, endb64, LIST_PAGE) < 0) {
			body = NULL;
			rc = -ENOMEM;
		}
		free(startb64);
		if (rc != 0) {
			sd_err_set(err, "out of memory");
			break;
		}
		rc = request(d, "/v3/kv/range", body, on_range, &rctx, err);
		free(body);
		if (rc != 0)
			break;
		for (i = 0; i < rctx.n && rc == 0; i++) {
			const char *name = (const char *)rctx.kvs[i].key + plen;

			if (rctx.kvs[i].keylen <= plen || memcmp(rctx.kvs[i].key, pfx, plen) != 0 ||
			    strlen((const char *)rctx.kvs[i].key) != rctx.kvs[i].keylen ||
			    sd_user_name_valid(name) != 0)
				continue;
			if (sd_strlist_add(&names, name) != 0) {
				sd_err_set(err, "out of memory");
				rc = -ENOMEM;
			}
		}
		if (rc == 0 && rctx.more && rctx.n > 0) {
			/* Next page: right after the last key. */
			struct sd_etcd_kv *last = &rctx.kvs[rctx.n - 1];
			unsigned char *next = malloc(last->keylen + 1);

			if (next == NULL) {
				sd_err_set(err, "out of memory");
				rc = -ENOMEM;
			} else {
				memcpy(next, last->key, last->keylen);
				next[last->keylen] = '\0';
				free(start);
				start = next;
				startlen = last->keylen + 1;
			}
			sd_etcd_kvs_free(rctx.kvs, rctx.n);
			continue;
		}
		sd_etcd_kvs_free(rctx.kvs, rctx.n);
		break;
	}
	free(start);
	free(endb64);
	for (i = 0; rc == 0 && i < names.n; i++)
		rc = cb(names.v[i], ctx);
	sd_strlist_free(&names);
	return rc;
}

static const struct sd_store_ops etcd_ops = {
	.name = "etcd",
	.caps = SD_STORE_CAP_CAS,
	.lock = etcd_lock,
	.unlock = etcd_unlock,
	.load = etcd_load,
	.save = etcd_save,
	.sync = etcd_sync,
	.load_secret = etcd_load_secret,
	.save_secret = etcd_save_secret,
	.remove = etcd_remove,
	.list = etcd_list,
	.close = etcd_close,
};
