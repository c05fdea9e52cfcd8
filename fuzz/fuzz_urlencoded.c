/*
 * fuzz_urlencoded: the application/x-www-form-urlencoded parser (form.c).
 *
 * The input is the body.  Small limits make every ceiling (fields, name,
 * value, body) reachable with short inputs; formcheck parses the body whole
 * and in chunks, checks the fields against the limits and compares.  No
 * upload directory: a urlencoded body has no files.
 */
#include "config.h"

#include "form.h"

#include "formcheck.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct form_limits limits = {
		.max_body = 512,
		.max_fields = 8,
		.max_name = 16,
		.max_value = 64,
		.max_part_header = 256,
		.max_file = 256,
		.max_files = 2,
	};

	formcheck_run("application/x-www-form-urlencoded", data, size,
	    &limits, NULL);
	return 0;
}
