/*
 * intake: the submit program.  POST <submit>/<type> with a form
 * (urlencoded or multipart with uploads) becomes a queued job, a detached
 * worker, and an answer at once: 303 to the job page for a browser, 202
 * with {id, progress_url, result_url, page_url} for Accept: application/json.
 * A form with the field INTAKE_NOJS gets a 303 to the result page instead:
 * the demo forms put it inside <noscript>, so that without JavaScript the
 * answer is a page that waits for the job and shows its result.
 *
 * Nothing half is left behind: the job's directory and uploads are removed
 * when the request is refused, and the job row is inserted last, so a job
 * that was acknowledged exists and one that was refused does not.
 */
#ifndef LONGJOB_INTAKE_H
#define LONGJOB_INTAKE_H

#include "jobid.h"

/* The form field that asks for the result page as the answer (see above). */
#define INTAKE_NOJS "_nojs"

struct config;
struct config_type;
struct instance;
struct loop_ops;
struct store;

/* The submit program: its state over an instance, and its loop callbacks. */
void *intake_open(struct instance *in);
void intake_close(void *ctx);
extern const struct loop_ops intake_ops;
/*
 * Queues a validated job and starts a worker for it.  0 queued, 1 refused
 * because the queue is full, 2 failed because no worker could be started
 * (logged; the job ends failed with the cause), 3 refused because client
 * (an address, or NULL: not counted) has max_jobs_per_client jobs queued
 * or running, -1 on a store error.  Shared with `longjob submit`.
 */
int intake_enqueue(const struct config *cfg, struct store *st, const char *id,
    const struct config_type *t, const char *params, const char *client);
/* Creates the job's spool directory (and the spool itself) owner-only; *path is allocated. */
int intake_job_dir(const struct config *cfg, const char *id, char **path);
/* Removes a job directory and everything in it (symlinks are not followed). */
void intake_remove_dir(const char *path);
/*
 * Cancels a job (see store_job_cancel) and tells the keeper of a running
 * one to stop its handler now.  0 cancelled, 1 already ended, 2 no such
 * job, -1 store error.  Shared with `longjob cancel`.
 */
int intake_cancel(const struct config *cfg, struct store *st, const char *id);

#endif
