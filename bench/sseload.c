/*
 * sseload: the benchmark's load client.  Holds N concurrent EventSource-style
 * connections, parses every stream and measures event latency.
 *
 *   sseload [-n N] [-b B] [-t SECS] [-x EXPECT] [-s STATUS] [-o PERCONN]
 *           [-L TIMELINE] [-w WINDOW] [-k KILLED] URLS
 *
 * URLS is a file of lines "<tag> http://127.0.0.1:<port>/<path>"; connection
 * i opens line i % lines, so one run can hold streams to several servers
 * (or several jobs) and report them apart, by tag.
 *
 * Latency.  Any event whose data contains "@ms=<digits>" is a marked event:
 * the digits are the wall-clock time (ms since the epoch) at which the job
 * handler printed the line (bench/handlers/tick.c) or the nchan publisher
 * made the update (bench/publish.c); latency is the wall clock when the
 * event was dispatched here minus that.  "k=<digits>" after it numbers the
 * updates of one job: a k not above the last one seen is a repeat.
 *
 * Output.  -s STATUS is rewritten twice a second with one line
 * "opened O held H open P events E marked M ended D errors R" (held: 200
 * text/event-stream responses so far; open: connections open now), for the
 * runner to wait on.  -o PERCONN gets, at the end, one line per connection
 * "<i> <tag> <status> <marked> <repeats> <ended> <url>".  -L TIMELINE gets,
 * at the end, one line per second of the run in which marked events
 * arrived: "<second> <events> <mean latency ms> <worst ms>", to see when a
 * stall happened.  stdout gets, at
 * the end, one line per tag:
 *
 *   tag T conns C held H peak_open P status_other S errors R events E
 *   comments K marked M repeats D ended N complete X lat_n L p50 A p90 B
 *   p99 C max D wlat_n L wp50 A wp90 B wp99 C wmax D
 *
 * The w* figures count only updates printed inside the window that the
 * file WINDOW (-w) names once it exists, "<from ms> <to ms>" since the
 * epoch (read twice a second): the runner's steady state, without the
 * moments when a thousand jobs start or end together.
 * (complete: connections with at least EXPECT distinct marked events, -x;
 * latencies in ms).
 *
 * Recovery.  With -k KILLED, once that file holds "<ms since the epoch>"
 * (the moment the runner kills the worker: it writes the file at least a
 * second before, as the file is read twice a second), each connection notes when
 * the first update printed at or after that moment reached it, and the
 * tag line ends with " resumed R res_p50 A res_p99 B res_max C": how many
 * connections got one, and how long after the kill (ms).  The run ends when every connection is closed, at the
 * -t deadline or on SIGTERM/SIGINT.  Exit status 0, or 2 for usage errors.
 *
 * DESIGN: one process, epoll, non-blocking sockets, one small state machine
 * per connection (connect, send, head, body).  Bodies are de-chunked and fed
 * straight into the event-stream parser; nothing is kept but the current
 * line and event, each under a ceiling.  At most -b connections wait for
 * their first response byte at once (a waiting one stops counting after a
 * second), so thousands of connects do not overrun a listen backlog.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "wallclock.h"

#define LOAD_LINE_CAP	(64 * 1024)	/* longest event-stream line */
#define LOAD_HEAD_CAP	(16 * 1024)	/* largest response head */
#define LOAD_READ	(64 * 1024)	/* bytes per read() */
#define LOAD_TAGS	8
#define LOAD_LAT_MAX	120000		/* ms; the histogram's last bucket */
#define LOAD_WAIT_AGE_MS 1000
#define LOAD_STATUS_MS	500
#define LOAD_TIMELINE_S	3600		/* seconds the -L timeline covers */

/* A growable byte buffer with a ceiling given at each append. */
struct lbuf {
	char *p;
	size_t len, size;
};

enum lstate { L_IDLE, L_CONNECTING, L_SENDING, L_HEAD, L_BODY, L_DONE };
enum lbody { B_EOF, B_LENGTH, B_CHUNKED };
enum lchunk { C_SIZE, C_DATA, C_DATA_END };

/* One URL of the URLS file. */
struct target {
	int tag;
	struct sockaddr_in addr;
	char *url;
	char *request;
	size_t request_len;
};

/* Totals of one tag. */
struct tagstat {
	char name[32];
	long conns, held, open, peak_open, status_other, errors, events, comments;
	long marked, repeats, ended, complete;
	uint32_t *lat;		/* histogram, 1 ms buckets */
	long lat_n;
	long long lat_max;
	uint32_t *wlat;		/* the same, updates printed inside the -w window */
	long wlat_n;
	long long wlat_max;
	uint32_t *res;		/* histogram of -k resume delays, 1 ms buckets */
	long res_n;
	long long res_max;
};

/* One connection. */
struct lconn {
	int fd;
	enum lstate state;
	struct target *t;
	long long start_ms;
	size_t sent;
	int holds_slot, status, ended;
	struct lbuf head;
	enum lbody mode;
	uint64_t remaining;
	enum lchunk chunk;
	struct lbuf chunk_line;
	struct lbuf line;
	int has_data, marked_event, unmarked_type;
	long long mark_ms;
	long mark_k;
	long marked, repeats, last_k;
	int resumed;
};

static struct {
	int count, batch;
	double timeout;
	long expect;
	const char *status, *perconn, *timeline, *window, *killed;
} opt = { 1, 256, 600, 0, NULL, NULL, NULL, NULL, NULL };

/* The -k moment (ms since the epoch), once its file has been read. */
static long long killed_ms = -1;

/* The -w window (ms since the epoch), once its file has been read. */
static long long window_from = -1, window_to = -1;

/* Per second of the run, for -L: marked events, their summed and worst latency. */
static struct {
	long n;
	long long sum, max;
} timeline[LOAD_TIMELINE_S];
static long long run_start_ms;

static struct target *targets;
static int ntargets;
static struct tagstat tags[LOAD_TAGS];
static int ntags;
static struct lconn *conns;
static int epfd, next_start, age_scan, waiting, done_count;
static long opened, held_total, open_now, events_total, marked_total, ended_total,
    errors_total;
static volatile sig_atomic_t stop;

/* Prints a usage message and exits with 2. */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "sseload: %s\n", why);
	fputs("usage: sseload [-n N] [-b B] [-t SECS] [-x EXPECT] [-s STATUS]"
	    " [-o PERCONN] [-L TIMELINE] [-w WINDOW] URLS\n", stderr);
	exit(2);
}

/* Prints a fatal error with errno and exits with 1. */
static void __attribute__((noreturn))
fatal(const char *what)
{
	fprintf(stderr, "sseload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Milliseconds on the monotonic clock. */
static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends n bytes unless b would pass limit: 0 or -1. */
static int
lbuf_add(struct lbuf *b, const void *p, size_t n, size_t limit)
{
	size_t want;

	if (n > limit || b->len > limit - n)
		return -1;
	if (b->len + n > b->size) {
		want = b->size < 64 ? 64 : b->size;
		while (want < b->len + n)
			want *= 2;
		if ((b->p = realloc(b->p, want)) == NULL) {
			fputs("sseload: out of memory\n", stderr);
			abort();
		}
		b->size = want;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Frees a buffer's memory. */
static void
lbuf_free(struct lbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

/* Copies s into a fresh string, aborting on out-of-memory. */
static char *
xstrdup_load(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* The index of a tag, added if new. */
static int
tag_index(const char *name)
{
	int i;

	for (i = 0; i < ntags; i++) {
		if (strcmp(tags[i].name, name) == 0)
			return i;
	}
	if (ntags == LOAD_TAGS)
		usage("too many tags in URLS");
	if (strlen(name) >= sizeof tags[0].name)
		usage("tag too long");
	strcpy(tags[ntags].name, name);
	if ((tags[ntags].lat = calloc(LOAD_LAT_MAX + 1, sizeof *tags[0].lat)) == NULL ||
	    (tags[ntags].wlat = calloc(LOAD_LAT_MAX + 1, sizeof *tags[0].wlat)) == NULL ||
	    (tags[ntags].res = calloc(LOAD_LAT_MAX + 1, sizeof *tags[0].res)) == NULL)
		abort();
	return ntags++;
}

/* Parses "http://A.B.C.D:PORT/path" into t; exits on bad input. */
static void
target_parse(struct target *t, const char *url)
{
	char host[64], req[4096];
	const char *h = url + 7, *path;
	size_t hl;
	long port = 80;
	char *colon;

	if (strncmp(url, "http://", 7) != 0)
		usage("URL must start with http://");
	path = h + strcspn(h, "/");
	hl = (size_t)(path - h);
	if (hl == 0 || hl >= sizeof host)
		usage("bad host in URL");
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((colon = strchr(host, ':')) != NULL) {
		*colon = '\0';
		port = strtol(colon + 1, NULL, 10);
	}
	memset(&t->addr, 0, sizeof t->addr);
	t->addr.sin_family = AF_INET;
	t->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &t->addr.sin_addr) != 1)
		usage("URL host must be an IPv4 address");
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %.*s\r\n"
	    "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
	    *path ? path : "/", (int)hl, h);
	t->request = xstrdup_load(req);
	t->request_len = strlen(req);
	t->url = xstrdup_load(url);
}

/* Reads the URLS file. */
static void
targets_read(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[4096], tag[64], url[4000];
	int cap = 0;

	if (fp == NULL)
		fatal(path);
	while (fgets(line, sizeof line, fp) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %3999s", tag, url) != 2)
			usage("URLS lines are '<tag> <url>'");
		if (ntargets == cap) {
			cap = cap ? cap * 2 : 64;
			if ((targets = realloc(targets, cap * sizeof *targets)) == NULL)
				abort();
		}
		targets[ntargets].tag = tag_index(tag);
		target_parse(&targets[ntargets], url);
		ntargets++;
	}
	fclose(fp);
	if (ntargets == 0)
		usage("URLS has no URL");
}

/* Raises the open-file limit as far as allowed. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		fatal("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)opt.count + 32)
		fprintf(stderr, "sseload: warning: open-file limit %llu is below %d"
		    " connections (ulimit -n)\n", (unsigned long long)rl.rlim_cur,
		    opt.count);
}

/* Gives back a connection's slot among those waiting for a first byte. */
static void
slot_release(struct lconn *c)
{
	if (c->holds_slot) {
		c->holds_slot = 0;
		waiting--;
	}
}

/* Closes a connection and counts how it ended. */
static void
conn_done(struct lconn *c, int error, const char *why)
{
	struct tagstat *ts = &tags[c->t->tag];

	if (c->state == L_DONE)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->state == L_BODY) {
		ts->open--;
		open_now--;
	}
	c->fd = -1;
	lbuf_free(&c->head);
	lbuf_free(&c->chunk_line);
	lbuf_free(&c->line);
	slot_release(c);
	c->state = L_DONE;
	done_count++;
	if (error) {
		if (errors_total < 10)
			fprintf(stderr, "sseload: %s: %s\n", c->t->url, why);
		ts->errors++;
		errors_total++;
	}
}

/* Registers or changes what epoll waits for on a connection. */
static void
conn_watch(struct lconn *c, uint32_t what, int op)
{
	struct epoll_event ev;

	ev.events = what;
	ev.data.u32 = (uint32_t)(c - conns);
	if (epoll_ctl(epfd, op, c->fd, &ev) != 0)
		conn_done(c, 1, "epoll_ctl failed");
}

/* Starts connecting connection c. */
static void
conn_start(struct lconn *c, int i)
{
	c->t = &targets[i % ntargets];
	tags[c->t->tag].conns++;
	c->start_ms = mono_ms();
	c->holds_slot = 1;
	waiting++;
	c->state = L_CONNECTING;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_done(c, 1, strerror(errno));
		return;
	}
	/*
	 * Loopback targets: spread the connections over 8 source addresses
	 * (127.0.0.2-9), so that ten thousands of them, and those still in
	 * TIME_WAIT from the run before, never run out of ephemeral ports.
	 */
	if ((ntohl(c->t->addr.sin_addr.s_addr) >> 24) == 127) {
		struct sockaddr_in src;
		int one = 1;

		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % 8));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) {
			conn_done(c, 1, strerror(errno));
			return;
		}
	}
	if (connect(c->fd, (struct sockaddr *)&c->t->addr, sizeof c->t->addr) != 0 &&
	    errno != EINPROGRESS) {
		conn_done(c, 1, strerror(errno));
		return;
	}
	conn_watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Starts as many connections as the batch allows. */
static void
start_more(long long now)
{
	while (age_scan < next_start && now - conns[age_scan].start_ms >= LOAD_WAIT_AGE_MS)
		slot_release(&conns[age_scan++]);
	while (next_start < opt.count && waiting < opt.batch) {
		conn_start(&conns[next_start], next_start);
		next_start++;
	}
}

/* An event was dispatched (a blank line after data). */
static void
event_dispatch(struct lconn *c)
{
	struct tagstat *ts = &tags[c->t->tag];
	long long lat;

	ts->events++;
	events_total++;
	if (c->marked_event && !c->unmarked_type) {
		ts->marked++;
		marked_total++;
		c->marked++;
		if (c->mark_k > 0 && c->mark_k <= c->last_k) {
			c->repeats++;
			ts->repeats++;
		}
		if (c->mark_k > c->last_k)
			c->last_k = c->mark_k;
		lat = wall_ms() - c->mark_ms;
		if (lat < 0)
			lat = 0;
		if (lat > ts->lat_max)
			ts->lat_max = lat;
		ts->lat[lat > LOAD_LAT_MAX ? LOAD_LAT_MAX : lat]++;
		ts->lat_n++;
		if (killed_ms >= 0 && !c->resumed && c->mark_ms >= killed_ms) {
			long long d = wall_ms() - killed_ms;

			c->resumed = 1;
			ts->res[d > LOAD_LAT_MAX ? LOAD_LAT_MAX : d]++;
			ts->res_n++;
			if (d > ts->res_max)
				ts->res_max = d;
		}
		if (c->mark_ms >= window_from && c->mark_ms < window_to) {
			ts->wlat[lat > LOAD_LAT_MAX ? LOAD_LAT_MAX : lat]++;
			ts->wlat_n++;
			if (lat > ts->wlat_max)
				ts->wlat_max = lat;
		}
		if (opt.timeline != NULL) {
			long long sec = (mono_ms() - run_start_ms) / 1000;

			if (sec >= 0 && sec < LOAD_TIMELINE_S) {
				timeline[sec].n++;
				timeline[sec].sum += lat;
				if (lat > timeline[sec].max)
					timeline[sec].max = lat;
			}
		}
	}
	c->has_data = c->marked_event = c->unmarked_type = 0;
	c->mark_k = 0;
}

/* Looks for "@ms=" and "k=" in one data line. */
static void
data_line(struct lconn *c, const char *p, size_t n)
{
	const char *m = memmem(p, n, "@ms=", 4), *k;

	c->has_data = 1;
	if (m == NULL)
		return;
	c->marked_event = 1;
	c->mark_ms = strtoll(m + 4, NULL, 10);
	k = memmem(m, n - (size_t)(m - p), "k=", 2);
	c->mark_k = k != NULL ? strtol(k + 2, NULL, 10) : 0;
}

/* One complete event-stream line (without its line end). */
static void
sse_line(struct lconn *c, const char *p, size_t n)
{
	if (n == 0) {
		if (c->has_data)
			event_dispatch(c);
		c->has_data = c->marked_event = c->unmarked_type = 0;
		return;
	}
	if (p[0] == ':') {
		tags[c->t->tag].comments++;
		return;
	}
	if (n >= 5 && memcmp(p, "data:", 5) == 0)
		data_line(c, p + 5, n - 5);
	else if (n >= 6 && memcmp(p, "event:", 6) == 0) {
		p += 6;
		n -= 6;
		if (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		/* Only progress (or nchan's untyped messages) count as updates. */
		c->unmarked_type = !(n == 8 && memcmp(p, "progress", 8) == 0);
		if (n == 3 && memcmp(p, "end", 3) == 0) {
			c->ended = 1;
			tags[c->t->tag].ended++;
			ended_total++;
		}
	}
}

/* Body bytes into the event-stream parser (lines end in LF, an optional CR before). */
static void
sse_feed(struct lconn *c, const char *p, size_t n)
{
	const char *lf;
	size_t len;

	while (n > 0 && c->state == L_BODY) {
		if ((lf = memchr(p, '\n', n)) == NULL) {
			if (lbuf_add(&c->line, p, n, LOAD_LINE_CAP) != 0)
				conn_done(c, 1, "event-stream line too long");
			return;
		}
		len = (size_t)(lf - p);
		if (c->line.len > 0) {
			if (lbuf_add(&c->line, p, len, LOAD_LINE_CAP) != 0) {
				conn_done(c, 1, "event-stream line too long");
				return;
			}
			len = c->line.len;
			if (len > 0 && c->line.p[len - 1] == '\r')
				len--;
			sse_line(c, c->line.p, len);
			c->line.len = 0;
		} else {
			if (len > 0 && p[len - 1] == '\r')
				sse_line(c, p, len - 1);
			else
				sse_line(c, p, len);
		}
		n -= (size_t)(lf - p) + 1;
		p = lf + 1;
	}
}

/* Body bytes, de-chunked as needed. */
static void
body_feed(struct lconn *c, const char *p, size_t n)
{
	const char *lf;
	size_t take;

	if (c->mode != B_CHUNKED) {
		if (c->mode == B_LENGTH) {
			take = n < c->remaining ? n : (size_t)c->remaining;
			c->remaining -= take;
			sse_feed(c, p, take);
			if (c->remaining == 0)
				conn_done(c, 0, NULL);
			return;
		}
		sse_feed(c, p, n);
		return;
	}
	while (n > 0 && c->state == L_BODY) {
		switch (c->chunk) {
		case C_SIZE:
		case C_DATA_END:
			if ((lf = memchr(p, '\n', n)) == NULL) {
				if (lbuf_add(&c->chunk_line, p, n, 256) != 0)
					conn_done(c, 1, "bad chunk line");
				return;
			}
			if (lbuf_add(&c->chunk_line, p, (size_t)(lf - p), 256) != 0) {
				conn_done(c, 1, "bad chunk line");
				return;
			}
			n -= (size_t)(lf - p) + 1;
			p = lf + 1;
			if (c->chunk == C_DATA_END) {
				c->chunk = C_SIZE;
				c->chunk_line.len = 0;
				break;
			}
			lbuf_add(&c->chunk_line, "", 1, 257);
			c->remaining = strtoull(c->chunk_line.p, NULL, 16);
			c->chunk_line.len = 0;
			if (c->remaining == 0) {
				conn_done(c, 0, NULL);	/* the last chunk: the server ended it */
				return;
			}
			c->chunk = C_DATA;
			break;
		case C_DATA:
			take = n < c->remaining ? n : (size_t)c->remaining;
			sse_feed(c, p, take);
			c->remaining -= take;
			p += take;
			n -= take;
			if (c->remaining == 0)
				c->chunk = C_DATA_END;
			break;
		}
	}
}

/* Parses the response head once complete; feeds what follows it. */
static void
head_feed(struct lconn *c, const char *p, size_t n)
{
	struct tagstat *ts = &tags[c->t->tag];
	char *end, *h, *line;
	size_t hl, rest;

	if (lbuf_add(&c->head, p, n, LOAD_HEAD_CAP + LOAD_READ) != 0) {
		conn_done(c, 1, "response head too large");
		return;
	}
	lbuf_add(&c->head, "", 1, SIZE_MAX);
	c->head.len--;
	if ((end = strstr(c->head.p, "\r\n\r\n")) == NULL) {
		if (c->head.len > LOAD_HEAD_CAP)
			conn_done(c, 1, "response head too large");
		return;
	}
	slot_release(c);
	hl = (size_t)(end - c->head.p) + 4;
	rest = c->head.len - hl;
	*end = '\0';
	if (sscanf(c->head.p, "HTTP/1.%*d %d", &c->status) != 1) {
		conn_done(c, 1, "malformed status line");
		return;
	}
	c->mode = B_EOF;
	for (h = strstr(c->head.p, "\r\n"); h != NULL; h = strstr(line, "\r\n")) {
		line = h + 2;
		if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    strcasestr(line, "chunked") != NULL)
			c->mode = B_CHUNKED;
		else if (strncasecmp(line, "content-length:", 15) == 0 && c->mode != B_CHUNKED) {
			c->mode = B_LENGTH;
			c->remaining = strtoull(line + 15, NULL, 10);
		}
	}
	if (c->status != 200 || strcasestr(c->head.p, "text/event-stream") == NULL) {
		ts->status_other++;
		conn_done(c, 1, "not a 200 event stream");
		return;
	}
	ts->held++;
	held_total++;
	ts->open++;
	open_now++;
	if (ts->open > ts->peak_open)
		ts->peak_open = ts->open;
	c->state = L_BODY;
	c->chunk = C_SIZE;
	if (rest > 0) {
		char *copy = malloc(rest);

		if (copy == NULL)
			abort();
		memcpy(copy, c->head.p + hl, rest);
		lbuf_free(&c->head);
		body_feed(c, copy, rest);
		free(copy);
	} else
		lbuf_free(&c->head);
}

/* The connection's socket is ready. */
static void
conn_ready(struct lconn *c, uint32_t evs)
{
	static char rbuf[LOAD_READ];
	ssize_t r;
	int err = 0;
	socklen_t el = sizeof err;

	if (c->state == L_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			conn_done(c, 1, err ? strerror(err) : "connect failed");
			return;
		}
		opened++;
		c->state = L_SENDING;
	}
	if (c->state == L_SENDING) {
		r = write(c->fd, c->t->request + c->sent, c->t->request_len - c->sent);
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			conn_done(c, 1, strerror(errno));
			return;
		}
		if (r > 0)
			c->sent += (size_t)r;
		if (c->sent == c->t->request_len) {
			c->state = L_HEAD;
			conn_watch(c, EPOLLIN, EPOLL_CTL_MOD);
		}
		return;
	}
	if (!(evs & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		r = read(c->fd, rbuf, sizeof rbuf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0) {
			conn_done(c, 1, strerror(errno));
			return;
		}
		if (r == 0) {
			if (c->state == L_BODY && c->mode == B_EOF)
				conn_done(c, 0, NULL);
			else
				conn_done(c, 1, "connection closed mid-response");
			return;
		}
		if (c->state == L_HEAD)
			head_feed(c, rbuf, (size_t)r);
		else
			body_feed(c, rbuf, (size_t)r);
		if (c->state == L_DONE || (size_t)r < sizeof rbuf)
			return;
	}
}

/* Rewrites the status file (via a rename, so a reader never sees half). */
static void
status_write(void)
{
	char tmp[PATH_MAX];
	FILE *fp;

	if (opt.status == NULL)
		return;
	snprintf(tmp, sizeof tmp, "%s.tmp", opt.status);
	if ((fp = fopen(tmp, "w")) == NULL)
		return;
	fprintf(fp, "opened %ld held %ld open %ld events %ld marked %ld ended %ld"
	    " errors %ld\n", opened, held_total, open_now, events_total,
	    marked_total, ended_total, errors_total);
	if (fclose(fp) == 0)
		rename(tmp, opt.status);
}

/* The latency (ms) at fraction q of a histogram of n values. */
static long
lat_quantile(const uint32_t *hist, long n, double q)
{
	long want = (long)(q * (double)n), seen = 0, i;

	if (n == 0)
		return -1;
	if (want >= n)
		want = n - 1;
	for (i = 0; i <= LOAD_LAT_MAX; i++) {
		seen += hist[i];
		if (seen > want)
			return i;
	}
	return LOAD_LAT_MAX;
}

/* Reads the -w file ("FROM_MS TO_MS") once it exists. */
static void
window_read(void)
{
	FILE *fp;

	if (opt.window == NULL || window_from >= 0 || (fp = fopen(opt.window, "r")) == NULL)
		return;
	if (fscanf(fp, "%lld %lld", &window_from, &window_to) != 2)
		window_from = window_to = -1;
	fclose(fp);
}

/* Reads the -k file ("MS") once it exists. */
static void
killed_read(void)
{
	FILE *fp;

	if (opt.killed == NULL || killed_ms >= 0 || (fp = fopen(opt.killed, "r")) == NULL)
		return;
	if (fscanf(fp, "%lld", &killed_ms) != 1)
		killed_ms = -1;
	fclose(fp);
}

/* Prints the per-tag summary and the per-connection file. */
static void
report(void)
{
	FILE *fp = NULL;
	int i;

	if (opt.perconn != NULL && (fp = fopen(opt.perconn, "w")) == NULL)
		perror(opt.perconn);
	for (i = 0; i < opt.count; i++) {
		struct lconn *c = &conns[i];

		if (c->t == NULL)
			continue;
		if (opt.expect > 0 && c->marked - c->repeats >= opt.expect)
			tags[c->t->tag].complete++;
		if (fp != NULL)
			fprintf(fp, "%d %s %d %ld %ld %d %s\n", i, tags[c->t->tag].name,
			    c->status, c->marked, c->repeats, c->ended, c->t->url);
	}
	if (fp != NULL)
		fclose(fp);
	if (opt.timeline != NULL && (fp = fopen(opt.timeline, "w")) != NULL) {
		for (i = 0; i < LOAD_TIMELINE_S; i++) {
			if (timeline[i].n > 0)
				fprintf(fp, "%d %ld %lld %lld\n", i, timeline[i].n,
				    timeline[i].sum / timeline[i].n, timeline[i].max);
		}
		fclose(fp);
	}
	for (i = 0; i < ntags; i++) {
		struct tagstat *ts = &tags[i];

		printf("tag %s conns %ld held %ld peak_open %ld status_other %ld"
		    " errors %ld events %ld comments %ld marked %ld repeats %ld"
		    " ended %ld complete %ld lat_n %ld p50 %ld p90 %ld p99 %ld max %lld"
		    " wlat_n %ld wp50 %ld wp90 %ld wp99 %ld wmax %lld",
		    ts->name, ts->conns, ts->held, ts->peak_open, ts->status_other,
		    ts->errors, ts->events, ts->comments, ts->marked, ts->repeats,
		    ts->ended, ts->complete, ts->lat_n, lat_quantile(ts->lat, ts->lat_n, 0.50),
		    lat_quantile(ts->lat, ts->lat_n, 0.90), lat_quantile(ts->lat, ts->lat_n, 0.99),
		    ts->lat_max, ts->wlat_n, lat_quantile(ts->wlat, ts->wlat_n, 0.50),
		    lat_quantile(ts->wlat, ts->wlat_n, 0.90),
		    lat_quantile(ts->wlat, ts->wlat_n, 0.99), ts->wlat_max);
		if (opt.killed != NULL)
			printf(" resumed %ld res_p50 %ld res_p99 %ld res_max %lld", ts->res_n,
			    lat_quantile(ts->res, ts->res_n, 0.50),
			    lat_quantile(ts->res, ts->res_n, 0.99), ts->res_max);
		printf("\n");
	}
	fflush(stdout);
}

/* SIGTERM / SIGINT: finish and report. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[512];
	struct sigaction sa;
	long long deadline, now, next_status = 0;
	int ch, n, i;

	while ((ch = getopt(argc, argv, "b:k:L:n:o:s:t:w:x:")) != -1) {
		switch (ch) {
		case 'b': opt.batch = atoi(optarg); break;
		case 'k': opt.killed = optarg; break;
		case 'L': opt.timeline = optarg; break;
		case 'n': opt.count = atoi(optarg); break;
		case 'o': opt.perconn = optarg; break;
		case 's': opt.status = optarg; break;
		case 't': opt.timeout = atof(optarg); break;
		case 'w': opt.window = optarg; break;
		case 'x': opt.expect = atol(optarg); break;
		default: usage(NULL);
		}
	}
	if (argc - optind != 1)
		usage("expected the URLS file");
	if (opt.count < 1 || opt.count > 1000000 || opt.batch < 1 || !(opt.timeout > 0))
		usage("bad -n, -b or -t");
	targets_read(argv[optind]);
	raise_nofile();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((conns = calloc((size_t)opt.count, sizeof *conns)) == NULL)
		abort();
	for (i = 0; i < opt.count; i++)
		conns[i].fd = -1;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	run_start_ms = mono_ms();
	deadline = run_start_ms + (long long)(opt.timeout * 1000);
	while (!stop && done_count < opt.count) {
		now = mono_ms();
		if (now >= deadline)
			break;
		start_more(now);
		if (now >= next_status) {
			window_read();
			killed_read();
			status_write();
			next_status = now + LOAD_STATUS_MS;
		}
		n = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]),
		    next_start < opt.count ? 20 : 100);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++)
			conn_ready(&conns[evs[i].data.u32], evs[i].events);
	}
	for (i = 0; i < opt.count; i++) {
		if (conns[i].state != L_DONE && conns[i].state != L_IDLE) {
			if (conns[i].state == L_BODY)
				conn_done(&conns[i], 0, NULL);
			else
				conn_done(&conns[i], 1, "no response before the end of the run");
		}
	}
	status_write();
	report();
	return 0;
}
