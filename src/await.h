/*
 * await: the result program.  GET <result>/<id> waits until the job has
 * ended, then answers with its result: JSON by default, an HTML page for a
 * browser (so the flow works with JavaScript off), and GET
 * <result>/<id>/<name> answers with one of the job's artifact files, so an
 * <img src> simply appears when a render finishes.
 *
 * Like the progress program, every waiting request is kept in one process
 * and one query per tick (only when the store changed) looks for `end`
 * events; the waiting requests of those jobs are answered.
 */
#ifndef LONGJOB_AWAIT_H
#define LONGJOB_AWAIT_H

struct config;
struct store;
struct await;
struct loop_ops;

struct await *await_new(const struct config *cfg, struct store *st);
void await_free(struct await *a);
extern const struct loop_ops await_ops;

#endif
