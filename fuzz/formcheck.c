/* formcheck: parse a form body whole and in chunks, and compare (see formcheck.h). */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"
#include "xmem.h"

#include "formcheck.h"
#include "fuzz.h"

#define FORMCHECK_MAX_FILENAME 255	/* form.c: FORM_MAX_FILENAME */
#define FORMCHECK_ROOM 600		/* bytes all stored uploads may take */

static char formcheck_tmp[4096];

/* Removes the upload directory (empty: every parse was aborted). */
static void
formcheck_cleanup(void)
{
	if (formcheck_tmp[0] != '\0')
		rmdir(formcheck_tmp);
}

/* The per-process upload directory, made 0700 on first use. */
const char *
formcheck_dir(void)
{
	const char *tmp;

	if (formcheck_tmp[0] != '\0')
		return formcheck_tmp;
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(formcheck_tmp, sizeof formcheck_tmp, "%s/lj-fuzz.XXXXXX",
	    tmp);
	FUZZ_CHECK(mkdtemp(formcheck_tmp) != NULL);
	atexit(formcheck_cleanup);
	return formcheck_tmp;
}

/*
 * The next chunk size, from a xorshift generator seeded by the body: mostly
 * 1 to 16 bytes, sometimes none (an empty feed must change nothing),
 * sometimes up to 4 KiB.
 */
static size_t
formcheck_chunk(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	if (x % 8 == 0)
		return 0;
	if (x % 16 == 1)
		return 1 + (x >> 8) % 4096;
	return 1 + (x >> 8) % 16;
}

/* FNV-1a of the body, never 0 (xorshift would stay at 0). */
static uint32_t
formcheck_seed(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h != 0 ? h : 1;
}

/* 1 if a sanitized file name keeps form.h's promise. */
static int
formcheck_filename_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > FORMCHECK_MAX_FILENAME || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '/' || s[i] == '\\' ||
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * The caller's say over uploads, as submit has one: a part whose name
 * starts with 's' is skipped, with 'r' refused, the rest stored.
 */
static enum form_upload
formcheck_part(void *arg, const char *name, char **cause)
{
	(void)arg;
	if (name[0] == 's')
		return FORM_UPLOAD_SKIP;
	if (name[0] == 'r') {
		*cause = xstrdup("refused");
		return FORM_UPLOAD_REFUSE;
	}
	return FORM_UPLOAD_STORE;
}

/* Grants FORMCHECK_ROOM bytes in all to the stored uploads of one parse. */
static int
formcheck_room(void *arg, size_t n, char **cause)
{
	size_t *left = arg;

	if (n > *left) {
		*cause = xstrdup("full");
		return -1;
	}
	*left -= n;
	return 0;
}

/* Checks one reported field against the limits; ok: the parse succeeded. */
static void
formcheck_field(const struct form *f, const struct form_field *ff,
    const struct form_limits *l, const char *dir, int ok)
{
	struct stat st;

	FUZZ_CHECK(ff->name != NULL && strlen(ff->name) <= l->max_name);
	FUZZ_CHECK(form_get(f, ff->name) != NULL);
	if (ff->path == NULL) {
		FUZZ_CHECK(ff->value != NULL && ff->len <= l->max_value);
		FUZZ_CHECK(ff->value[ff->len] == '\0');
		FUZZ_CHECK(ff->filename == NULL);
		return;
	}
	FUZZ_CHECK(dir != NULL &&
	    strncmp(ff->path, dir, strlen(dir)) == 0);
	/* Skipped and refused parts are never stored. */
	FUZZ_CHECK(ff->name[0] != 's' && ff->name[0] != 'r');
	FUZZ_CHECK(ff->filename != NULL && formcheck_filename_ok(ff->filename));
	FUZZ_CHECK(ff->content_type != NULL && ff->size <= l->max_file);
	/* Every part is closed, so flushed, once the closing boundary is read. */
	if (ok) {
		FUZZ_CHECK(stat(ff->path, &st) == 0);
		FUZZ_CHECK((size_t)st.st_size == ff->size);
	}
}

/* Checks what the parse reported and appends its outcome to out. */
static void
formcheck_outcome(struct form *f, enum form_error e,
    const struct form_limits *l, const char *dir, struct buf *out)
{
	const struct form_field *ff;
	size_t i, nfiles = 0, stored = 0;

	/* Never FORM_IO: the directory is ours and nearly empty. */
	FUZZ_CHECK(e != FORM_IO && e != FORM_UNSUPPORTED);
	FUZZ_CHECK(form_count(f) <= l->max_fields);
	for (i = 0; i < form_count(f); i++) {
		ff = form_at(f, i);
		formcheck_field(f, ff, l, dir, e == FORM_OK);
		nfiles += ff->path != NULL;
		if (ff->path != NULL && e == FORM_OK)
			stored += ff->size;
		buf_addf(out, "%s%c%zu:", ff->name, 0, ff->len);
		buf_add(out, ff->value != NULL ? ff->value : "", ff->len);
		if (ff->path != NULL)
			buf_addf(out, "%s%c%s%c", ff->filename, 0,
			    ff->content_type, 0);
		/*
		 * After an error the upload being written holds what had
		 * arrived when the check tripped, which depends on the
		 * chunks; the request is refused and the file removed, so
		 * only a finished upload's size is part of the outcome.
		 */
		if (ff->path != NULL && e == FORM_OK)
			buf_addf(out, "%zu%c", ff->size, 0);
	}
	FUZZ_CHECK(form_at(f, form_count(f)) == NULL);
	FUZZ_CHECK(nfiles <= l->max_files);
	FUZZ_CHECK(stored <= FORMCHECK_ROOM);
	buf_addf(out, "error %d %s", (int)e, form_message(f));
}

/* Removes what the parse wrote and checks that it is gone. */
static void
formcheck_abort(struct form *f)
{
	size_t i;

	form_abort(f);
	for (i = 0; i < form_count(f); i++) {
		if (form_at(f, i)->path != NULL) {
			FUZZ_CHECK(access(form_at(f, i)->path, F_OK) == -1 &&
			    errno == ENOENT);
		}
	}
}

/* One parse, whole (seed 0) or in chunks; its outcome goes to out. */
static void
formcheck_parse(const char *ctype, const uint8_t *body, size_t n,
    const struct form_limits *l, const char *dir, uint32_t seed,
    struct buf *out)
{
	const char *p = (const char *)body;
	size_t room = FORMCHECK_ROOM;
	struct form_uploads u = { formcheck_part, formcheck_room, &room };
	enum form_error e, e2;
	struct form *f;
	size_t k;

	if ((f = form_new(ctype, dir, l, &e)) == NULL) {
		FUZZ_CHECK(e == FORM_UNSUPPORTED);
		buf_adds(out, "unsupported");
		return;
	}
	FUZZ_CHECK(e == FORM_OK);
	form_set_uploads(f, &u);
	e = FORM_OK;
	while (n > 0) {
		k = seed == 0 ? n : formcheck_chunk(&seed);
		if (k > n)
			k = n;
		e2 = form_feed(f, p, k);
		/* After an error every call repeats it. */
		FUZZ_CHECK(e == FORM_OK || e2 == e);
		e = e2;
		p += k;
		n -= k;
	}
	e2 = form_finish(f);
	FUZZ_CHECK(e == FORM_OK || e2 == e);
	e = e2;
	FUZZ_CHECK(form_finish(f) == e);
	formcheck_outcome(f, e, l, dir, out);
	/* A finished body takes no more data. */
	if (e == FORM_OK)
		FUZZ_CHECK(form_feed(f, "x", 1) == FORM_MALFORMED);
	formcheck_abort(f);
	form_free(f);
}

/* Writes an outcome to stderr, bytes outside printable ASCII as \xHH. */
static void
formcheck_print(const char *label, const struct buf *b)
{
	size_t i;

	fprintf(stderr, "%s", label);
	for (i = 0; i < b->len; i++) {
		if (b->data[i] >= 0x20 && b->data[i] < 0x7f)
			fputc(b->data[i], stderr);
		else
			fprintf(stderr, "\\x%02x", (unsigned char)b->data[i]);
	}
	fputc('\n', stderr);
}

/* Parses whole and in chunks and compares; see formcheck.h. */
void
formcheck_run(const char *ctype, const uint8_t *body, size_t n,
    const struct form_limits *limits, const char *upload_dir)
{
	struct buf whole, chunked;

	buf_init(&whole, 0);
	buf_init(&chunked, 0);
	formcheck_parse(ctype, body, n, limits, upload_dir, 0, &whole);
	formcheck_parse(ctype, body, n, limits, upload_dir,
	    formcheck_seed(body, n), &chunked);
	if (whole.len != chunked.len ||
	    memcmp(whole.data, chunked.data, whole.len) != 0) {
		formcheck_print("formcheck: parsed whole:   ", &whole);
		formcheck_print("formcheck: parsed chunked: ", &chunked);
		FUZZ_CHECK(!"the outcome depends on the chunking");
	}
	buf_free(&whole);
	buf_free(&chunked);
}
