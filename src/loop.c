/* loop: one poll loop serving many kept FastCGI requests (or one CGI request). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http.h"
#include "log.h"
#include "loop.h"
#include "xmem.h"

/* A kept request and whether its program is done with it. */
struct loop_slot {
	struct http_req *req;
	int finished;
};

static volatile sig_atomic_t loop_stop;
static struct loop_slot *loop_slots;
static int loop_nslots, loop_capslots;

/* Records the signal; poll returns EINTR and the loop sees the flag. */
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
	/* No SA_RESTART: a blocked poll() must return so the flag is seen. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
loop_stopping(void)
{
	return loop_stop != 0;
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

int
loop_open_count(void)
{
	return loop_nslots;
}

void
loop_finish(struct http_req *r)
{
	int i;

	for (i = 0; i < loop_nslots; i++) {
		if (loop_slots[i].req == r)
			loop_slots[i].finished = 1;
	}
}

/* The wall clock in ms since the epoch: debug lines a test lines up with its own clock. */
static long long
loop_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps a request in the table. */
static void
loop_keep(struct http_req *r)
{
	if (loop_nslots == loop_capslots) {
		loop_capslots = loop_capslots ? loop_capslots * 2 : 64;
		loop_slots = xrealloc(loop_slots, loop_capslots * sizeof *loop_slots);
	}
	loop_slots[loop_nslots].req = r;
	loop_slots[loop_nslots].finished = 0;
	loop_nslots++;
	log_debug("request kept, %d open, at %lld ms", loop_nslots, loop_epoch_ms());
}

/* Ends the response (END_REQUEST for FastCGI) and frees the request. */
static void
loop_free_req(struct http_req *r)
{
	http_finish(r);
	free(r);
}

/* Removes finished requests from the table, freeing them. */
static void
loop_sweep(void)
{
	int i, j = 0;

	for (i = 0; i < loop_nslots; i++) {
		if (loop_slots[i].finished)
			loop_free_req(loop_slots[i].req);
		else
			loop_slots[j++] = loop_slots[i];
	}
	if (j < loop_nslots)
		log_debug("%d requests freed, %d open, at %lld ms", loop_nslots - j, j,
		    loop_epoch_ms());
	loop_nslots = j;
}

/* Hands a new request to the program; keeps it if the program wants to. */
static void
loop_dispatch(const struct loop_ops *ops, void *ctx, struct http_req *r)
{
	if (ops->request(ctx, r)) {
		loop_free_req(r);
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

/* Tells the program about clients that went away, marking their slots finished. */
static void
loop_check_gone(struct pollfd *pfd, int base, const struct loop_ops *ops, void *ctx)
{
	int i;

	for (i = 0; i < loop_nslots; i++) {
		struct loop_slot *s = &loop_slots[i];

		if (s->finished)
			continue;
		if ((pfd[base + i].revents & (POLLIN | POLLHUP | POLLERR)) || s->req->gone) {
			s->req->gone = 1;
			ops->gone(ctx, s->req);
			s->finished = 1;
		}
	}
}

/* Requests whose writes failed during a tick are gone too. */
static void
loop_check_failed(const struct loop_ops *ops, void *ctx)
{
	int i;

	for (i = 0; i < loop_nslots; i++) {
		if (!loop_slots[i].finished && loop_slots[i].req->gone) {
			ops->gone(ctx, loop_slots[i].req);
			loop_slots[i].finished = 1;
		}
	}
}

/* Lets everyone still open know that we are stopping, and ends their responses. */
static void
loop_shutdown(const struct loop_ops *ops, void *ctx)
{
	int i;

	for (i = 0; i < loop_nslots; i++) {
		if (!loop_slots[i].finished) {
			ops->gone(ctx, loop_slots[i].req);
			loop_slots[i].finished = 1;
		}
	}
	loop_sweep();
	free(loop_slots);
	loop_slots = NULL;
	loop_capslots = 0;
}

/* One poll over the listening socket (if any) and every kept request. */
static int
loop_poll(int listen_fd, struct pollfd **pfd, int *cap, int timeout)
{
	int base = listen_fd >= 0 ? 1 : 0, i, n = base + loop_nslots;

	if (n > *cap) {
		*cap = n * 2;
		*pfd = xrealloc(*pfd, (size_t)*cap * sizeof **pfd);
	}
	if (listen_fd >= 0) {
		(*pfd)[0].fd = listen_fd;
		(*pfd)[0].events = POLLIN;
	}
	for (i = 0; i < loop_nslots; i++) {
		(*pfd)[base + i].fd = http_fd(loop_slots[i].req);
		/* CGI stdout is a pipe: only POLLERR says the reader left. */
		(*pfd)[base + i].events = loop_slots[i].req->cgi ? 0 : POLLIN;
		(*pfd)[base + i].revents = 0;
	}
	return poll(*pfd, (nfds_t)n, timeout);
}

int
loop_run(int listen_fd, const struct loop_ops *ops, void *ctx, int tick_ms)
{
	struct pollfd *pfd = NULL;
	long long next = loop_now_ms() + tick_ms, now;
	int cap = 0, rc, base = listen_fd >= 0 ? 1 : 0;

	if (listen_fd < 0) {
		struct http_req *r = xcalloc(1, sizeof *r);

		r->cgi = 1;
		loop_dispatch(ops, ctx, r);
	}
	while (!loop_stop) {
		if (listen_fd < 0 && loop_nslots == 0)
			break;
		now = loop_now_ms();
		rc = loop_poll(listen_fd, &pfd, &cap, next > now ? (int)(next - now) : 0);
		if (rc < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (rc > 0) {
			loop_check_gone(pfd, base, ops, ctx);
			if (listen_fd >= 0 && (pfd[0].revents & POLLIN))
				loop_accept(listen_fd, ops, ctx);
		}
		if ((now = loop_now_ms()) >= next) {
			ops->tick(ctx);
			next = next + tick_ms > now ? next + tick_ms : now + tick_ms;
			loop_check_failed(ops, ctx);
		}
		loop_sweep();
	}
	loop_shutdown(ops, ctx);
	free(pfd);
	return 0;
}

/* Answers any request with a 500 that points at the error log. */
static int
loop_broken_request(void *ctx, struct http_req *r)
{
	(void)ctx;
	http_drain(r);
	http_error(r, 500, "longjob is not configured correctly on this server; "
	    "the web server's error log says why");
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
	    loop_broken_tick };

	log_error("%s", cause);
	loop_run(listen_fd, &ops, NULL, 1000);
	return 1;
}
