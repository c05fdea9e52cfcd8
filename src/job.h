/*
 * job: one job as the programs see it (a row of the store's jobs table,
 * read by store_job_get or store_job_snapshot), and a change to it (what
 * the worker or a cancel writes with store_job_change).
 *
 * Ownership: the strings in struct job are owned by it; job_clear frees
 * them.  The strings in struct job_change are borrowed from the caller.
 */
#ifndef LONGJOB_JOB_H
#define LONGJOB_JOB_H

#include <stdint.h>

#include "jobid.h"

struct job {
	char id[JOBID_LEN + 1];
	char *type;
	char *state;
	double progress;
	char *step;		/* current step id, or NULL */
	char *message;
	double eta_s;		/* < 0: unknown */
	double created, started, heartbeat, finished;	/* unix time, 0 = not yet */
	long worker_pid;
	char *params;		/* JSON object given to the handler */
	char *steps;		/* JSON array [{id,label,status,started,finished}] */
	char *result;		/* JSON object or NULL */
	char *error;		/* text or NULL */
	int64_t last_seq;	/* largest event seq of this job (snapshot reads) */
	int64_t queue_position;	/* 1-based among queued jobs (snapshot reads), else 0 */
	/* The worker's own record of a running job (runner.h). */
	int64_t out_offset;	/* its output is recorded up to here */
	int out_skip;		/* ... which is inside a cut line, skipped to its end */
	char *out_result;	/* the result line so far, or NULL */
	int log_count, log_dropped, steps_refused;
	long keeper_pid;	/* its keeper (keep.h), 0 before it starts */
	int64_t keeper_start;	/* the keeper's start time (proc.h), to tell it from a stranger */
	char *host;		/* the host that runs or ran it (store_set_host), or NULL */
	int attempts;		/* runs before this one (a lost host's job run again) */
};

/*
 * What a worker changes in one transaction; NULL / NAN / 0 mean
 * "unchanged", and -1 for the worker's own record (out_offset to worker_pid).
 */
struct job_change {
	const char *state;
	double progress;
	const char *message;
	const char *step;
	double eta_s;
	const char *steps;
	const char *result;
	const char *error;
	int started, finished, heartbeat;	/* set that timestamp to now */
	const char *event_kind;	/* an event to append, or NULL */
	const char *event_json;
	int64_t out_offset;
	int out_skip;
	const char *out_result;
	int log_count, log_dropped, steps_refused;
	long keeper_pid;
	int64_t keeper_start;
	long worker_pid;
	/*
	 * A progress update whose job row may wait (store.h, "Rows that
	 * wait"): the store may write only its event, with out_offset in it.
	 */
	int defer_row;
};

/* Initialises an empty job (no strings, progress 0, ETA unknown). */
void job_init(struct job *j);
/* Frees the job's strings and initialises it again. */
void job_clear(struct job *j);
/* Initialises a change with everything "unchanged". */
void job_change_init(struct job_change *c);

#endif
