/*
 * gc: retention.  Ended jobs older than the config's retain_s are deleted
 * with their events, artifacts and spool directory, by `longjob gc` and
 * opportunistically by the worker when it has nothing left to run, so the
 * database and the spool do not grow without bound.
 */
#ifndef LONGJOB_GC_H
#define LONGJOB_GC_H

struct config;
struct store;

/* Deletes ended jobs that finished more than age_s seconds ago; how many, or -1. */
int gc_run(const struct config *cfg, struct store *st, double age_s);

#endif
