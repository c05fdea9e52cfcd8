/* view: JSON pictures of a job (state and end events, result answers). */
#include "config.h"

#include <json-c/json.h>
#include <string.h>

#include "job.h"
#include "view.h"
#include "xmem.h"

int
view_state_final(const char *state)
{
	return state != NULL && (strcmp(state, "succeeded") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0);
}

double
view_eta(double progress, double started, double now)
{
	double elapsed = now - started;

	/* Too early to say anything honest. */
	if (started <= 0 || progress < 1 || progress >= 100 || elapsed < 2)
		return -1;
	return elapsed * (100 - progress) / progress;
}

/* Parses stored JSON text; a NULL or broken text becomes def (a new object). */
static struct json_object *
view_parse(const char *text, struct json_object *def)
{
	struct json_object *o = text != NULL ? json_tokener_parse(text) : NULL;

	if (o == NULL)
		return def;
	json_object_put(def);
	return o;
}

/* Adds a string member, or null when s is NULL. */
static void
view_add_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s != NULL ? json_object_new_string(s) : NULL);
}

/* Adds a number member, or null when it is below zero (unknown). */
static void
view_add_opt(struct json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, v >= 0 ? json_object_new_double(v) : NULL);
}

/* Adds result or error, whichever the job has. */
static void
view_add_outcome(struct json_object *o, const struct job *j)
{
	if (j->result != NULL)
		json_object_object_add(o, "result",
		    view_parse(j->result, json_object_new_object()));
	if (j->error != NULL)
		view_add_str(o, "error", j->error);
}

/* Serialises and frees o. */
static char *
view_text(struct json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

char *
view_state(const struct job *j)
{
	struct json_object *o = json_object_new_object();

	view_add_str(o, "id", j->id);
	view_add_str(o, "type", j->type);
	view_add_str(o, "state", j->state);
	json_object_object_add(o, "progress", json_object_new_double(j->progress));
	view_add_str(o, "message", j->message);
	view_add_str(o, "step", j->step);
	json_object_object_add(o, "steps", view_parse(j->steps, json_object_new_array()));
	view_add_opt(o, "eta_s", j->eta_s);
	json_object_object_add(o, "queue_position", j->queue_position > 0 ?
	    json_object_new_int64(j->queue_position) : NULL);
	json_object_object_add(o, "created", json_object_new_double(j->created));
	view_add_opt(o, "started", j->started > 0 ? j->started : -1);
	view_add_opt(o, "finished", j->finished > 0 ? j->finished : -1);
	view_add_outcome(o, j);
	return view_text(o);
}

char *
view_end(const struct job *j)
{
	struct json_object *o = json_object_new_object();

	view_add_str(o, "state", j->state);
	view_add_outcome(o, j);
	return view_text(o);
}
