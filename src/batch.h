/*
 * batch: the changes a worker has gathered from all its jobs, written to
 * the store together in one transaction.
 *
 * DESIGN.  One transaction per job change made every running job pay for
 * a commit of its own (bench/README.md: about 3,000 commits a second on two
 * cores was the knee, and past it jobs failed).  The worker instead adds
 * every change to one batch, in the order it read them, and commits the
 * batch at most every BATCH_MS, or as soon as it holds BATCH_MAX items.
 * A change after a quiet spell is committed at once: the interval bounds
 * the commits a second, it is not a delay every change must wait out
 * (waiting BATCH_MS from the first change made every update of a host
 * reporting once a second BATCH_MS late: bench/README.md).  The store may
 * write the items only at the commit (PostgreSQL: every job's changes
 * merged in one statement, the events in another), so they stay as they are
 * until then.  A change for a job that has ended meanwhile (a cancel)
 * writes nothing, and the job is reported, so that its handler is stopped
 * (its files' names are kept: only a succeeded job's are served).  A batch
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

/*
 * The least time between two commits, and the most a change waits for one
 * (ms).  bench/README.md, 10,000 streams on 1,000 jobs at 1/s: 20 ms gave
 * p50 17 ms end to end and the worker 9.0 % of a core; 10 ms p50 9 ms for
 * 11.1 %.
 */
#define BATCH_MS 10
/* A batch this large is committed at once. */
#define BATCH_MAX 4000
/* Past this many items (commits failing), no more output is read. */
#define BATCH_FULL 50000

struct store;
struct batch_item;

struct batch {
	struct batch_item *items;
	size_t n, cap;
	long long last_ms;	/* when the last commit was made (0: none yet) */
	int touched;		/* a job's position moved, with no item yet */
	unsigned long gen;	/* counts the times the batch was emptied */
};

/* Where an item is: valid while the batch's gen is unchanged. */
struct batch_mark {
	size_t i;
	unsigned long gen;
};

void batch_init(struct batch *b);
/* Adds a change of job id; *at (if not NULL) says where it is. */
void batch_change(struct batch *b, const char *id, const struct job_change *c,
    struct batch_mark *at);
/*
 * Writes a job's position (out_*, log_*, steps_refused of pos) into its
 * change at `at`, when that is still in this batch: one statement fewer
 * per job and commit (the store writes both in one UPDATE).  0 if it is
 * not there (the caller adds the position as a change of its own).
 */
int batch_amend_position(struct batch *b, const struct batch_mark *at, const char *id,
    const struct job_change *pos);
/* Adds an artifact of job id. */
void batch_artifact(struct batch *b, const char *id, const char *name, const char *ctype);
/*
 * Notes that a job's position moved without a change (output skipped or
 * dropped): the batch is then due like one holding an item, so that the
 * position is committed and the keeper may write on.
 */
void batch_touch(struct batch *b);
/* 1 if the batch is due: it holds something, and the last commit is old enough or it is large. */
int batch_due(const struct batch *b, long long now_ms);
/* When a batch holding something is due (ms). */
long long batch_due_at(const struct batch *b);
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
