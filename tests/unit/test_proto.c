/*
 * test_proto: the handler line protocol (proto_parse) and the bounded line
 * reader (proto_reader), including hostile output: huge lines, NUL bytes,
 * invalid UTF-8 and binary garbage.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "proto.h"
#include "tap.h"
#include "textcheck.h"
#include "xmem.h"

static struct proto_msg msg;

/* Parses n bytes into the global msg (clearing the previous one). */
static void
parse_n(const char *line, size_t n)
{
	proto_msg_clear(&msg);
	proto_parse(line, n, &msg);
}

/* Parses a C string into the global msg. */
static void
parse(const char *line)
{
	parse_n(line, strlen(line));
}

/* Checks that line is refused, with a reason containing want. */
static void
invalid(const char *line, const char *want)
{
	char what[200];

	parse(line);
	snprintf(what, sizeof what, "invalid: %.100s", line);
	if (!ok(msg.kind == PROTO_INVALID && strstr(msg.text, want) != NULL &&
	    textcheck_safe(msg.text), what))
		printf("#   kind %d, text '%s', want '%s'\n", msg.kind,
		    msg.text, want);
}

/* Checks that line is a log line whose text is want. */
static void
log_line(const char *line, const char *want)
{
	char what[200];

	parse(line);
	snprintf(what, sizeof what, "log line: %.100s", line);
	ok(msg.kind == PROTO_LOG, what);
	is_str(msg.text, want, "  its text");
}

/* Checks a valid progress line. */
static void
progress(const char *line, double percent, const char *text)
{
	char what[200];

	parse(line);
	snprintf(what, sizeof what, "progress: %.100s", line);
	if (!ok(msg.kind == PROTO_PROGRESS && msg.percent == percent, what))
		printf("#   kind %d, percent %g, text '%s'\n", msg.kind,
		    msg.percent, msg.text);
	is_str(msg.text, text, "  its message");
}

/* Log lines, keyword prefixes, trimming. */
static void
test_log(void)
{
	log_line("hello world", "hello world");
	log_line("", "");
	log_line("progressive 42", "progressive 42");
	log_line("steps 1", "steps 1");
	log_line("results {}", "results {}");
	log_line("filed x.png", "filed x.png");
	log_line("Progress 42", "Progress 42");
	log_line("  progress 42", "  progress 42");
	log_line("\tstep a", "\tstep a");
	log_line("hello\r", "hello");
	log_line("hello \t \r", "hello");
	log_line("a\tb", "a\tb");
	log_line("   ", "");
	ok(msg.id == NULL && msg.json == NULL, "log: no id, no json");
}

/* progress <0-100> [message] */
static void
test_progress(void)
{
	progress("progress 42", 42, "");
	progress("progress 42.5 Rendering row 5 of 10", 42.5,
	    "Rendering row 5 of 10");
	progress("progress\t7\t  tabbed", 7, "tabbed");
	progress("progress 0", 0, "");
	progress("progress 100", 100, "");
	progress("progress 100.0 done", 100, "done");
	progress("progress 1e2", 100, "");
	progress("progress .5", 0.5, "");
	progress("progress 50 with CRLF\r", 50, "with CRLF");
	progress("progress 50    ", 50, "");
	progress("progress 50 a  b  ", 50, "a  b");
	invalid("progress 101",
	    "progress: '101' is not a number from 0 to 100");
	invalid("progress 100.0001",
	    "'100.0001' is not a number from 0 to 100");
	invalid("progress -1", "'-1' is not a number");
	invalid("progress -0", "'-0' is not a number");
	invalid("progress nan", "'nan' is not a number");
	invalid("progress inf", "'inf' is not a number");
	invalid("progress abc", "'abc' is not a number");
	invalid("progress 42abc", "'42abc' is not a number");
	invalid("progress 42%", "'42%' is not a number");
	invalid("progress 0x10", "'0x10' is not a number");
	invalid("progress 1e400", "'1e400' is not a number");
	invalid("progress", "progress: missing the percentage");
	invalid("progress   \r", "progress: missing the percentage");
	invalid("progress 12345678901234567890123456789012345678901234567890",
	    "'12345678901234567890123456789012...' is not");
	invalid("progress \x1b[31m", "'?[31m' is not a number");
}

/* step <id> [label] */
static void
test_step(void)
{
	char line[200];

	parse("step load");
	ok(msg.kind == PROTO_STEP, "step");
	is_str(msg.id, "load", "step id");
	is_str(msg.text, "load", "label defaults to the id");
	parse("step car_assignments  Assigning cars to drivers \r");
	is_str(msg.id, "car_assignments", "step id");
	is_str(msg.text, "Assigning cars to drivers", "step label");
	invalid("step", "step: missing the step id");
	invalid("step a/b", "step: 'a/b' is not a valid id");
	invalid("step ../x", "is not a valid id");
	invalid("step café", "is not a valid id");
	snprintf(line, sizeof line, "step %064d", 7);
	parse(line);
	ok(msg.kind == PROTO_STEP && strlen(msg.id) == 64, "64-byte id");
	snprintf(line, sizeof line, "step %065d", 7);
	invalid(line, "is not a valid id");
}

/* result <json object> */
static void
test_result(void)
{
	struct json_object *o, *keep;

	parse("result {\"url\": \"/x.png\", \"rows\": 3}");
	ok(msg.kind == PROTO_RESULT &&
	    json_object_is_type(msg.json, json_type_object),
	    "result object");
	ok(json_object_object_get_ex(msg.json, "rows", &o) &&
	    json_object_get_int(o) == 3,
	    "result member");
	ok(msg.text != NULL && msg.id == NULL, "result: text empty, no id");
	keep = json_object_get(msg.json);
	proto_msg_clear(&msg);
	ok(json_object_object_get_ex(keep, "url", &o) &&
	    strcmp(json_object_get_string(o), "/x.png") == 0,
	    "reference kept past clear");
	json_object_put(keep);
	parse("result {}\r");
	ok(msg.kind == PROTO_RESULT, "empty object, CRLF");
	parse("result\t{\"a\": [1, {\"b\": null}]}   ");
	ok(msg.kind == PROTO_RESULT, "nested, trailing blanks");
	invalid("result [1]", "result: not a JSON object");
	invalid("result \"text\"", "result: not a JSON object");
	invalid("result 42", "result: not a JSON object");
	invalid("result {\"a\": 1} x", "result: not a JSON object");
	invalid("result {\"a\": 1}{}", "result: not a JSON object");
	invalid("result {\"a\": ", "result: not a JSON object");
	invalid("result {\"a\": \"\xff\"}", "result: not a JSON object");
	invalid("result", "result: not a JSON object");
	invalid("result ", "result: not a JSON object");
	ok(msg.json == NULL, "no json on an invalid line");
	parse_n("result {\"a\": \"x\0y\"}", 19);
	ok(msg.kind == PROTO_RESULT, "NUL inside a result becomes '?'");
}

/* file <name> [content-type] */
static void
test_file(void)
{
	char line[200];

	parse("file image.png");
	ok(msg.kind == PROTO_FILE, "file");
	is_str(msg.id, "image.png", "file name");
	is_str(msg.text, "image/png", "type guessed");
	parse("file report.txt");
	is_str(msg.text, "text/plain; charset=utf-8", "txt guessed");
	parse("file data.bin application/vnd.longjob+json\r");
	is_str(msg.id, "data.bin", "file name");
	is_str(msg.text, "application/vnd.longjob+json", "type given");
	parse("file a..b");
	ok(msg.kind == PROTO_FILE, "'..' inside a name is harmless");
	invalid("file", "file: missing the file name");
	invalid("file ../etc/passwd",
	    "file: '../etc/passwd' is not a safe file name");
	invalid("file ..", "is not a safe file name");
	invalid("file .hidden", "is not a safe file name");
	invalid("file a/b.png", "is not a safe file name");
	invalid("file a\\b.png", "is not a safe file name");
	invalid("file x.png image", "file: 'image' is not a content type");
	invalid("file x.png image/", "is not a content type");
	invalid("file x.png /png", "is not a content type");
	invalid("file x.png image/png/x", "is not a content type");
	invalid("file x.png im\"age/png", "is not a content type");
	invalid("file x.png text/plain; charset=utf-8",
	    "is not a content type");
	invalid("file x.png image/png extra",
	    "unexpected text after the content type");
	snprintf(line, sizeof line, "file %064d", 7);
	parse(line);
	ok(msg.kind == PROTO_FILE && strlen(msg.id) == 64, "64-byte name");
	snprintf(line, sizeof line, "file %065d", 7);
	invalid(line, "is not a safe file name");
}

/* proto_name_valid and proto_guess_type. */
static void
test_names(void)
{
	static const char *types[][2] = {
		{ "a.png", "image/png" }, { "a.jpg", "image/jpeg" },
		{ "a.jpeg", "image/jpeg" }, { "a.gif", "image/gif" },
		{ "a.svg", "image/svg+xml" }, { "a.webp", "image/webp" },
		{ "a.pdf", "application/pdf" }, { "a.csv", "text/csv" },
		{ "a.txt", "text/plain; charset=utf-8" },
		{ "a.json", "application/json" },
		{ "a.html", "text/html; charset=utf-8" },
		{ "A.PNG", "image/png" },
		{ "a.tar.gz", "application/octet-stream" },
		{ "README", "application/octet-stream" },
		{ "a.", "application/octet-stream" },
		{ "a.png.exe", "application/octet-stream" },
	};
	char name[66];
	size_t i;

	ok(proto_name_valid("image.png") && proto_name_valid("a") &&
	    proto_name_valid("a_b-c.d"),
	    "valid names");
	ok(!proto_name_valid(NULL) && !proto_name_valid("") &&
	    !proto_name_valid(".") && !proto_name_valid("..") &&
	    !proto_name_valid(".png") && !proto_name_valid("a/b") &&
	    !proto_name_valid("a b") && !proto_name_valid("é.png"),
	    "invalid names");
	memset(name, 'n', 64);
	name[64] = '\0';
	ok(proto_name_valid(name), "64 bytes");
	name[64] = 'n';
	name[65] = '\0';
	ok(!proto_name_valid(name), "65 bytes");
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		is_str(proto_guess_type(types[i][0]), types[i][1], types[i][0]);
	is_str(proto_guess_type(NULL), "application/octet-stream", "NULL");
}

/* Output is safe text: UTF-8 repaired, controls replaced, cut well. */
static void
test_text(void)
{
	char line[1024], *p;
	int i;

	log_line("bad \xff\xfe bytes", "bad ?? bytes");
	log_line("overlong \xc0\xaf", "overlong ??");
	log_line("surrogate \xed\xa0\x80!", "surrogate ???" "!");
	log_line("too big \xf4\x90\x80\x80", "too big ????");
	log_line("truncated \xe2\x82", "truncated ??");
	log_line("ctl a\x01" "b\x1b" "c\x7f" "d\te", "ctl a?b?c?d\te");
	log_line("c1 \xc2\x85 nbsp \xc2\xa0", "c1 ? nbsp \xc2\xa0");
	log_line("ok caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "ok caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	parse_n("ab\0cd", 5);
	is_str(msg.text, "ab?cd", "NUL in a log line");
	parse_n("progress 5 a\0b", 14);
	ok(msg.kind == PROTO_PROGRESS, "NUL in a message");
	is_str(msg.text, "a?b", "  replaced");
	parse_n("progress\0 5", 11);
	ok(msg.kind == PROTO_LOG, "NUL in the keyword: a log line");

	/* 'a' then 300 two-byte characters: the cut at 512 falls inside one. */
	p = line + sprintf(line, "progress 10 a");
	for (i = 0; i < 300; i++)
		p += sprintf(p, "\xc3\xa9");
	parse(line);
	is_int(strlen(msg.text), 511, "message cut on a character boundary");
	ok(textcheck_safe(msg.text), "  still valid UTF-8");
	p = line + sprintf(line, "step s ab");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "\xf0\x9f\x98\x80");
	parse(line);
	is_int(strlen(msg.text), 510, "label cut before a 4-byte character");
	ok(textcheck_safe(msg.text), "  still valid UTF-8");
	p = line + sprintf(line, "progress 10 ");
	memset(p, 'x', 600);
	p[600] = '\0';
	parse(line);
	is_int(strlen(msg.text), PROTO_MAX_MESSAGE,
	    "ASCII message cut to PROTO_MAX_MESSAGE");
}

/* Random bytes through the parser: never a crash, always safe text. */
static void
test_garbage(void)
{
	static const char *prefixes[] = {
		"", "progress ", "step ", "result ", "file "
	};
	uint32_t seed = 12345;
	char line[300];
	int i, j, n, safe = 1;

	for (i = 0; i < 5000; i++) {
		n = (int)strlen(prefixes[i % 5]);
		memcpy(line, prefixes[i % 5], (size_t)n);
		for (j = n; j < n + (int)(seed % 200); j++) {
			seed = seed * 1103515245 + 12345;
			line[j] = (char)(seed >> 16);
		}
		parse_n(line, (size_t)j);
		safe &= textcheck_safe(msg.text);
		safe &= msg.id == NULL || textcheck_safe(msg.id);
		safe &= (msg.kind == PROTO_RESULT) == (msg.json != NULL);
	}
	ok(safe, "5000 garbage lines: every text safe");
}

/* Feeds a C string. */
static void
feed(struct proto_reader *r, const char *s)
{
	proto_reader_feed(r, s, strlen(s));
}

/* Checks the next line of the reader. */
static void
next_is(struct proto_reader *r, int eof, const char *want, size_t wantn,
    int wantcut, const char *what)
{
	const char *line;
	size_t n;
	int cut;

	if (!ok(proto_reader_next(r, eof, &line, &n, &cut) == 1, what))
		return;
	ok(n == wantn && memcmp(line, want, n) == 0 && cut == wantcut,
	    "  its bytes");
}

/* Checks that the reader has no line. */
static void
next_none(struct proto_reader *r, int eof, const char *what)
{
	const char *line;
	size_t n;
	int cut;

	ok(proto_reader_next(r, eof, &line, &n, &cut) == 0, what);
}

/* Lines, split feeds, eof, CRLF, NUL bytes. */
static void
test_reader(void)
{
	struct proto_reader *r = proto_reader_new();
	const char *line;
	size_t n;
	int i, count, cut;

	next_none(r, 0, "empty reader");
	next_none(r, 1, "empty reader at eof");
	proto_reader_feed(r, "", 0);
	next_none(r, 1, "empty feed at eof");
	feed(r, "a\nbb\n");
	next_is(r, 0, "a", 1, 0, "first line");
	next_is(r, 0, "bb", 2, 0, "second line");
	next_none(r, 0, "no more");
	feed(r, "hel");
	next_none(r, 0, "partial line is not returned");
	feed(r, "lo\nwor");
	next_is(r, 0, "hello", 5, 0, "line split across feeds");
	feed(r, "ld\n");
	next_is(r, 0, "world", 5, 0, "second split line");
	feed(r, "x\r\n\n\n");
	next_is(r, 0, "x\r", 2, 0, "CRLF kept for proto_parse to trim");
	next_is(r, 0, "", 0, 0, "empty line");
	next_is(r, 0, "", 0, 0, "another empty line");
	proto_reader_feed(r, "a\0b\n", 4);
	next_is(r, 0, "a\0b", 3, 0, "NUL inside a line");
	feed(r, "tail");
	next_none(r, 0, "unterminated before eof");
	next_is(r, 1, "tail", 4, 0, "unterminated rest at eof");
	next_none(r, 1, "nothing after eof");
	for (i = 0; i < 1000; i++)
		feed(r, "line\n");
	count = 0;
	while (proto_reader_next(r, 1, &line, &n, &cut))
		count += n == 4 && memcmp(line, "line", 4) == 0 && !cut;
	is_int(count, 1000, "1000 lines fed before draining");
	proto_reader_free(r);
	proto_reader_free(NULL);
}

/* Lines at and past the ceiling. */
static void
test_reader_long(void)
{
	struct proto_reader *r = proto_reader_new();
	char *big = xmalloc(PROTO_MAX_LINE + 2);
	const char *line;
	size_t n, total = 10 * 1024 * 1024, sent;
	int cut, all_x = 1, none = 1;

	memset(big, 'x', PROTO_MAX_LINE + 1);
	big[PROTO_MAX_LINE + 1] = '\n';
	proto_reader_feed(r, big, PROTO_MAX_LINE);
	feed(r, "\n");
	next_is(r, 0, big, PROTO_MAX_LINE, 0,
	    "a line of exactly PROTO_MAX_LINE is whole");
	proto_reader_feed(r, big, PROTO_MAX_LINE + 2);
	next_is(r, 0, big, PROTO_MAX_LINE, 1, "one byte more is cut");
	proto_reader_feed(r, big, PROTO_MAX_LINE + 1);
	next_none(r, 0, "long unterminated line waits");
	next_is(r, 1, big, PROTO_MAX_LINE, 1,
	    "long unterminated line at eof is cut");

	/* 10 MB without a newline, in 4 KiB chunks. */
	memset(big, 'y', 4096);
	for (sent = 0; sent < total; sent += 4096) {
		proto_reader_feed(r, big, 4096);
		none &= proto_reader_next(r, 0, &line, &n, &cut) == 0;
	}
	ok(none, "10 MB line: no line before its newline");
	feed(r, "\nafter\n");
	ok(proto_reader_next(r, 0, &line, &n, &cut) == 1,
	    "10 MB line returned");
	is_int(n, PROTO_MAX_LINE, "  kept PROTO_MAX_LINE bytes");
	is_int(cut, 1, "  flagged cut");
	for (sent = 0; sent < n; sent++)
		all_x &= line[sent] == 'y';
	ok(all_x, "  the first bytes are kept");
	next_is(r, 0, "after", 5, 0, "the next line is intact");
	next_none(r, 1, "nothing left");
	free(big);
	proto_reader_free(r);
}

/* Binary garbage in odd chunk sizes: lines bounded, no newline inside. */
static void
test_reader_garbage(void)
{
	struct proto_reader *r = proto_reader_new();
	uint32_t seed = 99;
	char chunk[7000];
	const char *line;
	size_t n, i, got = 0, newlines = 0, lines = 0, chunkn;
	int cut, cuts = 0, bounded = 1, clean = 1, round;

	for (round = 0; round < 300; round++) {
		seed = seed * 1103515245 + 12345;
		chunkn = (seed >> 8) % sizeof chunk;
		for (i = 0; i < chunkn; i++) {
			seed = seed * 1103515245 + 12345;
			/* Rare newlines: many lines pass the ceiling. */
			chunk[i] = (char)(seed >> 8);
			if (chunk[i] == '\n')
				chunk[i] = 'n';
			if ((seed >> 12) % 100000 == 0)
				chunk[i] = '\n';
			if (chunk[i] == '\n')
				newlines++;
		}
		proto_reader_feed(r, chunk, chunkn);
		while (proto_reader_next(r, round == 299, &line, &n, &cut)) {
			bounded &= n <= PROTO_MAX_LINE &&
			    (cut == 0 || n == PROTO_MAX_LINE);
			clean &= memchr(line, '\n', n) == NULL;
			got += n;
			cuts += cut;
			lines++;
		}
	}
	ok(bounded, "garbage: every line within PROTO_MAX_LINE");
	ok(clean, "garbage: no newline inside a line");
	ok(lines >= newlines && lines <= newlines + 1,
	    "garbage: one line per newline (+ the rest)");
	ok(got > 0, "garbage: bytes came out");
	ok(cuts > 0, "garbage: some lines were cut");
	proto_reader_free(r);
}

/* Runs every test; the exit status says whether all passed. */
int
main(void)
{
	test_log();
	test_progress();
	test_step();
	test_result();
	test_file();
	test_names();
	test_text();
	test_garbage();
	test_reader();
	test_reader_long();
	test_reader_garbage();
	proto_msg_clear(&msg);
	proto_msg_clear(NULL);
	return tap_done();
}
