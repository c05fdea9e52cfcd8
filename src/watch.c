/* watch: a job's progress in a terminal, or as plain lines.  See watch.h. */
#include "config.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "job.h"
#include "oversee.h"
#include "store.h"
#include "text.h"
#include "view.h"
#include "watch.h"
#include "xmem.h"

#define WATCH_BAR 30
#define WATCH_REAP_TICKS 25	/* polls between looks for a lost worker (5 s at 200 ms) */

/* Set by SIGINT: Ctrl-C stops the watching, never the job. */
static volatile sig_atomic_t watch_interrupted;

/* What the watcher knows and last drew. */
struct watcher {
	FILE *out;
	int tty;
	double progress;
	char message[256];
	char step[160];
	int eta;
	int64_t last;
	int ended;
	int ok;
};

/* A string member of o, or "" when absent. */
static const char *
watch_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "";
	return json_object_get_string(v);
}

/* A number member of o, or def when absent or null. */
static double
watch_num(struct json_object *o, const char *key, double def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return def;
	return json_object_get_double(v);
}

/* The terminal's width, or 80 when it does not say. */
static int
watch_columns(FILE *out)
{
	struct winsize ws;

	if (ioctl(fileno(out), TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return 80;
	return ws.ws_col;
}

/*
 * Cuts line to fewer than cols columns (at a UTF-8 character boundary): a
 * line that wrapped could not be redrawn in place by \r.
 */
static void
watch_fit(char *line, int cols)
{
	line[text_cut(line, strlen(line), cols > 1 ? (size_t)cols - 1 : 1)] = '\0';
}

/* Copies s into out (size bytes), cut on a character boundary if it must be. */
static void
watch_copy(char *out, size_t size, const char *s)
{
	size_t n = text_cut(s, strlen(s), size - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* Draws the current picture: a bar on a terminal, a line otherwise. */
static void
watch_draw(struct watcher *w)
{
	char bar[WATCH_BAR + 1], eta[32] = "", line[512];
	int fill = (int)(w->progress * WATCH_BAR / 100), i;

	if (w->eta >= 0)
		snprintf(eta, sizeof eta, "  ETA %d:%02d", w->eta / 60, w->eta % 60);
	if (!w->tty) {
		fprintf(w->out, "%5.1f%%%s%s%s %s%s\n", w->progress, *w->step ? " [" : "",
		    w->step, *w->step ? "]" : "", w->message, eta);
		fflush(w->out);
		return;
	}
	for (i = 0; i < WATCH_BAR; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[WATCH_BAR] = '\0';
	snprintf(line, sizeof line, "[%s] %5.1f%% %s%s%.*s%s", bar, w->progress, w->step,
	    *w->step ? " " : "", (int)text_cut(w->message, strlen(w->message), 60),
	    w->message, eta);
	watch_fit(line, watch_columns(w->out));
	fprintf(w->out, "\r\033[K%s", line);
	fflush(w->out);
}

/* Prints the outcome of an ended job. */
static void
watch_outcome(struct watcher *w, struct json_object *data)
{
	struct json_object *v;

	w->ended = 1;
	w->ok = strcmp(watch_str(data, "state"), "succeeded") == 0;
	if (w->ok)
		w->progress = 100;
	if (w->tty) {
		watch_draw(w);
		fputc('\n', w->out);
	}
	fprintf(w->out, "%s", watch_str(data, "state"));
	if (json_object_object_get_ex(data, "result", &v) && v != NULL)
		fprintf(w->out, ": %s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	if (json_object_object_get_ex(data, "error", &v) && v != NULL)
		fprintf(w->out, ": %s", json_object_get_string(v));
	fputc('\n', w->out);
	fflush(w->out);
}

/* Applies one event to the picture. */
static int
watch_event(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct watcher *w = ctx;
	struct json_object *d = json_tokener_parse(json);
	int n;

	(void)job_id;
	w->last = seq;
	if (d == NULL)
		return 0;
	if (strcmp(kind, "end") == 0)
		watch_outcome(w, d);
	else if (strcmp(kind, "progress") == 0) {
		w->progress = watch_num(d, "progress", w->progress);
		w->eta = (int)watch_num(d, "eta_s", -1);
		watch_copy(w->message, sizeof w->message, watch_str(d, "message"));
		watch_draw(w);
	} else if (strcmp(kind, "step") == 0) {
		n = snprintf(w->step, sizeof w->step, "%d/%d ",
		    (int)watch_num(d, "index", 0), (int)watch_num(d, "total", 0));
		if (n > 0 && (size_t)n < sizeof w->step)
			watch_copy(w->step + n, sizeof w->step - (size_t)n,
			    watch_str(d, "label"));
		watch_draw(w);
	} else if (strcmp(kind, "log") == 0 && !w->tty)
		fprintf(w->out, "log: %s\n", watch_str(d, "line"));
	json_object_put(d);
	return w->ended;
}

/* Starts from the job's current picture. */
static int
watch_start(struct watcher *w, struct store *st, const char *id)
{
	struct job j;
	char *json;
	int rc;

	job_init(&j);
	if ((rc = store_job_snapshot(st, id, &j)) != 0) {
		fprintf(stderr, "longjob: %s: %s\n", id, rc == 1 ? "no such job" :
		    "cannot read the store");
		job_clear(&j);
		return -1;
	}
	w->progress = j.progress;
	w->last = j.last_seq;
	watch_copy(w->message, sizeof w->message, j.message ? j.message : "");
	snprintf(w->step, sizeof w->step, "%s", j.step ? j.step : "");
	if (strcmp(j.state, "queued") == 0)
		snprintf(w->message, sizeof w->message, "queued (position %lld)",
		    (long long)j.queue_position);
	if (view_state_final(j.state)) {
		json = view_end(&j);
		watch_event(w, j.last_seq, id, "end", json);
		free(json);
	} else
		watch_draw(w);
	job_clear(&j);
	return 0;
}

/* SIGINT handler: only notes it; the loop stops at its next turn. */
static void
watch_on_interrupt(int sig)
{
	(void)sig;
	watch_interrupted = 1;
}

/*
 * Catches Ctrl-C while watching.  Without SA_RESTART, so that it cuts the
 * poll's sleep short and the answer comes at once.  An ignored SIGINT stays
 * ignored: a shell without job control starts background commands so, and
 * means it.  watch_job puts *old back when it returns.
 */
static void
watch_catch(struct sigaction *old)
{
	struct sigaction sa;

	watch_interrupted = 0;
	if (sigaction(SIGINT, NULL, old) != 0 || old->sa_handler == SIG_IGN)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = watch_on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

/*
 * After Ctrl-C: the job runs on (its worker is detached from us), so say
 * so, and how to stop it, on stderr, below the bar.
 */
static int
watch_stopped(struct watcher *w, const char *id)
{
	if (w->tty)
		fputc('\n', w->out);
	fflush(w->out);
	fprintf(stderr, "longjob: stopped watching; job %s goes on.\n"
	    "longjob: to cancel it: longjob cancel %s\n", id, id);
	return WATCH_INTERRUPTED;
}

/* Follows the job until it ends or Ctrl-C; see watch_job. */
static int
watch_follow(struct watcher *w, const struct config *cfg, struct store *st,
    const char *id, int poll_ms)
{
	int64_t version = -1, v;
	unsigned ticks = 0;

	while (!w->ended) {
		if (watch_interrupted)
			return watch_stopped(w, id);
		usleep((useconds_t)poll_ms * 1000);
		if (watch_interrupted)
			return watch_stopped(w, id);
		/* A worker killed with -9: a new one adopts the job (oversee.h). */
		if (++ticks % WATCH_REAP_TICKS == 0)
			oversee_check(cfg, st);
		if (store_version(st, &v) != 0)
			return 2;
		if (v == version)
			continue;
		version = v;
		if (store_job_events(st, id, w->last, watch_event, w) != 0)
			return 2;
	}
	return w->ok ? 0 : 1;
}

int
watch_job(const struct config *cfg, struct store *st, const char *id, FILE *out,
    int tty, int poll_ms)
{
	struct watcher w;
	struct sigaction old;
	int rc;

	memset(&w, 0, sizeof w);
	memset(&old, 0, sizeof old);
	w.out = out;
	w.tty = tty;
	w.eta = -1;
	if (watch_start(&w, st, id) != 0)
		return 2;
	watch_catch(&old);
	rc = watch_follow(&w, cfg, st, id, poll_ms);
	sigaction(SIGINT, &old, NULL);
	return rc;
}
