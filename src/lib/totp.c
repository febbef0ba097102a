/* totp.c - RFC 6238 through liboath.
 *
 * liboath computes the HMAC and truncation; the window walk is ours so the
 * replay guard is exact: only steps above the last accepted one are
 * candidates, every candidate is compared in constant time, and the matched
 * step is returned for the caller to store. */
#include "config.h"

#include "totp.h"
#include "util.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready = -1;

static void oath_setup(void)
{
	oath_ready = oath_init() == OATH_OK ? 0 : -1;
}

int sd_totp_syntax_ok(const struct sd_config *c, const char *code)
{
	int i;

	if (code == NULL)
		return 0;
	for (i = 0; i < c->totp.digits; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[i] == '\0';
}

uint64_t sd_totp_step(const struct sd_config *c, time_t now)
{
	return now > 0 ? (uint64_t)now / (uint64_t)c->totp.period : 0;
}

static int flags_of(const struct sd_config *c)
{
	switch (c->totp.algorithm) {
	case SD_ALGO_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case SD_ALGO_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	default:
		return 0;
	}
}

int sd_totp_code(const struct sd_config *c, const unsigned char *key, size_t keylen, uint64_t step,
		 char out[16])
{
	time_t t = (time_t)(step * (uint64_t)c->totp.period);

	pthread_once(&oath_once, oath_setup);
	if (oath_ready != 0 || keylen == 0)
		return -1;
	if (oath_totp_generate2((const char *)key, keylen, t, (unsigned)c->totp.period, 0,
				(unsigned)c->totp.digits, flags_of(c), out) != OATH_OK)
		return -1;
	return 0;
}

enum sd_totp_result sd_totp_verify(const struct sd_config *c, const unsigned char *key,
				   size_t keylen, time_t now, const char *code, uint64_t last_step,
				   uint64_t *step)
{
	uint64_t cur, first, s;
	uint64_t win = (uint64_t)c->totp.window;
	int fresh = 0, replay = 0;
	char want[16];

	if (!sd_totp_syntax_ok(c, code))
		return SD_TOTP_BAD;
	cur = sd_totp_step(c, now);
	first = cur > win ? cur - win : 0;
	for (s = first; s <= cur + win; s++) {
		if (sd_totp_code(c, key, keylen, s, want) != 0) {
			sd_wipe(want, sizeof(want));
			return SD_TOTP_ERROR;
		}
		if (sd_ct_memcmp(want, code, (size_t)c->totp.digits) == 0) {
			if (s > last_step && !fresh) {
				fresh = 1;
				*step = s;
			} else if (s <= last_step) {
				replay = 1;
			}
		}
	}
	sd_wipe(want, sizeof(want));
	if (fresh)
		return SD_TOTP_OK;
	return replay ? SD_TOTP_REPLAY : SD_TOTP_BAD;
}
