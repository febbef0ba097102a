/* enroll.c - new keys, otpauth URIs and terminal QR codes (libqrencode,
 * loaded when the first code is drawn: lazy.h). */
#include "config.h"

#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "enroll.h"
#include "lazy.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int sd_new_key(unsigned char *key, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(key + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static void uri_escape(const char *in, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t j = 0;

	for (; *in != '\0' && j + 4 < n; in++) {
		unsigned char ch = (unsigned char)*in;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[j++] = (char)ch;
		} else {
			out[j++] = '%';
			out[j++] = hex[ch >> 4];
			out[j++] = hex[ch & 15];
		}
	}
	out[j] = '\0';
}

int sd_otpauth_uri(const struct sd_config *c, const char *user, const char *host,
		   const unsigned char *key, size_t keylen, char **out)
{
	static const char *const algos[] = {"SHA1", "SHA256", "SHA512"};
	char b32[SD_MAX_KEY * 2], ei[200], eu[200];
	const char *issuer = c->totp.issuer[0] != '\0' ? c->totp.issuer : host;
	int n;

	if (issuer == NULL || issuer[0] == '\0')
		issuer = "pam_secdefaults";
	if (sd_base32_encode(key, keylen, b32, sizeof(b32)) != 0)
		return -EINVAL;
	uri_escape(issuer, ei, sizeof(ei));
	uri_escape(user, eu, sizeof(eu));
	n = asprintf(out,
		     "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=%s&digits=%d&period=%d",
		     ei, eu, b32, ei, algos[c->totp.algorithm], c->totp.digits, c->totp.period);
	sd_wipe(b32, sizeof(b32));
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

void sd_qr_free(char **lines, size_t nlines)
{
	size_t i;

	if (lines == NULL)
		return;
	for (i = 0; i < nlines; i++) {
		if (lines[i] != NULL)
			sd_wipe(lines[i], strlen(lines[i]));
		free(lines[i]);
	}
	free(lines);
}

#ifdef HAVE_QRENCODE
#define QUIET 4

/* 1 if module (x, y) of the padded symbol is dark. */
static int dark(const QRcode *q, int x, int y)
{
	x -= QUIET;
	y -= QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int sd_qr_lines(const char *text, int ansi, char ***lines, size_t *nlines, struct sd_err *err)
{
	/* Light modules are the foreground: full, upper, lower, none. */
	static const char *const glyph[4] = {"\xe2\x96\x88", "\xe2\x96\x80", "\xe2\x96\x84", " "};
	QRcode *q;
	char **v;
	int size, rows, y, x, rc;

	rc = sd_lazy_qrencode(err);
	if (rc != 0)
		return rc;
	q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	if (q == NULL) {
		sd_err_set(err, "libqrencode could not encode the URI");
		return -ENOMEM;
	}
	size = q->width + 2 * QUIET;
	rows = (size + 1) / 2;
	v = calloc((size_t)rows, sizeof(*v));
	if (v == NULL) {
		QRcode_free(q);
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (y = 0; y < rows; y++) {
		size_t cap = (size_t)size * 3 + 32, len = 0;
		char *line = malloc(cap);

		if (line == NULL) {
			QRcode_free(q);
			sd_qr_free(v, (size_t)rows);
			sd_err_set(err, "out of memory");
			return -ENOMEM;
		}
		if (ansi)
			len += (size_t)snprintf(line + len, cap - len, "\033[40;97m");
		for (x = 0; x < size; x++) {
			int top = dark(q, x, 2 * y), bottom = dark(q, x, 2 * y + 1);

			len += (size_t)snprintf(line + len, cap - len, "%s",
						glyph[(top ? 2 : 0) + (bottom ? 1 : 0)]);
		}
		if (ansi)
			len += (size_t)snprintf(line + len, cap - len, "\033[0m");
		v[y] = line;
	}
	QRcode_free(q);
	*lines = v;
	*nlines = (size_t)rows;
	return 0;
}
#else
int sd_qr_lines(const char *text, int ansi, char ***lines, size_t *nlines, struct sd_err *err)
{
	(void)text;
	(void)ansi;
	*lines = NULL;
	*nlines = 0;
	sd_err_set(err, "built without libqrencode");
	return -ENOTSUP;
}
#endif
