/* Unit tests for jobid.c: fresh ids are valid and distinct; nothing else is valid. */
#include "config.h"

#include <string.h>

#include "jobid.h"
#include "tap.h"

int
main(void)
{
	static const char *bad[] = { "", "0123456789abcdef0123456789abcde",
	    "0123456789abcdef0123456789abcdef0", "0123456789ABCDEF0123456789abcdef",
	    "0123456789abcdef0123456789abcdeg", "../../../../etc/passwd",
	    "0123456789abcdef-123456789abcdef", "' OR 1=1 --", NULL };
	char a[JOBID_LEN + 1], b[JOBID_LEN + 1];
	int i;

	ok(jobid_new(a) == 0 && jobid_new(b) == 0, "two ids generated");
	is_int(strlen(a), 32, "32 characters");
	ok(jobid_valid(a) && jobid_valid(b), "generated ids are valid");
	ok(strcmp(a, b) != 0, "two ids differ");
	ok(jobid_valid("0123456789abcdef0123456789abcdef"), "lowercase hex accepted");
	ok(!jobid_valid(NULL), "NULL refused");
	for (i = 0; bad[i] != NULL; i++)
		ok(!jobid_valid(bad[i]), bad[i]);
	ok(jobid_valid_n("0123456789abcdef0123456789abcdef/image.png", 32),
	    "id prefix of a path");
	return tap_done();
}
