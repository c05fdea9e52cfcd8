/*
 * wake: learns that a job wrote to the store as soon as it happens.
 *
 * DESIGN.  progress and result read the store once a tick (poll_ms, 200 ms
 * by default), so an event waits on average half a tick before anyone reads
 * it.  Every write by a worker appends to the database's WAL file, so an
 * inotify watch on that file (IN_MODIFY) says "something was written" within
 * microseconds; the loop then brings its next tick forward (loop_wake_on),
 * no sooner than WAKE_MIN_MS after the last one.  Not sooner, so that a burst
 * of writes costs one read: the one worker of a host commits at most every
 * BATCH_MS (batch.h), so a gap below that reads once per commit.  (With a
 * worker per job, 1,000 running jobs' heartbeats woke progress 200 times a
 * second and the gap was 50 ms; bench/README.md has both measurements.)
 * The tick stays as the fallback: where inotify is missing or out of
 * instances, or the WAL is replaced, nothing but latency changes.  With no
 * job running it costs nothing: no write, no wake-up.
 */
#ifndef LONGJOB_WAKE_H
#define LONGJOB_WAKE_H

/* The least time between two reads brought forward by writes. */
#define WAKE_MIN_MS 10

/*
 * A non-blocking descriptor that becomes readable when the database at
 * db_path (in WAL mode, opened by the caller) is written; -1 if there is
 * none to be had (said in the log at debug level: polling is the fallback).
 */
int wake_open(const char *db_path);

#endif
