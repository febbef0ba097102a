/* totp.h - RFC 6238 codes through liboath, with a replay guard. */
#ifndef SD_TOTP_H
#define SD_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

enum sd_totp_result {
	SD_TOTP_OK = 0, /* matched a step newer than the last accepted one */
	SD_TOTP_BAD,	/* no match in the window, or not exactly DIGITS digits */
	SD_TOTP_REPLAY, /* matched only a step at or below the last accepted one */
	SD_TOTP_ERROR	/* liboath failed: deny */
};

/* 1 if CODE is exactly c->totp.digits ASCII digits. */
int sd_totp_syntax_ok(const struct sd_config *c, const char *code);

/* The time step of NOW. */
uint64_t sd_totp_step(const struct sd_config *c, time_t now);

/* Check CODE against KEY at NOW, within c->totp.window steps either side,
 * refusing steps <= LAST_STEP. On SD_TOTP_OK *STEP is the matched step. */
enum sd_totp_result sd_totp_verify(const struct sd_config *c, const unsigned char *key,
				   size_t keylen, time_t now, const char *code, uint64_t last_step,
				   uint64_t *step);

/* The code for STEP (for the CLI and tests). 0 or -EINVAL. */
int sd_totp_code(const struct sd_config *c, const unsigned char *key, size_t keylen, uint64_t step,
		 char out[16]);

#endif
