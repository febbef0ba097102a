/* enroll.h - what a user needs to register an authenticator: a new key, the
 * otpauth:// URI, and that URI as a QR code a terminal can show. */
#ifndef SD_ENROLL_H
#define SD_ENROLL_H

#include <stddef.h>

#include "conf.h"
#include "util.h"

#define SD_NEW_KEY_BYTES 20 /* 160 bits, as RFC 4226 recommends */

/* Fill KEY with SD_NEW_KEY_BYTES random bytes (getrandom). 0 or -errno. */
int sd_new_key(unsigned char *key, size_t len);

/* The otpauth://totp/ISSUER:USER?secret=...&issuer=...&algorithm=...&digits=...
 * &period=... URI, malloc'd into *OUT. ISSUER is totp.issuer, or HOST when
 * that is empty. 0 or -errno. */
int sd_otpauth_uri(const struct sd_config *c, const char *user, const char *host,
		   const unsigned char *key, size_t keylen, char **out);

/* The QR code of TEXT for a terminal: UTF-8 half blocks, two module rows per
 * line, a 4-module quiet zone, light modules drawn in the foreground. With
 * ANSI, each line is wrapped in black-background/white-foreground escapes so
 * it reads on any terminal theme. A malloc'd array of *NLINES malloc'd
 * lines (free with sd_qr_free); or -ENOTSUP when built without libqrencode,
 * -ELIBACC when it cannot be loaded, -ENOMEM, with ERR saying why. */
int sd_qr_lines(const char *text, int ansi, char ***lines, size_t *nlines, struct sd_err *err);
void sd_qr_free(char **lines, size_t nlines);

#endif
