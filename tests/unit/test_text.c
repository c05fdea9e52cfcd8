/*
 * test_text: UTF-8 checking, cleaning, cutting and counting (text.c).
 *
 * What is valid is decided by the tables here and by textcheck.h, the
 * oracle written apart from text.c, never by text.c itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "text.h"
#include "textcheck.h"

/* One text_clean case: the input (n bytes), what to keep, the output. */
struct clean_case {
	const char *what;
	const char *in;
	size_t n;
	int keep;
	const char *out;
};

#define S(s) s, sizeof s - 1

/* Every valid character comes out as it went in, at each edge of its range. */
static const struct clean_case valid_cases[] = {
	{ "ASCII", S("plain text 0-9 ~"), 0, "plain text 0-9 ~" },
	{ "U+00A0, first 2-byte non-control", S("\xc2\xa0"), 0, "\xc2\xa0" },
	{ "U+00E9", S("caf\xc3\xa9"), 0, "caf\xc3\xa9" },
	{ "U+07FF, last 2-byte", S("\xdf\xbf"), 0, "\xdf\xbf" },
	{ "U+0800, first 3-byte", S("\xe0\xa0\x80"), 0, "\xe0\xa0\x80" },
	{ "U+20AC", S("\xe2\x82\xac"), 0, "\xe2\x82\xac" },
	{ "U+D7FF, below the surrogates", S("\xed\x9f\xbf"), 0, "\xed\x9f\xbf" },
	{ "U+E000, above the surrogates", S("\xee\x80\x80"), 0, "\xee\x80\x80" },
	{ "U+FFFD", S("\xef\xbf\xbd"), 0, "\xef\xbf\xbd" },
	{ "U+FFFF, last 3-byte", S("\xef\xbf\xbf"), 0, "\xef\xbf\xbf" },
	{ "U+10000, first 4-byte", S("\xf0\x90\x80\x80"), 0,
	    "\xf0\x90\x80\x80" },
	{ "U+1F600", S("\xf0\x9f\x98\x80"), 0, "\xf0\x9f\x98\x80" },
	{ "U+10FFFF, the last", S("\xf4\x8f\xbf\xbf"), 0, "\xf4\x8f\xbf\xbf" },
};

/* Each byte that does not start a valid character becomes one '?'. */
static const struct clean_case invalid_cases[] = {
	{ "lone continuation", S("a\x80z"), 0, "a?z" },
	{ "lone continuation BF", S("\xbf"), 0, "?" },
	{ "overlong '/' (C0 AF)", S("\xc0\xaf"), 0, "??" },
	{ "overlong NUL (C0 80)", S("\xc0\x80"), 0, "??" },
	{ "overlong 2-byte (C1 BF)", S("\xc1\xbf"), 0, "??" },
	{ "overlong 3-byte (E0 80 80)", S("\xe0\x80\x80"), 0, "???" },
	{ "overlong 3-byte (E0 9F BF)", S("\xe0\x9f\xbf"), 0, "???" },
	{ "overlong 4-byte (F0 80 80 80)", S("\xf0\x80\x80\x80"), 0, "????" },
	{ "overlong 4-byte (F0 8F BF BF)", S("\xf0\x8f\xbf\xbf"), 0, "????" },
	{ "surrogate U+D800", S("\xed\xa0\x80"), 0, "???" },
	{ "surrogate U+DFFF", S("\xed\xbf\xbf"), 0, "???" },
	{ "surrogate pair", S("\xed\xa0\xbd\xed\xb8\x80"), 0, "??????" },
	{ "U+110000", S("\xf4\x90\x80\x80"), 0, "????" },
	{ "lead F5", S("\xf5\x80\x80\x80"), 0, "????" },
	{ "lead F8 (5 bytes)", S("\xf8\x88\x80\x80\x80"), 0, "?????" },
	{ "FE FF", S("\xfe\xff"), 0, "??" },
	{ "2-byte cut short at the end", S("ab\xc3"), 0, "ab?" },
	{ "3-byte cut short at the end", S("\xe2\x82"), 0, "??" },
	{ "4-byte cut short at the end", S("\xf0\x9f\x98"), 0, "???" },
	{ "2-byte cut short by ASCII", S("\xc3" "A"), 0, "?A" },
	{ "3-byte cut short by ASCII", S("\xe2\x82" "A"), 0, "??A" },
	{ "4-byte cut short by a lead", S("\xf0\x9f\x98\xc3\xa9"), 0,
	    "???\xc3\xa9" },
	{ "valid after invalid", S("\xff\xe2\x82\xac"), 0, "?\xe2\x82\xac" },
};

/* Control characters: C0, DEL and C1 become '?', but what keep names. */
static const struct clean_case control_cases[] = {
	{ "NUL", S("a\0b"), 0, "a?b" },
	{ "C0 and DEL", S("\x01\x1b\x1f\x7f"), 0, "????" },
	{ "CR", S("a\rb"), TEXT_TAB | TEXT_NEWLINE, "a?b" },
	{ "tab replaced", S("a\tb"), 0, "a?b" },
	{ "tab kept", S("a\tb"), TEXT_TAB, "a\tb" },
	{ "newline replaced", S("a\nb"), TEXT_TAB, "a?b" },
	{ "newline kept", S("a\nb"), TEXT_NEWLINE, "a\nb" },
	{ "tab and newline kept", S("\t\n"), TEXT_TAB | TEXT_NEWLINE, "\t\n" },
	{ "C1 U+0080, one '?'", S("\xc2\x80"), TEXT_TAB, "?" },
	{ "C1 U+0085 (NEL)", S("a\xc2\x85" "b"), TEXT_NEWLINE, "a?b" },
	{ "C1 U+009F", S("\xc2\x9f"), 0, "?" },
	{ "U+00A0 is no control", S("\xc2\xa0"), 0, "\xc2\xa0" },
	{ "space and ~ are no controls", S(" ~"), 0, " ~" },
};

/*
 * A failed handler's stderr, cleaned as runner_error does (tabs and line
 * breaks kept, for a stack trace): the same rule as every other text, so
 * overlong forms, surrogates and C1 controls still become '?'.
 */
static const struct clean_case stderr_cases[] = {
	{ "a trace keeps its lines", S("Traceback:\n\tline 3\n"),
	    TEXT_TAB | TEXT_NEWLINE, "Traceback:\n\tline 3\n" },
	{ "overlong '/'", S("a\xc0\xaf" "b\n"), TEXT_TAB | TEXT_NEWLINE, "a??b\n" },
	{ "overlong 3-byte", S("\xe0\x80\xaf\n"), TEXT_TAB | TEXT_NEWLINE, "???\n" },
	{ "surrogate U+D800", S("x\xed\xa0\x80"), TEXT_TAB | TEXT_NEWLINE, "x???" },
	{ "C1 U+009B (CSI)", S("\xc2\x9b" "31m\n"), TEXT_TAB | TEXT_NEWLINE, "?31m\n" },
	{ "ESC and CR", S("\x1b[2J\r\n"), TEXT_TAB | TEXT_NEWLINE, "?[2J?\n" },
};

/* Runs a table of text_clean cases without a limit. */
static void
run_clean_cases(const char *table, const struct clean_case *c, size_t count)
{
	struct buf b;
	char what[160];
	size_t i, used;

	buf_init(&b, 0);
	for (i = 0; i < count; i++) {
		buf_reset(&b);
		used = text_clean(&b, c[i].in, c[i].n, SIZE_MAX, c[i].keep);
		snprintf(what, sizeof what, "%s: %s", table, c[i].what);
		is_str(b.data != NULL ? b.data : "", c[i].out, what);
		is_int(used, c[i].n, "  every byte used");
		if (!(c[i].keep & TEXT_NEWLINE))
			ok(textcheck_safe(b.data != NULL ? b.data : ""),
			    "  the oracle agrees");
	}
	buf_free(&b);
}

/* 1 if the first n bytes of s are valid, control-free text (by the oracle). */
static int
prefix_safe(const char *s, size_t n)
{
	char copy[256];

	if (n >= sizeof copy)
		return 0;
	memcpy(copy, s, n);
	copy[n] = '\0';
	return textcheck_safe(copy);
}

/* Valid strings with characters of every length, for cutting. */
static const char *const cut_strings[] = {
	"",
	"ascii only",
	"caf\xc3\xa9",
	"\xc3\xa9\xc3\xa9\xc3\xa9",
	"\xe2\x82\xac" "1 \xe2\x82\xac" "2",
	"a\xf0\x9f\x98\x80" "b\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
	"\xf4\x8f\xbf\xbf\xdf\xbf\xe0\xa0\x80" "x\xc2\xa0",
};

/*
 * text_cut at every limit from 0 past the end: never over the limit, never
 * invalid, and never shorter than the longest valid prefix that fits.
 */
static void
test_cut(void)
{
	size_t i, n, max, got, best, bad = 0;

	for (i = 0; i < sizeof cut_strings / sizeof cut_strings[0]; i++) {
		n = strlen(cut_strings[i]);
		for (max = 0; max <= n + 1; max++) {
			got = text_cut(cut_strings[i], n, max);
			for (best = max < n ? max : n; best > 0; best--) {
				if (prefix_safe(cut_strings[i], best))
					break;
			}
			if (got > max || got > n || got != best ||
			    !prefix_safe(cut_strings[i], got)) {
				bad++;
				printf("# string %zu, max %zu: cut at %zu, want %zu\n",
				    i, max, got, best);
			}
		}
	}
	is_int(bad, 0, "text_cut at every limit: the longest valid prefix");
	is_int(text_cut("abc", 3, 3), 3, "a string at the limit is whole");
	is_int(text_cut("abc", 3, 0), 0, "limit 0: nothing");
	is_int(text_cut("\xc3\xa9", 2, 1), 0, "half a character: nothing");
}

/* Length of the character that starts with c, in text known to be valid. */
static size_t
lead_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/*
 * text_clean with every limit, on text with valid, invalid and control
 * characters: never over the limit, always safe, always a prefix of the
 * whole cleaning, stopped only where the next piece would not fit, and what
 * it used cleans to exactly what it wrote.
 */
static void
test_clean_limit(void)
{
	static const char in[] = "a\xc3\xa9\x01\xe2\x82\xac\xff\xf0\x9f\x98\x80"
	    "\t\xc2\x85\xed\xa0\x80z\xf0\x9f\x98";
	size_t n = sizeof in - 1, max, used, bad = 0;
	struct buf whole, part, again;

	buf_init(&whole, 0);
	buf_init(&part, 0);
	buf_init(&again, 0);
	is_int(text_clean(&whole, in, n, SIZE_MAX, TEXT_TAB), n,
	    "mixed text: all used");
	is_str(whole.data, "a\xc3\xa9?\xe2\x82\xac?\xf0\x9f\x98\x80\t????z???",
	    "mixed text: cleaned");
	for (max = 0; max <= whole.len + 1; max++) {
		buf_reset(&part);
		buf_reset(&again);
		used = text_clean(&part, in, n, max, TEXT_TAB);
		text_clean(&again, in, used, SIZE_MAX, TEXT_TAB);
		if (part.len > max || !prefix_safe(part.data ? part.data : "",
		    part.len) || strncmp(whole.data, part.data ? part.data : "",
		    part.len) != 0 || again.len != part.len ||
		    (part.len != 0 && strcmp(again.data, part.data) != 0) ||
		    (used < n && part.len +
		    lead_len((unsigned char)whole.data[part.len]) <= max)) {
			bad++;
			printf("# max %zu: wrote %zu bytes, used %zu\n", max,
			    part.len, used);
		}
	}
	is_int(bad, 0, "text_clean at every limit: a safe prefix, used bytes agree");
	buf_reset(&part);
	is_int(text_clean(&part, "ab\xe2\x82\xac", 5, 4, 0), 2,
	    "limit inside a character: stops before it");
	is_str(part.data, "ab", "  and writes only what came before");
	buf_free(&whole);
	buf_free(&part);
	buf_free(&again);
}

/* Appends after what b holds, and stops at b's ceiling. */
static void
test_clean_buf(void)
{
	struct buf b;

	buf_init(&b, 6);
	buf_adds(&b, "x:");
	is_int(text_clean(&b, "caf\xc3\xa9!", 6, SIZE_MAX, 0), 3,
	    "b's ceiling stops it before a character");
	is_str(b.data, "x:caf", "  after what b held");
	buf_free(&b);
}

/* Random bytes: the output is always safe and never longer than the input. */
static void
test_clean_garbage(void)
{
	uint32_t seed = 2463534242u;
	unsigned char in[64];
	struct buf b;
	int i, bad = 0;
	size_t j, n;

	buf_init(&b, 0);
	for (i = 0; i < 20000; i++) {
		n = (size_t)(i % 64);
		for (j = 0; j < n; j++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			/* Mostly bytes of multi-byte characters, some ASCII. */
			in[j] = (unsigned char)(seed % 4 == 0 ? seed >> 8 & 0x7f :
			    0x80 | (seed >> 8 & 0x7f));
		}
		buf_reset(&b);
		if (text_clean(&b, (const char *)in, n, SIZE_MAX, TEXT_TAB) != n ||
		    b.len > n || (n != 0 && !textcheck_safe(b.data)))
			bad++;
	}
	is_int(bad, 0, "20000 random inputs: all used, safe, no longer");
	buf_free(&b);
}

/* Characters are counted once each, whatever their length. */
static void
test_chars(void)
{
	static const struct {
		const char *s;
		size_t chars;
	} cases[] = {
		{ "", 0 },
		{ "abc", 3 },
		{ "caf\xc3\xa9", 4 },
		{ "\xe2\x82\xac\xe2\x82\xac", 2 },
		{ "\xf0\x9f\x98\x80" "a\xf4\x8f\xbf\xbf", 3 },
		{ "a\tb\n", 4 },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(text_chars(cases[i].s, strlen(cases[i].s)),
		    cases[i].chars, cases[i].s);
	is_int(text_chars("a\0b", 3), 3, "a NUL is a character");
	is_int(text_chars("\xc3\xa9\xc3\xa9", 3), 2,
	    "only the bytes given are counted");
}

/* text_valid: yes for each valid table's input, no for each invalid one's. */
static void
test_valid(void)
{
	char what[160];
	size_t i;

	for (i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
		snprintf(what, sizeof what, "text_valid: %s", valid_cases[i].what);
		ok(text_valid(valid_cases[i].in, valid_cases[i].n), what);
	}
	for (i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
		snprintf(what, sizeof what, "text_valid refuses: %s", invalid_cases[i].what);
		ok(!text_valid(invalid_cases[i].in, invalid_cases[i].n), what);
	}
	ok(text_valid("", 0), "text_valid: empty text");
	ok(text_valid("a\tb\n\x01", 4), "text_valid: control characters are valid UTF-8");
}

int
main(void)
{
	run_clean_cases("valid", valid_cases,
	    sizeof valid_cases / sizeof valid_cases[0]);
	run_clean_cases("invalid", invalid_cases,
	    sizeof invalid_cases / sizeof invalid_cases[0]);
	run_clean_cases("stderr", stderr_cases,
	    sizeof stderr_cases / sizeof stderr_cases[0]);
	run_clean_cases("control", control_cases,
	    sizeof control_cases / sizeof control_cases[0]);
	test_cut();
	test_clean_limit();
	test_clean_buf();
	test_clean_garbage();
	test_chars();
	test_valid();
	return tap_done();
}
