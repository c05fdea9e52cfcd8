/*
 * share: a job's files on hosts that share a store (PostgreSQL).
 *
 * DESIGN.  Each host has its own spool; the store is the only thing the
 * hosts share.  So a job's files go through the store (store_file_put and
 * _get, in parts of 256 KiB): submit copies the uploads of a job into it
 * before the job is queued (whichever host claims the job then finds them),
 * the worker that claims a job fetches the uploads its spool does not have
 * before the handler starts, and copies each file the handler declared into
 * the store before the job's end is written (so that a result request on
 * any host can serve it once the job is over); result fetches a file its
 * spool does not have into the job's directory there, once, and serves it
 * like any other.  The spool of each host is then a cache that retention
 * empties.  What it costs: each upload and result file crosses to the
 * database once, and to each host that serves it once; the limits on
 * uploads (max_body, the fields' max_bytes) and on the spool bound what a
 * job can put there.  A shared spool directory (NFS) was the alternative:
 * it needs nothing in the database, but one more thing to share, and locks
 * (the worker's lease, the waiting slots) that NFS does not keep.
 *
 * On a store one host has alone (SQLite) every call does nothing.
 */
#ifndef LONGJOB_SHARE_H
#define LONGJOB_SHARE_H

struct store;

/* Copies every file of the job's directory dir (its uploads) into the store; 0 or -1. */
int share_uploads(struct store *st, const char *id, const char *dir);
/* Fetches the job's files the directory dir does not have; 0 or -1. */
int share_fetch_all(struct store *st, const char *id, const char *dir);
/*
 * Copies the file the handler declared, spool/<id>/<name>, into the store,
 * opened as result opens it (beneath.h); 0, or -1 with *cause.
 */
int share_artifact(struct store *st, const char *spool, const char *id, const char *name,
    char **cause);
/* Fetches spool/<id>/<name> from the store if it is not there: 0, 1 if the store has none, -1. */
int share_fetch(struct store *st, const char *spool, const char *id, const char *name);

#endif
