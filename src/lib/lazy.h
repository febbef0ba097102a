/* lazy.h - libcurl, libcrypto and libqrencode, loaded on first use.
 *
 * The module is loaded and unloaded by every process that signs someone in
 * (sshd's per-connection child, sudo, login), so whatever it links is mapped
 * and relocated every time. libcurl alone pulls in some forty libraries (TLS,
 * HTTP/2, LDAP, Kerberos...), for features that are off by default: the
 * leaked-password check, the etcd store and the QR code at enrolment. So
 * none of the three is linked: each is dlopen'ed by its SONAME the first time
 * a feature needs it, and its functions are called through a table of
 * pointers resolved once.
 *
 * The code that uses them keeps the libraries' own names: including this
 * header after <curl/curl.h>, <openssl/evp.h> or <qrencode.h> maps each name
 * listed below to its pointer. Call sd_lazy_curl(), sd_lazy_crypto() or
 * sd_lazy_qrencode() first, and use those names only after it returned 0.
 * A function missing from the tables is an undefined symbol, which fails
 * the CLI's link and tests/pam/t_lazy.sh. */
#ifndef SD_LAZY_H
#define SD_LAZY_H

#include "util.h"

#ifdef CURLINC_CURL_H
struct sd_lazy_curl_api {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};
extern struct sd_lazy_curl_api sd_lazy_curl_fn;

/* The type-checking macros of curl/typecheck-gcc.h call the linked
 * function; the option constants and types still come from the header. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init() (sd_lazy_curl_fn.easy_init())
#define curl_easy_setopt(h, opt, val) (sd_lazy_curl_fn.easy_setopt((h), (opt), (val)))
#define curl_easy_perform(h) (sd_lazy_curl_fn.easy_perform(h))
#define curl_easy_getinfo(h, info, p) (sd_lazy_curl_fn.easy_getinfo((h), (info), (p)))
#define curl_easy_reset(h) (sd_lazy_curl_fn.easy_reset(h))
#define curl_easy_cleanup(h) (sd_lazy_curl_fn.easy_cleanup(h))
#define curl_easy_strerror(e) (sd_lazy_curl_fn.easy_strerror(e))
#define curl_slist_append(l, s) (sd_lazy_curl_fn.slist_append((l), (s)))
#define curl_slist_free_all(l) (sd_lazy_curl_fn.slist_free_all(l))
#endif

#ifdef OPENSSL_EVP_H
struct sd_lazy_crypto_api {
	int (*Digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *,
		      ENGINE *);
	const EVP_MD *(*sha1)(void);
};
extern struct sd_lazy_crypto_api sd_lazy_crypto_fn;

#define EVP_Digest(d, n, md, mdlen, type, eng)                                                     \
	(sd_lazy_crypto_fn.Digest((d), (n), (md), (mdlen), (type), (eng)))
#define EVP_sha1() (sd_lazy_crypto_fn.sha1())
#endif

#ifdef QRENCODE_H
struct sd_lazy_qrencode_api {
	QRcode *(*encodeString8bit)(const char *, int, QRecLevel);
	void (*free)(QRcode *);
};
extern struct sd_lazy_qrencode_api sd_lazy_qrencode_fn;

#define QRcode_encodeString8bit(s, v, l) (sd_lazy_qrencode_fn.encodeString8bit((s), (v), (l)))
#define QRcode_free(q) (sd_lazy_qrencode_fn.free(q))
#endif

/* Load the library and resolve its table, once per process (and again after
 * the module was unloaded and loaded). 0, or -ELIBACC with ERR naming the
 * library and dlerror's reason. sd_lazy_curl also runs curl_global_init,
 * once and never paired with curl_global_cleanup: other code in the host
 * process may use libcurl too. The caller refuses SSLKEYLOGFILE first
 * (libcurl opens that file at its global init). */
int sd_lazy_curl(struct sd_err *err);
int sd_lazy_crypto(struct sd_err *err);
int sd_lazy_qrencode(struct sd_err *err);

#endif
