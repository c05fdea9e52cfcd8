/*
 * text: UTF-8 text that came from outside (a handler's output, a client's
 * field names, a config's keys), made safe to show, cut and counted.
 *
 * Valid UTF-8 is RFC 3629's: no overlong forms, no surrogates (U+D800 to
 * U+DFFF), nothing above U+10FFFF, no sequence cut short.  A control
 * character is C0 (U+0000 to U+001F), DEL (U+007F) or C1 (U+0080 to
 * U+009F): a terminal may act on any of them, and none belongs in a message.
 *
 * text_valid checks, text_clean checks and cleans; text_cut and text_chars only look at where
 * characters start, so they are meant for text that is valid already (on
 * other bytes they stay within their bounds but may cut or count oddly).
 */
#ifndef LONGJOB_TEXT_H
#define LONGJOB_TEXT_H

#include <stddef.h>

struct buf;

/* Control characters text_clean keeps (the others become '?'). */
#define TEXT_TAB 1
#define TEXT_NEWLINE 2

/*
 * Appends the n bytes at s to b made safe: each byte that does not start a
 * valid character, and each control character but those named in keep,
 * becomes one '?'.  Appends at most max bytes, never part of a character.
 * Returns how many bytes of s it used (n unless max or b's ceiling stopped it).
 */
size_t text_clean(struct buf *b, const char *s, size_t n, size_t max, int keep);
/*
 * Appends the n bytes at s to b as text_clean does (no control character
 * kept), at most max bytes, then "..." if it had to cut: outside text quoted
 * in a message.
 */
void text_quote(struct buf *b, const char *s, size_t n, size_t max);
/*
 * The length of the longest prefix of the n bytes at s that is at most max
 * bytes long and does not end inside a character (for valid UTF-8).
 */
size_t text_cut(const char *s, size_t n, size_t max);
/* 1 if the n bytes at s are valid UTF-8 (control characters included), else 0. */
int text_valid(const char *s, size_t n);
/* The number of characters in the n bytes at s (for valid UTF-8). */
size_t text_chars(const char *s, size_t n);

#endif
