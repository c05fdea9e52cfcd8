/*
 * test_form: the form parser against the cases in tests/data/form, each fed
 * whole, in 1-byte and in 7-byte chunks; then the inputs only C can make
 * (large or generated bodies), the I/O failures and the API edges.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"
#include "xmem.h"

#include "tap.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define B "----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define MCT "multipart/form-data; boundary=" B

#define D10 "0123456789"
#define D70 D10 D10 D10 D10 D10 D10 D10

static char test_tmp[] = "/tmp/test_form.XXXXXX";	/* made by mkdtemp */
static char test_uploads[4096];			/* test_tmp/uploads */

/* Reads a whole file; returns it NUL-terminated (length in *len) or NULL. */
static char *
test_read(const char *path, size_t *len)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1)
		return NULL;
	buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (len != NULL)
		*len = b.len;
	return buf_take(&b);
}

/* Returns the name of an error code as the expect files spell it. */
static const char *
test_error_name(enum form_error e)
{
	switch (e) {
	case FORM_OK:
		return "OK";
	case FORM_MALFORMED:
		return "MALFORMED";
	case FORM_TOO_LARGE:
		return "TOO_LARGE";
	case FORM_TOO_MANY:
		return "TOO_MANY";
	case FORM_UNSUPPORTED:
		return "UNSUPPORTED";
	case FORM_IO:
		return "IO";
	case FORM_FULL:
		return "FULL";
	}
	return "?";
}

/*
 * Appends a token to out with the expect files' escapes: \s space, \n \r
 * \t \0, \\ and \", \xHH for any other byte outside printable ASCII, and
 * "" for an empty token.
 */
static void
test_escape(struct buf *out, const char *p, size_t n)
{
	unsigned char c;
	size_t i;

	if (n == 0) {
		buf_adds(out, "\"\"");
		return;
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		switch (c) {
		case ' ':
			buf_adds(out, "\\s");
			break;
		case '\n':
			buf_adds(out, "\\n");
			break;
		case '\r':
			buf_adds(out, "\\r");
			break;
		case '\t':
			buf_adds(out, "\\t");
			break;
		case '\0':
			buf_adds(out, "\\0");
			break;
		case '\\':
			buf_adds(out, "\\\\");
			break;
		case '"':
			buf_adds(out, "\\\"");
			break;
		default:
			if (c < 0x20 || c >= 0x7f)
				buf_addf(out, "\\x%02x", c);
			else
				buf_add(out, &c, 1);
			break;
		}
	}
}

/* Skips ".", ".." and hidden entries when listing a directory. */
static int
test_case_select(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Removes the files in dir (not the directory). */
static void
test_empty_dir(const char *dir)
{
	struct dirent *de;
	char *path;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (test_case_select(de) == 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		unlink(path);
		free(path);
	}
	closedir(d);
}

/* Returns the number of entries in dir, or -1 if it cannot be read. */
static int
test_count_dir(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (test_case_select(de))
			n++;
	}
	closedir(d);
	return n;
}

/* Reads a case's optional limits file ("max_body 100" lines) over l. */
static void
test_limits(const char *casedir, struct form_limits *l)
{
	char *path, *text, *line, *save = NULL, key[64];
	unsigned long long v;

	form_limits_default(l, 1024 * 1024);
	path = xasprintf("%s/limits", casedir);
	text = test_read(path, NULL);
	free(path);
	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %llu", key, &v) != 2)
			continue;
		if (strcmp(key, "max_body") == 0)
			l->max_body = v;
		else if (strcmp(key, "max_fields") == 0)
			l->max_fields = v;
		else if (strcmp(key, "max_name") == 0)
			l->max_name = v;
		else if (strcmp(key, "max_value") == 0)
			l->max_value = v;
		else if (strcmp(key, "max_part_header") == 0)
			l->max_part_header = v;
		else if (strcmp(key, "max_file") == 0)
			l->max_file = v;
		else if (strcmp(key, "max_files") == 0)
			l->max_files = v;
		else
			printf("# %s: unknown limit %s\n", casedir, key);
	}
	free(text);
}

/*
 * Renders a parsed form as expect-file lines.  For each upload it also
 * checks the stored file: named upload-N, mode 0600, the size reported,
 * and, when the case has stored-N, exactly those bytes.
 */
static void
test_render(struct form *f, const char *casedir, const char *what,
    struct buf *out)
{
	const struct form_field *ff;
	char *data, *want, *path, label[512];
	size_t i, len, wlen, nfile = 0;
	struct stat st;

	for (i = 0; i < form_count(f); i++) {
		ff = form_at(f, i);
		if (ff->path == NULL) {
			buf_adds(out, "field ");
			test_escape(out, ff->name, strlen(ff->name));
			buf_adds(out, " ");
			test_escape(out, ff->value, ff->len);
			buf_adds(out, "\n");
			continue;
		}
		nfile++;
		if (snprintf(label, sizeof label, "%s: upload-%zu", what, nfile) < 0)
			label[0] = '\0';
		data = test_read(ff->path, &len);
		ok(data != NULL, label);
		if (data == NULL)
			continue;
		path = xasprintf("%s/upload-%zu", test_uploads, nfile);
		is_str(ff->path, path, label);
		free(path);
		ok(stat(ff->path, &st) == 0 && (st.st_mode & 07777) == 0600,
		    label);
		is_int(len, ff->size, label);
		ok(ff->value == NULL, label);
		path = xasprintf("%s/stored-%zu", casedir, nfile);
		if ((want = test_read(path, &wlen)) != NULL) {
			ok(wlen == len && memcmp(want, data, len) == 0, label);
			free(want);
		}
		free(path);

		buf_adds(out, "file ");
		test_escape(out, ff->name, strlen(ff->name));
		buf_adds(out, " ");
		test_escape(out, ff->filename, strlen(ff->filename));
		buf_adds(out, " ");
		test_escape(out, ff->content_type, strlen(ff->content_type));
		buf_addf(out, " %zu ", ff->size);
		test_escape(out, data, len < 20 ? len : 20);
		buf_adds(out, "\n");
		free(data);
	}
}

/*
 * Runs one case with the body fed in chunks of chunk bytes (0: whole) and
 * compares what came out with its expect file.  Then disposes of the form
 * in one of the ways a caller would and checks the uploads were kept or
 * removed accordingly.
 */
static void
test_case_run(const char *casedir, const char *name, const char *ctype,
    const char *body, size_t blen, const char *expect, size_t chunk)
{
	struct form_limits l;
	enum form_error err;
	struct form *f;
	struct buf out;
	size_t off, n, files = 0, i;
	char what[512];

	snprintf(what, sizeof what, "%s, %s%s", name,
	    chunk == 0 ? "whole" : chunk == 1 ? "1-byte" : "7-byte",
	    chunk == 0 ? "" : " chunks");
	test_limits(casedir, &l);
	mkdir(test_uploads, 0700);
	buf_init(&out, 0);

	f = form_new(ctype, test_uploads, &l, &err);
	if (f == NULL) {
		buf_addf(&out, "error %s\n", test_error_name(err));
		is_str(out.data, expect, what);
		buf_free(&out);
		return;
	}
	err = FORM_OK;
	for (off = 0; off < blen && err == FORM_OK; off += n) {
		n = chunk == 0 ? blen : chunk;
		if (n > blen - off)
			n = blen - off;
		err = form_feed(f, body + off, n);
	}
	if (err == FORM_OK)
		err = form_finish(f);
	if (err != FORM_OK) {
		buf_addf(&out, "error %s %s\n", test_error_name(err),
		    form_message(f));
	} else
		test_render(f, casedir, what, &out);
	is_str(out.data != NULL ? out.data : "", expect, what);
	buf_free(&out);

	for (i = 0; i < form_count(f); i++) {
		if (form_at(f, i)->path != NULL)
			files++;
	}
	if (err != FORM_OK || chunk == 1) {
		/* A refused request: nothing may stay behind. */
		form_abort(f);
		form_free(f);
		is_int(test_count_dir(test_uploads), 0, what);
	} else {
		/* An accepted one: the job keeps its files. */
		form_free(f);
		is_int(test_count_dir(test_uploads), files, what);
		test_empty_dir(test_uploads);
	}
}

/* Loads one case directory and runs it whole, in 1-byte and 7-byte chunks. */
static void
test_case(const char *dir, const char *name)
{
	char *casedir, *path, *ctype, *body, *expect;
	size_t blen;

	casedir = xasprintf("%s/%s", dir, name);
	path = xasprintf("%s/content-type", casedir);
	ctype = test_read(path, NULL);
	free(path);
	path = xasprintf("%s/body", casedir);
	body = test_read(path, &blen);
	free(path);
	path = xasprintf("%s/expect", casedir);
	expect = test_read(path, NULL);
	free(path);
	if (!ok(ctype != NULL && body != NULL && expect != NULL, name))
		goto out;
	ctype[strcspn(ctype, "\r\n")] = '\0';

	test_case_run(casedir, name, ctype, body, blen, expect, 0);
	test_case_run(casedir, name, ctype, body, blen, expect, 1);
	test_case_run(casedir, name, ctype, body, blen, expect, 7);
out:
	free(ctype);
	free(body);
	free(expect);
	free(casedir);
}

/* Runs every case directory under tests/data/form. */
static void
test_data_cases(void)
{
	const char *top = getenv("top_srcdir");
	struct dirent **list;
	struct stat st;
	char *dir, *path;
	int i, n;

	dir = xasprintf("%s/tests/data/form", top != NULL ? top : TOP_SRCDIR);
	n = scandir(dir, &list, test_case_select, alphasort);
	if (!ok(n > 0, "tests/data/form has cases")) {
		printf("# cannot read %s: %s\n", dir, strerror(errno));
		free(dir);
		return;
	}
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s", dir, list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			test_case(dir, list[i]->d_name);
		free(path);
		free(list[i]);
	}
	free(list);
	free(dir);
}

/* Parses body in chunks of chunk bytes (0: whole); returns the form. */
static struct form *
test_parse(const char *ctype, const char *body, size_t len,
    const struct form_limits *l, size_t chunk, enum form_error *err)
{
	struct form *f;
	size_t off, n;

	f = form_new(ctype, test_uploads, l, err);
	if (f == NULL)
		return NULL;
	*err = FORM_OK;
	for (off = 0; off < len && *err == FORM_OK; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		*err = form_feed(f, body + off, n);
	}
	if (*err == FORM_OK)
		*err = form_finish(f);
	return f;
}

/* form_new accepts or refuses content types and boundaries. */
static void
test_content_types(void)
{
	static const struct {
		const char *ctype;
		int ok;
	} t[] = {
		{ "application/x-www-form-urlencoded", 1 },
		{ "APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8", 1 },
		{ "  application/x-www-form-urlencoded  ", 1 },
		{ "application/x-www-form-urlencodedx", 0 },
		{ "text/plain", 0 },
		{ "", 0 },
		{ "multipart/mixed; boundary=abc", 0 },
		{ "multipart/form-data", 0 },
		{ "multipart/form-data;", 0 },
		{ "multipart/form-data; boundary=", 0 },
		{ "multipart/form-data; boundary=\"\"", 0 },
		{ "multipart/form-data; charset=utf-8", 0 },
		{ "multipart/form-data; xboundary=abc", 0 },
		{ "multipart/form-data; boundary=a", 1 },
		{ "Multipart/Form-Data; Boundary=abc", 1 },
		{ "multipart/form-data; boundary = abc ; charset=utf-8", 1 },
		{ "multipart/form-data; boundary=\"a b:c\"", 1 },
		{ "multipart/form-data; boundary=\"abc \"", 0 },
		{ "multipart/form-data; boundary=\"a\rb\"", 0 },
		/* 70 characters, then 71 */
		{ "multipart/form-data; boundary=" D70, 1 },
		{ "multipart/form-data; boundary=\"" D70 "\"", 1 },
		{ "multipart/form-data; boundary=" D70 "0", 0 },
	};
	struct form_limits l;
	enum form_error err;
	struct form *f;
	char what[256];
	size_t i;

	form_limits_default(&l, 1024);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(what, sizeof what, "form_new '%.60s' %s", t[i].ctype,
		    t[i].ok ? "accepted" : "refused");
		err = FORM_MALFORMED;
		f = form_new(t[i].ctype, test_uploads, &l, &err);
		ok((f != NULL) == t[i].ok, what);
		is_int(err, t[i].ok ? FORM_OK : FORM_UNSUPPORTED, what);
		form_free(f);
	}
	f = form_new(NULL, test_uploads, &l, &err);
	ok(f == NULL && err == FORM_UNSUPPORTED, "form_new, no content type");
	form_free(NULL);
}

/* The defaults are the documented ones. */
static void
test_defaults(void)
{
	struct form_limits l;

	form_limits_default(&l, 12345);
	is_int(l.max_body, 12345, "default max_body");
	is_int(l.max_fields, 256, "default max_fields");
	is_int(l.max_name, 64, "default max_name");
	is_int(l.max_value, 65536, "default max_value");
	is_int(l.max_part_header, 8192, "default max_part_header");
	is_int(l.max_file, 12345, "default max_file");
	is_int(l.max_files, 16, "default max_files");
}

/* 10,000 fields: refused by the default limit, accepted under a higher one. */
static void
test_many_fields(void)
{
	struct form_limits l;
	enum form_error err;
	struct buf url, mp;
	struct form *f;
	const struct form_field *ff;
	int i;

	buf_init(&url, 0);
	buf_init(&mp, 0);
	for (i = 0; i < 10000; i++) {
		buf_addf(&url, "%sf%d=%d", i ? "&" : "", i, i);
		buf_addf(&mp, "--" B "\r\nContent-Disposition: form-data; "
		    "name=\"f%d\"\r\n\r\n%d\r\n", i, i);
	}
	buf_adds(&mp, "--" B "--\r\n");

	form_limits_default(&l, 16 * 1024 * 1024);
	f = test_parse("application/x-www-form-urlencoded", url.data, url.len,
	    &l, 0, &err);
	is_int(err, FORM_TOO_MANY, "10000 urlencoded fields: TOO_MANY");
	is_str(form_message(f), "the form has more than 256 fields",
	    "10000 urlencoded fields: message");
	form_free(f);
	f = test_parse(MCT, mp.data, mp.len, &l, 0, &err);
	is_int(err, FORM_TOO_MANY, "10000 multipart fields: TOO_MANY");
	is_str(form_message(f), "the form has more than 256 fields",
	    "10000 multipart fields: message");
	form_free(f);

	l.max_fields = 10000;
	f = test_parse("application/x-www-form-urlencoded", url.data, url.len,
	    &l, 0, &err);
	is_int(err, FORM_OK, "10000 urlencoded fields under max_fields 10000");
	is_int(form_count(f), 10000, "10000 urlencoded fields: count");
	ff = form_get(f, "f9999");
	is_str(ff != NULL ? ff->value : NULL, "9999", "field f9999");
	form_free(f);
	f = test_parse(MCT, mp.data, mp.len, &l, 1000, &err);
	is_int(err, FORM_OK, "10000 multipart fields under max_fields 10000");
	is_int(form_count(f), 10000, "10000 multipart fields: count");
	ff = form_at(f, 4321);
	is_str(ff != NULL ? ff->name : NULL, "f4321", "field 4321 name");
	is_str(ff != NULL ? ff->value : NULL, "4321", "field 4321 value");
	form_free(f);

	l.max_fields = 9999;
	f = test_parse(MCT, mp.data, mp.len, &l, 1000, &err);
	is_int(err, FORM_TOO_MANY, "10000 multipart fields, max_fields 9999");
	form_free(f);
	buf_free(&url);
	buf_free(&mp);
}

/* A part header of 100 KB is refused at max_part_header, however fed. */
static void
test_big_header(void)
{
	struct form_limits l;
	enum form_error err;
	struct form *f;
	struct buf b;
	int i;

	buf_init(&b, 0);
	buf_adds(&b, "--" B "\r\nContent-Disposition: form-data; "
	    "name=\"a\"\r\nX-Junk: ");
	for (i = 0; i < 100 * 1024; i++)
		buf_add(&b, "x", 1);
	buf_adds(&b, "\r\n\r\n1\r\n--" B "--\r\n");

	form_limits_default(&l, 1024 * 1024);
	f = test_parse(MCT, b.data, b.len, &l, 0, &err);
	is_int(err, FORM_TOO_LARGE, "100 KB part header: TOO_LARGE");
	is_str(form_message(f), "part 1 has a part header larger than 8192 "
	    "bytes", "100 KB part header: message");
	form_free(f);
	f = test_parse(MCT, b.data, b.len, &l, 1, &err);
	is_int(err, FORM_TOO_LARGE, "100 KB part header, 1-byte chunks");
	form_free(f);

	/* The same header fits under a higher limit. */
	l.max_part_header = 128 * 1024;
	f = test_parse(MCT, b.data, b.len, &l, 0, &err);
	is_int(err, FORM_OK, "100 KB part header under a 128 KB limit");
	is_int(form_count(f), 1, "100 KB part header: one field");
	form_free(f);
	buf_free(&b);
}

/* The first boundary must come within 64 KiB: refused early, not at finish. */
static void
test_long_preamble(void)
{
	struct form_limits l;
	enum form_error err;
	struct form *f;
	struct buf b;
	int i;

	buf_init(&b, 0);
	for (i = 0; i < 70 * 1024; i++)
		buf_add(&b, i % 64 == 63 ? "\n" : "p", 1);
	form_limits_default(&l, 1024 * 1024);
	f = form_new(MCT, test_uploads, &l, &err);
	is_int(form_feed(f, b.data, b.len), FORM_MALFORMED,
	    "70 KB without a boundary: refused before finish");
	form_free(f);

	/* A short preamble before the first boundary is fine. */
	buf_reset(&b);
	for (i = 0; i < 1000; i++)
		buf_add(&b, "p", 1);
	buf_adds(&b, "\r\n--" B "\r\nContent-Disposition: form-data; "
	    "name=\"a\"\r\n\r\n1\r\n--" B "--");
	f = test_parse(MCT, b.data, b.len, &l, 3, &err);
	is_int(err, FORM_OK, "1000-byte preamble");
	is_int(form_count(f), 1, "1000-byte preamble: one field");
	form_free(f);
	buf_free(&b);
}

/*
 * A 3 MB upload full of near-boundaries is stored byte for byte, fed in
 * odd-sized chunks, whole and in pieces larger than the write buffer.
 */
static void
test_big_file(void)
{
	static const size_t chunks[] = { 4093, 100000, 0 };
	static const char *bits[] = { "\r", "\n", "\r\n", "\r\n-", "\r\n--",
	    "\r\n----WebKitFormBoundary7MA4YWxkTrZu0g", ("x--" B), "\r\r\n--",
	    "a,b,c", "\0" };
	struct form_limits l;
	enum form_error err;
	struct buf content, body;
	struct form *f;
	const struct form_field *ff;
	unsigned int seed = 12345;
	char *stored, what[128];
	size_t len, i, k;

	buf_init(&content, 0);
	while (content.len < 3 * 1024 * 1024) {
		seed = seed * 1103515245 + 12345;
		k = (seed >> 16) % (sizeof bits / sizeof bits[0]);
		buf_add(&content, bits[k], k == 9 ? 1 : strlen(bits[k]));
	}
	buf_init(&body, 0);
	buf_adds(&body, "--" B "\r\nContent-Disposition: form-data; "
	    "name=\"big\"; filename=\"big.bin\"\r\n\r\n");
	buf_add(&body, content.data, content.len);
	buf_adds(&body, "\r\n--" B "--\r\n");

	form_limits_default(&l, 4 * 1024 * 1024);
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		snprintf(what, sizeof what, "3 MB upload in %zu-byte chunks",
		    chunks[i]);
		f = test_parse(MCT, body.data, body.len, &l, chunks[i], &err);
		is_int(err, FORM_OK, what);
		ff = form_get(f, "big");
		ok(ff != NULL && ff->size == content.len, what);
		stored = ff != NULL ? test_read(ff->path, &len) : NULL;
		ok(stored != NULL && len == content.len &&
		    memcmp(stored, content.data, len) == 0, what);
		free(stored);
		form_abort(f);
		form_free(f);
		is_int(test_count_dir(test_uploads), 0, what);
	}

	/* Over max_file: refused, and form_abort removes the partial file. */
	l.max_file = 1024 * 1024;
	f = test_parse(MCT, body.data, body.len, &l, 65536, &err);
	is_int(err, FORM_TOO_LARGE, "3 MB upload over a 1 MB max_file");
	is_str(form_message(f), "the upload 'big' is larger than 1048576 bytes",
	    "3 MB upload over a 1 MB max_file: message");
	is_int(test_count_dir(test_uploads), 1, "the partial upload exists");
	form_abort(f);
	is_int(test_count_dir(test_uploads), 0, "form_abort removed it");
	form_free(f);
	buf_free(&content);
	buf_free(&body);
}

/* Once an error is returned, it is returned again for any later call. */
static void
test_sticky_error(void)
{
	struct form_limits l;
	enum form_error err;
	struct form *f;

	form_limits_default(&l, 1024);
	f = test_parse("application/x-www-form-urlencoded", "a=%zz", 5, &l, 0,
	    &err);
	is_int(err, FORM_MALFORMED, "bad escape");
	is_int(form_feed(f, "&b=1", 4), FORM_MALFORMED, "feed after an error");
	is_int(form_finish(f), FORM_MALFORMED, "finish after an error");
	is_str(form_message(f), "malformed urlencoded body: bad %-escape in "
	    "field 'a'", "the first message is kept");
	is_int(form_errno(f), 0, "no errno for a parse error");
	form_free(f);

	f = form_new("application/x-www-form-urlencoded", test_uploads, &l,
	    &err);
	is_str(form_message(f), "no error", "message before any error");
	is_int(form_feed(f, "", 0), FORM_OK, "empty feed");
	is_int(form_finish(f), FORM_OK, "empty body");
	is_int(form_count(f), 0, "empty body: no fields");
	is_int(form_feed(f, "a=1", 3), FORM_MALFORMED, "feed after finish");
	form_free(f);
}

/* form_get, form_at and what text fields look like. */
static void
test_lookup(void)
{
	static const char body[] = "a=1&b=x%00y&a=2&c";
	const struct form_field *ff;
	struct form_limits l;
	enum form_error err;
	struct form *f;

	form_limits_default(&l, 1024);
	f = test_parse("application/x-www-form-urlencoded", body,
	    sizeof body - 1, &l, 0, &err);
	is_int(err, FORM_OK, "lookup body");
	is_int(form_count(f), 4, "duplicates are all kept");
	ff = form_get(f, "a");
	is_str(ff != NULL ? ff->value : NULL, "1", "form_get: the first 'a'");
	ff = form_at(f, 2);
	is_str(ff != NULL ? ff->value : NULL, "2", "form_at(2): the 2nd 'a'");
	ok(form_get(f, "zz") == NULL, "form_get of a missing name");
	ok(form_at(f, 4) == NULL, "form_at past the end");
	ff = form_get(f, "b");
	ok(ff != NULL && ff->len == 3 && memcmp(ff->value, "x\0y", 4) == 0,
	    "a NUL inside a value, NUL-terminated");
	ok(ff != NULL && ff->path == NULL && ff->filename == NULL &&
	    ff->content_type == NULL && ff->size == 0, "text field: no file");
	form_free(f);

	f = test_parse("application/x-www-form-urlencoded", "a%00b=1", 7, &l,
	    0, &err);
	is_int(err, FORM_MALFORMED, "a NUL in a field name is refused");
	form_free(f);
}

/* FORM_IO: open failures keep errno; O_EXCL never overwrites a file. */
static void
test_io(void)
{
	static const char body[] = "--" B "\r\nContent-Disposition: form-data; "
	    "name=\"csv\"; filename=\"a.csv\"\r\n\r\nnew\r\n--" B "--\r\n";
	struct form_limits l;
	enum form_error err;
	struct form *f;
	char *dir, *path, *old;
	int fd;

	form_limits_default(&l, 1024);
	dir = xasprintf("%s/missing", test_tmp);
	f = form_new(MCT, dir, &l, &err);
	err = form_feed(f, body, sizeof body - 1);
	is_int(err, FORM_IO, "upload into a missing directory: FORM_IO");
	is_int(form_errno(f), ENOENT, "form_errno is ENOENT");
	ok(strncmp(form_message(f), "could not store the upload 'csv': ",
	    34) == 0, "FORM_IO message names the field");
	is_int(form_finish(f), FORM_IO, "finish after FORM_IO");
	form_abort(f);
	form_free(f);
	free(dir);

	path = xasprintf("%s/upload-1", test_uploads);
	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC, 0600);
	ok(fd != -1 && write(fd, "old", 3) == 3, "a stale upload-1");
	close(fd);
	f = form_new(MCT, test_uploads, &l, &err);
	is_int(form_feed(f, body, sizeof body - 1), FORM_IO,
	    "upload-1 already exists: FORM_IO");
	is_int(form_errno(f), EEXIST, "form_errno is EEXIST");
	form_abort(f);
	form_free(f);
	old = test_read(path, NULL);
	is_str(old, "old", "the existing file is left alone");
	free(old);
	unlink(path);
	free(path);

	/* No upload directory: files are refused, text is fine. */
	f = form_new(MCT, NULL, &l, &err);
	is_int(form_feed(f, body, sizeof body - 1), FORM_TOO_MANY,
	    "no upload directory: files refused");
	is_str(form_message(f), "this form accepts no uploaded files",
	    "no upload directory: message");
	form_free(f);
}

/* form_free leaves the uploads; form_abort removes them, even mid-file. */
static void
test_abort(void)
{
	static const char body[] = "--" B "\r\nContent-Disposition: form-data; "
	    "name=\"f1\"; filename=\"a.txt\"\r\n\r\nAAA\r\n--" B "\r\n"
	    "Content-Disposition: form-data; name=\"f2\"; filename=\"b.txt\""
	    "\r\n\r\nBB";
	struct form_limits l;
	enum form_error err;
	struct form *f;

	form_limits_default(&l, 1024);
	f = form_new(MCT, test_uploads, &l, &err);
	is_int(form_feed(f, body, sizeof body - 1), FORM_OK, "mid-upload");
	is_int(test_count_dir(test_uploads), 2, "two uploads on disk");
	form_abort(f);
	is_int(test_count_dir(test_uploads), 0, "form_abort removed both");
	form_free(f);
}

/* What the upload callbacks of test_uploads saw, and how they answer. */
struct test_say {
	int asked;		/* part calls */
	char names[256];	/* the names asked about, each followed by ' ' */
	size_t room;		/* bytes still allowed; SIZE_MAX: no bound */
	size_t taken;		/* bytes asked for and granted */
};

/* Part callback: "drop*" is skipped, "bad*" refused, the rest stored. */
static enum form_upload
test_part(void *arg, const char *name, char **cause)
{
	struct test_say *say = arg;
	size_t len = strlen(say->names);

	say->asked++;
	snprintf(say->names + len, sizeof say->names - len, "%s ", name);
	if (strncmp(name, "drop", 4) == 0)
		return FORM_UPLOAD_SKIP;
	if (strncmp(name, "bad", 3) == 0) {
		*cause = xasprintf("no uploads for '%s'", name);
		return FORM_UPLOAD_REFUSE;
	}
	return FORM_UPLOAD_STORE;
}

/* Room callback: grants while say->room lasts. */
static int
test_room(void *arg, size_t n, char **cause)
{
	struct test_say *say = arg;

	if (n > say->room) {
		*cause = xasprintf("no room for %zu more bytes", n);
		return -1;
	}
	if (say->room != SIZE_MAX)
		say->room -= n;
	say->taken += n;
	return 0;
}

/* Parses body in chunks with the test callbacks; returns the form. */
static struct form *
test_parse_say(const char *body, size_t len, size_t chunk, struct test_say *say,
    enum form_error *err)
{
	struct form_uploads u = { test_part, test_room, say };
	struct form_limits l;
	struct form *f;
	size_t off, n;

	form_limits_default(&l, 1024 * 1024);
	f = form_new(MCT, test_uploads, &l, err);
	form_set_uploads(f, &u);
	*err = FORM_OK;
	for (off = 0; off < len && *err == FORM_OK; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		*err = form_feed(f, body + off, n);
	}
	if (*err == FORM_OK)
		*err = form_finish(f);
	return f;
}

/*
 * The caller's say over uploads: skipped parts are read and never written,
 * a refused one stops the parse before its file exists, the room bound
 * stops it with FORM_FULL; each part is asked about once, when its first
 * byte would be stored, however the body is chunked.
 */
static void
test_say_uploads(void)
{
	static const size_t chunks[] = { 0, 1, 7 };
	static const char body[] = "--" B "\r\nContent-Disposition: form-data; "
	    "name=\"keep\"; filename=\"k.txt\"\r\n\r\nKEEP\r\n--" B "\r\n"
	    "Content-Disposition: form-data; name=\"drop\"; filename=\"d.bin\""
	    "\r\n\r\nDROPPED\r\n-x\r\r\n--\r\n--" B "\r\n"
	    "Content-Disposition: form-data; name=\"note\"\r\n\r\ntext\r\n--" B
	    "\r\nContent-Disposition: form-data; name=\"none\"; filename=\"\""
	    "\r\n\r\n\r\n--" B "\r\nContent-Disposition: form-data; "
	    "name=\"late\"; filename=\"\"\r\n\r\nLATE\r\n--" B "--\r\n";
	static const char refused[] = "--" B "\r\nContent-Disposition: "
	    "form-data; name=\"keep\"; filename=\"k.txt\"\r\n\r\nKEEP\r\n--" B
	    "\r\nContent-Disposition: form-data; name=\"bad\"; "
	    "filename=\"b.txt\"\r\n\r\nBAD\r\n--" B "--\r\n";
	struct test_say say;
	enum form_error err;
	struct form *f;
	const struct form_field *ff;
	char what[128];
	size_t i;

	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		snprintf(what, sizeof what, "uploads, %zu-byte chunks", chunks[i]);
		memset(&say, 0, sizeof say);
		say.room = SIZE_MAX;
		f = test_parse_say(body, sizeof body - 1, chunks[i], &say, &err);
		is_int(err, FORM_OK, what);
		is_str(say.names, "keep drop late ", "asked once per part with "
		    "data, never for an empty one");
		is_int(form_count(f), 3, "the skipped part is not reported");
		ff = form_at(f, 0);
		ok(ff != NULL && strcmp(ff->name, "keep") == 0 && ff->size == 4,
		    "the stored part");
		ff = form_at(f, 2);
		ok(ff != NULL && strcmp(ff->name, "late") == 0 && ff->size == 4 &&
		    ff->path != NULL, "a part asked about at its first byte");
		is_int(test_count_dir(test_uploads), 2, "only the stored parts "
		    "are on disk");
		is_int(say.taken, 8, "room was asked for their bytes only");
		form_abort(f);
		form_free(f);

		memset(&say, 0, sizeof say);
		say.room = SIZE_MAX;
		f = test_parse_say(refused, sizeof refused - 1, chunks[i], &say,
		    &err);
		is_int(err, FORM_MALFORMED, "a refused part stops the parse");
		is_str(form_message(f), "no uploads for 'bad'", "with the "
		    "caller's message");
		is_int(test_count_dir(test_uploads), 1, "before its file exists");
		form_abort(f);
		form_free(f);
		is_int(test_count_dir(test_uploads), 0, "form_abort removes the "
		    "rest");

		memset(&say, 0, sizeof say);
		say.room = 6;
		f = test_parse_say(body, sizeof body - 1, chunks[i], &say, &err);
		is_int(err, FORM_FULL, "past the room: FORM_FULL");
		is_str(form_message(f), "no room for 4 more bytes", "with the "
		    "caller's message");
		ok(say.taken <= 6, "no more than the room was taken");
		form_abort(f);
		form_free(f);
		is_int(test_count_dir(test_uploads), 0, "form_abort removes the "
		    "uploads");
	}
}

/* Runs everything in a private temporary directory. */
int
main(void)
{
	if (mkdtemp(test_tmp) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(test_uploads, sizeof test_uploads, "%s/uploads", test_tmp);
	mkdir(test_uploads, 0700);

	test_data_cases();
	test_content_types();
	test_defaults();
	test_many_fields();
	test_big_header();
	test_long_preamble();
	test_big_file();
	test_sticky_error();
	test_lookup();
	test_io();
	test_abort();
	test_say_uploads();

	test_empty_dir(test_uploads);
	rmdir(test_uploads);
	rmdir(test_tmp);
	return tap_done();
}
