/* feed: SSE progress streams served from one poll loop.  See feed.h. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "oversee.h"
#include "job.h"
#include "jobid.h"
#include "log.h"
#include "loop.h"
#include "sse.h"
#include "store.h"
#include "view.h"
#include "feed.h"
#include "xmem.h"

#define FEED_BUCKETS 4096
/*
 * Each tick visits a share of the streams for probes, keepalives and their
 * maximum age (feed_scan), about this many a second: every tick while there
 * are at most FEED_VISITS_PER_S / 5 streams (at 200 ms), so a client that
 * left is noticed within a tick or two; beyond that, each stream every
 * nstreams / FEED_VISITS_PER_S seconds (10 s at 10,000).  bench/README.md
 * measured the cost: at 5,000 a second the probes were a third of an idle
 * progress process's 8.5 % of a core with 10,000 streams, and most of
 * lighttpd's.
 */
#define FEED_VISITS_PER_S 1000

struct watch;

/* One open SSE response. */
struct stream {
	struct http_req *req;
	struct watch *watch;
	struct stream *next;
	int64_t last_seq;	/* the largest id this client has */
	long long opened_ms, last_write_ms;
	int ending;		/* `end` was sent (or a HEAD's headers): finish after this tick */
	int catching_up;	/* older events wait to go out as the client takes them */
};

/* Every open stream of one job. */
struct watch {
	char id[JOBID_LEN + 1];
	struct stream *streams;
	struct watch *next;
};

struct feed {
	const struct config *cfg;
	struct store *st;
	struct store_cursor cursor;	/* where the ticks have read the event log to */
	long long last_reap_ms, last_scan_ms;
	unsigned scan_next;	/* the bucket the next tick's scan starts from */
	struct watch *buckets[FEED_BUCKETS];
	int nstreams;
	int ncatching;		/* streams catching up (feed_catch_ups) */
	struct buf frame;
};

/* Bucket of a job id (ids are random hex: their first digits are a fine hash). */
static unsigned
feed_hash(const char *id)
{
	unsigned h = 0;
	int i;

	for (i = 0; i < 8; i++)
		h = h * 16 + (unsigned)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	return h % FEED_BUCKETS;
}

/* The watch of a job, or NULL. */
static struct watch *
feed_watch_find(struct feed *f, const char *id)
{
	struct watch *w;

	for (w = f->buckets[feed_hash(id)]; w != NULL; w = w->next) {
		if (strcmp(w->id, id) == 0)
			return w;
	}
	return NULL;
}

/* Adds a stream to its job's watch, creating the watch if needed. */
static void
feed_attach(struct feed *f, struct stream *s, const char *id)
{
	struct watch *w = feed_watch_find(f, id);
	unsigned h = feed_hash(id);

	if (w == NULL) {
		w = xcalloc(1, sizeof *w);
		memcpy(w->id, id, sizeof w->id);
		w->next = f->buckets[h];
		f->buckets[h] = w;
	}
	s->watch = w;
	s->next = w->streams;
	w->streams = s;
	f->nstreams++;
}

/* Removes a stream from its watch (freeing an empty watch) and frees it. */
static void
feed_detach(struct feed *f, struct stream *s)
{
	struct watch *w = s->watch, **wp;
	struct stream **sp;

	for (sp = &w->streams; *sp != NULL; sp = &(*sp)->next) {
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	}
	if (w->streams == NULL) {
		for (wp = &f->buckets[feed_hash(w->id)]; *wp != NULL; wp = &(*wp)->next) {
			if (*wp == w) {
				*wp = w->next;
				break;
			}
		}
		free(w);
	}
	s->req->data = NULL;
	f->nstreams--;
	if (s->catching_up)
		f->ncatching--;
	free(s);
}

/* Frames one event into f->frame: 0, or -1 (said in the log). */
static int
feed_frame(struct feed *f, int64_t seq, const char *kind, const char *json)
{
	buf_reset(&f->frame);
	if (sse_event(&f->frame, seq, kind, json) == 0)
		return 0;
	log_error("event %lld (%s) cannot be framed", (long long)seq, kind);
	return -1;
}

/* Writes and flushes the event framed in f->frame to a stream; -1 if the client is gone. */
static int
feed_write(struct feed *f, struct stream *s, int64_t seq, const char *kind)
{
	if (http_write(s->req, f->frame.data, f->frame.len) != 0 ||
	    http_flush(s->req) != 0)
		return -1;
	if (seq > s->last_seq)
		s->last_seq = seq;
	s->last_write_ms = loop_now_ms();
	if (strcmp(kind, "end") == 0)
		s->ending = 1;
	return 0;
}

/* Frames and writes one event to a stream; -1 if the client is gone. */
static int
feed_send(struct feed *f, struct stream *s, int64_t seq, const char *kind,
    const char *json)
{
	if (feed_frame(f, seq, kind, json) != 0)
		return 0;
	return feed_write(f, s, seq, kind);
}

/*
 * A stream whose socket is full catches up from the store from now on,
 * and one that has taken everything is fed live again.
 */
static void
feed_note_lag(struct feed *f, struct stream *s)
{
	int lagging = s->req->backlog.len > 0 && !s->ending;

	if (lagging != s->catching_up)
		f->ncatching += lagging ? 1 : -1;
	s->catching_up = lagging;
}

/* A stream being brought up to date, with its feed. */
struct feed_catch_up {
	struct feed *f;
	struct stream *s;
};

/* Catch-up callback: one missed event of this stream's job; stops once the client lags. */
static int
feed_catch_up_row(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct feed_catch_up *c = ctx;

	(void)job_id;
	if (feed_send(c->f, c->s, seq, kind, json) != 0)
		return 1;
	/* What the socket did not take waits: read on when the client has it. */
	return c->s->req->backlog.len > 0;
}

/*
 * Sends the stream's job's events after the last it sent, as long as the
 * client takes them (a history can be 60 MB of log lines, and one that is
 * read slowly must not all wait in memory): when its socket is full the
 * stream is left catching up, the fan-out passes it by, and the next ticks
 * go on from where it stopped.  -1 if the client is gone.
 */
static int
feed_catch_up(struct feed *f, struct stream *s, const char *id)
{
	struct feed_catch_up c = { f, s };

	if (store_job_events(f->st, id, s->last_seq, feed_catch_up_row, &c) != 0 ||
	    s->req->gone)
		return -1;
	feed_note_lag(f, s);
	return 0;
}

/* Parses the id the client already has: header first, then ?lastEventId=. */
static int
feed_last_id(struct http_req *r, int64_t *last, int *have)
{
	const char *h = http_param(r, "HTTP_LAST_EVENT_ID");
	char q[SSE_MAX_ID_LEN + 2];
	int rc;

	*have = 0;
	if (h == NULL && (rc = http_query(r, "lastEventId", q, sizeof q)) <= 0) {
		if (rc < 0)
			return -1;	/* too long, badly encoded or twice */
		h = q;
	}
	if (h == NULL)
		return 0;
	if (sse_parse_id(h, last) != 0)
		return -1;
	*have = 1;
	return 0;
}

/* Sends the opening of a stream: headers, retry, then state or the missed events. */
static int
feed_open(struct feed *f, struct stream *s, const struct job *j, int64_t last,
    int resume)
{
	char *json;
	int rc;

	http_start(s->req, 200, "text/event-stream",
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
	if (s->req->head_only) {
		/* HEAD: the stream's headers were the whole answer. */
		s->ending = 1;
		return 0;
	}
	buf_reset(&f->frame);
	/* The first body bytes: every front end holds the headers until they come. */
	sse_retry(&f->frame, f->cfg->retry_ms);
	if (http_write(s->req, f->frame.data, f->frame.len) != 0)
		return -1;
	if (resume) {
		s->last_seq = last;
		/* From here on no write waits for the client (http.h). */
		if (http_detach(s->req) != 0)
			return -1;
		return feed_catch_up(f, s, j->id);
	}
	json = view_state(j);
	rc = feed_send(f, s, j->last_seq, "state", json);
	free(json);
	if (rc == 0 && view_state_final(j->state)) {
		json = view_end(j);
		rc = feed_send(f, s, j->last_seq, "end", json);
		free(json);
	}
	return rc;
}

/* Validates the request; the refusal status with *msg, or 0 with the id copied out. */
static int
feed_check(struct http_req *r, char id[JOBID_LEN + 1], int64_t *last, int *have,
    const char **msg)
{
	const char *path;

	if (http_get_path(r, &path, msg) != 0)
		return 405;
	if (!jobid_valid(path)) {
		*msg = "malformed job id (expected 32 lowercase hex digits)";
		return 400;
	}
	memcpy(id, path, JOBID_LEN + 1);
	if (feed_last_id(r, last, have) != 0) {
		*msg = "malformed Last-Event-ID (expected a non-negative whole number)";
		return 400;
	}
	return 0;
}

/* Starts a stream for a new request, or answers it at once. */
static int
feed_request(void *ctx, struct http_req *r)
{
	struct feed *f = ctx;
	struct stream *s;
	struct job j;
	char id[JOBID_LEN + 1];
	const char *msg = NULL;
	int64_t last = 0;
	int have = 0, status, rc;

	http_drain(r);
	if ((status = feed_check(r, id, &last, &have, &msg)) != 0) {
		http_error(r, status, msg);
		return 1;
	}
	job_init(&j);
	rc = store_job_snapshot(f->st, id, &j);
	if (rc != 0) {
		http_error(r, rc == 1 ? 404 : store_down(f->st) ? 503 : 500,
		    rc == 1 ? "no such job" : store_down(f->st) ?
		    "the job store cannot be reached; try again in a moment" : "the job store cannot be read");
		job_clear(&j);
		return 1;
	}
	if (have && last >= j.last_seq && view_state_final(j.state)) {
		/* Everything including `end` was delivered: 204 stops EventSource. */
		http_start(r, 204, NULL, "Cache-Control: no-store\r\n");
		job_clear(&j);
		return 1;
	}
	s = xcalloc(1, sizeof *s);
	s->req = r;
	s->opened_ms = loop_now_ms();
	/* An id from the future (a reset store?) gets the whole picture again. */
	rc = feed_open(f, s, &j, last, have && last <= j.last_seq);
	job_clear(&j);
	if (rc != 0 || s->ending) {
		/* Not yet counted in f (feed_attach): its catching_up is never set. */
		free(s);
		return 1;
	}
	r->data = s;
	feed_attach(f, s, id);
	/* A stream lives for minutes: give back libfcgi's ~12 KiB of buffers now. */
	if (http_detach(r) != 0)
		http_set_gone(r);	/* the loop reports it gone */
	return 0;
}

/* The client went away: forget its stream. */
static void
feed_gone(void *ctx, struct http_req *r)
{
	struct feed *f = ctx;

	if (r->data != NULL)
		feed_detach(f, r->data);
}

/* Ends a stream from our side (after `end`, or at its maximum age). */
static void
feed_close(struct feed *f, struct stream *s)
{
	struct http_req *r = s->req;

	feed_detach(f, s);
	loop_finish(r);
}

/* Tick callback: one event row for every stream that watches its job. */
static int
feed_fan_out(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct feed *f = ctx;
	struct watch *w = feed_watch_find(f, job_id);
	struct stream *s, *next;
	int framed = 0;

	if (w == NULL)
		return 0;
	/* feed_close frees w with its last stream: w is not touched after the loop. */
	for (s = w->streams; s != NULL; s = next) {
		next = s->next;
		if (seq <= s->last_seq || s->catching_up)
			continue;
		/* Framed once for all of the job's streams. */
		if (!framed && feed_frame(f, seq, kind, json) != 0)
			return 0;
		framed = 1;
		if (feed_write(f, s, seq, kind) != 0)
			http_set_gone(s->req);	/* the loop reports it gone */
		else if (s->ending)
			feed_close(f, s);
		else
			/*
			 * A burst the client does not take at once (a handler
			 * printed thousands of lines): the rest comes from the
			 * store as it reads, instead of piling up until the
			 * backlog is full and the stream is dropped (bench
			 * burst: 7 of 20 streams cut mid-response).
			 */
			feed_note_lag(f, s);
	}
	return 0;
}

/*
 * Writes what a quiet stream needs.  Measured (disconnect.sh): no front end
 * tells the program when a client leaves (lighttpd, Apache and CGI alike
 * notice only when a write to the client fails), so a stream quiet for a
 * tick gets an empty comment, and the failed write frees a stream whose
 * client left.  Past heartbeat_s of quiet (when visits are rarer than that)
 * it gets a keepalive comment (for proxies that cut idle connections).
 */
static void
feed_keepalive(struct feed *f, struct stream *s, long long now)
{
	long long quiet = now - s->last_write_ms, probe_after = f->cfg->poll_ms;
	/* How long until this stream is visited again (feed_scan). */
	long long period = (long long)f->nstreams * 1000 / FEED_VISITS_PER_S;

	if (s->req->backlog.len > 0)
		return;		/* it has bytes to read already; writing them tells if it left */
	/*
	 * A stream written to since its last visit needs no probe: that write
	 * tells as well as a probe whether its client left.  With 10,000
	 * streams at one event a second, probes were a tenth of what progress
	 * and lighttpd wrote (bench/README.md).
	 */
	if (period - f->cfg->poll_ms > probe_after)
		probe_after = period - f->cfg->poll_ms;	/* a tick early: visits are a tick apart */
	if (quiet >= f->cfg->heartbeat_s * 1000LL) {
		if (http_write(s->req, SSE_KEEPALIVE, sizeof SSE_KEEPALIVE - 1) == 0)
			http_flush(s->req);
	} else if (quiet >= probe_after) {
		if (http_write(s->req, SSE_PROBE, sizeof SSE_PROBE - 1) == 0)
			http_flush(s->req);
	} else
		return;
	s->last_write_ms = now;
}

/* Probes or keeps alive the streams of one bucket; closes those at their maximum age. */
static void
feed_scan_bucket(struct feed *f, unsigned b, long long now)
{
	struct watch *w, *wnext;
	struct stream *s, *snext;

	for (w = f->buckets[b]; w != NULL; w = wnext) {
		wnext = w->next;
		for (s = w->streams; s != NULL; s = snext) {
			snext = s->next;
			if (s->req->gone)
				continue;
			if (now - s->opened_ms >= f->cfg->stream_max_s * 1000LL)
				/* The browser reconnects with Last-Event-ID and notices nothing. */
				feed_close(f, s);
			else
				feed_keepalive(f, s, now);
		}
	}
}

/*
 * Visits this tick's share of the buckets (see FEED_VISITS_PER_S): all of
 * them while the streams are few, else about the visits' worth, taking
 * turns so that every stream comes up.  Ids are random, so buckets hold
 * streams evenly.
 */
static void
feed_scan(struct feed *f, long long now)
{
	long per_tick = FEED_VISITS_PER_S * (long)f->cfg->poll_ms / 1000;
	unsigned i, width = FEED_BUCKETS;

	if (f->nstreams > per_tick)
		width = (unsigned)(FEED_BUCKETS * per_tick / f->nstreams) + 1;
	for (i = 0; i < width; i++) {
		feed_scan_bucket(f, f->scan_next, now);
		f->scan_next = (f->scan_next + 1) % FEED_BUCKETS;
	}
}

/* Goes on with every stream catching up whose client took what it had. */
static void
feed_catch_ups(struct feed *f)
{
	struct watch *w, *wnext;
	struct stream *s, *snext;
	unsigned b;
	int left = f->ncatching;

	for (b = 0; b < FEED_BUCKETS && left > 0; b++) {
		for (w = f->buckets[b]; w != NULL; w = wnext) {
			wnext = w->next;
			for (s = w->streams; s != NULL; s = snext) {
				snext = s->next;
				if (!s->catching_up)
					continue;
				left--;
				if (s->req->backlog.len > 0 || s->req->gone)
					continue;
				if (feed_catch_up(f, s, w->id) != 0)
					http_set_gone(s->req);	/* the loop reports it gone */
				else if (s->ending)
					feed_close(f, s);
			}
		}
	}
}

/* The client of a stream took all that waited for it: a catching-up stream goes on now. */
static void
feed_writable(void *ctx, struct http_req *r)
{
	struct feed *f = ctx;
	struct stream *s = r->data;

	if (s == NULL || !s->catching_up)
		return;
	if (feed_catch_up(f, s, s->watch->id) != 0)
		http_set_gone(r);	/* the loop reports it gone */
	else if (s->ending)
		feed_close(f, s);
}

/* Tick callback: fan out new events, then housekeeping. */
static void
feed_tick(void *ctx)
{
	struct feed *f = ctx;
	long long now = loop_now_ms();

	/* A worker killed with -9: a new one adopts its jobs (oversee.h). */
	if (now - f->last_reap_ms >= OVERSEE_MS) {
		f->last_reap_ms = now;
		oversee_check(f->cfg, f->st);
	}
	if (f->nstreams == 0) {
		/* Nobody listens: just keep the cursor current, cheaply. */
		store_cursor_end(f->st, &f->cursor);
		return;
	}
	store_cursor_read(f->st, &f->cursor, feed_fan_out, f);
	if (f->ncatching > 0)
		feed_catch_ups(f);
	/* Ticks come sooner after writes (loop_wake_on); the scan keeps to poll_ms. */
	if (now - f->last_scan_ms >= f->cfg->poll_ms) {
		f->last_scan_ms = now;
		feed_scan(f, now);
	}
}

struct feed *
feed_new(const struct config *cfg, struct store *st)
{
	struct feed *f = xcalloc(1, sizeof *f);

	f->cfg = cfg;
	f->st = st;
	buf_init(&f->frame, 0);
	store_cursor_end(st, &f->cursor);
	return f;
}

void
feed_free(struct feed *f)
{
	if (f == NULL)
		return;
	buf_free(&f->frame);
	free(f);
}

const struct loop_ops feed_ops = { feed_request, feed_gone, feed_tick, 1, feed_writable };
