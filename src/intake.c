/* intake: the submit program's request handling.  See intake.h. */
#include "config.h"

#include <ftw.h>
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "form.h"
#include "http.h"
#include "instance.h"
#include "intake.h"
#include "lease.h"
#include "loop.h"
#include "log.h"
#include "origin.h"
#include "oversee.h"
#include "params.h"
#include "proc.h"
#include "share.h"
#include "spawn.h"
#include "spool.h"
#include "store.h"
#include "text.h"
#include "xmem.h"

struct intake {
	const struct config *cfg;
	struct store *st;
};

/*
 * No worker could be started for the job just queued: it fails with the
 * cause rather than sitting queued with nothing to run it (unless a worker
 * already running took it meanwhile).  2, or 0 if it was taken.
 */
static int
intake_unstartable(struct store *st, const char *id, const char *why)
{
	struct json_object *o = json_object_new_object();
	char *error = xasprintf("the server could not start its worker: %s", why);
	int rc;

	json_object_object_add(o, "state", json_object_new_string("failed"));
	json_object_object_add(o, "error", json_object_new_string(error));
	rc = store_job_unstartable(st, id, error,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	free(error);
	return rc == 1 ? 0 : 2;
}

int
intake_enqueue(const struct config *cfg, struct store *st, const char *id,
    const struct config_type *t, const char *params, const char *client)
{
	struct json_object *steps = json_object_new_array();
	struct store_admit admit = { cfg->max_queued, client, cfg->max_jobs_per_client };
	char *why = NULL;
	size_t i;
	int rc;

	for (i = 0; i < t->nsteps; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "id", json_object_new_string(t->steps[i].id));
		json_object_object_add(s, "label", json_object_new_string(
		    t->steps[i].label ? t->steps[i].label : t->steps[i].id));
		json_object_object_add(s, "status", json_object_new_string("pending"));
		json_object_array_add(steps, s);
	}
	rc = store_job_insert(st, id, t->name, params,
	    json_object_to_json_string_ext(steps, JSON_C_TO_STRING_PLAIN), &admit);
	json_object_put(steps);
	if (rc == 2)
		return 3;
	/* A running worker takes the job by itself: the insert's commit wakes it. */
	if (rc == 0 && lease_held(cfg->spool) != 1 && oversee_start(cfg, &why) != 0) {
		rc = intake_unstartable(st, id, why);
		free(why);
	}
	return rc;
}

int
intake_job_dir(const struct config *cfg, const char *id, char **path)
{
	if (mkdir(cfg->spool, 0700) != 0 && errno != EEXIST)
		return -1;
	*path = xasprintf("%s/%s", cfg->spool, id);
	if (mkdir(*path, 0700) != 0) {
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

/* nftw callback: removes one entry (children come first, FTW_DEPTH). */
static int
intake_remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
intake_remove_dir(const char *path)
{
	/* FTW_PHYS: a symlink a handler left is removed, never followed. */
	if (path != NULL)
		nftw(path, intake_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The HTTP status for a form parse error. */
static int
intake_form_status(enum form_error e, int err)
{
	switch (e) {
	case FORM_TOO_LARGE:
	case FORM_TOO_MANY:
		return 413;
	case FORM_UNSUPPORTED:
		return 415;
	case FORM_IO:
		return err == ENOSPC || err == EDQUOT ? 507 : 500;
	case FORM_FULL:
		return 507;
	default:
		return 400;
	}
}

/* Reads the whole body into the form parser; the error status, or 0. */
static int
intake_read_form(struct http_req *r, struct form *f, char **cause)
{
	char chunk[65536];
	enum form_error e = FORM_OK;
	ssize_t n;

	while (e == FORM_OK && (n = http_read(r, chunk, sizeof chunk)) > 0)
		e = form_feed(f, chunk, (size_t)n);
	if (e == FORM_OK)
		e = form_finish(f);
	if (e == FORM_OK)
		return 0;
	*cause = xstrdup(form_message(f));
	return intake_form_status(e, form_errno(f));
}

/*
 * The most bytes one upload may have: the largest max_bytes of the type's
 * file fields (max_body for a type without any).  The parser stops an upload
 * past it while it streams, with a 413, rather than storing it whole first.
 */
static size_t
intake_max_file(const struct config_type *t)
{
	size_t i, max = 0;

	for (i = 0; i < t->nfields; i++) {
		if (t->fields[i].kind == FIELD_FILE && (size_t)t->fields[i].max_bytes > max)
			max = (size_t)t->fields[i].max_bytes;
	}
	return max > 0 ? max : (size_t)t->max_body;
}

/* 1 if ff is an upload over its own field's max_bytes (which may be below intake_max_file). */
static int
intake_file_too_large(const struct config_type *t, const struct form_field *ff)
{
	const struct config_field *cf = conf_field_find(t, ff->name);

	return ff->path != NULL && cf != NULL && cf->kind == FIELD_FILE &&
	    (long long)ff->size > cf->max_bytes;
}

/* What submit says about one request's uploads (the arg of its form_uploads). */
struct intake_uploads {
	const struct config_type *t;
	unsigned char *stored;	/* per field of t: an upload was stored for it */
	struct spool *spool;	/* the quota; NULL: none */
	size_t taken;		/* bytes taken from it */
};

/* The message of a submission refused because the spool is at its quota. */
#define INTAKE_SPOOL_FULL "the server's storage for jobs is full: the %s was " \
	"not accepted; try again later"

/*
 * Which uploads go to disk: one for each of the type's file fields, no
 * more.  An upload for a field the type does not declare is read and
 * dropped, never stored: params ignores undeclared text fields the same
 * way, because a page's form may carry inputs that this type does not use.
 * One for a text field, or a second for the same file field, is refused
 * (400) before a byte of it is written.
 */
static enum form_upload
intake_upload_part(void *arg, const char *name, char **cause)
{
	struct intake_uploads *u = arg;
	const struct config_field *cf = conf_field_find(u->t, name);
	size_t i;

	if (cf == NULL)
		return FORM_UPLOAD_SKIP;
	if (cf->kind != FIELD_FILE) {
		*cause = xasprintf("field '%s' must be text, not a file", cf->name);
		return FORM_UPLOAD_REFUSE;
	}
	i = (size_t)(cf - u->t->fields);
	if (u->stored[i]) {
		*cause = xasprintf("field '%s' was sent more than once", cf->name);
		return FORM_UPLOAD_REFUSE;
	}
	u->stored[i] = 1;
	return FORM_UPLOAD_STORE;
}

/* Takes the bytes of an upload from the spool's quota before they are written. */
static int
intake_upload_room(void *arg, size_t n, char **cause)
{
	struct intake_uploads *u = arg;

	if (u->spool == NULL)
		return 0;
	if (spool_take(u->spool, n) != 0) {
		*cause = xasprintf(INTAKE_SPOOL_FULL, "upload");
		return -1;
	}
	u->taken += n;
	return 0;
}

/* Turns the parsed form into the handler's parameters (*json); the refusal status with *cause, or 0. */
static int
intake_params(const struct config_type *t, struct form *f, char **json, char **cause)
{
	struct params *p = params_new(t);
	int status = 0;
	size_t i;

	for (i = 0; i < form_count(f) && status == 0; i++) {
		const struct form_field *ff = form_at(f, i);
		int rc = ff->path != NULL ?
		    params_file(p, ff->name, ff->path, ff->filename, ff->content_type,
		    ff->size, cause) :
		    params_text(p, ff->name, ff->value, ff->len, cause);

		if (rc != 0)
			status = intake_file_too_large(t, ff) ? 413 : 400;
	}
	if (status == 0 && (*json = params_finish(p, cause)) == NULL)
		status = 400;
	params_free(p);
	return status;
}

/* A 303 to url, with a page that links there for a client that does not follow it. */
static void
intake_see_other(struct http_req *r, const char *url, const char *what)
{
	char *hdr = xasprintf("Location: %s\r\n", url);

	http_start(r, 303, "text/html; charset=utf-8", hdr);
	http_printf(r, "<!doctype html>\n<title>Job queued</title>\n"
	    "<p>Your job was queued: <a href=\"%s\">%s</a>.</p>\n", url, what);
	free(hdr);
}

/*
 * Answers an accepted job: 202 JSON for scripts, 303 for browsers.  A
 * browser goes to the job page, which needs JavaScript; a form that carries
 * INTAKE_NOJS (only inside <noscript>, so only a browser without JavaScript
 * sends it) goes to the result page instead, which waits for the job and
 * shows its result with no script at all.
 */
static void
intake_answer(const struct config *cfg, struct http_req *r, const char *id, int nojs)
{
	struct json_object *o;
	char *url;

	if (!http_wants_json(r)) {
		url = nojs ? xasprintf("%s/%s", cfg->result_url, id) :
		    xasprintf("%s?id=%s", cfg->page_url, id);
		intake_see_other(r, url, nojs ? "its result" : "follow its progress");
		free(url);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	url = xasprintf("%s/%s", cfg->progress_url, id);
	json_object_object_add(o, "progress_url", json_object_new_string(url));
	free(url);
	url = xasprintf("%s/%s", cfg->result_url, id);
	json_object_object_add(o, "result_url", json_object_new_string(url));
	free(url);
	url = xasprintf("%s?id=%s", cfg->page_url, id);
	json_object_object_add(o, "page_url", json_object_new_string(url));
	free(url);
	http_start(r, 202, "application/json", "Cache-Control: no-store\r\n");
	http_printf(r, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* Only POSTs from this site (or an allowed one); the refusal status with *cause, or 0. */
static int
intake_check_post(struct intake *in, struct http_req *r, const char *method,
    char **cause)
{
	if (method == NULL || strcmp(method, "POST") != 0) {
		*cause = xstrdup("submit a job with POST");
		return 405;
	}
	if (origin_check(in->cfg, r, cause) != 0)
		return 403;
	return 0;
}

/*
 * Why a submit path names no job type: it is empty, it is <id>/cancel with
 * an id that is not one (say so, not "unknown type"), or the type is unknown.
 */
static char *
intake_path_cause(const char *path)
{
	size_t n = strlen(path);
	struct buf b;

	if (n == 0)
		return xstrdup("no job type in the URL (submit/<type>)");
	if (n > 7 && strcmp(path + n - 7, "/cancel") == 0)
		return xstrdup("malformed job id (expected 32 lowercase hex digits)");
	/* The path is the client's, decoded by the server: quote it as safe text. */
	buf_init(&b, 0);
	buf_adds(&b, "unknown job type '");
	text_quote(&b, path, n, 64);
	buf_adds(&b, "'");
	return buf_take(&b);
}

/* Checks the request line and headers; the refusal status with *cause, or 0. */
static int
intake_check_request(struct intake *in, struct http_req *r,
    const struct config_type **t, char **cause)
{
	const char *method = http_param(r, "REQUEST_METHOD");
	const char *path = http_path_info(r);
	const char *len = http_param(r, "CONTENT_LENGTH");

	int status = intake_check_post(in, r, method, cause);

	if (status != 0)
		return status;
	if (*path == '/')
		path++;
	if (*path == '\0' || (*t = conf_type_find(in->cfg, path)) == NULL) {
		*cause = intake_path_cause(path);
		return 400;
	}
	if (len != NULL && strtoll(len, NULL, 10) > (*t)->max_body) {
		*cause = xasprintf("the form is larger than %lld bytes", (*t)->max_body);
		return 413;
	}
	return 0;
}

/* The HTTP status for intake_enqueue's answer (see intake.h), with *cause. */
static int
intake_enqueue_status(const struct store *st, int rc, char **cause)
{
	if (rc == 0)
		return 0;
	if (rc == 1) {
		*cause = xstrdup("too many jobs are waiting; try again in a moment");
		return 503;
	}
	if (rc == 3) {
		*cause = xstrdup("you have as many jobs queued or running as one client may; "
		    "submit again once one of them has ended");
		return 429;
	}
	if (rc == 2) {
		/* The details (a path, an errno) are in the error log, not for clients. */
		*cause = xstrdup("the server cannot start its worker, so the job was not run; "
		    "its error log says why");
		return 503;
	}
	if (store_full(st)) {
		*cause = xstrdup("the server's disk is full: the job was not accepted; try again later");
		return 507;
	}
	if (store_down(st)) {
		*cause = xstrdup("the job store cannot be reached; try again in a moment");
		return 503;
	}
	*cause = xstrdup("the job could not be recorded");
	return 500;
}

/*
 * Who submits, for max_jobs_per_client: the address the server passes, an
 * IPv6 one cut to its /64 (one host commonly has the whole of it).  Empty
 * if the server passes none.
 */
static void
intake_client(struct http_req *r, char out[INET6_ADDRSTRLEN])
{
	const char *addr = http_param(r, "REMOTE_ADDR");
	unsigned char a6[16];
	struct in_addr a4;

	out[0] = '\0';
	if (addr == NULL)
		return;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN);
	} else if (inet_pton(AF_INET6, addr, a6) == 1) {
		memset(a6 + 8, 0, 8);
		inet_ntop(AF_INET6, a6, out, INET6_ADDRSTRLEN);
	}
}

/*
 * Parses, validates and queues; the refusal status with *cause, or 0.
 * *nojs is set if the form came from a browser without JavaScript.
 */
static int
intake_accept(struct intake *in, struct http_req *r, const struct config_type *t,
    const char *id, const char *dir, struct spool *spool, int *nojs, char **cause)
{
	struct intake_uploads u = { t, NULL, spool, 0 };
	struct form_uploads fu = { intake_upload_part, intake_upload_room, &u };
	struct form_limits limits;
	enum form_error fe;
	struct form *f;
	char *params = NULL, client[INET6_ADDRSTRLEN];
	int status, rc;

	form_limits_default(&limits, (size_t)t->max_body);
	limits.max_file = intake_max_file(t);
	f = form_new(http_param(r, "CONTENT_TYPE") ? http_param(r, "CONTENT_TYPE") :
	    "application/x-www-form-urlencoded", dir, &limits, &fe);
	if (f == NULL) {
		*cause = xstrdup("the form must be application/x-www-form-urlencoded or multipart/form-data");
		return 415;
	}
	u.stored = xcalloc(t->nfields + 1, 1);
	form_set_uploads(f, &fu);
	status = intake_read_form(r, f, cause);
	*nojs = status == 0 && form_get(f, INTAKE_NOJS) != NULL;
	if (status == 0)
		status = intake_params(t, f, &params, cause);
	/* Several hosts share the store: whichever claims the job finds its uploads there. */
	if (status == 0 && share_uploads(in->st, id, dir) != 0) {
		*cause = xstrdup("the job's uploads could not be stored; try again in a moment");
		status = 503;
	}
	if (status == 0) {
		intake_client(r, client);
		rc = intake_enqueue(in->cfg, in->st, id, t, params, client[0] ? client : NULL);
		status = intake_enqueue_status(in->st, rc, cause);
	}
	if (status != 0) {
		form_abort(f);
		if (spool != NULL)
			spool_give(spool, u.taken);
	}
	form_free(f);
	free(u.stored);
	free(params);
	return status;
}

int
intake_cancel(const struct config *cfg, struct store *st, const char *id)
{
	long keeper = 0;
	int64_t start = 0;
	int rc = store_job_cancel(st, id, &keeper, &start), alive;

	if (rc != 0)
		return rc;
	log_info("job %s cancelled", id);
	/*
	 * The keeper stops the handler's processes: told here at once, not only
	 * when the worker reads the cancel, and even if no worker is left.
	 */
	/*
	 * Whether the keeper lives is asked before it is signalled: after, it
	 * may already have stopped the handler and gone, and a worker would
	 * be started for nothing (adopt.sh caught it).
	 */
	alive = keeper > 0 && proc_is((pid_t)keeper, start);
	if (alive && proc_kill((pid_t)keeper, start, SIGTERM) != 0 && errno != ESRCH)
		log_warn("job %s: cannot signal its keeper (pid %ld): %s", id, keeper,
		    strerror(errno));
	if (!alive && lease_held(cfg->spool) == 0) {
		/* Its keeper is not known yet and no worker runs: the next one sweeps it. */
		oversee_start(cfg, NULL);
	}
	return 0;
}

/* 1 if the request is POST <submit>/<id>/cancel. */
static int
intake_is_cancel(const struct http_req *r)
{
	const char *p = http_path_info(r);

	if (*p == '/')
		p++;
	return strlen(p) == JOBID_LEN + 7 && jobid_valid_n(p, JOBID_LEN) &&
	    strcmp(p + JOBID_LEN, "/cancel") == 0;
}

/* Answers a cancel request. */
static int
intake_cancel_request(struct intake *in, struct http_req *r)
{
	const char *p = http_path_info(r);
	char id[JOBID_LEN + 1], *cause = NULL, *hdr;
	int status, rc;

	http_drain(r);
	if ((status = intake_check_post(in, r, http_param(r, "REQUEST_METHOD"), &cause)) != 0) {
		http_error(r, status, cause);
		free(cause);
		return 1;
	}
	memcpy(id, *p == '/' ? p + 1 : p, JOBID_LEN);
	id[JOBID_LEN] = '\0';
	rc = intake_cancel(in->cfg, in->st, id);
	if (rc != 0) {
		http_error(r, rc == 1 ? 409 : rc == 2 ? 404 : store_down(in->st) ? 503 : 500,
		    rc == 1 ? "the job has already ended" : rc == 2 ? "no such job" :
		    store_down(in->st) ? "the job store cannot be reached; try again in a moment" :
		    "the job store cannot be written");
		return 1;
	}
	if (http_wants_json(r)) {
		http_start(r, 200, "application/json", "Cache-Control: no-store\r\n");
		http_printf(r, "{\"id\":\"%s\",\"state\":\"cancelled\"}\n", id);
		return 1;
	}
	hdr = xasprintf("Location: %s?id=%s\r\n", in->cfg->page_url, id);
	http_start(r, 303, "text/html; charset=utf-8", hdr);
	http_printf(r, "<!doctype html>\n<title>Cancelled</title>\n<p>The job was cancelled.</p>\n");
	free(hdr);
	return 1;
}

/* Handles one request completely: submit keeps nothing open. */
static int
intake_request(void *ctx, struct http_req *r)
{
	struct intake *in = ctx;
	const struct config_type *t = NULL;
	char id[JOBID_LEN + 1], *dir = NULL, *cause = NULL;
	struct spool *spool = NULL;
	int status, nojs = 0;

	if (intake_is_cancel(r))
		return intake_cancel_request(in, r);
	status = intake_check_request(in, r, &t, &cause);
	/* A full spool takes no new job: its handler's files would pass the quota too. */
	if (status == 0 && (spool = spool_open(in->cfg)) != NULL && spool_full(spool)) {
		cause = xasprintf(INTAKE_SPOOL_FULL, "job");
		status = 507;
	}
	if (status == 0 && jobid_new(id) != 0) {
		cause = xstrdup("no randomness for a job id");
		status = 500;
	}
	if (status == 0 && intake_job_dir(in->cfg, id, &dir) != 0) {
		status = errno == ENOSPC || errno == EDQUOT ? 507 : 500;
		cause = xasprintf("cannot create the job's directory: %s", strerror(errno));
	}
	if (status == 0)
		status = intake_accept(in, r, t, id, dir, spool, &nojs, &cause);
	spool_close(spool);
	if (status != 0) {
		intake_remove_dir(dir);
		http_drain(r);
		http_error(r, status, cause);
	} else {
		log_info("job %s (%s) queued", id, t->name);
		intake_answer(in->cfg, r, id, nojs);
	}
	free(cause);
	free(dir);
	return 1;
}

/* Nothing is kept open, so nothing can go away. */
static void
intake_gone(void *ctx, struct http_req *r)
{
	(void)ctx;
	(void)r;
}

/* Nothing to do between requests. */
static void
intake_tick(void *ctx)
{
	(void)ctx;
}

void *
intake_open(struct instance *inst)
{
	struct intake *in = xcalloc(1, sizeof *in);

	in->cfg = inst->cfg;
	in->st = inst->st;
	return in;
}

void
intake_close(void *ctx)
{
	free(ctx);
}

const struct loop_ops intake_ops = { intake_request, intake_gone, intake_tick, 0, NULL };
