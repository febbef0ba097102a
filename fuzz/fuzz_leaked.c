/* fuzz_leaked.c - the range-reply parser of the leaked-password check: any
 * body gives a hit, a miss or -EBADMSG, never a crash or an overread. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/leaked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so ASan sees any read past the end. */
	char *body = malloc(size ? size : 1);
	long count = -1;
	int rc;

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	rc = sd_leaked_parse(body, size, "1E4C9B93F3F0682250B6CF8331B7EE68FD8", &count);
	if (rc != 0 && rc != 1 && rc != -EBADMSG)
		__builtin_trap();
	if (rc == 1 && count <= 0)
		__builtin_trap();
	free(body);
	return 0;
}
