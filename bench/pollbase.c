/*
 * pollbase: the obvious design, kept only to be measured against progress.
 *
 * Same FastCGI loop, same framing, same store as progress (it links the
 * library and serves GET <mount>/<id> from one process), but every open
 * stream does what a per-request handler does in the common tutorials: it
 * opens its own SQLite connection and, every poll_ms, runs its own query
 * for its job's events after the last one it sent.  So a tick costs one
 * query per open stream, whether anything happened or not, where progress
 * (src/feed.c) runs one query per tick for all of them and none when
 * PRAGMA data_version says nothing changed.  bench/run mounts it beside
 * progress behind the same lighttpd and compares the two at 100, 1,000 and
 * 10,000 streams.  Not a product: no Last-Event-ID, no state event, no
 * keepalives.
 */
#include "config.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "instance.h"
#include "jobid.h"
#include "log.h"
#include "loop.h"
#include "sse.h"
#include "xmem.h"

#define POLLBASE_QUERY "SELECT seq, kind, data FROM events" \
	" WHERE job_id = ?1 AND seq > ?2 ORDER BY seq"

/* One open stream, with its own connection and statement. */
struct pstream {
	struct http_req *req;
	sqlite3 *db;
	sqlite3_stmt *query;
	char id[JOBID_LEN + 1];
	int64_t last_seq;
	struct pstream *prev, *next;
};

/* The program's state. */
struct pollbase {
	const struct config *cfg;
	struct pstream *streams;
	struct buf frame;
};

/* Closes a stream's statement and connection and unlinks it. */
static void
pollbase_drop(struct pollbase *pb, struct pstream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		pb->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	sqlite3_finalize(s->query);
	sqlite3_close(s->db);
	s->req->data = NULL;
	free(s);
}

/* Opens the stream's own connection; the job's events start after its current last. */
static int
pollbase_open_db(struct pollbase *pb, struct pstream *s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_open_v2(pb->cfg->database, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_error("pollbase_open_db: %s: %s", pb->cfg->database, sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(seq), 0) FROM events"
	    " WHERE job_id = ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		log_error("pollbase_open_db: %s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return -1;
	}
	s->last_seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(s->db, POLLBASE_QUERY, -1, &s->query, NULL);
	if (rc != SQLITE_OK) {
		log_error("pollbase_open_db: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* A new request: start its stream. */
static int
pollbase_request(void *ctx, struct http_req *r)
{
	struct pollbase *pb = ctx;
	struct pstream *s;
	const char *path, *msg;

	http_drain(r);
	if (http_get_path(r, &path, &msg) != 0 || !jobid_valid(path)) {
		http_error(r, 400, "expected GET <mount>/<job id>");
		return 1;
	}
	s = xcalloc(1, sizeof *s);
	s->req = r;
	memcpy(s->id, path, JOBID_LEN + 1);
	if (pollbase_open_db(pb, s) != 0) {
		sqlite3_finalize(s->query);
		sqlite3_close(s->db);
		free(s);
		http_error(r, 500, "the job store cannot be read");
		return 1;
	}
	http_start(r, 200, "text/event-stream",
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
	buf_reset(&pb->frame);
	sse_retry(&pb->frame, pb->cfg->retry_ms);
	if (http_write(r, pb->frame.data, pb->frame.len) != 0 || http_flush(r) != 0) {
		sqlite3_finalize(s->query);
		sqlite3_close(s->db);
		free(s);
		return 1;
	}
	r->data = s;
	s->next = pb->streams;
	if (s->next != NULL)
		s->next->prev = s;
	pb->streams = s;
	return 0;
}

/* The client went away. */
static void
pollbase_gone(void *ctx, struct http_req *r)
{
	if (r->data != NULL)
		pollbase_drop(ctx, r->data);
}

/* Runs one stream's query and writes what it found; 1 once `end` went out. */
static int
pollbase_poll(struct pollbase *pb, struct pstream *s)
{
	int ended = 0, wrote = 0;

	sqlite3_bind_text(s->query, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->query, 2, s->last_seq);
	while (sqlite3_step(s->query) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(s->query, 1);
		const char *data = (const char *)sqlite3_column_text(s->query, 2);

		s->last_seq = sqlite3_column_int64(s->query, 0);
		buf_reset(&pb->frame);
		if (kind == NULL || data == NULL ||
		    sse_event(&pb->frame, s->last_seq, kind, data) != 0)
			continue;
		if (http_write(s->req, pb->frame.data, pb->frame.len) != 0)
			break;
		wrote = 1;
		if (strcmp(kind, "end") == 0)
			ended = 1;
	}
	sqlite3_reset(s->query);
	if (wrote)
		http_flush(s->req);
	return ended;
}

/* Every tick: every open stream polls on its own. */
static void
pollbase_tick(void *ctx)
{
	struct pollbase *pb = ctx;
	struct pstream *s, *next;

	for (s = pb->streams; s != NULL; s = next) {
		next = s->next;
		if (s->req->gone)
			continue;
		if (pollbase_poll(pb, s) && !s->req->gone) {
			struct http_req *r = s->req;

			pollbase_drop(pb, s);
			loop_finish(r);
		}
	}
}

static const struct loop_ops pollbase_ops = {
	.request = pollbase_request,
	.gone = pollbase_gone,
	.tick = pollbase_tick,
};

/* The program's state over the instance's config. */
static void *
pollbase_new(struct instance *in)
{
	struct pollbase *pb = xcalloc(1, sizeof *pb);

	pb->cfg = in->cfg;
	buf_init(&pb->frame, 0);
	return pb;
}

/* Frees the state (the loop has dropped every stream by now). */
static void
pollbase_free(void *ctx)
{
	struct pollbase *pb = ctx;

	while (pb->streams != NULL)
		pollbase_drop(pb, pb->streams);
	buf_free(&pb->frame);
	free(pb);
}

int
main(int argc, char **argv)
{
	return instance_serve("longjob-pollbase", argc, argv, &pollbase_ops,
	    pollbase_new, pollbase_free);
}
