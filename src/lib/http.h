/* http.h - the one libcurl setup behind the leaked-password check and the
 * etcd store.
 *
 * Every option that decides where a request goes and what is trusted is set
 * here, for both callers: the URL's scheme only (https, or http where the
 * caller allows it), no redirects, peer and host verified, TLS 1.2 or later,
 * only the configured CAs when a CA file is given, CURLOPT_PROXY and
 * CURLOPT_NOPROXY always set so that the environment's proxy variables never
 * decide where a request goes, no signals, connect and total timeouts, and a
 * cap on the reply, which is collected into a buffer that is wiped whenever
 * it is freed or outgrown. A client key is passed from memory
 * (CURLOPT_SSLKEY_BLOB), so libcurl never opens the key file by name after
 * the caller checked it.
 *
 * Each option goes through a setter for its type, checked at compile time
 * against the option's number (curl.h numbers options by argument type),
 * since the lazy-loading macros of lazy.h bypass curl's own type checks. */
#ifndef SD_HTTP_H
#define SD_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

struct sd_http_reply {
	char *buf; /* always NUL-terminated when not NULL */
	size_t len, cap;
	size_t max;  /* the most bytes accepted: a larger reply fails */
	int too_big; /* the reply went over max */
	int nomem;
};

struct sd_http_request {
	const char *url;
	int allow_http;	  /* else https only */
	const char *body; /* NULL: GET; else POST of blen bytes */
	size_t blen;
	const char *ca_file;   /* NULL or "": the system's CAs */
	const char *cert_file; /* NULL or "": no client certificate */
	const void *key;       /* the client key (PEM) in memory, or NULL */
	size_t key_len;
	const char *proxy; /* NULL or "": no proxy */
	long timeout_ms;   /* connect and total; at least 1 */
	struct curl_slist *hdrs;
	struct sd_http_reply *reply;
	char *errbuf; /* CURL_ERROR_SIZE bytes */
};

/* Reset H and set every option of REQ on it. CURLE_OK or the first option
 * libcurl refused. The key and body must stay valid until the request is
 * done (they are not copied). */
CURLcode sd_http_setup(CURL *h, const struct sd_http_request *req);

/* Free the reply's buffer after wiping it, and clear the counts (max is
 * kept). */
void sd_http_reply_free(struct sd_http_reply *r);

#endif
