/* batch: many jobs' changes in one transaction.  See batch.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "jobid.h"
#include "loop.h"
#include "store.h"
#include "xmem.h"

struct batch_item {
	char id[JOBID_LEN + 1];
	struct job_change c;	/* its strings owned */
	char *name, *ctype;	/* an artifact instead of a change */
};

void
batch_init(struct batch *b)
{
	memset(b, 0, sizeof *b);
}

/* A copy of s, or NULL. */
static char *
batch_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The next free item, zeroed. */
static struct batch_item *
batch_next(struct batch *b, const char *id)
{
	struct batch_item *it;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->items = xrealloc(b->items, b->cap * sizeof *b->items);
	}
	it = &b->items[b->n++];
	memset(it, 0, sizeof *it);
	snprintf(it->id, sizeof it->id, "%s", id);
	return it;
}

void
batch_change(struct batch *b, const char *id, const struct job_change *c,
    struct batch_mark *at)
{
	struct batch_item *it = batch_next(b, id);

	if (at != NULL) {
		at->i = b->n - 1;
		at->gen = b->gen;
	}
	it->c = *c;
	it->c.state = batch_dup(c->state);
	it->c.message = batch_dup(c->message);
	it->c.step = batch_dup(c->step);
	it->c.steps = batch_dup(c->steps);
	it->c.result = batch_dup(c->result);
	it->c.error = batch_dup(c->error);
	it->c.event_kind = batch_dup(c->event_kind);
	it->c.event_json = batch_dup(c->event_json);
	it->c.out_result = batch_dup(c->out_result);
}

int
batch_amend_position(struct batch *b, const struct batch_mark *at, const char *id,
    const struct job_change *pos)
{
	struct batch_item *it;

	if (at->gen != b->gen || at->i >= b->n)
		return 0;
	it = &b->items[at->i];
	if (it->name != NULL || strcmp(it->id, id) != 0)
		return 0;
	it->c.out_offset = pos->out_offset;
	it->c.out_skip = pos->out_skip;
	free((char *)it->c.out_result);
	it->c.out_result = batch_dup(pos->out_result);
	it->c.log_count = pos->log_count;
	it->c.log_dropped = pos->log_dropped;
	it->c.steps_refused = pos->steps_refused;
	return 1;
}

void
batch_artifact(struct batch *b, const char *id, const char *name, const char *ctype)
{
	struct batch_item *it = batch_next(b, id);

	job_change_init(&it->c);
	it->name = xstrdup(name);
	it->ctype = xstrdup(ctype);
}

void
batch_touch(struct batch *b)
{
	if (b->n > 0 || b->touched)
		return;
	b->touched = 1;
}

int
batch_due(const struct batch *b, long long now_ms)
{
	return (b->n > 0 || b->touched) && (b->n >= BATCH_MAX || now_ms >= batch_due_at(b));
}

long long
batch_due_at(const struct batch *b)
{
	return b->last_ms + BATCH_MS;
}

/* Frees one item's strings. */
static void
batch_item_free(struct batch_item *it)
{
	free((char *)it->c.state);
	free((char *)it->c.message);
	free((char *)it->c.step);
	free((char *)it->c.steps);
	free((char *)it->c.result);
	free((char *)it->c.error);
	free((char *)it->c.event_kind);
	free((char *)it->c.event_json);
	free((char *)it->c.out_result);
	free(it->name);
	free(it->ctype);
}

/* Writes item i inside the transaction: 0, or -1. */
static int
batch_write(struct batch *b, struct store *st, size_t i)
{
	struct batch_item *it = &b->items[i];

	if (it->name != NULL)
		return store_artifact_add(st, it->id, it->name, it->ctype);
	return store_batch_change(st, it->id, &it->c);
}

/* Empties the batch. */
static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		batch_item_free(&b->items[i]);
	b->n = 0;
	b->touched = 0;
	b->gen++;
}

int
batch_commit(struct batch *b, struct store *st,
    void (*ended)(void *, const char *), void *ctx)
{
	size_t i;
	int rc = 0;

	if (b->n == 0) {
		b->touched = 0;
		return 0;
	}
	if (store_batch_begin(st) != 0)
		return -1;
	for (i = 0; i < b->n && rc == 0; i++)
		rc = batch_write(b, st, i);
	if (rc != 0) {
		store_batch_abort(st);
		return -1;
	}
	/* The items stay as they are until here: the store may write them only now. */
	if (store_batch_commit(st, ended, ctx) != 0)
		return -1;
	batch_clear(b);
	b->last_ms = loop_now_ms();
	return 0;
}

void
batch_free(struct batch *b)
{
	batch_clear(b);
	free(b->items);
	batch_init(b);
}
