/*
 * runner: runs one claimed job from start to its final state.
 *
 * DESIGN.  The handler runs in the job's spool directory, in its own
 * process group, with the job's parameters as JSON on stdin (a file, so a
 * large input can never block on a pipe) and the protocol of proto.h on
 * stdout.  The runner turns protocol lines into store changes:
 *
 *   progress  kept in memory and written at most every progress_interval_ms
 *             (a handler printing 100,000 lines gives a few rows a second);
 *   step      the pending progress is written first, then the step change;
 *             at most max_steps steps (past them, one log line says so); a
 *             step's label is the config's, else its step line's, else its id;
 *   log       one event per line, at most log_lines per job;
 *   file      recorded as an artifact if it is a regular file in the directory;
 *   result    kept; the last one wins.
 *
 * It writes a heartbeat every few seconds (so a lost worker is noticed),
 * enforces the type's timeout (SIGTERM to the group, SIGKILL after a grace
 * period), and records the end: exit 0 is succeeded with the result, any
 * other end is failed with the tail of stderr as the error.  If the store
 * says the job already ended (cancelled or reaped elsewhere) the handler is
 * stopped and nothing more is written.
 *
 * The job ends when the handler process exits, not when its stdout and
 * stderr close: a child it leaves behind may hold them for ever.  Its exit
 * wakes the poll through a pidfd (no SIGCHLD handler, so no race between a
 * signal and poll(), and no wake-up for the exit of some other child).  Then
 * what it wrote is drained from the pipes without waiting for EOF, its
 * group and its orphans get SIGTERM, the end is recorded, and only then
 * does the runner wait out the grace period, if anything is left, and send
 * SIGKILL (spawn.h: orphans that left the group are found too).
 */
#ifndef LONGJOB_RUNNER_H
#define LONGJOB_RUNNER_H

struct config;
struct store;

/*
 * Makes SIGUSR1 wake the runner: it then asks the store at once whether its
 * job was cancelled (instead of at the next heartbeat).  The worker calls it.
 */
void runner_signals(void);
/* Runs the job (already claimed: state running); 0, or -1 on a store failure. */
int runner_run(const struct config *cfg, struct store *st, const char *id);

/* How often the worker proves it is alive, and when silence means it is lost. */
#define RUNNER_HEARTBEAT_S 5
#define RUNNER_STALE_S 30
/* How many times a write that found the store busy (10 s each) is tried again. */
#define RUNNER_BUSY_TRIES 6

#endif
