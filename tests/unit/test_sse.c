/* Unit tests for sse.c: event framing and Last-Event-ID parsing. */
#include "config.h"

#include <stdint.h>

#include "buf.h"
#include "sse.h"
#include "tap.h"

/* Frames of each kind are byte-exact: EventSource is unforgiving. */
static void
test_framing(void)
{
	struct buf b;

	buf_init(&b, 0);
	ok(sse_retry(&b, 2000) == 0, "retry line");
	is_str(b.data, "retry: 2000\n\n", "retry framing");
	buf_reset(&b);
	ok(sse_event(&b, 42, "progress", "{\"progress\":42}") == 0, "event");
	is_str(b.data, "id: 42\nevent: progress\ndata: {\"progress\":42}\n\n",
	    "event framing");
	buf_free(&b);
	/* Comment lines start with ':'; the README counts the probe's 2 bytes. */
	is_str(SSE_PROBE, ":\n", "probe: a comment line alone");
	is_str(SSE_KEEPALIVE, ": keepalive\n\n", "keepalive framing");
}

/* A newline in the data or type would let text forge SSE fields. */
static void
test_forgery(void)
{
	struct buf b;

	buf_init(&b, 0);
	ok(sse_event(&b, 1, "log", "{\"line\":\"x\"}\nevent: end") == -1,
	    "LF in data refused");
	ok(sse_event(&b, 1, "log", "{\"line\":\"x\"}\revent: end") == -1,
	    "CR in data refused");
	ok(sse_event(&b, 1, "log\nid: 9", "{}") == -1, "LF in kind refused");
	is_int(b.len, 0, "nothing written by refused frames");
	buf_free(&b);
}

/* A full buffer fails cleanly and leaves the buffer as it was. */
static void
test_ceiling(void)
{
	struct buf b;

	buf_init(&b, 16);
	ok(sse_event(&b, 1, "progress", "{\"progress\":1}") == -1,
	    "event over ceiling refused");
	is_int(b.len, 0, "buffer unchanged");
	buf_free(&b);
}

/* Only plain decimal digits within int64 are ids. */
static void
test_parse_id(void)
{
	static const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1a", "0x10",
	    "9223372036854775808", "99999999999999999999", "12345678901234567890123",
	    "1.5", "１", NULL };
	int64_t id = -1;
	int i;

	ok(sse_parse_id("0", &id) == 0 && id == 0, "0 parses");
	ok(sse_parse_id("17", &id) == 0 && id == 17, "17 parses");
	ok(sse_parse_id("9223372036854775807", &id) == 0 && id == INT64_MAX,
	    "INT64_MAX parses");
	ok(sse_parse_id(NULL, &id) == -1, "NULL refused");
	for (i = 0; bad[i] != NULL; i++)
		ok(sse_parse_id(bad[i], &id) == -1, bad[i]);
}

int
main(void)
{
	test_framing();
	test_forgery();
	test_ceiling();
	test_parse_id();
	return tap_done();
}
