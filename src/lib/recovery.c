/* recovery.c - one-time recovery codes. */
#include "config.h"

#include "recovery.h"
#include "enroll.h"
#include "util.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* yescrypt cost 3: a few milliseconds per check, ample for 50-bit codes.
 * crypt_rn rather than crypt_r: AddressSanitizer intercepts crypt_r and
 * crashes when libcrypt is loaded after it starts (a PAM module is). */
#define COST 3

/* Lower-case, drop spaces and dashes; only [a-z0-9] may remain. 0 or -EINVAL. */
static int normalise(const char *in, char *out, size_t n)
{
	size_t j = 0;

	for (; *in != '\0'; in++) {
		char ch = *in;

		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) || j + 1 >= n)
			return -EINVAL;
		out[j++] = ch;
	}
	out[j] = '\0';
	return j >= 8 ? 0 : -EINVAL;
}

int sd_recovery_hash(const char *code, char hash[SD_RECOVERY_HASH])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], norm[32];
	struct crypt_data *cd;
	const char *h;
	int rc = 0;

	if (normalise(code, norm, sizeof(norm)) != 0)
		return -EINVAL;
	if (crypt_gensalt_rn("$y$", COST, NULL, 0, salt, sizeof(salt)) == NULL) {
		sd_wipe(norm, sizeof(norm));
		return -EINVAL;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		sd_wipe(norm, sizeof(norm));
		return -ENOMEM;
	}
	h = crypt_rn(norm, salt, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*' || strlen(h) >= SD_RECOVERY_HASH)
		rc = -EINVAL;
	else
		memcpy(hash, h, strlen(h) + 1);
	sd_wipe(cd, sizeof(*cd));
	free(cd);
	sd_wipe(norm, sizeof(norm));
	return rc;
}

int sd_recovery_new(char code[SD_RECOVERY_CODE_LEN], char hash[SD_RECOVERY_HASH])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char rnd[10];
	int rc, i, j = 0;

	rc = sd_new_key(rnd, sizeof(rnd));
	if (rc != 0)
		return rc;
	for (i = 0; i < 10; i++) {
		if (i == 5)
			code[j++] = '-';
		code[j++] = alphabet[rnd[i] & 31];
	}
	code[j] = '\0';
	sd_wipe(rnd, sizeof(rnd));
	return sd_recovery_hash(code, hash);
}

int sd_recovery_match(const struct sd_secret *sec, const char *input)
{
	struct crypt_data *cd;
	char norm[32];
	int found = -1;
	size_t i;

	if (sec->nrecovery == 0 || normalise(input, norm, sizeof(norm)) != 0)
		return -1;
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		sd_wipe(norm, sizeof(norm));
		return -ENOMEM;
	}
	/* Check every code so the time does not tell which one matched. */
	for (i = 0; i < sec->nrecovery; i++) {
		const char *h = crypt_rn(norm, sec->recovery[i], cd, (int)sizeof(*cd));
		size_t len = strlen(sec->recovery[i]);

		if (h != NULL && strlen(h) == len && sd_ct_memcmp(h, sec->recovery[i], len) == 0 &&
		    found < 0)
			found = (int)i;
	}
	sd_wipe(cd, sizeof(*cd));
	free(cd);
	sd_wipe(norm, sizeof(norm));
	return found;
}

void sd_recovery_remove(struct sd_secret *sec, size_t idx)
{
	if (idx >= sec->nrecovery)
		return;
	memmove(sec->recovery[idx], sec->recovery[idx + 1],
		(sec->nrecovery - idx - 1) * sizeof(sec->recovery[0]));
	sec->nrecovery--;
	sd_wipe(sec->recovery[sec->nrecovery], sizeof(sec->recovery[0]));
}
