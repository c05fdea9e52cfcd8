/* loop: one epoll loop serving many kept FastCGI requests (or one CGI request). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

/* A kept request and whether its program is done with it (req NULL: a free slot). */
struct loop_slot {
	struct http_req *req;
	int finished;
	long long finished_ms;	/* when; a backlog is given LOOP_DRAIN_MS after it */
	int writing;		/* watched for EPOLLOUT: its request has a backlog */
	int next_free;		/* the next free slot's index, or -1 */
};

/* An epoll event's data: the slot's index plus one; 0 is the listening socket. */
#define LOOP_LISTENER 0
#define LOOP_WAKE UINT32_MAX
#define LOOP_EVENTS 256
/* How long a finished response's backlog (http.h) may take to reach its client. */
#define LOOP_DRAIN_MS 30000

static volatile sig_atomic_t loop_stop;
/*
 * Slots keep their index for the request's life, so an epoll event can name
 * its request without a search; freed slots are reused.  loop_open counts
 * the requests kept, loop_nfinished those to free at the next sweep.
 */
static struct loop_slot *loop_slots;
static int loop_nslots, loop_capslots, loop_free_head = -1, loop_open, loop_nfinished;
static int loop_epfd = -1;
static int loop_wake_fd = -1, loop_wake_min_ms;
static int (*loop_wake)(void *);
static void *loop_wake_ctx;

/* Records the signal; epoll_wait returns EINTR and the loop sees the flag. */
static void
loop_on_signal(int sig)
{
	(void)sig;
	loop_stop = 1;
}

void
loop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = loop_on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked epoll_wait() must return so the flag is seen. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

long long
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
loop_listen_fd(int argc, char **argv)
{
	int i, fd;

	/* FCGX_IsCGI would do this implicitly; --listen bypasses it. */
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return -2;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") != 0)
			continue;
		if (i + 1 >= argc) {
			log_error("--listen needs an address (:9000, 127.0.0.1:9000 or /path.sock)");
			return -2;
		}
		if ((fd = FCGX_OpenSocket(argv[i + 1], 1024)) < 0) {
			log_error("cannot listen on %s", argv[i + 1]);
			return -2;
		}
		return fd;
	}
	return FCGX_IsCGI() ? -1 : 0;
}

/* Marks slot i finished: its request is freed at the next sweep. */
static void
loop_slot_finish(int i)
{
	if (!loop_slots[i].finished) {
		loop_slots[i].finished = 1;
		loop_slots[i].finished_ms = loop_now_ms();
		loop_nfinished++;
	}
}

void
loop_finish(struct http_req *r)
{
	if (r->loop_slot >= 0 && r->loop_slot < loop_nslots && loop_slots[r->loop_slot].req == r)
		loop_slot_finish(r->loop_slot);
}

/* The wall clock in ms since the epoch: debug lines a test lines up with its own clock. */
static long long
loop_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A free slot's index, growing the table if there is none. */
static int
loop_slot_new(void)
{
	int i;

	if (loop_free_head >= 0) {
		i = loop_free_head;
		loop_free_head = loop_slots[i].next_free;
		return i;
	}
	if (loop_nslots == loop_capslots) {
		loop_capslots = loop_capslots ? loop_capslots * 2 : 64;
		loop_slots = xrealloc(loop_slots, loop_capslots * sizeof *loop_slots);
	}
	return loop_nslots++;
}

/*
 * Watches fd (events: EPOLLIN, or 0 for CGI's stdout pipe, where only
 * EPOLLERR says the reader left; epoll reports that and EPOLLHUP always).
 */
static void
loop_watch(int fd, uint32_t events, uint32_t data)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.u32 = data;
	/* EPERM: a regular file (CGI stdout redirected by hand) never goes away. */
	if (epoll_ctl(loop_epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EPERM)
		log_warn("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
}

/* Watches slot i's connection for writability too (out 1) or no longer (0). */
static void
loop_slot_writing(int i, int out)
{
	struct epoll_event ev;

	if (loop_slots[i].writing == out)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u32 = (uint32_t)i + 1;
	if (epoll_ctl(loop_epfd, EPOLL_CTL_MOD, http_fd(loop_slots[i].req), &ev) != 0)
		log_warn("epoll_ctl(MOD, %d): %s", http_fd(loop_slots[i].req), strerror(errno));
	loop_slots[i].writing = out;
}

/* http.h: a kept request's backlog stopped being empty; one not kept yet is watched when it is. */
static void
loop_on_backlog(struct http_req *r)
{
	if (r->loop_slot >= 0 && r->loop_slot < loop_nslots && loop_slots[r->loop_slot].req == r)
		loop_slot_writing(r->loop_slot, 1);
}

/* Keeps a request in the table and watches its connection. */
static void
loop_keep(struct http_req *r)
{
	int i = loop_slot_new();
	int out = r->backlog.len > 0;

	loop_slots[i].req = r;
	loop_slots[i].finished = 0;
	loop_slots[i].writing = out;
	r->loop_slot = i;
	loop_open++;
	loop_watch(http_fd(r), r->cgi ? 0 : EPOLLIN | (out ? EPOLLOUT : 0), (uint32_t)i + 1);
	log_debug("request kept, %d open, at %lld ms", loop_open, loop_epoch_ms());
}

/* Ends the response (END_REQUEST for FastCGI) and frees the request. */
static void
loop_free_req(struct http_req *r)
{
	http_finish(r);
	free(r);
}

/*
 * Frees the finished requests; their slots go back on the free list.  One
 * whose client has not taken its last bytes yet (a backlog) is kept for
 * LOOP_DRAIN_MS, unless force (shutting down) or its client left.
 */
static void
loop_sweep(int force)
{
	int i, seen = 0, freed = 0;
	long long now = loop_now_ms();

	if (loop_nfinished == 0)
		return;
	for (i = 0; i < loop_nslots && seen < loop_nfinished; i++) {
		struct http_req *r = loop_slots[i].req;

		if (r == NULL || !loop_slots[i].finished)
			continue;
		seen++;
		if (!force && r->backlog.len > 0 && !r->gone &&
		    now - loop_slots[i].finished_ms < LOOP_DRAIN_MS)
			continue;
		/* Before http_finish closes it: libfcgi may keep a connection open. */
		epoll_ctl(loop_epfd, EPOLL_CTL_DEL, http_fd(r), NULL);
		loop_free_req(r);
		loop_slots[i].req = NULL;
		loop_slots[i].finished = 0;
		loop_slots[i].next_free = loop_free_head;
		loop_free_head = i;
		freed++;
	}
	loop_open -= freed;
	loop_nfinished -= freed;
	if (freed > 0)
		log_debug("%d requests freed, %d open, at %lld ms", freed, loop_open,
		    loop_epoch_ms());
}

/* Hands a new request to the program; keeps it if the program wants to. */
static void
loop_dispatch(const struct loop_ops *ops, void *ctx, struct http_req *r)
{
	if (ops->request(ctx, r)) {
		if (r->backlog.len == 0 || r->gone) {
			loop_free_req(r);
			return;
		}
		/* Answered, but its client has not taken all of it yet: the sweep waits. */
		loop_keep(r);
		loop_slot_finish(r->loop_slot);
		return;
	}
	loop_keep(r);
}

/* Accepts one FastCGI request (the listening socket is readable). */
static void
loop_accept(int listen_fd, const struct loop_ops *ops, void *ctx)
{
	struct http_req *r = xcalloc(1, sizeof *r);

	FCGX_InitRequest(&r->fcgx, listen_fd, 0);
	if (FCGX_Accept_r(&r->fcgx) < 0) {
		log_warn("FCGX_Accept_r failed: %s", strerror(errno));
		FCGX_Free(&r->fcgx, 1);
		free(r);
		return;
	}
	loop_dispatch(ops, ctx, r);
}

/* The client of slot i went away (or a write to it failed): tell the program. */
static void
loop_gone(int i, const struct loop_ops *ops, void *ctx)
{
	struct loop_slot *s = &loop_slots[i];

	if (s->req == NULL)
		return;
	if (s->finished) {
		/* Answered and draining its backlog: nobody takes it now. */
		s->req->gone = 1;
		return;
	}
	s->req->gone = 1;
	ops->gone(ctx, s->req);
	loop_slot_finish(i);
}

/*
 * Requests whose writes failed during a tick are gone too.  Looked for only
 * when some request was marked gone since the last look: ticks come up to
 * 50 times a second (loop_wake_on), and a walk over 10,000 slots each time is not free.
 */
static void
loop_check_failed(const struct loop_ops *ops, void *ctx)
{
	static unsigned long seen;
	int i;

	if (http_gone_count() == seen)
		return;
	seen = http_gone_count();
	for (i = 0; i < loop_nslots; i++) {
		if (loop_slots[i].req != NULL && loop_slots[i].req->gone)
			loop_gone(i, ops, ctx);
	}
}

/* Lets everyone still open know that we are stopping, and ends their responses. */
static void
loop_shutdown(const struct loop_ops *ops, void *ctx)
{
	int i;

	/* Not marked gone: each response still gets its proper end. */
	for (i = 0; i < loop_nslots; i++) {
		if (loop_slots[i].req != NULL && !loop_slots[i].finished) {
			ops->gone(ctx, loop_slots[i].req);
			loop_slot_finish(i);
		}
	}
	loop_sweep(1);
	free(loop_slots);
	loop_slots = NULL;
	loop_nslots = loop_capslots = loop_open = 0;
	loop_free_head = -1;
	close(loop_epfd);
	loop_epfd = -1;
	loop_wake_fd = -1;
	loop_wake = NULL;
}

void
loop_wake_on(int (*wake)(void *), void *ctx, int min_ms)
{
	loop_wake = wake;
	loop_wake_ctx = ctx;
	loop_wake_min_ms = min_ms;
}

/*
 * Before each tick: empties the wake descriptor and makes it report again
 * if it did (it is watched EPOLLONESHOT: one report per tick, however many
 * writes came meanwhile); what it said is only "something changed", and
 * the tick that follows reads whatever that was.  The descriptor can change
 * (the store connected again): the new one is watched instead.
 */
static void
loop_wake_refresh(int woken)
{
	struct epoll_event ev;
	int fd;

	if (loop_wake == NULL)
		return;
	fd = loop_wake(loop_wake_ctx);
	if (fd == loop_wake_fd && !woken)
		return;
	if (fd != loop_wake_fd && loop_wake_fd >= 0)
		epoll_ctl(loop_epfd, EPOLL_CTL_DEL, loop_wake_fd, NULL);	/* may be closed: no matter */
	loop_wake_fd = fd;
	if (fd < 0)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u32 = LOOP_WAKE;
	/* ENOENT: a new descriptor, maybe with the number of the one it replaced. */
	if (epoll_ctl(loop_epfd, EPOLL_CTL_MOD, fd, &ev) != 0 &&
	    (errno != ENOENT || epoll_ctl(loop_epfd, EPOLL_CTL_ADD, fd, &ev) != 0))
		log_warn("epoll_ctl(wake): %s", strerror(errno));
}

/*
 * Slot i's socket takes bytes again: its backlog goes out, and once it is
 * all gone the program may write more.
 */
static void
loop_writable(int i, const struct loop_ops *ops, void *ctx)
{
	struct loop_slot *s = &loop_slots[i];

	if (s->req == NULL)
		return;
	if (http_write_backlog(s->req) != 0 || s->req->backlog.len > 0)
		return;
	loop_slot_writing(i, 0);
	if (!s->finished && ops->writable != NULL)
		ops->writable(ctx, s->req);
}

/*
 * Offers each backlog to its socket again at a tick, in case a report was
 * missed (http.h: a client that did not read).  A walk over the slots, but
 * only while some request has one.
 */
static void
loop_write_backlogs(const struct loop_ops *ops, void *ctx)
{
	int i, left = http_backlogged();

	for (i = 0; i < loop_nslots && left > 0; i++) {
		struct http_req *r = loop_slots[i].req;

		if (r == NULL || r->backlog.len == 0)
			continue;
		left--;
		loop_writable(i, ops, ctx);
	}
}

/*
 * Handles what epoll reported: a new request on the listening socket, or a
 * kept connection readable or hung up, which means its client went away
 * (a kept request's body was read to its end: nothing more comes).  epoll,
 * not poll: a tick then costs nothing per quiet stream (bench/README.md
 * measured poll() over 10,000 streams at 40 % of the idle loop's time).
 */
static int
loop_events(const struct epoll_event *ev, int n, int listen_fd, const struct loop_ops *ops,
    void *ctx)
{
	int i, woken = 0;

	/* A slot is reused only after the sweep: every index here is still its request's. */
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == LOOP_WAKE)
			woken = 1;
		else if (ev[i].data.u32 == LOOP_LISTENER) {
			if (ev[i].events & EPOLLIN)
				loop_accept(listen_fd, ops, ctx);
		} else if (ev[i].events & ~(uint32_t)EPOLLOUT)
			loop_gone((int)ev[i].data.u32 - 1, ops, ctx);
		else
			loop_writable((int)ev[i].data.u32 - 1, ops, ctx);
	}
	return woken;
}

/* When the next tick is due after a wake-up: sooner, but not within the minimum gap. */
static long long
loop_next_tick(long long next, long long last)
{
	long long soon = last + loop_wake_min_ms;

	return soon < next ? soon : next;
}

int
loop_run(int listen_fd, const struct loop_ops *ops, void *ctx, int tick_ms)
{
	struct epoll_event ev[LOOP_EVENTS];
	long long last = loop_now_ms(), next = last + tick_ms, now;
	int rc, woken = 0;

	if ((loop_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return 1;
	}
	http_on_backlog(loop_on_backlog);
	loop_wake_fd = -1;
	loop_wake_refresh(1);
	if (listen_fd >= 0)
		loop_watch(listen_fd, EPOLLIN, LOOP_LISTENER);
	else {
		struct http_req *r = xcalloc(1, sizeof *r);

		r->cgi = 1;
		loop_dispatch(ops, ctx, r);
	}
	while (!loop_stop) {
		if (listen_fd < 0 && loop_open == 0)
			break;
		now = loop_now_ms();
		rc = epoll_wait(loop_epfd, ev, LOOP_EVENTS, next > now ? (int)(next - now) : 0);
		if (rc < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			break;
		}
		if (rc > 0 && loop_events(ev, rc, listen_fd, ops, ctx)) {
			woken = 1;
			next = loop_next_tick(next, last);
		}
		if ((now = loop_now_ms()) >= next) {
			/* Before the tick reads: a write from now on reports again. */
			loop_wake_refresh(woken);
			woken = 0;
			if (http_backlogged() > 0)
				loop_write_backlogs(ops, ctx);
			ops->tick(ctx);
			last = now;
			next = now + tick_ms;
			loop_check_failed(ops, ctx);
		}
		loop_sweep(0);
	}
	loop_shutdown(ops, ctx);
	return 0;
}

/*
 * Answers any request with a 503 (and Retry-After) that points at the error
 * log: the cause may pass (a database server that is restarting) or not (a
 * config to fix).
 */
static int
loop_broken_request(void *ctx, struct http_req *r)
{
	(void)ctx;
	http_drain(r);
	http_error(r, 503, "longjob cannot serve requests now: its configuration or its "
	    "database has a problem (the web server's error log says which)");
	return 1;
}

/* Nothing is ever kept by the broken server. */
static void
loop_broken_gone(void *ctx, struct http_req *r)
{
	(void)ctx;
	(void)r;
}

/*
 * A broken backend exits after a while: the web server then starts a fresh
 * one, which may find the cause gone (a database that was busy, a config
 * that was fixed).
 */
static void
loop_broken_tick(void *ctx)
{
	static int ticks;

	(void)ctx;
	if (++ticks >= 10)
		loop_stop = 1;
}

int
loop_run_broken(int listen_fd, const char *cause)
{
	static const struct loop_ops ops = { loop_broken_request, loop_broken_gone,
	    loop_broken_tick, 0, NULL };

	log_error("%s", cause);
	loop_run(listen_fd, &ops, NULL, 1000);
	return 1;
}
