/*
 * wake: learns that a job wrote to the store as soon as it happens.
 *
 * DESIGN.  progress and result read the store once a tick (poll_ms, 200 ms
 * by default), so an event waits on average half a tick before anyone reads
 * it.  Every write by a worker appends to the database's WAL file, so an
 * inotify watch on that file (IN_MODIFY) says "something was written" within
 * microseconds; the loop then brings its next tick forward (loop_wake_on),
 * no sooner than WAKE_MIN_MS after the last one.  Not sooner, because a read
 * is not free when many workers hold the database open (each read takes
 * POSIX locks on the WAL index, and the kernel walks every process's lock):
 * bench/run measured 1,000 running jobs' heartbeats alone (200 commits a
 * second) costing the idle progress process 1.2 % of a core at 20 ms
 * (the POSIX-lock cost is a guess from the same run's perf of the workers).
 * The tick stays as the fallback: where inotify is missing or out of
 * instances, or the WAL is replaced, nothing but latency changes.  With no
 * job running it costs nothing: no write, no wake-up.
 */
#ifndef LONGJOB_WAKE_H
#define LONGJOB_WAKE_H

/* The least time between two reads brought forward by writes. */
#define WAKE_MIN_MS 50

/*
 * A non-blocking descriptor that becomes readable when the database at
 * db_path (in WAL mode, opened by the caller) is written; -1 if there is
 * none to be had (said in the log at debug level: polling is the fallback).
 */
int wake_open(const char *db_path);

#endif
