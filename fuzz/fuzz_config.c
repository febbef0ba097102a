/* fuzz_config.c - the config parser, through the entry the module uses after
 * its file checks (sd_config_parse). Any input must give 0 or a list of
 * problems, never a crash, a leak or undefined behaviour. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sd_config c;
	struct sd_strlist problems = {0};
	char *text = malloc(size + 1);
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&c, 0, sizeof(c));
	rc = sd_config_parse(text, "fuzz.conf", &c, &problems);
	/* A clean parse has no problems; a failed one says why. */
	if ((rc == 0) != (problems.n == 0))
		__builtin_trap();
	sd_config_free(&c);
	sd_strlist_free(&problems);
	free(text);
	return 0;
}
