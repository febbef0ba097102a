/* leaked.c - the leaked-password check: SHA-1 (OpenSSL EVP), one HTTPS GET of
 * the range for the 5-hex prefix (libcurl), and the range-reply parser.
 * Both libraries are loaded on first use (lazy.h): a host whose config does
 * not enable the check never maps them.
 *
 * libcurl is locked down per request by http.c: https only, no redirects,
 * peer and host verified, TLS 1.2 or later, the environment's proxy
 * variables never consulted (leaked.proxy or no proxy), no signals (the
 * module lives inside other programs), connect and total timeouts, and a
 * 1 MiB cap on the reply. With SSLKEYLOGFILE in the
 * environment the lookup is refused (libcurl would write TLS secrets to that
 * file). Error messages carry libcurl's reason and the HTTP status, never
 * the password, its hash, the prefix or the proxy's credentials. */
#include "config.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include "http.h"
#include "lazy.h"
#include "leaked.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_LEN 5
#define SUFFIX_LEN 35
#define ERR_PREFIX "leaked-password lookup failed: "

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int sd_leaked_hash(const char *password, char hex[41])
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int rc = 0;

	if (password == NULL || hex == NULL)
		return -EINVAL;
	if (sd_lazy_crypto(NULL) != 0)
		return -ELIBACC;
	if (EVP_Digest(password, strlen(password), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20) {
		rc = -EIO;
		goto done;
	}
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[40] = '\0';
done:
	sd_wipe(md, sizeof(md));
	return rc;
}

/* One line without its terminator. 0 with *MATCH and *COUNT set, or -1. */
static int parse_line(const char *p, size_t n, const char *suffix, int *match, long *count)
{
	size_t i;
	long v = 0;
	int same = 1;

	if (n < SUFFIX_LEN + 2 || p[SUFFIX_LEN] != ':')
		return -1;
	for (i = 0; i < SUFFIX_LEN; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		if (h != hexval(suffix[i]))
			same = 0;
	}
	for (i = SUFFIX_LEN + 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (LONG_MAX - (p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*match = same;
	*count = v;
	return 0;
}

/* sd_leaked_parse, with the number of the first malformed line (0 for an
 * empty body) in *BADLINE. */
static int parse_range(const char *body, size_t len, const char *suffix, long *count,
		       size_t *badline)
{
	size_t pos = 0, line = 0, i;
	long best = 0;

	*badline = 0;
	if (count != NULL)
		*count = 0;
	if (suffix == NULL || strlen(suffix) != SUFFIX_LEN)
		return -EINVAL;
	for (i = 0; i < SUFFIX_LEN; i++)
		if (hexval(suffix[i]) < 0)
			return -EINVAL;
	if (body == NULL || len == 0)
		return -EBADMSG;

	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - body) : len;
		size_t n = end - pos;
		int match = 0;
		long v = 0;

		line++;
		if (n > 0 && body[pos + n - 1] == '\r')
			n--;
		if (parse_line(body + pos, n, suffix, &match, &v) != 0) {
			*badline = line;
			return -EBADMSG;
		}
		if (match && v > best)
			best = v;
		pos = end + 1;
	}
	if (count != NULL)
		*count = best;
	return best > 0 ? 1 : 0;
}

int sd_leaked_parse(const char *body, size_t len, const char *suffix35, long *count)
{
	size_t badline;

	return parse_range(body, len, suffix35, count, &badline);
}

/* ---- the request ------------------------------------------------------- */

/* 1 if TEXT holds HEX's prefix (in either case). */
static int holds_prefix(const char *text, const char *hex)
{
	size_t i, j;

	for (i = 0; text[i] != '\0'; i++) {
		for (j = 0; j < PREFIX_LEN; j++)
			if (text[i + j] == '\0' || hexval(text[i + j]) < 0 ||
			    hexval(text[i + j]) != hexval(hex[j]))
				break;
		if (j == PREFIX_LEN)
			return 1;
	}
	return 0;
}

/* 1 if TEXT holds the user:password of PROXY ("scheme://user:pw@host"), or
 * just its password. */
static int holds_proxy_secret(const char *text, const char *proxy)
{
	const char *start, *at, *colon;
	char secret[513];
	size_t n;
	int found = 0;

	if (proxy == NULL || (at = strrchr(proxy, '@')) == NULL)
		return 0;
	start = strstr(proxy, "://");
	start = start != NULL && start < at ? start + 3 : proxy;
	n = (size_t)(at - start);
	if (n == 0 || n >= sizeof(secret))
		return n != 0;
	memcpy(secret, start, n);
	secret[n] = '\0';
	colon = strchr(secret, ':');
	if (strstr(text, secret) != NULL ||
	    (colon != NULL && colon[1] != '\0' && strstr(text, colon + 1) != NULL))
		found = 1;
	sd_wipe(secret, sizeof(secret));
	return found;
}

/* libcurl's error text, printable ASCII only and without the trailing
 * newline some messages have; its generic text for CODE instead if the
 * detail names the prefix (it should not: libcurl names hosts, not paths)
 * or the proxy's credentials. */
static void curl_reason(char *dst, size_t dstlen, CURLcode code, const char *errbuf,
			const char *hex, const char *proxy)
{
	const char *src = errbuf, *note = "";
	size_t i, n;

	if (holds_proxy_secret(src, proxy))
		note = " (detail withheld: it quotes leaked.proxy's credentials)";
	if (src[0] == '\0' || note[0] != '\0' || holds_prefix(src, hex))
		src = curl_easy_strerror(code);
	n = strlen(src);
	while (n > 0 && (src[n - 1] == '\n' || src[n - 1] == '\r' || src[n - 1] == ' '))
		n--;
	for (i = 0; i < n && i + 1 < dstlen; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (dstlen > 0)
		dst[i] = '\0';
	if (i + strlen(note) < dstlen)
		memcpy(dst + i, note, strlen(note) + 1);
}

enum sd_leaked_result sd_leaked_check(const struct sd_config *c, const char *password,
				      struct sd_err *err)
{
	enum sd_leaked_result res = SD_LEAKED_ERROR;
	char hex[41], errbuf[CURL_ERROR_SIZE], reason[CURL_ERROR_SIZE];
	struct sd_http_reply r = {NULL, 0, 0, SD_LEAKED_MAX_REPLY, 0, 0};
	struct sd_http_request req;
	struct sd_err why = {""};
	struct curl_slist *hdrs = NULL, *h2;
	CURL *h = NULL;
	CURLcode e;
	char *url = NULL;
	size_t ulen = 0, badline = 0;
	long status = 0, count = 0;
	int rc;

	errbuf[0] = '\0';
	if (c == NULL || c->leaked.url == NULL || password == NULL) {
		sd_err_set(err, ERR_PREFIX "no URL or no password");
		return SD_LEAKED_ERROR;
	}
	/* libcurl opens this file at its global init and appends every TLS
	 * secret to it, with our privileges; refuse rather than let the
	 * caller's environment pick a file for root to write. */
	if (getenv("SSLKEYLOGFILE") != NULL) {
		sd_err_set(err, ERR_PREFIX "SSLKEYLOGFILE is set in the environment");
		return SD_LEAKED_ERROR;
	}
	if (sd_lazy_curl(&why) != 0 || sd_lazy_crypto(&why) != 0) {
		sd_err_set(err, ERR_PREFIX "%s", why.msg);
		return SD_LEAKED_ERROR;
	}
	if (sd_leaked_hash(password, hex) != 0) {
		sd_err_set(err, ERR_PREFIX "SHA-1 failed");
		goto done;
	}

	ulen = strlen(c->leaked.url) + PREFIX_LEN + 1;
	url = malloc(ulen);
	h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Add-Padding: true");
	h2 = hdrs != NULL ? curl_slist_append(hdrs, "Accept: text/plain") : NULL;
	if (url == NULL || h == NULL || h2 == NULL) {
		sd_err_set(err, ERR_PREFIX "out of memory");
		goto done;
	}
	memcpy(url, c->leaked.url, ulen - PREFIX_LEN - 1);
	memcpy(url + ulen - PREFIX_LEN - 1, hex, PREFIX_LEN);
	url[ulen - 1] = '\0';

	memset(&req, 0, sizeof(req));
	req.url = url;
	req.ca_file = c->leaked.ca_file;
	req.proxy = c->leaked.proxy;
	req.timeout_ms = c->leaked.timeout_ms;
	req.hdrs = hdrs;
	req.reply = &r;
	req.errbuf = errbuf;
	e = sd_http_setup(h, &req);
	if (e != CURLE_OK) {
		sd_err_set(err, ERR_PREFIX "libcurl refused an option: %s", curl_easy_strerror(e));
		goto done;
	}
	e = curl_easy_perform(h);
	if (e != CURLE_OK) {
		if (r.too_big || e == CURLE_FILESIZE_EXCEEDED) {
			sd_err_set(err, ERR_PREFIX "reply larger than 1 MiB");
		} else if (r.nomem) {
			sd_err_set(err, ERR_PREFIX "out of memory");
		} else if (e == CURLE_OPERATION_TIMEDOUT) {
			sd_err_set(err, ERR_PREFIX "timeout after %d ms", c->leaked.timeout_ms);
		} else if (e == CURLE_UNSUPPORTED_PROTOCOL) {
			sd_err_set(err,
				   ERR_PREFIX "only https:// URLs are allowed (or leaked.proxy "
					      "has a scheme libcurl does not support)");
		} else {
			curl_reason(reason, sizeof(reason), e, errbuf, hex, c->leaked.proxy);
			sd_err_set(err, ERR_PREFIX "%s", reason);
		}
		goto done;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
		sd_err_set(err, ERR_PREFIX "HTTP %ld%s", status,
			   status >= 300 && status < 400 ? " (redirects are not followed)" : "");
		goto done;
	}
	rc = parse_range(r.buf, r.len, hex + PREFIX_LEN, &count, &badline);
	if (rc == 1) {
		res = SD_LEAKED_YES;
	} else if (rc == 0) {
		res = SD_LEAKED_NO;
	} else if (badline == 0) {
		sd_err_set(err, ERR_PREFIX "empty reply");
	} else {
		sd_err_set(err, ERR_PREFIX "malformed reply line %zu", badline);
	}
done:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (url != NULL) {
		sd_wipe(url, ulen);
		free(url);
	}
	sd_http_reply_free(&r);
	sd_wipe(hex, sizeof(hex));
	sd_wipe(errbuf, sizeof(errbuf));
	return res;
}
