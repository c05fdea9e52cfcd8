/*
 * keep: what a running job leaves where a worker, this one or the next,
 * can find it, and the keeper process that writes it.
 *
 * DESIGN.  One worker per host runs every job (worker.c), so its death must
 * not take the jobs with it.  Each handler therefore runs under a keeper
 * (longjob-keeper, keeper.c): a small process the worker starts in a
 * process group of its own and without a parent-death signal, so that it
 * outlives a worker killed with -9.  The keeper
 *
 *   - runs the handler as its child, in the handler's own process group,
 *     with PR_SET_PDEATHSIG (a keeper killed with -9 takes its handler
 *     along), and is the subreaper of everything the handler starts;
 *   - gives the handler <id>.out, opened for appending, as its stdout: the
 *     worker reads it from the offset it last committed to the store, so a
 *     line is recorded exactly once whichever worker reads it, and nobody
 *     copies it on the way (the keeper sleeps while its handler prints);
 *   - stops the handler's group (SIGSTOP) when .out is more than
 *     KEEP_LAG_MAX ahead of <id>.ack (the committed offset, 8 bytes the
 *     worker updates through a shared mapping), and lets it go on
 *     (SIGCONT) at half of that: it looks when the worker asks (SIGUSR1,
 *     sent when the worker sees the lag pass the cap) and every few seconds
 *     on its own, for a worker that is gone; so the file holds at most
 *     about that much unread, and the worker frees the disk behind what it
 *     committed (a hole punched);
 *   - keeps the last KEEP_ERR_TAIL bytes of stderr;
 *   - when the handler exits, drains its stderr pipe, writes <id>.exit
 *     (status, stderr tail and the size of .out then, past which the
 *     worker reads nothing; renamed into place, so it is whole or absent), then
 *     stops what is left of its group and orphans (SIGTERM, SIGKILL after
 *     KEEP_GRACE_MS) and exits;
 *   - on SIGTERM (a cancel, a timeout: the worker's), sends SIGTERM to the
 *     handler's group and orphans, and SIGKILL KEEP_GRACE_MS later.
 *   - while the handler runs, starts a worker when none holds the lease
 *     (revive.h), so that a host nobody asks anything gets one back.
 *
 * All three files live in the spool's run directory (KEEP_DIR, owner-only),
 * named after the job id.  The worker creates .out and .ack before it
 * starts the keeper (keep_prepare) and removes them once the job's end is
 * committed (keep_remove).
 */
#ifndef LONGJOB_KEEP_H
#define LONGJOB_KEEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The run directory's name inside the spool. */
#define KEEP_DIR ".run"
/* How far the keeper may write ahead of what the worker committed. */
#define KEEP_LAG_MAX (1024 * 1024)
/* Between SIGTERM and SIGKILL. */
#define KEEP_GRACE_MS 5000
/* Bytes of stderr kept for the job's error message. */
#define KEEP_ERR_TAIL 2048

/* How a handler ended, as the keeper recorded it in <id>.exit. */
struct keep_exit {
	long pid;		/* the handler's pid */
	int code;		/* its exit status, or -1 if a signal ended it */
	int signal;		/* the signal that ended it, or 0 */
	long long out;		/* the size of <id>.out when its exit was seen; -1: not said */
	size_t err_len;
	char err[KEEP_ERR_TAIL + 1];	/* the tail of its stderr, NUL-terminated */
};

/* The committed offset, shared between the worker (writes) and the keeper (reads). */
struct keep_ack;

/* <rundir>/<id><suffix>, allocated. */
char *keep_path(const char *rundir, const char *id, const char *suffix);
/*
 * Creates the run directory if needed, an empty <id>.out, an <id>.ack
 * holding 0 and <id>.exit.tmp with the room for the largest .exit (so that
 * it can be written on a full disk), and removes any old <id>.exit: 0, or
 * -1 (logged; on a full disk the job cannot start).
 */
int keep_prepare(const char *rundir, const char *id);
/* Maps <id>.ack shared (writable or not); NULL if it cannot (logged). */
struct keep_ack *keep_ack_map(const char *rundir, const char *id, int writable);
int64_t keep_ack_get(const struct keep_ack *a);
void keep_ack_set(struct keep_ack *a, int64_t offset);
void keep_ack_unmap(struct keep_ack *a);
/* Writes <id>.exit whole or not at all (a temporary file renamed); 0 or -1 (logged). */
int keep_exit_write(const char *rundir, const char *id, const struct keep_exit *e);
/* Reads <id>.exit: 0, 1 if there is none (yet), -1 if it cannot be read or parsed. */
int keep_exit_read(const char *rundir, const char *id, struct keep_exit *e);
/* Removes the job's three files (those that exist). */
void keep_remove(const char *rundir, const char *id);

#endif
