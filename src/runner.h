/*
 * runner: one running job as the worker sees it: its keeper (keep.h), the
 * handler's output read from the keeper's file, and what that output
 * becomes in the store.
 *
 * DESIGN.  The handler's protocol lines (proto.h) become changes that go
 * into the worker's batch (batch.h), in the order the handler printed them:
 *
 *   progress  kept pending and added at most every progress_interval_ms
 *             (the latest wins); any other line adds the pending progress
 *             first, so the order of what is shown is the handler's;
 *   step      closes the running step and starts this one; at most
 *             max_steps steps (past them, one log line says so); a step's
 *             label is the config's, else its step line's, else its id;
 *   log       one event per line, at most log_lines per job;
 *   file      recorded as an artifact if it names a regular file in the
 *             job's directory (beneath.h);
 *   result    kept (the last wins) and shown once the job succeeds.
 *
 * Exactly once, across workers.  With every batch the run's position is
 * written too: the offset in the output file just past the last line whose
 * effect is in the store (before a pending progress line, which is read
 * again if the worker dies), whether that offset is inside a cut line
 * (tail.h), the log and step counts, and the result line so far.  A worker
 * that adopts the job (runner_adopt) starts from there, so no line is lost
 * or recorded twice.  Once committed, the offset is handed to the keeper
 * (keep_ack_set), which may then write further, and the file's blocks
 * behind it are freed.
 *
 * The job ends when the keeper's <id>.exit appears: the rest of the output
 * is read, and the end recorded: exit 0 is succeeded with the result, any
 * other end failed with the tail of stderr (or "timed out after N s", or
 * "killed by signal N").  A keeper gone with no .exit (killed) fails the
 * job.  The timeout and a cancel send the keeper SIGTERM; it stops the
 * handler's processes itself, so they are stopped even if this worker dies.
 */
#ifndef LONGJOB_RUNNER_H
#define LONGJOB_RUNNER_H

#include <stdint.h>

struct batch;
struct config;
struct job;
struct run;
struct store;

/*
 * Starts a job just claimed (j as store_job_snapshot reads it): writes its
 * input, starts its keeper with stderr to log_fd.  NULL if it cannot start:
 * its failed end is then in the batch.
 */
struct run *runner_start(const struct config *cfg, struct store *st, struct batch *b,
    const struct job *j, int log_fd);
/*
 * Takes over a running job that another worker started (j as
 * store_job_running reads it).  Never NULL: a job whose keeper is gone
 * is ended (from its .exit if the handler finished, else failed).
 */
struct run *runner_adopt(const struct config *cfg, struct store *st, struct batch *b,
    const struct job *j);
const char *runner_id(const struct run *r);
const char *runner_type(const struct run *r);
/* 1 while its handler has ended but its end waits (a shared store that is away). */
int runner_finishing(const struct run *r);
/* The keeper's pidfd (readable once it has exited), or -1. */
int runner_pidfd(const struct run *r);
/*
 * Reads at most max bytes of new output and adds what its lines say to the
 * batch: 1 if there may be more to read now, else 0.
 */
int runner_read(struct run *r, struct batch *b, long max);
/* The worker reads no output for now: asks the keeper to hold the handler if it is too far ahead (keep.h). */
void runner_behind(struct run *r);
/* Looks for the handler's end (.exit, or the keeper gone) and records it. */
void runner_check_end(struct run *r, struct batch *b);
/* When its pending progress is due (loop_now_ms), or LLONG_MAX if none is pending. */
long long runner_due(const struct run *r);
/* Timers (pending progress, the timeout): milliseconds until the next one. */
long runner_tick(struct run *r, struct batch *b, long long now_ms);
/* Before a commit: adds the run's position to the batch if it moved. */
void runner_position(struct run *r, struct batch *b);
/* After that commit: the keeper may write further; the end, if any, is recorded. */
void runner_committed(struct run *r);
/*
 * The store found the disk full: a keeper that goes without its .exit
 * from now on is taken to have died of it (the job's error says so).
 */
void runner_disk_was_full(struct run *r);
/* The job ended elsewhere (a cancel): its keeper stops the handler, nothing more is recorded. */
void runner_stop(struct run *r);
/* 1 once the job's end is committed (or it ended elsewhere): free it. */
int runner_done(const struct run *r);
/* 1 if the run has a change its next position must carry (see runner_position). */
int runner_moved(const struct run *r);
/* Frees the run; a done run's files in the run directory go too. */
void runner_free(struct run *r);

#endif
