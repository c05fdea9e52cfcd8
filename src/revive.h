/*
 * revive: a keeper whose worker is gone starts another.
 *
 * DESIGN.  A worker killed with -9 leaves its jobs running under their
 * keepers (keep.h); a new worker adopts them.  progress, result, submit and
 * the longjob command start one when they notice (oversee.h), but a host
 * nobody asks anything of would wait: on a store several hosts share,
 * another host would then take its jobs for lost after host_lease_s,
 * although their handlers run.  So the keepers look too.
 *
 * Every REVIVE_LOOK_MS each keeper asks whether a worker holds the lease
 * (lease.h: one fcntl on a descriptor kept open; a thousand keepers cost
 * 200 calls a second).  When none does, the keeper that takes the lock on
 * <spool>/REVIVE_FILE (an OFD lock, never waited for) starts a worker
 * detached, and holds the lock until the new worker holds the lease or
 * REVIVE_WAIT_MS have passed: the keepers that notice meanwhile find the
 * lock taken, so a thousand keepers start one worker, not a thousand.  One
 * that cannot be started is tried again a look later, by whichever keeper
 * looks first; the cause is in the worker's log.
 *
 * The keeper is a subreaper (spawn.h); spawn_detached turns that off while
 * it starts the worker, which would otherwise become the keeper's child,
 * and be stopped with the job's orphans.  A process of the handler's
 * orphaned in that millisecond goes to init instead of to the keeper.  A
 * keeper that is stopping its job (kill_ms set) no longer looks.
 */
#ifndef LONGJOB_REVIVE_H
#define LONGJOB_REVIVE_H

/* How often each keeper looks. */
#define REVIVE_LOOK_MS 5000
/* How long the keeper that started a worker waits for it to take the lease. */
#define REVIVE_WAIT_MS 10000
/* The lock the starting keeper holds, in the spool. */
#define REVIVE_FILE ".revive"

struct revive;

/*
 * Looks after the worker of spool: argv and envp are the worker's, argv[0]
 * its path (copied).  The first look is due a look from now.
 */
struct revive *revive_new(const char *spool, char *const argv[], char *const envp[],
    long long now_ms);
/*
 * Looks if a look is due at now_ms, and starts a worker if none holds the
 * lease.  Returns when it is next due (milliseconds on the same clock).
 */
long long revive_tick(struct revive *v, long long now_ms);
void revive_free(struct revive *v);

#endif
