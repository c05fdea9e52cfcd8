/* runner: one running job, read from its keeper's files.  See runner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "batch.h"
#include "beneath.h"
#include "buf.h"
#include "conf.h"
#include "job.h"
#include "keep.h"
#include "log.h"
#include "loop.h"
#include "oversee.h"
#include "proc.h"
#include "proto.h"
#include "runner.h"
#include "spawn.h"
#include "share.h"
#include "store.h"
#include "tail.h"
#include "text.h"
#include "view.h"
#include "xmem.h"

/* The files a run remembers it declared (more are found in the store at the end). */
#define RUNNER_FILES 256

/* The file's blocks behind the committed offset are freed this many bytes at a time. */
#define RUNNER_PUNCH (1024 * 1024)
/* A keeper is asked to look at its lag at most this often (ms). */
#define RUNNER_HOLD_ASK_MS 100
/*
 * A job's row is written at least this often while it reports progress
 * (ms); in between, a progress update may be its event alone (store.h,
 * "Rows that wait"): rewriting the row each time cost the worker 10-15 %
 * more at 1,000 jobs x 1/s even when it was written every 5 s
 * (bench/README.md).  Readers never need it sooner.
 */
#define RUNNER_ROW_MS 60000

struct run {
	const struct config *cfg;
	struct store *st;
	const struct config_type *type;
	char id[JOBID_LEN + 1];
	char *type_name;
	char *dir, *rundir;
	long keeper;			/* its pid, 0 if none */
	int64_t keeper_start;		/* its start time (proc.h) */
	int keeper_lost;		/* adopted, but that keeper was not found */
	int saw_full;			/* its file system was full at some tick */
	int pidfd;			/* the keeper's, or -1 */
	int out_fd;
	struct keep_ack *ack;
	struct tail tail;
	int64_t punched;		/* the file's blocks are freed up to here */
	int64_t acking;			/* the offset of the batch being committed */
	int64_t acked;			/* the offset the keeper was last told (-1: none) */
	long long hold_asked_ms;	/* when its keeper was last asked to look at the lag */
	struct batch_mark last;		/* this job's last change in the batch */
	int moved;			/* the position changed since the last batch */
	struct json_object *steps;	/* [{id,label,status,started,finished}] */
	int step;			/* index of the running step, -1 none */
	double progress;
	char *message;
	int pending;			/* a progress line not yet in the batch */
	int64_t pending_off;		/* ... which starts here */
	int pending_skip;
	long long last_write_ms;
	long long row_ms;		/* when a change that writes the row was last made */
	double row_progress, row_eta;	/* the progress last in the batch, which every */
	char *row_message;		/* ... change that writes the row carries */
	double started, deadline;	/* unix time */
	char *result;			/* the last result line's object, or NULL */
	int logs, logs_dropped, steps_refused;
	int timed_out, stopping;
	char *files[RUNNER_FILES];	/* the names its `file` lines declared */
	int nfiles;
	int finishing;			/* its handler's output is all read; its end waits */
	int ended;			/* its end is in the batch */
	int done;			/* ... and committed, or it ended elsewhere */
};

/* Serialises o (not consumed) to a new string. */
static char *
runner_json(struct json_object *o)
{
	return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* A new run of job j, before its output is opened. */
static struct run *
runner_new(const struct config *cfg, struct store *st, const struct job *j)
{
	struct run *r = xcalloc(1, sizeof *r);

	r->cfg = cfg;
	r->st = st;
	r->type = conf_type_find(cfg, j->type);
	snprintf(r->id, sizeof r->id, "%s", j->id);
	r->type_name = xstrdup(j->type);
	r->dir = xasprintf("%s/%s", cfg->spool, j->id);
	r->rundir = xasprintf("%s/%s", cfg->spool, KEEP_DIR);
	r->pidfd = r->out_fd = -1;
	r->step = -1;
	r->message = xstrdup(j->message != NULL ? j->message : "");
	r->progress = j->progress;
	r->row_message = xstrdup(r->message);
	r->row_progress = j->progress;
	r->row_eta = j->eta_s;
	r->last_write_ms = loop_now_ms();
	r->steps = json_tokener_parse(j->steps ? j->steps : "[]");
	if (r->steps == NULL || !json_object_is_type(r->steps, json_type_array)) {
		json_object_put(r->steps);
		r->steps = json_object_new_array();
	}
	r->started = j->started > 0 ? j->started : store_now();
	if (r->type != NULL)
		r->deadline = r->started + r->type->timeout_s;
	tail_init(&r->tail, -1, 0, 0);
	return r;
}

const char *
runner_id(const struct run *r)
{
	return r->id;
}

const char *
runner_type(const struct run *r)
{
	return r->type_name;
}

int
runner_pidfd(const struct run *r)
{
	return r->pidfd;
}

int
runner_done(const struct run *r)
{
	return r->done;
}

int
runner_moved(const struct run *r)
{
	return r->moved;
}

/*
 * A change that writes the row carries the newest progress: the updates
 * before it may have been their events alone (store.h, "Rows that wait").
 */
static void
runner_row_fill(struct run *r, struct job_change *c)
{
	if (isnan(c->progress))
		c->progress = r->row_progress;
	if (c->message == NULL)
		c->message = r->row_message;
	if (isnan(c->eta_s))
		c->eta_s = r->row_eta;
	r->row_ms = loop_now_ms();
}

/* Adds a change of this job to the batch. */
static void
runner_change(struct run *r, struct batch *b, const struct job_change *c)
{
	struct job_change full = *c;

	if (!full.defer_row)
		runner_row_fill(r, &full);
	batch_change(b, r->id, &full, &r->last);
	r->moved = 1;
}

/* Adds an event of the given kind with a one-member object {key: text}. */
static void
runner_text_event(struct run *r, struct batch *b, const char *kind, const char *key,
    const char *text)
{
	struct json_object *o = json_object_new_object();
	struct job_change c;
	char *json;

	json_object_object_add(o, key, json_object_new_string(text));
	json = runner_json(o);
	json_object_put(o);
	job_change_init(&c);
	c.event_kind = kind;
	c.event_json = json;
	runner_change(r, b, &c);
	free(json);
}

/* The id of the running step, or NULL. */
static const char *
runner_step_id(struct run *r)
{
	struct json_object *s, *id;

	if (r->step < 0)
		return NULL;
	s = json_object_array_get_idx(r->steps, (size_t)r->step);
	return json_object_object_get_ex(s, "id", &id) ? json_object_get_string(id) : NULL;
}

/* Adds the pending progress to the batch as one row change and one event. */
static void
runner_flush(struct run *r, struct batch *b)
{
	struct json_object *o;
	struct job_change c;
	double eta = view_eta(r->progress, r->started, store_now());
	char *json;

	if (!r->pending)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "progress", json_object_new_double(r->progress));
	json_object_object_add(o, "message", json_object_new_string(r->message));
	json_object_object_add(o, "step", runner_step_id(r) ?
	    json_object_new_string(runner_step_id(r)) : NULL);
	json_object_object_add(o, "eta_s", eta >= 0 ? json_object_new_int((int)ceil(eta)) : NULL);
	json = runner_json(o);
	json_object_put(o);
	job_change_init(&c);
	c.progress = r->progress;
	c.message = r->message;
	c.eta_s = eta;
	c.event_kind = "progress";
	c.event_json = json;
	c.defer_row = loop_now_ms() - r->row_ms < RUNNER_ROW_MS;
	r->row_progress = r->progress;
	r->row_eta = eta;
	free(r->row_message);
	r->row_message = xstrdup(r->message);
	runner_change(r, b, &c);
	free(json);
	r->pending = 0;
	r->last_write_ms = loop_now_ms();
}

/*
 * Notes a progress line that starts at offset off; it goes into the batch
 * now only if the coalescing window has passed.  A pending one keeps the
 * offset of the first line it stands for: read again after a crash, the
 * lines from there give the same latest progress.
 */
static void
runner_progress(struct run *r, struct batch *b, double pct, const char *message,
    int64_t off, int skip)
{
	if (!r->pending) {
		r->pending_off = off;
		r->pending_skip = skip;
	}
	r->progress = pct;
	free(r->message);
	r->message = xstrdup(message);
	r->pending = 1;
	if (loop_now_ms() - r->last_write_ms >= r->cfg->progress_interval_ms)
		runner_flush(r, b);
}

/* Sets status (and a timestamp member) of step i. */
static void
runner_step_status(struct run *r, int i, const char *status, const char *when)
{
	struct json_object *s = json_object_array_get_idx(r->steps, (size_t)i);

	if (s == NULL)
		return;
	json_object_object_add(s, "status", json_object_new_string(status));
	if (when != NULL)
		json_object_object_add(s, when, json_object_new_double(store_now()));
}

/*
 * Index of the step with this id, appending it if the type did not declare
 * it; -1 if that would make more than max_steps.  A step line's label
 * (label is the id when the line gives none) replaces the one shown unless
 * the config gives the step one.
 */
static int
runner_step_find(struct run *r, const char *id, const char *label)
{
	const struct config_step *declared;
	struct json_object *s, *sid;
	size_t i, n = json_object_array_length(r->steps);

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(r->steps, i);
		if (!json_object_object_get_ex(s, "id", &sid) ||
		    strcmp(json_object_get_string(sid), id) != 0)
			continue;
		declared = conf_step_find(r->type, id);
		if ((declared == NULL || declared->label == NULL) && strcmp(label, id) != 0)
			json_object_object_add(s, "label", json_object_new_string(label));
		return (int)i;
	}
	if (n >= (size_t)r->type->max_steps)
		return -1;
	s = json_object_new_object();
	json_object_object_add(s, "id", json_object_new_string(id));
	json_object_object_add(s, "label", json_object_new_string(label));
	json_object_object_add(s, "status", json_object_new_string("pending"));
	json_object_array_add(r->steps, s);
	return (int)n;
}

/* The index of the step whose status is "running" (an adopted job's), or -1. */
static int
runner_step_running(struct run *r)
{
	struct json_object *s, *st;
	size_t i, n = json_object_array_length(r->steps);

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(r->steps, i);
		if (json_object_object_get_ex(s, "status", &st) &&
		    strcmp(json_object_get_string(st), "running") == 0)
			return (int)i;
	}
	return -1;
}

/* A log line, within the per-job limit. */
static void
runner_log(struct run *r, struct batch *b, const char *line)
{
	r->moved = 1;
	if (r->logs >= r->cfg->log_lines) {
		r->logs_dropped++;
		return;
	}
	r->logs++;
	runner_text_event(r, b, "log", "line", line);
}

/* A step line past max_steps: said once, as a log line, so that the handler's author can see why. */
static void
runner_step_refused(struct run *r, struct batch *b, const char *id)
{
	char *msg;

	r->moved = 1;
	if (r->steps_refused++ > 0)
		return;
	msg = xasprintf("handler: step %s ignored: more than %d steps", id, r->type->max_steps);
	runner_log(r, b, msg);
	free(msg);
}

/* A step line: closes the running step, starts this one, adds one event. */
static void
runner_step(struct run *r, struct batch *b, const char *id, const char *label)
{
	struct json_object *o, *s, *l;
	struct job_change c;
	char *json, *steps;
	int i;

	if ((i = runner_step_find(r, id, label)) < 0) {
		runner_step_refused(r, b, id);
		return;
	}
	if (r->step >= 0 && r->step != i)
		runner_step_status(r, r->step, "done", "finished");
	r->step = i;
	runner_step_status(r, i, "running", "started");
	s = json_object_array_get_idx(r->steps, (size_t)i);
	o = json_object_new_object();
	json_object_object_add(o, "step", json_object_new_string(id));
	json_object_object_add(o, "label", json_object_new_string(
	    json_object_object_get_ex(s, "label", &l) ? json_object_get_string(l) : label));
	json_object_object_add(o, "index", json_object_new_int(i + 1));
	json_object_object_add(o, "total",
	    json_object_new_int((int)json_object_array_length(r->steps)));
	json = runner_json(o);
	steps = runner_json(r->steps);
	json_object_put(o);
	job_change_init(&c);
	c.step = id;
	c.steps = steps;
	c.event_kind = "step";
	c.event_json = json;
	runner_change(r, b, &c);
	free(json);
	free(steps);
}

/*
 * A file line: recorded only if it names a regular file in the job's
 * directory, reached with no symlink and with no other hard link
 * (beneath.h), the same rule result applies when it serves the file.
 */
static void
runner_file(struct run *r, struct batch *b, const char *name, const char *ctype)
{
	struct stat sb;
	char *rel = xasprintf("%s/%s", r->id, name), *cause = NULL, *msg;
	int fd = beneath_file(r->cfg->spool, rel, &sb, &cause);

	if (fd < 0) {
		msg = xasprintf("handler: 'file %s': %s", name, errno == ENOENT ?
		    "no such file in the job's directory" : "refused: a symlink, another hard "
		    "link or not a regular file");
		runner_log(r, b, msg);
		free(msg);
	} else {
		close(fd);
		batch_artifact(b, r->id, name, ctype);
		r->moved = 1;
		if (r->nfiles < RUNNER_FILES)
			r->files[r->nfiles++] = xstrdup(name);
	}
	free(cause);
	free(rel);
}

/* A result line: kept (the last wins), and in the position so a successor has it. */
static void
runner_result(struct run *r, struct json_object *json)
{
	free(r->result);
	r->result = runner_json(json);
	r->moved = 1;
}

/* Handles one protocol line that started at offset off. */
static void
runner_line(struct run *r, struct batch *b, const char *line, size_t n, int cut,
    int64_t off, int skip)
{
	struct proto_msg m;
	char *text;

	proto_parse(line, n, &m);
	/* Anything but progress keeps the handler's order: the pending progress goes first. */
	if (m.kind != PROTO_PROGRESS)
		runner_flush(r, b);
	switch (m.kind) {
	case PROTO_PROGRESS:
		runner_progress(r, b, m.percent, m.text, off, skip);
		break;
	case PROTO_STEP:
		runner_step(r, b, m.id, m.text);
		break;
	case PROTO_RESULT:
		runner_result(r, m.json);
		break;
	case PROTO_FILE:
		runner_file(r, b, m.id, m.text);
		break;
	case PROTO_INVALID:
		text = xasprintf("handler: %s", m.text);
		runner_log(r, b, text);
		free(text);
		break;
	case PROTO_LOG:
		if (cut) {
			text = xasprintf("%s [line cut at %d bytes]", m.text, PROTO_MAX_LINE);
			runner_log(r, b, text);
			free(text);
		} else
			runner_log(r, b, m.text);
		break;
	}
	proto_msg_clear(&m);
}

/* Handles the complete lines read so far; at eof, the unterminated rest too. */
static void
runner_lines(struct run *r, struct batch *b, int eof)
{
	const char *line;
	size_t n;
	int64_t off = tail_offset(&r->tail);
	int skip = tail_skipping(&r->tail), cut;

	while (tail_next(&r->tail, eof, &line, &n, &cut)) {
		runner_line(r, b, line, n, cut, off, skip);
		off = tail_offset(&r->tail);
		skip = tail_skipping(&r->tail);
		r->moved = 1;
	}
}

static void runner_signal(struct run *r, int sig);

/*
 * The lag cap (keep.h): the keeper is asked to look (SIGUSR1) when its
 * output reaches size, more than KEEP_LAG_MAX past what is committed, so
 * that it stops the handler without waiting for its own next look.
 */
static void
runner_ask_hold(struct run *r, int64_t size)
{
	long long now;

	if (r->ack == NULL || r->ended || size - keep_ack_get(r->ack) <= KEEP_LAG_MAX)
		return;
	now = loop_now_ms();
	if (now < r->hold_asked_ms + RUNNER_HOLD_ASK_MS)
		return;
	r->hold_asked_ms = now;
	runner_signal(r, SIGUSR1);
}

void
runner_behind(struct run *r)
{
	struct stat sb;

	if (r->out_fd >= 0 && fstat(r->out_fd, &sb) == 0)
		runner_ask_hold(r, (int64_t)sb.st_size);
}

int
runner_read(struct run *r, struct batch *b, long max)
{
	long got, total = 0;

	if (r->out_fd < 0 || r->ended)
		return 0;
	/* Each read takes at most a line's worth more than its lines use: take them, read on. */
	while (total < max) {
		if ((got = tail_read(&r->tail, (size_t)(max - total))) < 0) {
			log_error("job %s: reading its output: %s", r->id, strerror(errno));
			return 0;
		}
		runner_lines(r, b, 0);
		runner_ask_hold(r, r->tail.read_to);
		if (got == 0)
			return 0;
		/* Even with no line taken (a cut line's rest skipped), the position moved. */
		r->moved = 1;
		batch_touch(b);
		/*
		 * Read to the end: a thousand jobs printing a line each cost one
		 * read each, not a second one that finds nothing (the next line
		 * wakes the worker again: inotify).
		 */
		if (tail_at_end(&r->tail))
			return 0;
		total += got;
	}
	return 1;
}

/* The offset a successor would resume at, and whether it is inside a cut line. */
static int64_t
runner_offset(const struct run *r, int *skip)
{
	if (r->pending) {
		*skip = r->pending_skip;
		return r->pending_off;
	}
	*skip = tail_skipping(&r->tail);
	return tail_offset(&r->tail);
}

void
runner_position(struct run *r, struct batch *b)
{
	struct job_change c;
	int skip;

	if (!r->moved || r->ended)
		return;
	job_change_init(&c);
	c.out_offset = runner_offset(r, &skip);
	c.out_skip = skip;
	c.out_result = r->result;
	c.log_count = r->logs;
	c.log_dropped = r->logs_dropped;
	c.steps_refused = r->steps_refused;
	if (!batch_amend_position(b, &r->last, r->id, &c)) {
		runner_row_fill(r, &c);
		batch_change(b, r->id, &c, NULL);
	}
	r->acking = c.out_offset;
	r->moved = 0;
}

void
runner_committed(struct run *r)
{
	int64_t upto;

	if (r->ended) {
		r->done = 1;
		return;
	}
	/* Most runs did not move in a batch: nothing to tell their keepers. */
	if (r->ack == NULL || r->acking == r->acked)
		return;
	keep_ack_set(r->ack, r->acking);
	r->acked = r->acking;
	/* Free the disk behind what is committed, a megabyte at a time. */
	upto = r->acking - r->acking % RUNNER_PUNCH;
	if (upto > r->punched && r->out_fd >= 0) {
		if (fallocate(r->out_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    r->punched, upto - r->punched) != 0 && r->punched == 0)
			log_warn("job %s: cannot free its read output (%s): the file keeps it "
			    "until the job ends", r->id, strerror(errno));
		r->punched = upto;
	}
}

/* Sends the keeper a signal (it stops the handler's processes itself). */
static void
runner_signal(struct run *r, int sig)
{
	int rc;

	if (r->pidfd >= 0)
		rc = proc_signal(r->pidfd, sig);
	else if (r->keeper > 0 && !r->keeper_lost)
		rc = proc_kill((pid_t)r->keeper, r->keeper_start, sig);
	else
		return;
	if (rc != 0 && errno != ESRCH)
		log_warn("job %s: signalling its keeper (pid %ld): %s", r->id, r->keeper,
		    strerror(errno));
}

void
runner_disk_was_full(struct run *r)
{
	r->saw_full = 1;
}

void
runner_stop(struct run *r)
{
	if (r->done)
		return;
	log_info("job %s ended elsewhere; stopping its handler", r->id);
	runner_signal(r, SIGTERM);
	r->ended = r->done = 1;
}

/* Marks the running step done (or failed) for the final record. */
static void
runner_close_steps(struct run *r, int ok)
{
	if (r->step >= 0)
		runner_step_status(r, r->step, ok ? "done" : "failed", "finished");
}

/* Adds the final state and the end event to the batch. */
static void
runner_end(struct run *r, struct batch *b, const char *state, const char *error)
{
	struct json_object *o = json_object_new_object(), *res = NULL;
	struct job_change c;
	char *json, *steps, *result = NULL;
	int ok = strcmp(state, "succeeded") == 0;

	runner_flush(r, b);
	runner_close_steps(r, ok);
	job_change_init(&c);
	json_object_object_add(o, "state", json_object_new_string(state));
	if (ok) {
		if (r->result != NULL)
			res = json_tokener_parse(r->result);
		if (res == NULL)
			res = json_object_new_object();
		json_object_object_add(o, "result", res);
		result = runner_json(res);
		c.progress = 100;
		c.result = result;
	} else {
		json_object_object_add(o, "error", json_object_new_string(error));
		c.error = error;
	}
	json = runner_json(o);
	steps = runner_json(r->steps);
	json_object_put(o);
	c.state = state;
	c.steps = steps;
	c.finished = 1;
	c.event_kind = "end";
	c.event_json = json;
	runner_change(r, b, &c);
	free(json);
	free(steps);
	free(result);
	r->ended = 1;
	log_info("job %s (%s): %s after %.1f s%s%s", r->id, r->type_name, state,
	    store_now() - r->started, error ? ": " : "", error ? error : "");
}

/* The error message of a failed handler: the tail of its stderr, or how it ended. */
static char *
runner_error(struct run *r, const struct keep_exit *e)
{
	size_t n = e->err_len;
	struct buf b;

	if (r->timed_out)
		return xasprintf("timed out after %d s", r->type->timeout_s);
	while (n > 0 && (e->err[n - 1] == '\n' || e->err[n - 1] == ' ' || e->err[n - 1] == '\r'))
		n--;
	if (n > 0) {
		/* Lines kept: a stack trace reads as one.  No longer than the tail. */
		buf_init(&b, 0);
		text_clean(&b, e->err, n, n, TEXT_TAB | TEXT_NEWLINE);
		return buf_take(&b);
	}
	if (e->signal > 0)
		return xasprintf("killed by signal %d (%s)", e->signal, strsignal(e->signal));
	return xasprintf("exited with status %d", e->code);
}

/* What runner_share is copying, and the first thing that failed. */
struct runner_sharing {
	struct run *r;
	char *cause;
	int listed;		/* names come from the store: skip those the run has */
};

static void
runner_share_one(void *ctx, const char *name)
{
	struct runner_sharing *sh = ctx;
	int i;

	for (i = 0; sh->listed && i < sh->r->nfiles; i++)
		if (strcmp(sh->r->files[i], name) == 0)
			return;
	if (sh->cause == NULL && share_artifact(sh->r->st, sh->r->cfg->spool, sh->r->id, name,
	    &sh->cause) != 0 && sh->cause == NULL)
		sh->cause = xasprintf("its file %s could not be copied into the store", name);
}

/*
 * On a store several hosts share: the files the handler declared go into
 * it before the job's end, so that every host can serve them once the job
 * is over.  Those declared before an adoption are the store's artifacts;
 * the last ones may still be in the batch.  NULL, or why it failed.
 */
static char *
runner_share(struct run *r)
{
	struct runner_sharing sh = { r, NULL, 0 };
	int i;

	if (!store_shared(r->st))
		return NULL;
	for (i = 0; i < r->nfiles; i++)
		runner_share_one(&sh, r->files[i]);
	sh.listed = 1;
	if (sh.cause == NULL && store_artifact_names(r->st, r->id, runner_share_one, &sh) != 0)
		sh.cause = xstrdup("its files could not be listed in the store");
	return sh.cause;
}

/*
 * The handler has ended as e says: the rest of its output, then its end.
 * A job whose files cannot go into a shared store because the database is
 * away waits (runner_finishing: tried again every tick) rather than fail.
 */
static void
runner_finish(struct run *r, struct batch *b, const struct keep_exit *e)
{
	char *error = NULL, *note;

	if (!r->finishing) {
		/* What the handler's children wrote after its exit is not the job's. */
		if (e->out >= 0)
			tail_end(&r->tail, e->out);
		while (runner_read(r, b, 1 << 20))
			;
		runner_lines(r, b, 1);
		if (r->logs_dropped > 0) {
			note = xasprintf("(%d more lines of output not shown)", r->logs_dropped);
			r->logs = 0;
			runner_log(r, b, note);
			free(note);
		}
		r->finishing = 1;
	}
	if (r->timed_out || e->signal != 0 || e->code != 0)
		error = runner_error(r, e);
	else if ((error = runner_share(r)) != NULL && store_down(r->st)) {
		free(error);
		return;
	} else if (error != NULL)
		log_error("job %s: %s", r->id, error);
	runner_end(r, b, error ? "failed" : "succeeded", error);
	free(error);
}

int
runner_finishing(const struct run *r)
{
	return r->finishing && !r->ended;
}

/* 1 if the file system of the run directory has no space left. */
static int
runner_disk_full(const struct run *r)
{
	struct statvfs sv;

	return statvfs(r->rundir, &sv) == 0 && sv.f_bavail == 0;
}

/*
 * 1 if the keeper has exited: its pidfd is readable; without one (an old
 * kernel), its pid no longer names a live process.  An adopted keeper that
 * could not be found (runner_adopt) is gone.
 */
static int
runner_keeper_gone(const struct run *r)
{
	struct pollfd p;

	if (r->pidfd >= 0) {
		p.fd = r->pidfd;
		p.events = POLLIN;
		return poll(&p, 1, 0) == 1;
	}
	return r->keeper_lost || r->keeper <= 0 || !proc_is((pid_t)r->keeper, r->keeper_start);
}

void
runner_check_end(struct run *r, struct batch *b)
{
	struct keep_exit e;
	int rc;
	char *error;

	if (r->ended)
		return;
	if ((rc = keep_exit_read(r->rundir, r->id, &e)) == 0) {
		runner_finish(r, b, &e);
		return;
	}
	if (rc < 0 || runner_keeper_gone(r)) {
		/* Read once more: it may have written .exit just before it went. */
		if (rc > 0 && keep_exit_read(r->rundir, r->id, &e) == 0) {
			runner_finish(r, b, &e);
			return;
		}
		while (runner_read(r, b, 1 << 20))
			;
		/* A keeper that could not write its .exit: most likely the disk. */
		error = r->saw_full || runner_disk_full(r) ? xstrdup("stopped: the server's disk is full") :
		    xasprintf("worker lost: the job's keeper (pid %ld) is gone and its "
		    "handler with it", r->keeper);
		runner_end(r, b, "failed", error);
		free(error);
	}
}

long long
runner_due(const struct run *r)
{
	return r->pending && !r->ended ? r->last_write_ms + r->cfg->progress_interval_ms :
	    LLONG_MAX;
}

long
runner_tick(struct run *r, struct batch *b, long long now_ms)
{
	long next = 1000, left;

	if (r->ended)
		return next;
	if (r->pending) {
		left = (long)(r->last_write_ms + r->cfg->progress_interval_ms - now_ms);
		if (left <= 0) {
			runner_flush(r, b);
			r->moved = 1;
		} else if (left < next)
			next = left;
	}
	if (!r->timed_out && r->type != NULL && store_now() >= r->deadline) {
		log_info("job %s: timed out after %d s", r->id, r->type->timeout_s);
		r->timed_out = 1;
		runner_signal(r, SIGTERM);
	}
	return next;
}

/* Opens the keeper's output and committed offset, reading from offset. */
static int
runner_open(struct run *r, int64_t offset, int skip)
{
	char *path = keep_path(r->rundir, r->id, ".out");

	/*
	 * Without O_NOATIME, every read of a file being appended to stamps its
	 * access time (relatime does whenever it is older than the last write):
	 * an inode written back for each line (3 % of the worker, perf).  Only
	 * the file's owner may ask; a worker of another user reads it as is.
	 */
	r->out_fd = open(path, O_RDWR | O_CLOEXEC | O_NOATIME);
	if (r->out_fd < 0 && errno == EPERM)
		r->out_fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->out_fd < 0)
		log_error("job %s: %s: %s", r->id, path, strerror(errno));
	free(path);
	if (r->out_fd < 0 || (r->ack = keep_ack_map(r->rundir, r->id, 1)) == NULL)
		return -1;
	tail_free(&r->tail);
	tail_init(&r->tail, r->out_fd, offset, skip);
	r->acking = offset;
	r->acked = -1;
	r->punched = offset - offset % RUNNER_PUNCH;
	return 0;
}

/* Writes the handler's input JSON to a file in its directory and opens it. */
static int
runner_input(struct run *r, const struct job *j)
{
	struct json_object *o = json_tokener_parse(j->params);
	char *path = xasprintf("%s/.input.json", r->dir);
	const char *text;
	int fd;

	if (o == NULL)
		o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(j->id));
	json_object_object_add(o, "type", json_object_new_string(j->type));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		log_error("job %s: %s: %s", r->id, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	json_object_put(o);
	free(path);
	return fd;
}

/* The keeper's path: longjob-keeper beside the worker. */
static char *
runner_keeper_path(const struct config *cfg)
{
	const char *slash = strrchr(cfg->worker, '/');

	if (slash == NULL)
		return xstrdup("longjob-keeper");
	return xasprintf("%.*s/longjob-keeper", (int)(slash - cfg->worker), cfg->worker);
}

/*
 * The keeper's argv: how to start a worker should this one be lost
 * (revive.h), then the run directory, the job and the handler's argv.
 */
static char **
runner_keeper_argv(const struct run *r, char *keeper)
{
	char **wenv = oversee_worker_env(), **argv;
	int n, e, i = 0;

	for (n = 0; r->type->argv[n] != NULL; n++)
		;
	for (e = 0; wenv[e] != NULL; e++)
		;
	argv = xcalloc((size_t)(n + 2 * e + 11), sizeof *argv);
	argv[i++] = keeper;
	argv[i++] = xstrdup("-w");
	argv[i++] = xstrdup(r->cfg->worker);
	argv[i++] = xstrdup("-c");
	argv[i++] = xstrdup(r->cfg->path);
	argv[i++] = xstrdup("-s");
	argv[i++] = xstrdup(r->cfg->spool);
	for (e = 0; wenv[e] != NULL; e++) {
		argv[i++] = xstrdup("-e");
		argv[i++] = wenv[e];
	}
	free(wenv);
	argv[i++] = xstrdup(r->rundir);
	argv[i++] = xstrdup(r->id);
	for (e = 0; e < n; e++)
		argv[i++] = xstrdup(r->type->argv[e]);
	return argv;
}

/* Starts the keeper with the handler's argv and environment; -1 with *cause. */
static int
runner_spawn(struct run *r, int in, int log_fd, char **cause)
{
	char *env[8], **argv, *keeper = runner_keeper_path(r->cfg);
	int fds[3], nul = open("/dev/null", O_WRONLY | O_CLOEXEC), i;
	pid_t pid;

	argv = runner_keeper_argv(r, keeper);
	env[0] = xasprintf("LONGJOB_JOB_ID=%s", r->id);
	env[1] = xasprintf("LONGJOB_RESULT_URL=%s/%s", r->cfg->result_url, r->id);
	env[2] = xasprintf("LONGJOB_DIR=%s", r->dir);
	env[3] = xasprintf("HOME=%s", r->dir);
	env[4] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[5] = xstrdup("LC_ALL=C.UTF-8");
	env[6] = NULL;
	fds[0] = in;
	fds[1] = nul;
	fds[2] = log_fd >= 0 ? log_fd : nul;
	pid = spawn_keeper(keeper, argv, env, r->dir, fds);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	xfree_strings(argv);	/* keeper too: it is argv[0] */
	if (nul >= 0)
		close(nul);
	if (pid < 0) {
		*cause = xstrdup("cannot start the handler (fork failed)");
		return -1;
	}
	r->keeper = pid;
	r->keeper_start = proc_start_time(pid);
	r->pidfd = spawn_pidfd(pid);
	return 0;
}

/* Writes the `state` event that says the job started running, with who runs it. */
static void
runner_announce(struct run *r, struct batch *b, const struct job *j)
{
	struct job_change c;
	char *json = view_state(j);

	job_change_init(&c);
	c.event_kind = "state";
	c.event_json = json;
	c.keeper_pid = r->keeper;
	c.keeper_start = r->keeper_start;
	c.worker_pid = getpid();
	runner_change(r, b, &c);
	free(json);
}

/* Prepares the job's directory, files and keeper; -1 with *cause. */
static int
runner_setup(struct run *r, const struct job *j, int log_fd, char **cause)
{
	int in, rc;

	if (r->type == NULL) {
		*cause = xasprintf("job type '%s' is no longer configured", j->type);
		return -1;
	}
	if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("cannot create the job directory: %s", strerror(errno));
		return -1;
	}
	/* Submitted on another host: its uploads come from the store. */
	if (share_fetch_all(r->st, r->id, r->dir) != 0) {
		*cause = xstrdup("cannot fetch the job's uploads from the store");
		return -1;
	}
	if (keep_prepare(r->rundir, r->id) != 0 || runner_open(r, 0, 0) != 0) {
		*cause = xstrdup("cannot create the job's output file (disk full?)");
		return -1;
	}
	if ((in = runner_input(r, j)) < 0) {
		*cause = xstrdup("cannot write the job's input file (disk full?)");
		return -1;
	}
	rc = runner_spawn(r, in, log_fd, cause);
	close(in);
	return rc;
}

struct run *
runner_start(const struct config *cfg, struct store *st, struct batch *b,
    const struct job *j, int log_fd)
{
	struct run *r = runner_new(cfg, st, j);
	char *cause = NULL;

	log_info("job %s (%s): starting", r->id, r->type_name);
	if (runner_setup(r, j, log_fd, &cause) != 0) {
		runner_end(r, b, "failed", cause ? cause : "cannot start the job");
		free(cause);
		return r;
	}
	runner_announce(r, b, j);
	return r;
}

struct run *
runner_adopt(const struct config *cfg, struct store *st, struct batch *b,
    const struct job *j)
{
	struct run *r = runner_new(cfg, st, j);
	struct job_change c;

	r->keeper = j->keeper_pid;
	r->logs = j->log_count;
	r->logs_dropped = j->log_dropped;
	r->steps_refused = j->steps_refused;
	r->result = j->out_result != NULL ? xstrdup(j->out_result) : NULL;
	r->step = runner_step_running(r);
	if (r->type == NULL) {
		runner_end(r, b, "failed", "job type no longer configured");
		return r;
	}
	r->keeper_start = j->keeper_start;
	r->pidfd = proc_open((pid_t)j->keeper_pid, j->keeper_start);
	/* Without pidfds (an old kernel, valgrind) it is known by its pid and start time. */
	r->keeper_lost = r->pidfd < 0 &&
	    (errno != ENOSYS || !proc_is((pid_t)j->keeper_pid, j->keeper_start));
	if (runner_open(r, j->out_offset, j->out_skip) != 0) {
		runner_signal(r, SIGTERM);
		runner_end(r, b, "failed", "worker lost: the job's output file is gone");
		return r;
	}
	log_info("job %s (%s): adopted from offset %lld, keeper pid %ld%s", r->id,
	    r->type_name, (long long)j->out_offset, r->keeper, r->pidfd < 0 ? " (gone)" : "");
	job_change_init(&c);
	c.worker_pid = getpid();
	runner_change(r, b, &c);
	/* Its handler may have ended while no worker watched. */
	runner_check_end(r, b);
	return r;
}

void
runner_free(struct run *r)
{
	if (r == NULL)
		return;
	if (r->done)
		keep_remove(r->rundir, r->id);
	tail_free(&r->tail);
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	keep_ack_unmap(r->ack);
	while (r->nfiles > 0)
		free(r->files[--r->nfiles]);
	json_object_put(r->steps);
	free(r->result);
	free(r->message);
	free(r->row_message);
	free(r->type_name);
	free(r->dir);
	free(r->rundir);
	free(r);
}
