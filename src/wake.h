/*
 * wake: learns that a job wrote to the store as soon as it happens.
 *
 * DESIGN.  progress and result read the store once a tick (poll_ms, 200 ms
 * by default), so an event waits on average half a tick before anyone reads
 * it.  Every commit that changes rows touches a file beside the database
 * (store_wake_path), after the commit, so an inotify watch on that file
 * (IN_MODIFY) says "something new is readable" within microseconds; the
 * loop then brings its next tick forward (loop_wake_on), no sooner than
 * WAKE_MIN_MS after the last one, so that a burst of commits costs one
 * read.  The one worker of a host commits at most every BATCH_MS (batch.h).
 * (The watch was on the WAL until December 2026: the WAL is written before
 * the commit is visible, so a reader often woke too early, read nothing, and
 * waited out the gap; and with a worker per job the gap was 50 ms, because
 * 1,000 jobs' heartbeats woke progress 200 times a second.  bench/README.md
 * has the measurements.)
 * The tick stays as the fallback: where inotify is missing or out of
 * instances, or the wake file cannot be made or is replaced, nothing but
 * latency changes.  With no
 * job running it costs nothing: no write, no wake-up.
 */
#ifndef LONGJOB_WAKE_H
#define LONGJOB_WAKE_H

/* The least time between two reads brought forward by writes. */
#define WAKE_MIN_MS 5

/*
 * A non-blocking descriptor that becomes readable when a commit to the
 * database at db_path (opened by the caller, which makes the file) changed rows; -1 if there is
 * none to be had (said in the log at debug level: polling is the fallback).
 */
int wake_open(const char *db_path);

#endif
