/*
 * feed: the progress program.  GET <progress>/<id> is the SSE stream of one
 * job (the contract is in the README, "The event stream").
 *
 * DESIGN: one query per tick for all streams.  Open streams are kept in a
 * table keyed by job id.  Each tick (poll_ms) asks the store's version
 * whether anyone wrote (store.h); if so, ONE query reads every event newer than the
 * last seq seen, in order, and each row is written to the streams watching
 * its job that have not had it yet.  The cost of a tick grows with the
 * events that happened, not with the number of open streams.
 *
 * A new stream is brought up to date on its own: with Last-Event-ID (or
 * ?lastEventId=) it gets that job's events after the id; without, a `state`
 * event whose id is the job's largest seq read in the same transaction as
 * the job row (see store.h), so the ticks that follow can neither skip nor
 * repeat anything.  A history goes out only as fast as the client takes it
 * (http.h's backlog): a stream whose socket is full is left catching up,
 * the ticks' rows pass it by, and it reads on from the store where it
 * stopped when its client has taken what waited.  After `end` the stream closes; a reconnect with an id
 * at or past the end gets 204, which stops EventSource for good.
 */
#ifndef LONGJOB_FEED_H
#define LONGJOB_FEED_H

struct config;
struct store;
struct feed;
struct loop_ops;

struct feed *feed_new(const struct config *cfg, struct store *st);
void feed_free(struct feed *f);
/* The loop callbacks that serve progress requests with this feed. */
extern const struct loop_ops feed_ops;

#endif
