/*
 * view: the JSON pictures of a job that clients see: the `state` event
 * (everything known about the job at one moment), the `end` event, and
 * the result answer.  Built from a struct job read in one transaction.
 * Every function returns a string the caller frees.
 */
#ifndef LONGJOB_VIEW_H
#define LONGJOB_VIEW_H

struct job;

/* The data of a `state` event. */
char *view_state(const struct job *j);
/* The data of an `end` event (state plus result or error). */
char *view_end(const struct job *j);
/* 1 if a state name is final (succeeded, failed, cancelled). */
int view_state_final(const char *state);
/* ETA in seconds from progress and the time since start; < 0 when unknown. */
double view_eta(double progress, double started, double now);

#endif
