/*
 * watch: follows a job from the store and shows its progress in a
 * terminal: a redrawn bar (percent, step, message, ETA) when the output is
 * a terminal, one plain line per update otherwise (logs, pipes, CI).
 */
#ifndef LONGJOB_WATCH_H
#define LONGJOB_WATCH_H

#include <stdio.h>

struct config;
struct store;

/* watch_job's answer when Ctrl-C stopped the watching (the shell's 128 + SIGINT). */
#define WATCH_INTERRUPTED 130

/*
 * Follows the job until it ends: 0 if it succeeded, 1 if not, 2 on errors.
 * Ctrl-C (SIGINT) stops the watching, not the job: it says on stderr how to
 * cancel the job and answers WATCH_INTERRUPTED.
 */
int watch_job(const struct config *cfg, struct store *st, const char *id, FILE *out,
    int tty, int poll_ms);

#endif
