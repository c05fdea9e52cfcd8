/*
 * oversee: whoever notices jobs that need a worker starts one.
 *
 * submit starts the worker after it queues a job, unless one already holds
 * the lease (lease.h), in which case the job's commit wakes it (it watches
 * the store).  progress, result and the longjob command look every few
 * seconds (oversee_check): jobs queued or running and no worker means the
 * worker was lost (killed, or its host's memory ran out); a new one adopts
 * the running jobs, whose handlers went on under their keepers (keep.h).
 * Only when no worker can be started at all are running jobs failed as
 * "worker lost", so that no stream waits for ever.  The keepers of running
 * jobs look too (revive.h), so that a host nobody asks anything gets its
 * worker back.  Only the spool's owner looks: root running `longjob list`
 * must not start a worker as root on a host whose store belongs to the web
 * server's user.
 */
#ifndef LONGJOB_OVERSEE_H
#define LONGJOB_OVERSEE_H

struct config;
struct store;

/* How often progress and result look (oversee_check). */
#define OVERSEE_MS 5000

/*
 * The environment a worker is started with: PATH, and those of the
 * debugging and sanitizer variables this process has.  NULL-terminated;
 * free it with xfree_strings.
 */
char **oversee_worker_env(void);
/*
 * Starts a detached worker (it exits at once if another holds the lease).
 * -1 if it cannot be started: the cause is logged, and handed back in
 * *cause (the caller frees) unless cause is NULL.
 */
int oversee_start(const struct config *cfg, char **cause);
/*
 * On a store several hosts share: ends (or queues again, types.<name>
 * .retries) the running jobs of hosts that are lost (no worker heartbeat
 * for host_lease_s).  How many jobs, or -1.
 */
int oversee_hosts(const struct config *cfg, struct store *st);
/*
 * Starts a worker if jobs are queued or running and none holds the lease;
 * if none can be started, fails the running jobs.  1 if it started one,
 * 0 if none was needed, -1 on an error.
 */
int oversee_check(const struct config *cfg, struct store *st);

#endif
