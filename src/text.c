/* text: checking, cleaning, cutting and counting UTF-8.  See text.h. */
#include "config.h"

#include "buf.h"
#include "text.h"

/* 1 if c is a UTF-8 continuation byte (10xxxxxx). */
static int
text_continues(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of the valid character at s (n > 0 bytes there), or 0.  The bounds
 * of the second byte are what keep out overlong forms, surrogates and code
 * points above U+10FFFF (RFC 3629, section 4).
 */
static size_t
text_char(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;	/* no overlong forms */
		hi = s[0] == 0xed ? 0x9f : 0xbf;	/* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;	/* no overlong forms */
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;	/* up to U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (!text_continues(s[i]))
			return 0;
	}
	return len;
}

/* 1 if the valid character of len bytes at s is a control character not in keep. */
static int
text_control(const unsigned char *s, size_t len, int keep)
{
	if (len == 2)
		return s[0] == 0xc2 && s[1] < 0xa0;	/* C1 */
	if (len != 1)
		return 0;
	if (s[0] == '\t')
		return !(keep & TEXT_TAB);
	if (s[0] == '\n')
		return !(keep & TEXT_NEWLINE);
	return s[0] < 0x20 || s[0] == 0x7f;
}

size_t
text_clean(struct buf *b, const char *s, size_t n, size_t max, int keep)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, used = 0, len;

	while (i < n) {
		len = text_char(u + i, n - i);
		if (len == 0 || text_control(u + i, len, keep)) {
			if (used + 1 > max || buf_add(b, "?", 1) != 0)
				break;
			used++;
			/* A bad byte alone: the next one may start a good character. */
			i += len == 0 ? 1 : len;
			continue;
		}
		if (used + len > max || buf_add(b, u + i, len) != 0)
			break;
		used += len;
		i += len;
	}
	return i;
}

size_t
text_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	/* s[max] is the first byte left out: it must start a character. */
	while (max > 0 && text_continues((unsigned char)s[max]))
		max--;
	return max;
}

void
text_quote(struct buf *b, const char *s, size_t n, size_t max)
{
	if (text_clean(b, s, n, max, 0) < n)
		buf_adds(b, "...");
}

int
text_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		if ((len = text_char(u + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

size_t
text_chars(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		count += !text_continues((unsigned char)s[i]);
	return count;
}
