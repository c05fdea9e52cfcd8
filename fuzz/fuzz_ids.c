/*
 * fuzz_ids: the two ids that come from outside, job ids (jobid_valid,
 * jobid_valid_n: from URLs and the command line) and Last-Event-ID
 * (sse_parse_id: from a header a browser sends back).
 *
 * Each is compared with a plain reference written from its header's
 * contract, and an accepted Last-Event-ID must read back: printed again it
 * is the input without its leading zeros.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jobid.h"
#include "sse.h"
#include "xmem.h"

#include "fuzz.h"

/* jobid.h: exactly JOBID_LEN lowercase hex digits. */
static int
ref_jobid(const char *s, size_t n)
{
	size_t i;

	if (n != JOBID_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	}
	return 1;
}

/* sse.h: 1 to SSE_MAX_ID_LEN digits, value at most INT64_MAX; 0 or -1. */
static int
ref_event_id(const char *s, int64_t *id)
{
	size_t n = strlen(s), i;
	uint64_t v = 0;

	if (n == 0 || n > SSE_MAX_ID_LEN || strspn(s, "0123456789") != n)
		return -1;
	for (i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');	/* < 10^19: no wrap */
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*id = (int64_t)v;
	return 0;
}

/* Checks sse_parse_id on s against the reference, and the read-back. */
static void
fuzz_event_id(const char *s)
{
	int64_t got = -1, want = -1;
	char back[32];
	int rc;

	rc = sse_parse_id(s, &got);
	FUZZ_CHECK(rc == ref_event_id(s, &want));
	if (rc != 0)
		return;
	FUZZ_CHECK(got == want && got >= 0);
	snprintf(back, sizeof back, "%" PRId64, got);
	s += strspn(s, "0");
	FUZZ_CHECK(strcmp(back, *s != '\0' ? s : "0") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char *s = xstrndup(p, size);

	/* The n-byte form sees NULs; the C-string forms stop at the first. */
	FUZZ_CHECK(jobid_valid_n(p, size) == ref_jobid(p, size));
	FUZZ_CHECK(jobid_valid(s) == ref_jobid(s, strlen(s)));
	if (size >= JOBID_LEN)
		FUZZ_CHECK(jobid_valid_n(p, JOBID_LEN) ==
		    ref_jobid(p, JOBID_LEN));
	fuzz_event_id(s);
	free(s);
	return 0;
}
