/* Unit tests for buf.c: growth, the ceiling, consume and take. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* Appends grow the buffer and keep it NUL-terminated. */
static void
test_grow(void)
{
	struct buf b;
	int i;

	buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		buf_adds(&b, "abc");
	is_int(b.len, 3000, "3000 bytes after 1000 appends");
	is_int(b.data[b.len], '\0', "NUL-terminated");
	buf_addf(&b, "%d-%s", 7, "x");
	is_str(b.data + 3000, "7-x", "formatted append");
	buf_free(&b);
}

/* The ceiling refuses an append that would pass it and leaves contents alone. */
static void
test_ceiling(void)
{
	struct buf b;

	buf_init(&b, 10);
	ok(buf_add(&b, "0123456789", 10) == 0, "exactly the ceiling fits");
	ok(buf_add(&b, "x", 1) == -1, "one more byte refused");
	ok(buf_addf(&b, "%s", "y") == -1, "formatted append refused");
	is_str(b.data, "0123456789", "contents unchanged");
	buf_free(&b);
}

/* consume drops a prefix; take hands over the memory. */
static void
test_consume_take(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	buf_adds(&b, "hello world");
	buf_consume(&b, 6);
	is_str(b.data, "world", "consume prefix");
	buf_consume(&b, 100);
	is_int(b.len, 0, "consume past end empties");
	buf_adds(&b, "kept");
	s = buf_take(&b);
	is_str(s, "kept", "take returns contents");
	ok(b.data == NULL && b.len == 0, "take resets");
	free(s);
	s = buf_take(&b);
	is_str(s, "", "take of empty buffer gives empty string");
	free(s);
}

int
main(void)
{
	test_grow();
	test_ceiling();
	test_consume_take();
	return tap_done();
}
