/*
 * loop: serves many long requests from one process with one epoll loop.
 *
 * DESIGN.  A progress stream lasts minutes and a result request waits until
 * its job ends, so a process per request does not scale.  The loop watches the
 * FastCGI listening socket and the connection of every request it keeps;
 * it calls FCGX_Accept_r only when the listening socket is readable (the
 * call blocks otherwise), reads each new request's (empty) body to its end
 * so that any later readability of the connection means the front end closed
 * it (no front end sends FCGI_ABORT_REQUEST: a client going away shows up as
 * EOF), and calls the program's tick every tick_ms so that one query can
 * serve every open request.  A kept request whose client has not taken all
 * that was written (http.h's backlog) is watched for writability too: its
 * backlog goes out as soon as the socket takes it, and then the program is
 * told it may write more (ops->writable).  Under plain CGI the same code serves the one
 * request on fd 0/1 and notices the web server's SIGTERM or a broken pipe.
 *
 * libfcgi's FCGX_Init installs a SIGTERM handler that only sets a flag it
 * checks inside FCGX_Accept_r, which this loop rarely sits in; loop_signals
 * installs ours first so SIGTERM stops the loop at once.
 */
#ifndef LONGJOB_LOOP_H
#define LONGJOB_LOOP_H

struct http_req;

struct loop_ops {
	/* A new request: answer it and return 1 (finished), or keep it and return 0. */
	int (*request)(void *ctx, struct http_req *r);
	/* A kept request's client went away: forget it (the loop frees it afterwards). */
	void (*gone)(void *ctx, struct http_req *r);
	/* Called every tick while the loop runs (and sooner after a write: wake_on_write). */
	void (*tick)(void *ctx);
	/* 1: tick as soon as a job writes to the store (loop_wake_on), not only every tick_ms. */
	int wake_on_write;
	/*
	 * A kept request's client took all that waited for it (http.h's
	 * backlog): the program may write more now.  NULL: nothing to do.
	 */
	void (*writable)(void *ctx, struct http_req *r);
};

/* Installs SIGTERM/SIGINT/SIGPIPE handling; call before anything touches libfcgi. */
void loop_signals(void);
/*
 * The listening socket: fd 0 when a front end started us as FastCGI,
 * the socket of --listen ADDR (":9000", "127.0.0.1:9000", "/path.sock") if
 * given, or -1 under plain CGI.  -2 on a bad option (message logged).
 */
int loop_listen_fd(int argc, char **argv);
/*
 * Wake-ups.  progress and result read the store once a tick (poll_ms, 200
 * ms by default), so an event would wait on average half a tick before
 * anyone reads it.  The store gives a descriptor that becomes readable
 * after another process's commit (store_wake_fd: inotify on a file SQLite
 * commits touch, PostgreSQL's NOTIFY); the loop then brings its next tick
 * forward, no sooner than LOOP_WAKE_MIN_MS after the last one, so that a
 * burst of commits costs one read.  (On SQLite the watch was on the WAL
 * until December 2026: the WAL is written before the commit is visible,
 * so a reader often woke too early, read nothing, and waited out the gap;
 * bench/README.md has the measurements.)  The tick stays as the fallback:
 * without the descriptor nothing but latency changes.
 */
#define LOOP_WAKE_MIN_MS 5

/*
 * Before loop_run: also tick when the store's wake descriptor is readable,
 * but no sooner than min_ms after the previous tick.  Before each tick,
 * wake(ctx) empties it and returns it (non-blocking, not ours; it may be
 * a new one), or -1 if there is none for now (ticks only).
 */
void loop_wake_on(int (*wake)(void *), void *ctx, int min_ms);
/* Serves until stopped (FastCGI) or the one request is done (CGI); exit status. */
int loop_run(int listen_fd, const struct loop_ops *ops, void *ctx, int tick_ms);
/* Serves every request with 503: for a program that could not start (bad config, no database). */
int loop_run_broken(int listen_fd, const char *cause);
/* Marks a kept request finished; the loop ends and frees it after the current callback. */
void loop_finish(struct http_req *r);
/* Milliseconds on a monotonic clock (for ticks and timeouts). */
long long loop_now_ms(void);

#endif
