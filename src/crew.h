/*
 * crew: the one worker's loop, which runs every job of its host.
 *
 * DESIGN.  One epoll loop watches
 *   - the run directory (inotify): a keeper appended to <id>.out, or
 *     renamed <id>.exit into place;
 *   - each keeper's pidfd: a keeper gone without .exit (killed);
 *   - the store's wake-up (store_wake_fd): someone committed, maybe a new job or a
 *     cancel (asked with store_others_version, so our own commits cost
 *     one tiny query);
 *   - SIGTERM, SIGINT (stop: commit, give up the lease, exit; the keepers
 *     run on and the next worker adopts them) and SIGCHLD (reap keepers).
 * Output is read in slices of CREW_SLICE bytes a job, round-robin, so one
 * chatty handler cannot starve the others; what it says goes into one
 * batch (batch.h), committed every BATCH_MS.  The worker's heartbeat is its
 * own row, every CREW_BEAT_MS, for `longjob status`; its liveness is the
 * lease (lease.h).  It claims queued jobs while fewer than max_running run
 * (and fewer than its type's max_running), and exits after CREW_IDLE_MS
 * with nothing running or queued.
 */
#ifndef LONGJOB_CREW_H
#define LONGJOB_CREW_H

/* Output read per job per turn of the loop. */
#define CREW_SLICE (64 * 1024)
/* The worker's own heartbeat (its row in the store). */
#define CREW_BEAT_MS 5000
/* How long an idle worker waits for new jobs before it exits. */
#define CREW_IDLE_MS 1000
/* Ended jobs past retain_s are removed this often while the worker is busy (and when it leaves). */
#define CREW_GC_MS 1000
/* The store is looked at this often even when nothing wakes the loop. */
#define CREW_POLL_MS 250

struct instance;

/*
 * Runs jobs until idle or told to stop, holding the lease (its descriptor,
 * given up here).  Running jobs that a previous worker left are adopted
 * first.  Returns the exit status.
 */
int crew_run(struct instance *in, int lease_fd);

#endif
