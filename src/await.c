/* await: result requests that wait for their job to end.  See await.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "await.h"
#include "beneath.h"
#include "conf.h"
#include "http.h"
#include "oversee.h"
#include "job.h"
#include "jobid.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "share.h"
#include "slots.h"
#include "store.h"
#include "view.h"
#include "xmem.h"


/* Waiting places per job are shared by the jobs of one bucket (a hex prefix of the id). */
#define AWAIT_BUCKET_DIGITS 3
#define AWAIT_BUCKETS 4096

/* A kept request's state (its data): waiting for its job, or sending a file. */
struct held {
	int sending;
};

/* One request waiting for its job to end. */
struct waiter {
	struct held held;		/* sending 0 */
	struct http_req *req;
	char id[JOBID_LEN + 1];
	char name[PROTO_MAX_ID + 1];	/* artifact, or "" for the result itself */
	long long deadline_ms;		/* then it gets 202 and comes back later */
	int slot_all, slot_job;		/* its places (slots.h), -1 none */
	struct waiter *next;
};

/*
 * A request sending a handler's file only as fast as its client takes it:
 * a file can be large and a client slow, and neither this process nor the
 * front end should hold what the client has not taken yet (http.h).
 */
struct sender {
	struct held held;		/* sending 1 */
	struct http_req *req;
	int fd;
};

struct await {
	const struct config *cfg;
	struct store *st;
	struct store_cursor cursor;
	long long last_reap_ms;
	struct waiter *waiters;
	struct slots *slots;		/* places of waiting requests, opened at the first */
};

/*
 * 1 if a browser may run script in a document of this type when it is opened
 * as a page (HTML, XHTML, SVG, any XML, JavaScript): such files are sent as
 * attachments.  Images, text, JSON and the like still display inline.
 */
static int
await_active_type(const char *ctype)
{
	static const char *const active[] = {
		"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
		"application/xml", "text/xsl", "text/javascript",
		"application/javascript", "application/ecmascript",
		"text/ecmascript", "multipart/x-mixed-replace",
	};
	size_t n = strcspn(ctype, "; \t"), i;

	for (i = 0; i < sizeof active / sizeof active[0]; i++) {
		if (strlen(active[i]) == n && strncasecmp(ctype, active[i], n) == 0)
			return 1;
	}
	/* Any other XML type (application/atom+xml, ...) can carry script too. */
	return n >= 4 && strncasecmp(ctype + n - 4, "+xml", 4) == 0;
}

/*
 * Sends an artifact file of an ended job.  A handler's file is data, never a
 * page of this site: nosniff (sent by http_start), a CSP sandbox (opened
 * as a document, it gets no script and an origin of its own), and active
 * types as attachments.  It is opened beneath the job's directory, and
 * only if the handler did not make it a way to a file elsewhere (beneath.h).
 */
/* Sends the file's next pieces while the client takes them; 1 once all is sent or it left. */
static int
await_send(struct sender *s)
{
	char chunk[65536];
	ssize_t n;

	while (s->req->backlog.len == 0 && !s->req->gone) {
		if ((n = read(s->fd, chunk, sizeof chunk)) <= 0)
			return 1;
		if (http_write(s->req, chunk, (size_t)n) != 0)
			return 1;
	}
	return s->req->gone;
}

/* Frees a sender and closes its file. */
static void
await_sender_free(struct sender *s)
{
	close(s->fd);
	s->req->data = NULL;
	free(s);
}

/*
 * Sends the body of an opened file (fd, taken over): at the client's pace
 * where the request can go on without waiting (FastCGI: http_detach), else
 * whole.  1 once answered, 0 if the request is kept to send the rest.
 */
static int
await_file(struct http_req *r, int fd)
{
	struct sender *s;
	char chunk[65536];
	ssize_t n;

	if (!r->head_only && !r->cgi && http_detach(r) == 0 && r->detached) {
		s = xcalloc(1, sizeof *s);
		s->held.sending = 1;
		s->req = r;
		s->fd = fd;
		if (await_send(s)) {
			await_sender_free(s);
			return 1;
		}
		r->data = s;
		return 0;
	}
	while (!r->head_only && (n = read(fd, chunk, sizeof chunk)) > 0) {
		if (http_write(r, chunk, (size_t)n) != 0)
			break;
	}
	close(fd);
	return 1;
}

static int
await_artifact(struct await *a, struct http_req *r, const struct job *j,
    const char *name)
{
	char *ctype = NULL, *rel = NULL, *cause = NULL, *hdr;
	struct stat sb;
	int fd = -1, done = 1;

	if (strcmp(j->state, "succeeded") != 0) {
		char *msg = xasprintf("the job %s%s%s", j->state, j->error ? ": " : "",
		    j->error ? j->error : "");
		http_error(r, 404, msg);
		free(msg);
		return 1;
	}
	if (store_artifact_get(a->st, j->id, name, &ctype) != 0) {
		http_error(r, 404, "the job has no file of that name");
		return 1;
	}
	if (ctype == NULL)
		ctype = xstrdup("application/octet-stream");
	rel = xasprintf("%s/%s", j->id, name);
	fd = beneath_file(a->cfg->spool, rel, &sb, &cause);
	/* Made on another host of a shared store: fetched once into this host's spool. */
	if (fd < 0 && errno == ENOENT && share_fetch(a->st, a->cfg->spool, j->id, name) == 0) {
		free(cause);
		cause = NULL;
		fd = beneath_file(a->cfg->spool, rel, &sb, &cause);
	}
	if (fd < 0) {
		int gone = errno == ENOENT;

		if (!gone)
			log_warn("job %s: not serving its file: %s", j->id, cause);
		http_error(r, 404, gone ? "the job's file is gone (cleaned up?)" :
		    "the job's file is not served (the server's error log says why)");
		goto out;
	}
	hdr = xasprintf("Content-Length: %lld\r\nCache-Control: private, max-age=3600\r\n"
	    "Content-Security-Policy: sandbox; default-src 'none'; img-src 'self' data:; "
	    "style-src 'unsafe-inline'\r\n%s", (long long)sb.st_size,
	    await_active_type(ctype) ? "Content-Disposition: attachment\r\n" : "");
	http_start(r, 200, ctype, hdr);
	free(hdr);
	done = await_file(r, fd);
out:
	free(rel);
	free(cause);
	free(ctype);
	return done;
}

/* Writes the result part of the HTML page: the image, a summary table or the JSON. */
static void
await_html_result(struct http_req *r, const char *result)
{
	struct json_object *o = json_tokener_parse(result), *v;
	char *esc;

	if (o != NULL && json_object_object_get_ex(o, "img", &v) &&
	    json_object_is_type(v, json_type_string)) {
		esc = http_html_escape(json_object_get_string(v));
		http_printf(r, "<figure><img src=\"%s\" alt=\"the result\"></figure>\n", esc);
		free(esc);
	}
	if (o != NULL && json_object_object_get_ex(o, "summary", &v) &&
	    json_object_is_type(v, json_type_object)) {
		http_printf(r, "<table class=\"summary\">\n");
		json_object_object_foreach(v, key, val) {
			char *k = http_html_escape(key);

			esc = http_html_escape(json_object_get_string(val));
			http_printf(r, "<tr><th>%s</th><td>%s</td></tr>\n", k, esc);
			free(k);
			free(esc);
		}
		http_printf(r, "</table>\n");
	}
	esc = http_html_escape(o != NULL ? json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY) : result);
	http_printf(r, "<details><summary>Result as JSON</summary><pre>%s</pre></details>\n", esc);
	free(esc);
	json_object_put(o);
}

/*
 * Writes the top of a job's HTML page, styled by the pages' own style.css
 * (found next to page_url, so it works under any prefix).  A page with
 * refresh reloads itself: the page of a job that has not ended.
 */
static void
await_html_head(struct await *a, struct http_req *r, const struct job *j, int refresh)
{
	const char *page = a->cfg->page_url, *slash = strrchr(page, '/');
	int dir = slash != NULL ? (int)(slash - page) : 0;
	char *type = http_html_escape(j->type);

	http_printf(r, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
	if (refresh)
		http_printf(r, "<meta http-equiv=\"refresh\" content=\"5\">\n");
	http_printf(r, "<title>%s job: %s</title>\n"
	    "<link rel=\"stylesheet\" href=\"%.*s/style.css\">\n</head>\n<body>\n<main>\n"
	    "<p class=\"crumbs\"><a href=\"%.*s/index.html\">longjob</a></p>\n"
	    "<h1 class=\"type\">%s job</h1>\n<p class=\"meta\">Job <code>%s</code></p>\n"
	    "<p class=\"state-line\" data-state=\"%s\">State: <strong id=\"state\">%s</strong></p>\n",
	    type, j->state, dir, page, dir, page, type, j->id, j->state, j->state);
	free(type);
}

/* Sends the HTML page of an ended job: its result, or why it has none. */
static void
await_html(struct await *a, struct http_req *r, const struct job *j)
{
	char *err;

	http_start(r, 200, "text/html; charset=utf-8", "Cache-Control: no-store\r\n");
	await_html_head(a, r, j, 0);
	if (j->result != NULL)
		await_html_result(r, j->result);
	if (strcmp(j->state, "cancelled") == 0)
		http_printf(r, "<p>The job was cancelled.</p>\n");
	if (j->error != NULL) {
		err = http_html_escape(j->error);
		http_printf(r, "<p class=\"error\">The job %s:</p>\n<pre class=\"error-text\">%s</pre>\n",
		    j->state, err);
		free(err);
	}
	http_printf(r, "</main>\n</body>\n</html>\n");
}

/*
 * Sends the page of a job that has not ended yet (202): its progress, and
 * a refresh, so that a browser without JavaScript comes back and waits again.
 */
static void
await_html_waiting(struct await *a, struct http_req *r, const struct job *j,
    const char *hdr)
{
	char *msg = http_html_escape(j->message != NULL ? j->message : "");

	http_start(r, 202, "text/html; charset=utf-8", hdr);
	await_html_head(a, r, j, 1);
	http_printf(r, "<div class=\"bar\"><progress max=\"100\" value=\"%.0f\">%.0f %%</progress>"
	    "<span class=\"pct\">%.0f %%</span></div>\n<p class=\"message\">%s</p>\n",
	    j->progress, j->progress, j->progress, msg);
	if (j->queue_position > 0)
		http_printf(r, "<p>Waiting in the queue: number %lld in line.</p>\n",
		    (long long)j->queue_position);
	http_printf(r, "<p class=\"hint\">This page reloads itself until the job ends, then "
	    "shows its result. With JavaScript, <a href=\"%s?id=%s\">follow it live</a>.</p>\n"
	    "</main>\n</body>\n</html>\n", a->cfg->page_url, j->id);
	free(msg);
}

/* Answers a request for an ended job: 1, or 0 if it is kept sending a file. */
static int
await_answer(struct await *a, struct http_req *r, const struct job *j,
    const char *name)
{
	char *json;

	if (*name != '\0')
		return await_artifact(a, r, j, name);
	if (http_wants_html(r)) {
		await_html(a, r, j);
		return 1;
	}
	json = view_state(j);
	http_start(r, 200, "application/json", "Cache-Control: no-store\r\n");
	http_printf(r, "%s\n", json);
	free(json);
	return 1;
}

/* Splits "/<id>[/<name>]"; the refusal status with *msg, or 0. */
static int
await_check(struct http_req *r, char id[JOBID_LEN + 1], char name[PROTO_MAX_ID + 1],
    const char **msg)
{
	const char *path;

	if (http_get_path(r, &path, msg) != 0)
		return 405;
	if (strnlen(path, JOBID_LEN + 1) < JOBID_LEN || !jobid_valid_n(path, JOBID_LEN) ||
	    (path[JOBID_LEN] != '\0' && path[JOBID_LEN] != '/')) {
		*msg = "malformed job id (expected 32 lowercase hex digits)";
		return 400;
	}
	memcpy(id, path, JOBID_LEN);
	id[JOBID_LEN] = '\0';
	name[0] = '\0';
	if (path[JOBID_LEN] == '/') {
		if (!proto_name_valid(path + JOBID_LEN + 1)) {
			*msg = "malformed file name";
			return 400;
		}
		strcpy(name, path + JOBID_LEN + 1);
	}
	return 0;
}

/*
 * A request that waited result_wait_s gets 202 with the job's state and
 * Retry-After, before the front end's timeouts can cut it (mod_fcgid
 * answers 500 after 40 s of silence); the client asks again.  So does one
 * that finds no place to wait.  A job that ended meanwhile is answered.
 * 1, or 0 if the request is kept sending a file (await_answer).
 */
static int
await_not_yet(struct await *a, struct http_req *r, const char *id, const char *name)
{
	static const char *hdr = "Retry-After: 5\r\nCache-Control: no-store\r\n";
	struct job j;
	char *json;
	int rc;

	job_init(&j);
	if (store_job_snapshot(a->st, id, &j) != 0) {
		http_error(r, store_down(a->st) ? 503 : 500, store_down(a->st) ?
		    "the job store cannot be reached; try again in a moment" : "the job store cannot be read");
		job_clear(&j);
		return 1;
	}
	if (view_state_final(j.state)) {
		/* It ended and this process missed the news: never 202 for that. */
		rc = await_answer(a, r, &j, name);
		job_clear(&j);
		return rc;
	}
	if (http_wants_html(r)) {
		await_html_waiting(a, r, &j, hdr);
	} else {
		json = view_state(&j);
		http_start(r, 202, "application/json", hdr);
		http_printf(r, "%s\n", json);
		free(json);
	}
	job_clear(&j);
	return 1;
}

/*
 * Finds the waiter a place among all waiting requests (max_waiting) and
 * among those of its job's bucket (max_waiting_per_job): each one holds a
 * connection of the web server's, which does not notice a client that left
 * before the answer; past the bounds a request is answered at once.  0, or
 * -1 if either is full.
 */
static int
await_place(struct await *a, struct waiter *w, const char *id)
{
	const struct config *c = a->cfg;
	char *path, hex[AWAIT_BUCKET_DIGITS + 1];
	int bucket;

	w->slot_all = w->slot_job = -1;
	if (a->slots == NULL) {
		path = xasprintf("%s/.waiting", c->spool);
		a->slots = slots_open(path, c->max_waiting + AWAIT_BUCKETS * c->max_waiting_per_job);
		free(path);
		if (a->slots == NULL)
			return 0;	/* logged; better unbounded than refusing every wait */
	}
	memcpy(hex, id, AWAIT_BUCKET_DIGITS);
	hex[AWAIT_BUCKET_DIGITS] = '\0';
	bucket = (int)strtol(hex, NULL, 16);
	w->slot_all = slots_take(a->slots, 0, c->max_waiting);
	if (w->slot_all != -1)
		w->slot_job = slots_take(a->slots,
		    c->max_waiting + bucket * c->max_waiting_per_job, c->max_waiting_per_job);
	if (w->slot_all != -1 && w->slot_job != -1)
		return 0;
	slots_give(a->slots, w->slot_all);
	log_info("job %s: %s waiting requests; answering 202 at once", id,
	    w->slot_all == -1 ? "too many" : "too many of this job's");
	return -1;
}

/* Answers at once if the job has ended, else keeps the request waiting. */
static int
await_request(void *ctx, struct http_req *r)
{
	struct await *a = ctx;
	struct waiter *w;
	struct job j;
	char id[JOBID_LEN + 1], name[PROTO_MAX_ID + 1];
	const char *msg = NULL;
	int status, rc;

	http_drain(r);
	if ((status = await_check(r, id, name, &msg)) != 0) {
		http_error(r, status, msg);
		return 1;
	}
	job_init(&j);
	if ((rc = store_job_get(a->st, id, &j)) != 0 || view_state_final(j.state)) {
		status = 1;
		if (rc == 0)
			status = await_answer(a, r, &j, name);
		else
			http_error(r, rc == 1 ? 404 : store_down(a->st) ? 503 : 500,
			    rc == 1 ? "no such job" : store_down(a->st) ?
			    "the job store cannot be reached; try again in a moment" : "the job store cannot be read");
		job_clear(&j);
		return status;
	}
	job_clear(&j);
	w = xcalloc(1, sizeof *w);
	if (await_place(a, w, id) != 0) {
		free(w);
		return await_not_yet(a, r, id, name);
	}
	w->req = r;
	memcpy(w->id, id, sizeof w->id);
	w->deadline_ms = loop_now_ms() + a->cfg->result_wait_s * 1000LL;
	memcpy(w->name, name, sizeof w->name);
	w->next = a->waiters;
	a->waiters = w;
	r->data = w;
	return 0;
}

/* Unlinks and frees a waiter. */
static void
await_remove(struct await *a, struct waiter *w)
{
	struct waiter **p;

	for (p = &a->waiters; *p != NULL; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	w->req->data = NULL;
	slots_give(a->slots, w->slot_all);
	slots_give(a->slots, w->slot_job);
	free(w);
}

/* The client gave up waiting, or left while a file was on its way. */
static void
await_gone(void *ctx, struct http_req *r)
{
	struct held *h = r->data;

	if (h == NULL)
		return;
	if (h->sending)
		await_sender_free((struct sender *)h);
	else
		await_remove(ctx, (struct waiter *)h);
}

/* The client took what waited for it: the next pieces of its file. */
static void
await_writable(void *ctx, struct http_req *r)
{
	struct held *h = r->data;

	(void)ctx;
	if (h == NULL || !h->sending || !await_send((struct sender *)h))
		return;
	await_sender_free((struct sender *)h);
	loop_finish(r);
}

/* Answers every waiter of a job that just ended. */
static void
await_job_ended(struct await *a, const char *id)
{
	struct waiter *w, *next;
	struct http_req *r;
	char name[PROTO_MAX_ID + 1];
	struct job j;

	job_init(&j);
	if (store_job_get(a->st, id, &j) != 0)
		return;
	for (w = a->waiters; w != NULL; w = next) {
		next = w->next;
		if (strcmp(w->id, id) != 0 || w->req->gone)
			continue;
		r = w->req;
		memcpy(name, w->name, sizeof name);
		await_remove(a, w);
		if (await_answer(a, r, &j, name))
			loop_finish(r);
	}
	job_clear(&j);
}

/* Answers the requests that have waited long enough. */
static void
await_expire(struct await *a)
{
	struct waiter *w, *next;
	struct http_req *r;
	char id[JOBID_LEN + 1], name[PROTO_MAX_ID + 1];
	long long now = loop_now_ms();

	for (w = a->waiters; w != NULL; w = next) {
		next = w->next;
		if (now < w->deadline_ms || w->req->gone)
			continue;
		r = w->req;
		memcpy(id, w->id, sizeof id);
		memcpy(name, w->name, sizeof name);
		await_remove(a, w);
		if (await_not_yet(a, r, id, name))
			loop_finish(r);
	}
}

/* Tick callback: one event row; only `end` matters here. */
static int
await_row(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct await *a = ctx;

	(void)json;
	(void)seq;
	if (strcmp(kind, "end") == 0)
		await_job_ended(a, job_id);
	return 0;
}

/* Tick callback: looks for jobs that ended since the last tick. */
static void
await_tick(void *ctx)
{
	struct await *a = ctx;
	long long now = loop_now_ms();

	/* A worker killed with -9: a new one adopts its jobs (oversee.h). */
	if (now - a->last_reap_ms >= OVERSEE_MS) {
		a->last_reap_ms = now;
		oversee_check(a->cfg, a->st);
	}
	if (a->waiters == NULL) {
		store_cursor_end(a->st, &a->cursor);
		return;
	}
	store_cursor_read(a->st, &a->cursor, await_row, a);
	await_expire(a);
}

struct await *
await_new(const struct config *cfg, struct store *st)
{
	struct await *a = xcalloc(1, sizeof *a);

	a->cfg = cfg;
	a->st = st;
	store_cursor_end(st, &a->cursor);
	return a;
}

void
await_free(struct await *a)
{
	if (a == NULL)
		return;
	slots_close(a->slots);
	free(a);
}

const struct loop_ops await_ops = { await_request, await_gone, await_tick, 1, await_writable };
