/*
 * fuzz_multipart: the multipart/form-data parser (form.c), uploads included.
 *
 * The input is the Content-Type header value, a '\n', then the body, so the
 * fuzzer varies the boundary and the header's parameter syntax as well as
 * the body (the seeds in tests/fuzz/fuzz_multipart come from tests/data/form
 * in that shape).  An input without a '\n' is a Content-Type and no body.
 * Uploads go to a per-process directory; formcheck parses whole and in
 * chunks, compares, checks stored sizes and removes every file.  The limits
 * are small so that each can be passed by a few hundred bytes; the two
 * fixed sizes inside form.c (the 64 KiB preamble, the 16 KiB write buffer)
 * are beyond the inputs libFuzzer makes and are left to test_form.
 */
#include "config.h"

#include <string.h>

#include "form.h"
#include "xmem.h"

#include "formcheck.h"
#include "fuzz.h"

#define FUZZ_MAX_CTYPE 512	/* longer first lines are not header values */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct form_limits limits = {
		.max_body = 3000,
		.max_fields = 8,
		.max_name = 32,
		.max_value = 512,
		.max_part_header = 512,
		.max_file = 256,
		.max_files = 3,
	};
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl != NULL ? (size_t)(nl - data) : size;
	char *ctype;

	if (len > FUZZ_MAX_CTYPE)
		return 0;
	ctype = xstrndup((const char *)data, len);
	if (nl != NULL)
		formcheck_run(ctype, nl + 1, size - len - 1, &limits,
		    formcheck_dir());
	else
		formcheck_run(ctype, NULL, 0, &limits, formcheck_dir());
	free(ctype);
	return 0;
}
