/* recovery.h - one-time recovery codes, stored as yescrypt hashes in the
 * user's secret file and accepted at the TOTP prompt. */
#ifndef SD_RECOVERY_H
#define SD_RECOVERY_H

#include "state.h"

#define SD_RECOVERY_CODE_LEN 12 /* "abcde-fgh23" + NUL */

/* A new random code (10 base32 characters shown as two groups of five) and
 * its hash. 0 or -errno. */
int sd_recovery_new(char code[SD_RECOVERY_CODE_LEN], char hash[SD_RECOVERY_HASH]);

/* The hash of an existing code (for imported scratch codes). 0 or -errno. */
int sd_recovery_hash(const char *code, char hash[SD_RECOVERY_HASH]);

/* The index of the recovery code INPUT matches in SEC, -1 if none, or a
 * negative errno below -1 on failure. Case, spaces and dashes are ignored. */
int sd_recovery_match(const struct sd_secret *sec, const char *input);

/* Burn code IDX. */
void sd_recovery_remove(struct sd_secret *sec, size_t idx);

#endif
