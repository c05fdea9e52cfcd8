/*
 * lease: at most one worker per spool (and so per store) on a host.
 *
 * DESIGN.  The worker holds an open-file-description write lock (F_OFD_SETLK)
 * on <spool>/.worker for as long as it lives.  The kernel drops the lock the
 * moment the worker exits or is killed, so whether a worker runs is known
 * exactly and at once, with no heartbeat to miss: a worker that is only
 * slow (its store busy, its machine loaded) still holds it and is never
 * taken for dead.  Anyone may ask (F_OFD_GETLK takes nothing): submit
 * before it starts a worker, progress and result now and then, to start one
 * for running jobs whose worker was lost.  Two workers started together:
 * one gets the lock, the other sees it taken and exits.
 */
#ifndef LONGJOB_LEASE_H
#define LONGJOB_LEASE_H

/* The lease file's name inside the spool. */
#define LEASE_FILE ".worker"

/*
 * Takes the lease: its descriptor (held until lease_drop or exit), -2 if
 * another process holds it, -1 on an error (logged).
 */
int lease_take(const char *spool);
/* The same for another lock file of the spool's (revive.h's). */
int lease_take_file(const char *spool, const char *name);
/* 1 if some process holds the lease, 0 if none does, -1 on an error (logged). */
int lease_held(const char *spool);
/*
 * The same through a descriptor of the lease file kept open, for one who
 * asks often.  lease_open: -1 if there is no lease file yet (errno ENOENT)
 * or on an error (logged).
 */
int lease_open(const char *spool);
int lease_held_fd(int fd);
/* Gives the lease up. */
void lease_drop(int fd);

#endif
