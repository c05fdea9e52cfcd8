/* watch: a job's progress in a terminal, or as plain lines.  See watch.h. */
#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "store.h"
#include "view.h"
#include "watch.h"
#include "xmem.h"

#define WATCH_BAR 30
#define WATCH_REAP_TICKS 25	/* polls between looks for lost workers (5 s at 200 ms) */

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

/* Draws the current picture: a bar on a terminal, a line otherwise. */
static void
watch_draw(struct watcher *w)
{
	char bar[WATCH_BAR + 1], eta[32] = "";
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
	fprintf(w->out, "\r\033[K[%s] %5.1f%% %s%s%.60s%s", bar, w->progress, w->step,
	    *w->step ? " " : "", w->message, eta);
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

	(void)job_id;
	w->last = seq;
	if (d == NULL)
		return 0;
	if (strcmp(kind, "end") == 0)
		watch_outcome(w, d);
	else if (strcmp(kind, "progress") == 0) {
		w->progress = watch_num(d, "progress", w->progress);
		w->eta = (int)watch_num(d, "eta_s", -1);
		snprintf(w->message, sizeof w->message, "%s", watch_str(d, "message"));
		watch_draw(w);
	} else if (strcmp(kind, "step") == 0) {
		snprintf(w->step, sizeof w->step, "%d/%d %s",
		    (int)watch_num(d, "index", 0), (int)watch_num(d, "total", 0),
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

	job_init(&j, 0);
	if ((rc = store_job_snapshot(st, id, &j)) != 0) {
		fprintf(stderr, "longjob: %s: %s\n", id, rc == 1 ? "no such job" :
		    "cannot read the store");
		job_clear(&j);
		return -1;
	}
	w->progress = j.progress;
	w->last = j.last_seq;
	snprintf(w->message, sizeof w->message, "%s", j.message ? j.message : "");
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

int
watch_job(struct store *st, const char *id, FILE *out, int tty, int poll_ms)
{
	struct watcher w;
	int64_t version = -1, v;
	unsigned ticks = 0;

	memset(&w, 0, sizeof w);
	w.out = out;
	w.tty = tty;
	w.eta = -1;
	if (watch_start(&w, st, id) != 0)
		return 2;
	while (!w.ended) {
		usleep((useconds_t)poll_ms * 1000);
		/* A worker killed with -9 writes no `end`: look for one now and then. */
		if (++ticks % WATCH_REAP_TICKS == 0)
			store_reap_lost(st, RUNNER_STALE_S);
		if (store_data_version(st, &v) != 0)
			return 2;
		if (v == version)
			continue;
		version = v;
		if (store_job_events(st, id, w.last, watch_event, &w) != 0)
			return 2;
	}
	return w.ok ? 0 : 1;
}
