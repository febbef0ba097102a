/* http.c - the one libcurl setup behind the leaked check and the etcd store
 * (see http.h for what it enforces and why). */
#include "config.h"

#include <curl/curl.h>

#include "http.h"
#include "lazy.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(LIBCURL_VERSION_NUM) && LIBCURL_VERSION_NUM < 0x074700
#error "libcurl 7.71 or later is needed (CURLOPT_SSLKEY_BLOB)"
#endif

void sd_http_reply_free(struct sd_http_reply *r)
{
	size_t max = r->max;

	if (r->buf != NULL) {
		sd_wipe(r->buf, r->cap);
		free(r->buf);
	}
	memset(r, 0, sizeof(*r));
	r->max = max;
}

/* Grow by hand rather than with realloc, so no unwiped copy is left. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sd_http_reply *r = userdata;
	size_t n = size * nmemb;

	if ((size != 0 && n / size != nmemb) || n > r->max || r->len + n > r->max) {
		r->too_big = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (nb == NULL) {
			r->nomem = 1;
			return 0;
		}
		if (r->len > 0)
			memcpy(nb, r->buf, r->len);
		if (r->buf != NULL) {
			sd_wipe(r->buf, r->cap);
			free(r->buf);
		}
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, ptr, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

/* One setter per argument type; the macros below check at compile time
 * that the option takes that type (curl.h: CURLOPTTYPE_* bases). */
static CURLcode set_long(CURL *h, CURLoption o, long v)
{
	return curl_easy_setopt(h, o, v);
}

static CURLcode set_ptr(CURL *h, CURLoption o, const void *v)
{
	return curl_easy_setopt(h, o, v);
}

static CURLcode set_off(CURL *h, CURLoption o, curl_off_t v)
{
	return curl_easy_setopt(h, o, v);
}

static CURLcode set_fn(CURL *h, CURLoption o, curl_write_callback v)
{
	return curl_easy_setopt(h, o, v);
}

#define OPT_IN(o, base, next) ((o) >= (base) && (o) < (next))
#define SET(kind, setter, o, v, base, next)                                                        \
	do {                                                                                       \
		_Static_assert(OPT_IN(o, base, next), #o " does not take a " kind);                \
		if (e == CURLE_OK)                                                                 \
			e = setter(h, o, v);                                                       \
	} while (0)
#define SET_LONG(o, v) SET("long", set_long, o, v, CURLOPTTYPE_LONG, CURLOPTTYPE_OBJECTPOINT)
#define SET_PTR(o, v)                                                                              \
	SET("pointer", set_ptr, o, v, CURLOPTTYPE_OBJECTPOINT, CURLOPTTYPE_FUNCTIONPOINT)
#define SET_FN(o, v) SET("function", set_fn, o, v, CURLOPTTYPE_FUNCTIONPOINT, CURLOPTTYPE_OFF_T)
#define SET_OFF(o, v) SET("curl_off_t", set_off, o, v, CURLOPTTYPE_OFF_T, CURLOPTTYPE_BLOB)
#define SET_BLOB(o, v) SET("blob", set_ptr, o, v, CURLOPTTYPE_BLOB, CURLOPTTYPE_BLOB + 10000)

CURLcode sd_http_setup(CURL *h, const struct sd_http_request *req)
{
	/* The URL's own scheme only: https, or http where the caller allows
	 * it (etcd on loopback; the configuration checks that). */
	const char *scheme =
		req->allow_http && strncmp(req->url, "http://", 7) == 0 ? "http" : "https";
	long ms = req->timeout_ms > 0 ? req->timeout_ms : 1;
	/* NOCOPY: libcurl keeps no copy of its own, which it would free
	 * unwiped; the caller's buffer outlives the request. */
	struct curl_blob key = {(void *)(uintptr_t)req->key, req->key_len, CURL_BLOB_NOCOPY};
	CURLcode e = CURLE_OK;

	curl_easy_reset(h);
	SET_PTR(CURLOPT_ERRORBUFFER, req->errbuf);
	SET_LONG(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET_PTR(CURLOPT_PROTOCOLS_STR, scheme);
	SET_PTR(CURLOPT_REDIR_PROTOCOLS_STR, scheme);
#else
	SET_LONG(CURLOPT_PROTOCOLS,
		 strcmp(scheme, "https") == 0 ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
	SET_LONG(CURLOPT_REDIR_PROTOCOLS,
		 strcmp(scheme, "https") == 0 ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
#endif
	SET_PTR(CURLOPT_URL, req->url);
	if (req->body != NULL) {
		SET_LONG(CURLOPT_POST, 1L);
		SET_PTR(CURLOPT_POSTFIELDS, req->body);
		SET_OFF(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->blen);
	} else {
		SET_LONG(CURLOPT_HTTPGET, 1L);
	}
	SET_LONG(CURLOPT_FOLLOWLOCATION, 0L);
	SET_LONG(CURLOPT_MAXREDIRS, 0L);
	SET_LONG(CURLOPT_SSL_VERIFYPEER, 1L);
	SET_LONG(CURLOPT_SSL_VERIFYHOST, 2L);
	SET_LONG(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (req->ca_file != NULL && req->ca_file[0] != '\0') {
		/* Only the configured CAs: drop the built-in CA directory. */
		SET_PTR(CURLOPT_CAINFO, req->ca_file);
		SET_PTR(CURLOPT_CAPATH, NULL);
	}
	if (req->cert_file != NULL && req->cert_file[0] != '\0')
		SET_PTR(CURLOPT_SSLCERT, req->cert_file);
	if (req->key != NULL)
		SET_BLOB(CURLOPT_SSLKEY_BLOB, &key);
	/* "" = no proxy, and then the environment's http_proxy, https_proxy
	 * and ALL_PROXY are not consulted; NOPROXY "" likewise makes NO_PROXY
	 * irrelevant, so a configured proxy is used for every host. */
	SET_PTR(CURLOPT_PROXY, req->proxy != NULL ? req->proxy : "");
	SET_PTR(CURLOPT_NOPROXY, "");
	SET_LONG(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	SET_LONG(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	SET_LONG(CURLOPT_CONNECTTIMEOUT_MS, ms);
	SET_LONG(CURLOPT_TIMEOUT_MS, ms);
	SET_OFF(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->reply->max);
	SET_PTR(CURLOPT_HTTPHEADER, req->hdrs);
	SET_PTR(CURLOPT_USERAGENT, "pam_secdefaults");
	SET_FN(CURLOPT_WRITEFUNCTION, on_data);
	SET_PTR(CURLOPT_WRITEDATA, req->reply);
	return e;
}
