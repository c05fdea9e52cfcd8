/*
 * watch: follows a job from the store and shows its progress in a
 * terminal: a redrawn bar (percent, step, message, ETA) when the output is
 * a terminal, one plain line per update otherwise (logs, pipes, CI).
 */
#ifndef LONGJOB_WATCH_H
#define LONGJOB_WATCH_H

#include <stdio.h>

struct store;

/* Follows the job until it ends; 0 if it succeeded, 1 if not, 2 on errors. */
int watch_job(struct store *st, const char *id, FILE *out, int tty, int poll_ms);

#endif
