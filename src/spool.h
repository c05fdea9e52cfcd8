/*
 * spool: the quota on what the spool holds (max_spool_bytes), so that no
 * client can fill the disk with uploads, and no run of jobs with their
 * files.  Submit asks it before a job is accepted (spool_full) and before
 * each write of an upload (spool_take); a refused upload gives its bytes
 * back (spool_give) when its files are removed.
 *
 * What is counted is the disk the spool's files take (job directories,
 * uploads, handler files), kept as a running total that a scan of the
 * spool sets right every few seconds: see the DESIGN comment in spool.c.
 */
#ifndef LONGJOB_SPOOL_H
#define LONGJOB_SPOOL_H

#include <stddef.h>

struct config;
struct spool;

/*
 * Opens the spool's running total for one request; NULL when there is no
 * quota (max_spool_bytes 0), or when the total cannot be kept (logged: the
 * request then goes on unbounded, as before quotas, and a full disk still
 * answers 507).  Close it with spool_close.
 */
struct spool *spool_open(const struct config *cfg);
void spool_close(struct spool *s);
/* 1 if the spool holds its quota or more (a new job is refused), else 0. */
int spool_full(struct spool *s);
/* Takes n bytes of the quota for an upload about to be written: 0, or 1 (nothing taken) if they do not fit. */
int spool_take(struct spool *s, size_t n);
/* Gives back n bytes taken for uploads that were removed. */
void spool_give(struct spool *s, size_t n);

#endif
