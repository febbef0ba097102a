/* fuzz_location.c - PAM_RHOST and trusted-network parsing: any string gives
 * a NUL-terminated location within SD_LOCATION_LEN, and a network that
 * parses must contain its own address. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/location.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char loc[SD_LOCATION_LEN];
	char *s = malloc(size + 1);
	struct sd_net n;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(loc, 'x', sizeof(loc));
	sd_location_of(s, loc);
	if (memchr(loc, '\0', sizeof(loc)) == NULL)
		__builtin_trap();
	if (sd_net_parse(s, &n) == 0) {
		char *slash = strchr(s, '/');

		if (slash != NULL)
			*slash = '\0';
		if (!sd_net_match_any(&n, 1, s))
			__builtin_trap();
	}
	free(s);
	return 0;
}
