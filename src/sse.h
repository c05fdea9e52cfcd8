/*
 * sse: the text/event-stream framing and the Last-Event-ID parser.
 *
 * Every event longjob sends has an id (the store's global sequence number),
 * a type and one JSON object as data.  JSON text has no raw newlines (they are
 * escaped as \n inside strings), so an event is always exactly one `data:`
 * line and a handler's message can never forge an `event:` or `id:` field;
 * sse_event refuses data that contains a CR or LF as a last line of defence.
 */
#ifndef LONGJOB_SSE_H
#define LONGJOB_SSE_H

#include <stdint.h>

struct buf;

/* Longest Last-Event-ID accepted (digits of a positive int64). */
#define SSE_MAX_ID_LEN 19

/*
 * The comments a quiet stream gets, which a client ignores.  They never
 * change, so they are written as they are, with no buffer to fill: the
 * probe goes to every quiet stream every tick, so that a write fails once
 * its client left, and is the smallest frame there is (a comment line
 * alone); the keepalive, a whole comment frame, goes after heartbeat_s of
 * quiet, for proxies that close idle connections.
 */
#define SSE_PROBE ":\n"
#define SSE_KEEPALIVE ": keepalive\n\n"

/* Appends "retry: <ms>\n\n"; the first bytes of every stream. */
int sse_retry(struct buf *b, int ms);
/* Appends one event; -1 if kind or json contain a line break, or b is full. */
int sse_event(struct buf *b, int64_t id, const char *kind, const char *json);

/*
 * Parses a Last-Event-ID value: 1 to SSE_MAX_ID_LEN ASCII digits, no sign,
 * no spaces, value 0 .. INT64_MAX.  Returns 0 and sets *id, or -1.
 */
int sse_parse_id(const char *s, int64_t *id);

#endif
