/*
 * batch: the changes a worker has gathered from all its jobs, written to
 * the store together in one transaction.
 *
 * DESIGN.  One transaction per job change made every running job pay for
 * a commit of its own (bench/README.md: about 3,000 commits a second on two
 * cores was the knee, and past it jobs failed).  The worker instead adds
 * every change to one batch, in the order it read them, and commits the
 * batch every BATCH_MS or as soon as it holds BATCH_MAX items.  A change
 * for a job that has ended meanwhile (a cancel) is skipped with the rest of
 * that job's items, and reported, so that its handler is stopped.  A batch
 * that could not be committed is kept whole and tried again; while it
 * waits, the worker reads no more output (BATCH_FULL), so the keepers hold
 * the handlers back instead of the worker's memory growing.
 *
 * Ownership: the batch copies every string it is given.
 */
#ifndef LONGJOB_BATCH_H
#define LONGJOB_BATCH_H

#include <stddef.h>

#include "job.h"

/* How long a change may wait for its commit, in milliseconds. */
#define BATCH_MS 20
/* A batch this large is committed at once. */
#define BATCH_MAX 4000
/* Past this many items (commits failing), no more output is read. */
#define BATCH_FULL 50000

struct store;
struct batch_item;

struct batch {
	struct batch_item *items;
	size_t n, cap;
	long long first_ms;	/* when the oldest item was added (or it was touched) */
	int touched;		/* a job's position moved, with no item yet */
};

void batch_init(struct batch *b);
/* Adds a change of job id. */
void batch_change(struct batch *b, const char *id, const struct job_change *c);
/* Adds an artifact of job id. */
void batch_artifact(struct batch *b, const char *id, const char *name, const char *ctype);
/*
 * Notes that a job's position moved without a change (output skipped or
 * dropped): the batch is then due like one holding an item, so that the
 * position is committed and the keeper may write on.
 */
void batch_touch(struct batch *b);
/* 1 if the batch is due: old or large enough. */
int batch_due(const struct batch *b, long long now_ms);
/*
 * Writes every item in one transaction and empties the batch: 0, or -1
 * (the batch is kept).  ended(ctx, id) is called after the commit for each
 * job whose row had already ended.
 */
int batch_commit(struct batch *b, struct store *st,
    void (*ended)(void *, const char *), void *ctx);
/* Frees every item. */
void batch_free(struct batch *b);

#endif
