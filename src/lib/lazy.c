/* lazy.c - libcurl, libcrypto and libqrencode, loaded on first use (see
 * lazy.h for why).
 *
 * Each library is opened by its SONAME (configure reads it from the
 * development package; Debian 12: libcurl.so.4, libcrypto.so.3,
 * libqrencode.so.4) with RTLD_NOW, so a missing symbol fails here and not in
 * the middle of a sign-in, RTLD_LOCAL, so nothing it brings in can take the
 * place of a symbol the host process or another module resolves, and
 * RTLD_NODELETE. It is never dlclose'd: libcurl stays initialised for good
 * (curl_global_init is never undone), OpenSSL registers exit handlers that
 * must find their code, and PAM may unload this module at pam_end and load
 * it again later, which then opens the same, still mapped, library. So a
 * process pays for loading at most once, and only if a feature uses it. */
#include "config.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#ifndef SD_CURL_SONAME
#define SD_CURL_SONAME "libcurl.so.4"
#endif
#ifndef SD_CRYPTO_SONAME
#define SD_CRYPTO_SONAME "libcrypto.so.3"
#endif
#ifndef SD_QRENCODE_SONAME
#define SD_QRENCODE_SONAME "libqrencode.so.4"
#endif

struct sd_lazy_curl_api sd_lazy_curl_fn;
struct sd_lazy_crypto_api sd_lazy_crypto_fn;
#ifdef HAVE_QRENCODE
struct sd_lazy_qrencode_api sd_lazy_qrencode_fn;
#endif

/* One library: the outcome of its one attempt, and why it failed. */
struct lib {
	pthread_once_t once;
	int rc;
	char why[256];
};

static void *lib_open(struct lib *l, const char *soname)
{
	const char *e;
	void *h;

	(void)dlerror();
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (h == NULL) {
		e = dlerror();
		snprintf(l->why, sizeof(l->why), "cannot load %s: %s", soname,
			 e != NULL ? e : "not found");
		l->rc = -ELIBACC;
	}
	return h;
}

/* The address of NAME in H, or NULL with L's reason set (once). */
static void *lib_sym(struct lib *l, void *h, const char *soname, const char *name)
{
	void *p;

	if (h == NULL || l->rc != 0)
		return NULL;
	p = dlsym(h, name);
	if (p == NULL) {
		snprintf(l->why, sizeof(l->why), "%s has no %s", soname, name);
		l->rc = -ELIBACC;
	}
	return p;
}

static int lib_result(struct lib *l, struct sd_err *err)
{
	if (l->rc != 0)
		sd_err_set(err, "%s", l->why);
	return l->rc;
}

/* Casting dlsym's void * to a function pointer is what POSIX requires to
 * work. */
#define SYM(l, h, soname, slot, name)                                                              \
	((slot) = (__typeof__(slot))lib_sym((l), (h), (soname), (name)))

/* ---- libcurl ------------------------------------------------------------- */

static struct lib curl_lib = {PTHREAD_ONCE_INIT, 0, ""};

static void curl_load(void)
{
	struct sd_lazy_curl_api *f = &sd_lazy_curl_fn;
	CURLcode (*global_init)(long) = NULL;
	void *h = lib_open(&curl_lib, SD_CURL_SONAME);

	SYM(&curl_lib, h, SD_CURL_SONAME, global_init, "curl_global_init");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_init, "curl_easy_init");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_setopt, "curl_easy_setopt");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_perform, "curl_easy_perform");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_getinfo, "curl_easy_getinfo");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_reset, "curl_easy_reset");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_cleanup, "curl_easy_cleanup");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->easy_strerror, "curl_easy_strerror");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->slist_append, "curl_slist_append");
	SYM(&curl_lib, h, SD_CURL_SONAME, f->slist_free_all, "curl_slist_free_all");
	if (curl_lib.rc != 0)
		return;
	/* Never paired with curl_global_cleanup: other code in the host
	 * process may use libcurl too, and the library stays loaded. */
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_lib.why, sizeof(curl_lib.why), "libcurl initialisation failed");
		curl_lib.rc = -EIO;
	}
}

int sd_lazy_curl(struct sd_err *err)
{
	pthread_once(&curl_lib.once, curl_load);
	return lib_result(&curl_lib, err);
}

/* ---- libcrypto ----------------------------------------------------------- */

static struct lib crypto_lib = {PTHREAD_ONCE_INIT, 0, ""};

static void crypto_load(void)
{
	struct sd_lazy_crypto_api *f = &sd_lazy_crypto_fn;
	void *h = lib_open(&crypto_lib, SD_CRYPTO_SONAME);

	SYM(&crypto_lib, h, SD_CRYPTO_SONAME, f->Digest, "EVP_Digest");
	SYM(&crypto_lib, h, SD_CRYPTO_SONAME, f->sha1, "EVP_sha1");
}

int sd_lazy_crypto(struct sd_err *err)
{
	pthread_once(&crypto_lib.once, crypto_load);
	return lib_result(&crypto_lib, err);
}

/* ---- libqrencode --------------------------------------------------------- */

#ifdef HAVE_QRENCODE
static struct lib qrencode_lib = {PTHREAD_ONCE_INIT, 0, ""};

static void qrencode_load(void)
{
	struct sd_lazy_qrencode_api *f = &sd_lazy_qrencode_fn;
	void *h = lib_open(&qrencode_lib, SD_QRENCODE_SONAME);

	SYM(&qrencode_lib, h, SD_QRENCODE_SONAME, f->encodeString8bit, "QRcode_encodeString8bit");
	SYM(&qrencode_lib, h, SD_QRENCODE_SONAME, f->free, "QRcode_free");
}

int sd_lazy_qrencode(struct sd_err *err)
{
	pthread_once(&qrencode_lib.once, qrencode_load);
	return lib_result(&qrencode_lib, err);
}
#else
int sd_lazy_qrencode(struct sd_err *err)
{
	sd_err_set(err, "built without libqrencode");
	return -ENOTSUP;
}
#endif
