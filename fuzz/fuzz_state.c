/* fuzz_state.c - the state and secret file parsers. Whatever parses must
 * format and parse again to the same text (the writer and the reader agree),
 * and nothing may crash or leak. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sd_state st, st2;
	struct sd_secret sec, sec2;
	char why[200];
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	if (sd_state_parse((const char *)data, size, &st, why, sizeof(why)) == 0) {
		if (sd_state_format(&st, "fuzz", &out, &len) != 0)
			return 0;
		if (sd_state_parse(out, len, &st2, why, sizeof(why)) != 0 ||
		    sd_state_format(&st2, "fuzz", &out2, &len2) != 0 || len != len2 ||
		    memcmp(out, out2, len) != 0)
			__builtin_trap();
		free(out);
		free(out2);
	}
	out = out2 = NULL;
	if (sd_secret_parse((const char *)data, size, &sec, why, sizeof(why)) == 0) {
		if (sd_secret_format(&sec, &out, &len) != 0)
			return 0;
		if (sd_secret_parse(out, len, &sec2, why, sizeof(why)) != 0 ||
		    sec.keylen != sec2.keylen || memcmp(sec.key, sec2.key, sec.keylen) != 0 ||
		    sec.nrecovery != sec2.nrecovery)
			__builtin_trap();
		free(out);
	}
	return 0;
}
