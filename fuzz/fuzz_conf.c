/*
 * fuzz_conf: the config loader, conf_parse (conf.c).
 *
 * The input is the JSON text (cut at a NUL, as conf_parse takes a C
 * string; conf_load refuses a file with a NUL before it gets there).
 * Exactly one of a config and a cause must come back.  A config that was
 * accepted must keep conf.h's promises: at least one job type, absolute
 * paths, argv[0] absolute, names by the name rule, field bounds in order
 * and a default within them, unique step ids, and the lookups find what
 * the arrays hold.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "xmem.h"

#include "fuzz.h"

#define FUZZ_BASE_DIR "/srv/longjob"	/* relative paths resolve below it */

/* 1 if s is a name: 1 to 64 of [A-Za-z0-9_-]. */
static int
fuzz_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
	    == n;
}

/* Checks one accepted form field. */
static void
fuzz_field(const struct config_type *t, const struct config_field *f)
{
	long long x;

	FUZZ_CHECK(fuzz_name_ok(f->name) && f->label != NULL);
	FUZZ_CHECK(conf_field_find(t, f->name) == f);
	switch (f->kind) {
	case FIELD_FILE:
		FUZZ_CHECK(f->def == NULL);
		FUZZ_CHECK(f->max_bytes >= 1 && f->max_bytes <= t->max_body);
		break;
	case FIELD_INT:
		FUZZ_CHECK(f->min <= f->max);
		if (f->def != NULL) {
			x = strtoll(f->def, NULL, 10);
			FUZZ_CHECK(x >= f->min && x <= f->max);
		}
		break;
	case FIELD_STRING:
		FUZZ_CHECK(f->min >= 0 && f->min <= f->max);
		FUZZ_CHECK(f->def == NULL ||
		    (long long)strlen(f->def) >= f->min);
		break;
	default:
		FUZZ_CHECK(!"unknown field kind");
	}
}

/* Checks one accepted job type. */
static void
fuzz_type(const struct config *c, const struct config_type *t)
{
	size_t i, j;

	FUZZ_CHECK(fuzz_name_ok(t->name));
	FUZZ_CHECK(conf_type_find(c, t->name) == t);
	FUZZ_CHECK(t->argv != NULL && t->argv[0] != NULL &&
	    t->argv[0][0] == '/');
	for (i = 0; t->argv[i] != NULL; i++)
		FUZZ_CHECK(*t->argv[i] != '\0');
	FUZZ_CHECK(i <= 64);
	FUZZ_CHECK(t->timeout_s >= 1 && t->max_body >= 1024);
	FUZZ_CHECK(t->max_steps >= 1 && t->max_steps <= 1000 &&
	    t->nsteps <= (size_t)t->max_steps);
	for (i = 0; i < t->nfields; i++)
		fuzz_field(t, &t->fields[i]);
	for (i = 0; i < t->nsteps; i++) {
		FUZZ_CHECK(fuzz_name_ok(t->steps[i].id));
		FUZZ_CHECK(conf_step_find(t, t->steps[i].id) == &t->steps[i]);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(t->steps[j].id, t->steps[i].id) != 0);
	}
}

/* Checks an accepted config. */
static void
fuzz_config(const struct config *c)
{
	size_t i;

	FUZZ_CHECK(c->database[0] == '/' && c->spool[0] == '/' &&
	    c->worker[0] == '/');
	FUZZ_CHECK(c->page_url != NULL && c->progress_url != NULL &&
	    c->result_url != NULL);
	FUZZ_CHECK(c->max_running >= 1 && c->max_queued >= 1 &&
	    c->poll_ms >= 20 && c->max_body >= 1024);
	FUZZ_CHECK(c->allowed_origins != NULL);
	for (i = 0; c->allowed_origins[i] != NULL; i++)
		FUZZ_CHECK(strncmp(c->allowed_origins[i], "http", 4) == 0);
	FUZZ_CHECK(c->ntypes >= 1);
	for (i = 0; i < c->ntypes; i++)
		fuzz_type(c, &c->types[i]);
	FUZZ_CHECK(conf_type_find(c, "") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = xstrndup((const char *)data, size), *cause = NULL;
	struct config *c;

	c = conf_parse(json, FUZZ_BASE_DIR, &cause);
	if (c != NULL) {
		FUZZ_CHECK(cause == NULL);
		fuzz_config(c);
	} else
		FUZZ_CHECK(cause != NULL && *cause != '\0');
	conf_free(c);
	free(cause);
	free(json);
	return 0;
}
