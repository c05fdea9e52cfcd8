/*
 * textcheck: the oracle for text that longjob promises is safe (valid
 * UTF-8, no control character but tab): what proto.h gives back and what
 * text_clean makes.  Shared by test_proto, test_text and fuzz/fuzz_proto so
 * that all check the same rule, and written apart from src/text.c so that
 * text.c is never checked against itself.
 */
#ifndef LONGJOB_TEXTCHECK_H
#define LONGJOB_TEXTCHECK_H

#include <stddef.h>

/* 1 if s is valid UTF-8 without control characters other than tab. */
static int __attribute__((unused))
textcheck_safe(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i;

	if (s == NULL)
		return 0;
	while (*u != '\0') {
		if (*u < 0x80) {
			if ((*u < 0x20 && *u != '\t') || *u == 0x7f)
				return 0;
			u++;
			continue;
		}
		if (*u >= 0xc2 && *u <= 0xdf)
			len = 2;
		else if (*u >= 0xe0 && *u <= 0xef)
			len = 3;
		else if (*u >= 0xf0 && *u <= 0xf4)
			len = 4;
		else
			return 0;
		for (i = 1; i < len; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return 0;
		}
		if ((len == 2 && u[0] == 0xc2 && u[1] < 0xa0) ||
		    (len == 3 && u[0] == 0xe0 && u[1] < 0xa0) ||
		    (len == 3 && u[0] == 0xed && u[1] > 0x9f) ||
		    (len == 4 && u[0] == 0xf0 && u[1] < 0x90) ||
		    (len == 4 && u[0] == 0xf4 && u[1] > 0x8f))
			return 0;
		u += len;
	}
	return 1;
}

#endif
