/*
 * fuzz_proto_reader: the line reader with a ceiling (proto_reader_*).
 *
 * The input is a program of operations, so that a few bytes can feed the
 * 64 KiB-plus lines that the ceiling is about.  Each operation is one byte
 * and a chunk:
 *
 *     bits 0-4   chunk length - 1: the next 1 to 32 input bytes
 *     bit 5      after feeding, read every complete line (eof = 0)
 *     bits 6-7   how many times the chunk is fed: 1, 2 or 64 calls, or
 *                one call with the chunk repeated 4096 times
 *
 * At the end every line is read with eof = 1.  Every line returned is
 * compared with a plain model: the whole stream as fed, cut into lines at
 * each '\n', each line cut to PROTO_MAX_LINE bytes and flagged.  So a line
 * that is lost, merged, split, or cut in the wrong place is a crash, and so
 * is a line held back when it was complete.
 */
#include "config.h"

#include <string.h>

#include "proto.h"

#include "fuzz.h"

#define FUZZ_MAX_STREAM (1024 * 1024)	/* bytes fed per input; the rest is ignored */

/*
 * The stream as fed, and how far the reader has returned it.  The stream is
 * kept in one static buffer: a fresh megabyte per input would cost more
 * page faults than the reader itself.
 */
struct model {
	char *fed;
	size_t len;
	size_t pos;		/* where the next line starts */
	size_t scanned;		/* no '\n' in fed[pos..scanned) */
};
static char model_fed[FUZZ_MAX_STREAM];

/* Appends len bytes of p to the model, times times. */
static void
model_add(struct model *m, const uint8_t *p, size_t len, size_t times)
{
	size_t start = m->len, have;

	if (len == 0)
		return;
	memcpy(m->fed + m->len, p, len);
	/* Doubling: copy what is there until there are times copies. */
	for (have = 1; have < times; have *= 2) {
		memcpy(m->fed + start + have * len, m->fed + start,
		    (have * 2 <= times ? have : times - have) * len);
	}
	m->len += len * times;
}

/* The length of the complete line at pos, or -1 if none is complete yet. */
static long
model_line(struct model *m)
{
	const char *nl;

	if (m->scanned < m->pos)
		m->scanned = m->pos;
	if (m->scanned == m->len)
		return -1;
	nl = memchr(m->fed + m->scanned, '\n', m->len - m->scanned);
	if (nl == NULL) {
		m->scanned = m->len;
		return -1;
	}
	return (long)(nl - (m->fed + m->pos));
}

/* Reads lines until the reader has none; each must be the model's next. */
static void
fuzz_drain(struct proto_reader *r, struct model *m, int eof)
{
	const char *line;
	size_t n, want;
	long len;
	int cut, nl;

	while (proto_reader_next(r, eof, &line, &n, &cut)) {
		len = model_line(m);
		nl = len != -1;
		if (!nl) {
			/* Only at eof, the unterminated rest. */
			FUZZ_CHECK(eof && m->pos < m->len);
			len = (long)(m->len - m->pos);
		}
		want = (size_t)len > PROTO_MAX_LINE ? PROTO_MAX_LINE :
		    (size_t)len;
		FUZZ_CHECK(n == want && cut == ((size_t)len > PROTO_MAX_LINE));
		FUZZ_CHECK(memcmp(line, m->fed + m->pos, n) == 0);
		m->pos += (size_t)len + (size_t)nl;
	}
	/* Nothing complete was held back, and at eof nothing at all. */
	FUZZ_CHECK(model_line(m) == -1);
	if (eof)
		FUZZ_CHECK(m->pos == m->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t reps[] = { 1, 2, 64, 4096 };
	struct proto_reader *r = proto_reader_new();
	struct model m = { model_fed, 0, 0, 0 };
	size_t i = 0, len, k, times;
	const char *line;
	uint8_t op;
	int cut;

	while (i < size) {
		op = data[i++];
		len = (size_t)(op & 0x1f) + 1;
		if (len > size - i)
			len = size - i;
		times = reps[op >> 6];
		if (m.len + len * times > FUZZ_MAX_STREAM)
			break;
		model_add(&m, data + i, len, times);
		if (times == 4096) {
			/* The long one in one call: the cut within one feed. */
			proto_reader_feed(r, m.fed + m.len - len * times,
			    len * times);
		} else {
			for (k = 0; k < times; k++)
				proto_reader_feed(r, (const char *)data + i, len);
		}
		i += len;
		if (op & 0x20)
			fuzz_drain(r, &m, 0);
	}
	fuzz_drain(r, &m, 1);
	/* Drained at eof: a second call finds nothing. */
	FUZZ_CHECK(!proto_reader_next(r, 1, &line, &k, &cut));
	proto_reader_free(r);
	return 0;
}
