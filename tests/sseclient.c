#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * sseclient: the integration tests' browser.
 *
 * Opens one or many HTTP/1.1 connections to one URL, asks for
 * text/event-stream and parses each stream the way a browser's EventSource
 * does (WHATWG HTML, "Server-sent events"): lines end in CRLF, LF or CR, a
 * leading BOM is skipped, ':' lines are comments, data lines are joined with
 * LF, the last event id persists, a blank line dispatches, and an unterminated
 * event at the end of the stream is discarded.  What arrived is recorded in
 * DIR/<i>.events and DIR/<i>.status (-o) and summed up in one summary line, so
 * that shell tests can assert on it.  libc only: the test machines have no
 * node or python.
 *
 * DESIGN: one process, one poll() loop, non-blocking sockets.  Each
 * connection is a small state machine (connect, send the request, read the
 * response head, read the body); the body is de-chunked if needed and its
 * bytes go straight into the event-stream parser, so nothing is buffered
 * beyond the current line and the current event, and both have a ceiling.
 * Connections are opened in batches: a new one starts only while fewer than
 * the batch size (-b) are still waiting for their first response byte (a
 * waiting connection stops counting after a second), so thousands of
 * connections do not overrun the server's listen backlog.  Only this client
 * closes early (-k, the deadline or a signal); it never reconnects.
 *
 * Output.  Unless -q, one stdout line per event: "conn <i> <id> <type>
 * <data>".  With -o DIR, DIR/<i>.status holds the final response's status
 * line and headers (LF-terminated, empty if no response came) and
 * DIR/<i>.events one line per event, "[<ms>\t]<id>\t<type>\t<data>", where
 * <id> is the last event id (the -l value until the stream sets one) and
 * each LF inside <data> is written as the two characters "\n".  Then, for
 * every status other than 200 and 204, a line "status <code> <count>", and
 * last the summary line:
 *
 *   connections N opened N status200 N status204 N status4xx N other N
 *   events N comments N ended N errors N
 *
 * "opened" counts TCP connections made; "ended" event streams the server
 * ended cleanly (the last chunk, Content-Length reached, or EOF when the body
 * is delimited by the close); "errors" connect/read failures, malformed HTTP,
 * a 200 that is not text/event-stream, over-long lines, truncated bodies and
 * connections without a response when the deadline passes.  A non-200
 * response is counted and closed, as EventSource does.  Exit status: 0 if
 * every connection got a response and there were no errors, 1 otherwise,
 * 2 for usage errors.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SSE_LINE_CAP	(1024 * 1024)	/* longest event-stream line */
#define SSE_DATA_CAP	(2 * SSE_LINE_CAP) /* largest data of one event */
#define HEAD_CAP	(64 * 1024)	/* largest response head */
#define CHUNK_LINE_CAP	4096		/* longest chunk-size line */
#define READ_SIZE	(64 * 1024)	/* bytes read per recv() */
#define ERRORS_SHOWN	20		/* error messages printed at most */
#define WAIT_AGE_MS	1000		/* a waiting connection frees its slot */
#define TICK_MS		200		/* longest sleep in poll() */

/* A growable byte buffer; every append names its ceiling. */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

/* Where a connection is in its life. */
enum conn_state {
	CONN_IDLE,		/* not started yet */
	CONN_CONNECTING,	/* non-blocking connect() in progress */
	CONN_SENDING,		/* writing the request */
	CONN_HEAD,		/* reading the status line and headers */
	CONN_BODY,		/* reading the event stream */
	CONN_DONE		/* closed, counted */
};

/* How the end of the response body is known. */
enum body_mode {
	BODY_EOF,		/* the server closes the connection */
	BODY_LENGTH,		/* Content-Length */
	BODY_CHUNKED		/* Transfer-Encoding: chunked */
};

/* Where the chunked decoder is. */
enum chunk_state {
	CHUNK_SIZE,		/* reading a chunk-size line */
	CHUNK_DATA,		/* copying chunk data */
	CHUNK_DATA_END		/* reading the CRLF after chunk data */
};

/* How a connection ended, for the summary. */
enum outcome {
	OUT_ENDED,		/* the server ended the stream cleanly */
	OUT_CLOSED,		/* we closed it (-k, deadline, not a stream) */
	OUT_ERROR		/* connect/read failure or malformed HTTP */
};

/* One connection and its parsers. */
struct conn {
	int			 num;		/* 0-based, names the files */
	int			 fd;		/* socket, -1 when none */
	int			 events_fd;	/* DIR/num.events if kept open */
	enum conn_state		 state;
	int64_t			 start_ms;	/* when connect() was called */
	size_t			 sent;		/* request bytes written */
	int			 holds_slot;	/* counts against the batch (-b) */
	int			 status;	/* final status, 0 until known */

	struct buf		 head;		/* response head so far */

	enum body_mode		 mode;
	uint64_t		 remaining;	/* BODY_LENGTH or chunk bytes */
	enum chunk_state	 chunk;
	struct buf		 chunk_line;

	int			 bom;		/* BOM bytes matched; 3 = done */
	int			 after_cr;	/* last line ended in CR */
	struct buf		 line;		/* current event-stream line */
	struct buf		 data;		/* data buffer */
	struct buf		 type;		/* event type buffer */
	struct buf		 id;		/* last event id buffer */
	long			 events;	/* events dispatched */
};

/* Command-line options. */
static struct {
	int		 count;		/* -n */
	const char	*last_id;	/* -l */
	double		 timeout;	/* -t, seconds */
	const char	*dir;		/* -o */
	long		 keep;		/* -k, -1 = until the server closes */
	int		 timestamps;	/* 1: -T (since connect), 2: -E (epoch) */
	int		 quiet;		/* -q */
	int		 batch;		/* -b */
	const char	*headers[64];	/* -H */
	int		 nheaders;
} opt = { 1, NULL, 30, NULL, -1, 0, 0, 256, { NULL }, 0 };

/* The target and the request every connection sends. */
static struct sockaddr_in target;
static char	*request;
static size_t	 request_len;

/* All connections, their poll entries and the run's totals. */
static struct conn	*conns;
static struct pollfd	*pfds;
static int		 next_start;	/* first connection not started */
static int		 age_scan;	/* first connection that may hold a slot */
static int		 waiting;	/* connections holding a batch slot */
static int		 done_count;	/* connections in CONN_DONE */
static int		 keep_events_open; /* enough fds for the .events files */
static long		 opened, responded, events, comments, ended, errors;
static long		 status_count[1000];
static struct buf	 out;		/* scratch for one output line */
static volatile sig_atomic_t stop;	/* SIGINT or SIGTERM arrived */

static const unsigned char bom_bytes[3] = { 0xef, 0xbb, 0xbf };

static void	conn_fail(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Print a usage message and exit with status 2. */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "sseclient: %s\n", why);
	fputs("usage: sseclient [options] http://HOST[:PORT]/path?query\n"
	    "  HOST is an IPv4 address or localhost\n"
	    "  -n N       N concurrent connections (default 1)\n"
	    "  -l ID      send Last-Event-ID: ID\n"
	    "  -t SECS    overall deadline (default 30)\n"
	    "  -o DIR     write DIR/<i>.events and DIR/<i>.status\n"
	    "  -k K       close a connection after K events (0: after the"
	    " headers)\n"
	    "  -T         prefix .events lines with ms since the connection"
	    " started\n"
	    "  -E         prefix .events lines with wall-clock ms since the epoch\n"
	    "  -q         print only the summary\n"
	    "  -H 'N: V'  extra request header (repeatable)\n"
	    "  -b B       at most B connections awaiting a response at once"
	    " (default 256)\n", stderr);
	exit(2);
}

/* Print a fatal error and exit with status 1. */
static void __attribute__((noreturn))
fatal(const char *what)
{
	fprintf(stderr, "sseclient: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch (to compare with a handler's own clock). */
static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append n bytes to b unless that makes it longer than limit: 0 or -1. */
static int
buf_add(struct buf *b, const void *p, size_t n, size_t limit)
{
	size_t	 want;
	char	*np;

	if (n > limit || b->len > limit - n)
		return -1;
	if (n == 0)
		return 0;
	if (b->len + n > b->size) {
		want = b->size < 64 ? 64 : b->size;
		while (want < b->len + n)
			want *= 2;
		if ((np = realloc(b->p, want)) == NULL) {
			fputs("sseclient: out of memory\n", stderr);
			abort();
		}
		b->p = np;
		b->size = want;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Replace the contents of b (bounded by the caller's line cap). */
static void
buf_set(struct buf *b, const char *p, size_t n)
{
	b->len = 0;
	buf_add(b, p, n, SIZE_MAX);
}

/* Release the memory of b. */
static void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

/* Append a NUL-terminated string to b, unbounded (our own output). */
static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s), SIZE_MAX);
}

/* Append data to b with each LF written as the two characters \n. */
static void
buf_escaped(struct buf *b, const char *p, size_t n)
{
	const char	*lf;

	while ((lf = memchr(p, '\n', n)) != NULL) {
		buf_add(b, p, lf - p, SIZE_MAX);
		buf_add(b, "\\n", 2, SIZE_MAX);
		n -= lf - p + 1;
		p = lf + 1;
	}
	buf_add(b, p, n, SIZE_MAX);
}

/* Write all of p to fd: 0 or -1 with errno set. */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= r;
	}
	return 0;
}

/* Build DIR/<num>.<ext> into path (PATH_MAX bytes). */
static void
out_path(char *path, int num, const char *ext)
{
	snprintf(path, PATH_MAX, "%s/%d.%s", opt.dir, num, ext);
}

/* Parse a whole decimal number in [min, max] or exit with a usage error. */
static long
parse_number(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "sseclient: %s: bad value '%s'\n", what, s);
		usage(NULL);
	}
	return v;
}

/* Parse the deadline in seconds (fractions allowed) or exit. */
static double
parse_seconds(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 1e6)
		usage("-t: bad number of seconds");
	return v;
}

/* Refuse header text that could end the header line early. */
static void
check_header_text(const char *s, const char *what)
{
	if (strpbrk(s, "\r\n") != NULL)
		usage(what);
}

/* Parse the command line into opt; returns the URL. */
static const char *
parse_args(int argc, char **argv)
{
	int	 ch;

	while ((ch = getopt(argc, argv, "b:EH:hk:l:n:o:qTt:")) != -1) {
		switch (ch) {
		case 'b':
			opt.batch = parse_number(optarg, 1, 100000, "-b");
			break;
		case 'H':
			check_header_text(optarg, "-H: header contains CR or LF");
			if (strchr(optarg, ':') == NULL || *optarg == ':')
				usage("-H: expected 'Name: value'");
			if (opt.nheaders == (int)(sizeof opt.headers /
			    sizeof opt.headers[0]))
				usage("-H: too many headers");
			opt.headers[opt.nheaders++] = optarg;
			break;
		case 'k':
			opt.keep = parse_number(optarg, 0, LONG_MAX, "-k");
			break;
		case 'l':
			check_header_text(optarg, "-l: id contains CR or LF");
			opt.last_id = optarg;
			break;
		case 'n':
			opt.count = parse_number(optarg, 1, 1000000, "-n");
			break;
		case 'o':
			opt.dir = optarg;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'T':
			opt.timestamps = 1;
			break;
		case 'E':
			opt.timestamps = 2;
			break;
		case 't':
			opt.timeout = parse_seconds(optarg);
			break;
		default:
			usage(NULL);
		}
	}
	if (argc - optind != 1)
		usage("expected one URL");
	return argv[optind];
}

/* Build the request every connection sends into request/request_len. */
static void
build_request(const char *host, size_t hostlen, const char *path,
    size_t pathlen)
{
	struct buf	 req = { NULL, 0, 0 };
	int		 i;

	buf_str(&req, "GET ");
	if (pathlen == 0 || *path == '?')
		buf_str(&req, "/");
	buf_add(&req, path, pathlen, SIZE_MAX);
	buf_str(&req, " HTTP/1.1\r\nHost: ");
	buf_add(&req, host, hostlen, SIZE_MAX);
	buf_str(&req, "\r\nAccept: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\nConnection: close\r\n");
	if (opt.last_id != NULL) {
		buf_str(&req, "Last-Event-ID: ");
		buf_str(&req, opt.last_id);
		buf_str(&req, "\r\n");
	}
	for (i = 0; i < opt.nheaders; i++) {
		buf_str(&req, opt.headers[i]);
		buf_str(&req, "\r\n");
	}
	buf_str(&req, "\r\n");
	request = req.p;
	request_len = req.len;
}

/* Parse the URL into target and build the request; exits on bad input. */
static void
parse_url(const char *url)
{
	const char	*host, *path;
	char		 name[64], *colon;
	size_t		 hostlen;
	long		 port = 80;

	if (strncmp(url, "http://", 7) != 0)
		usage("URL must start with http://");
	if (strpbrk(url, " \t\r\n") != NULL)
		usage("URL: contains white space");
	host = url + 7;
	path = host + strcspn(host, "/?#");
	hostlen = path - host;
	if (hostlen == 0 || hostlen >= sizeof name)
		usage("URL: bad host");
	memcpy(name, host, hostlen);
	name[hostlen] = '\0';
	if ((colon = strchr(name, ':')) != NULL) {
		*colon = '\0';
		port = parse_number(colon + 1, 1, 65535, "URL port");
	}
	memset(&target, 0, sizeof target);
	target.sin_family = AF_INET;
	target.sin_port = htons(port);
	if (strcmp(name, "localhost") == 0)
		strcpy(name, "127.0.0.1");
	if (inet_pton(AF_INET, name, &target.sin_addr) != 1)
		usage("URL: host must be an IPv4 address or localhost");
	/* The fragment is not sent. */
	build_request(host, hostlen, path, strcspn(path, "#"));
}

/* Raise the open-file limit to the hard limit; decide how files are kept. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;
	rlim_t		 want = 2 * (rlim_t)opt.count + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		fatal("getrlimit");
	if (rl.rlim_max == RLIM_INFINITY)
		rl.rlim_cur = rl.rlim_cur > want ? rl.rlim_cur : want;
	else
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)opt.count + 16)
		fprintf(stderr, "sseclient: warning: open-file limit %llu is too"
		    " low for %d connections\n", (unsigned long long)rl.rlim_cur,
		    opt.count);
	/* A socket and an .events file each; else reopen per event. */
	keep_events_open = opt.dir != NULL && rl.rlim_cur >= want;
}

/* Create the output directory if needed; exits if it is unusable. */
static void
prepare_dir(void)
{
	struct stat	 st;

	if (opt.dir == NULL)
		return;
	if (mkdir(opt.dir, 0777) != 0 && errno != EEXIST)
		fatal(opt.dir);
	if (stat(opt.dir, &st) != 0)
		fatal(opt.dir);
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sseclient: %s: not a directory\n", opt.dir);
		exit(2);
	}
}

/* Give back a connection's batch slot, if it still holds one. */
static void
slot_release(struct conn *c)
{
	if (c->holds_slot) {
		c->holds_slot = 0;
		waiting--;
	}
}

/* Close a connection, free its buffers and count how it ended. */
static void
conn_finish(struct conn *c, enum outcome how)
{
	if (c->state == CONN_DONE)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->events_fd >= 0)
		close(c->events_fd);
	c->fd = c->events_fd = -1;
	pfds[c->num].fd = -1;
	buf_free(&c->head);
	buf_free(&c->chunk_line);
	buf_free(&c->line);
	buf_free(&c->data);
	buf_free(&c->type);
	buf_free(&c->id);
	slot_release(c);
	c->state = CONN_DONE;
	done_count++;
	if (how == OUT_ENDED)
		ended++;
	else if (how == OUT_ERROR)
		errors++;
}

/* Report why a connection failed (the first few times) and close it. */
static void
conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->state == CONN_DONE)
		return;
	if (errors < ERRORS_SHOWN) {
		fprintf(stderr, "sseclient: conn %d: ", c->num);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	conn_finish(c, OUT_ERROR);
}

/* Set which poll events a connection waits for. */
static void
conn_poll(struct conn *c, short what)
{
	pfds[c->num].fd = c->fd;
	pfds[c->num].events = what;
}

/* Create (truncate) DIR/<num>.events and .status; keep .events if allowed. */
static int
conn_open_files(struct conn *c)
{
	char	 path[PATH_MAX];
	int	 fd;

	out_path(path, c->num, "status");
	if ((fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666)) < 0)
		goto fail;
	close(fd);
	out_path(path, c->num, "events");
	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_APPEND|O_CLOEXEC, 0666);
	if (fd < 0)
		goto fail;
	if (keep_events_open)
		c->events_fd = fd;
	else
		close(fd);
	return 0;
fail:
	conn_fail(c, "%s: %s", path, strerror(errno));
	return -1;
}

/* Start connecting: create the files and a non-blocking socket. */
static void
conn_start(struct conn *c)
{
	c->start_ms = now_ms();
	c->holds_slot = 1;
	waiting++;
	c->state = CONN_CONNECTING;
	if (opt.dir != NULL && conn_open_files(c) != 0)
		return;
	c->fd = socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(c, "socket: %s", strerror(errno));
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&target, sizeof target) == 0) {
		opened++;
		c->state = CONN_SENDING;
	} else if (errno != EINPROGRESS) {
		conn_fail(c, "connect: %s", strerror(errno));
		return;
	}
	conn_poll(c, POLLOUT);
}

/*
 * Start as many connections as the batch allows.  A connection holds a slot
 * from its start until its first response byte, its end or WAIT_AGE_MS;
 * connections start in index order, so the ageing scan only moves forward.
 */
static void
start_more(int64_t now)
{
	while (age_scan < next_start &&
	    now - conns[age_scan].start_ms >= WAIT_AGE_MS)
		slot_release(&conns[age_scan++]);
	while (next_start < opt.count && waiting < opt.batch)
		conn_start(&conns[next_start++]);
}

/* Write the response head to DIR/<num>.status, one header per LF line. */
static void
write_status_file(struct conn *c, const char *h, size_t n)
{
	char	 path[PATH_MAX];
	int	 fd;

	out.len = 0;
	for (; n > 0; h++, n--) {
		if (*h != '\r')
			buf_add(&out, h, 1, SIZE_MAX);
	}
	while (out.len >= 2 && out.p[out.len - 2] == '\n' &&
	    out.p[out.len - 1] == '\n')
		out.len--;		/* drop the blank line */
	out_path(path, c->num, "status");
	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666);
	if (fd < 0 || write_all(fd, out.p, out.len) != 0)
		conn_fail(c, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Write one dispatched event to DIR/<num>.events and, unless -q, stdout. */
static void
event_record(struct conn *c, const char *type, size_t typelen)
{
	char	 path[PATH_MAX], ms[32];
	int	 fd = c->events_fd, reopen = fd < 0;

	if (!opt.quiet) {
		out.len = 0;
		buf_add(&out, c->id.p, c->id.len, SIZE_MAX);
		buf_str(&out, " ");
		buf_add(&out, type, typelen, SIZE_MAX);
		buf_str(&out, " ");
		buf_escaped(&out, c->data.p, c->data.len);
		printf("conn %d ", c->num);
		fwrite(out.p, 1, out.len, stdout);
		putchar('\n');
	}
	if (opt.dir == NULL)
		return;
	out.len = 0;
	if (opt.timestamps) {
		snprintf(ms, sizeof ms, "%lld\t", (long long)(opt.timestamps == 2 ?
		    wall_ms() : now_ms() - c->start_ms));
		buf_str(&out, ms);
	}
	buf_add(&out, c->id.p, c->id.len, SIZE_MAX);
	buf_str(&out, "\t");
	buf_add(&out, type, typelen, SIZE_MAX);
	buf_str(&out, "\t");
	buf_escaped(&out, c->data.p, c->data.len);
	buf_str(&out, "\n");
	out_path(path, c->num, "events");
	if (reopen && (fd = open(path, O_WRONLY|O_APPEND|O_CLOEXEC)) < 0) {
		conn_fail(c, "%s: %s", path, strerror(errno));
		return;
	}
	if (write_all(fd, out.p, out.len) != 0)
		conn_fail(c, "%s: %s", path, strerror(errno));
	if (reopen)
		close(fd);
}

/* Dispatch the event being built, if it has data (the blank-line rule). */
static void
sse_dispatch(struct conn *c)
{
	if (c->data.len == 0) {
		c->type.len = 0;
		return;
	}
	c->data.len--;			/* the LF after the last data line */
	if (c->type.len == 0)
		event_record(c, "message", 7);
	else
		event_record(c, c->type.p, c->type.len);
	c->data.len = c->type.len = 0;
	c->events++;
	events++;
	if (opt.keep >= 0 && c->events >= opt.keep)
		conn_finish(c, OUT_CLOSED);
}

/* Does the field name (p, n) equal name? */
static int
field_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(p, name, n) == 0;
}

/* Apply one field: event, data, id or retry; others are ignored. */
static void
sse_field(struct conn *c, const char *name, size_t namelen,
    const char *value, size_t len)
{
	if (field_is(name, namelen, "event"))
		buf_set(&c->type, value, len);
	else if (field_is(name, namelen, "data")) {
		if (buf_add(&c->data, value, len, SSE_DATA_CAP) != 0 ||
		    buf_add(&c->data, "\n", 1, SSE_DATA_CAP) != 0)
			conn_fail(c, "event data larger than %d bytes",
			    SSE_DATA_CAP);
	} else if (field_is(name, namelen, "id")) {
		if (memchr(value, '\0', len) == NULL)
			buf_set(&c->id, value, len);
	}
	/*
	 * "retry" (ASCII digits only) sets the reconnection delay; this client
	 * never reconnects, so it has no effect here, like unknown fields.
	 */
}

/* Interpret one complete event-stream line (without its terminator). */
static void
sse_line(struct conn *c)
{
	const char	*s = c->line.p, *colon, *value;
	size_t		 n = c->line.len, namelen, len;

	if (n == 0) {
		sse_dispatch(c);
		return;
	}
	if (s[0] == ':') {
		comments++;
		return;
	}
	if ((colon = memchr(s, ':', n)) != NULL) {
		namelen = colon - s;
		value = colon + 1;
		len = n - namelen - 1;
		if (len > 0 && *value == ' ') {
			value++;
			len--;
		}
	} else {
		namelen = n;
		value = s + n;
		len = 0;
	}
	sse_field(c, s, namelen, value, len);
}

/* Split event-stream bytes into lines ending in CRLF, LF or CR. */
static void
sse_lines(struct conn *c, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0 && c->state != CONN_DONE) {
		if (c->after_cr) {
			c->after_cr = 0;
			if (*p == '\n') {	/* the LF of a CRLF */
				p++;
				n--;
				continue;
			}
		}
		for (k = 0; k < n && p[k] != '\r' && p[k] != '\n'; k++)
			;
		if (buf_add(&c->line, p, k, SSE_LINE_CAP) != 0) {
			conn_fail(c, "event-stream line longer than %d bytes",
			    SSE_LINE_CAP);
			return;
		}
		if (k == n)
			return;
		c->after_cr = p[k] == '\r';
		sse_line(c);
		c->line.len = 0;
		p += k + 1;
		n -= k + 1;
	}
}

/* Feed body bytes to the event-stream parser, skipping a leading BOM. */
static void
sse_feed(struct conn *c, const char *p, size_t n)
{
	int	 matched;

	while (c->bom < 3 && n > 0) {
		if ((unsigned char)*p == bom_bytes[c->bom]) {
			c->bom++;
			p++;
			n--;
			continue;
		}
		/* Not a BOM after all: the bytes held back are content. */
		matched = c->bom;
		c->bom = 3;
		sse_lines(c, (const char *)bom_bytes, matched);
	}
	sse_lines(c, p, n);
}

/* Handle one complete chunk-size line, or the line ending chunk data. */
static void
chunk_line_done(struct conn *c)
{
	struct buf	*l = &c->chunk_line;
	uint64_t	 size = 0;
	size_t		 i;
	int		 v;

	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	if (c->chunk == CHUNK_DATA_END) {
		if (l->len != 0)
			conn_fail(c, "chunked: no CRLF after chunk data");
		c->chunk = CHUNK_SIZE;
		l->len = 0;
		return;
	}
	for (i = 0; i < l->len; i++) {
		v = l->p[i];
		if (v >= '0' && v <= '9')
			v -= '0';
		else if ((v | 0x20) >= 'a' && (v | 0x20) <= 'f')
			v = (v | 0x20) - 'a' + 10;
		else
			break;
		if (size > (UINT64_MAX >> 4)) {
			conn_fail(c, "chunked: chunk size overflows");
			return;
		}
		size = size << 4 | (uint64_t)v;
	}
	if (i == 0 || (i < l->len && l->p[i] != ';' && l->p[i] != ' ' &&
	    l->p[i] != '\t')) {
		conn_fail(c, "chunked: bad chunk-size line");
		return;
	}
	l->len = 0;
	if (size == 0) {		/* the last chunk: a clean end */
		conn_finish(c, OUT_ENDED);
		return;
	}
	c->chunk = CHUNK_DATA;
	c->remaining = size;
}

/* Decode chunked framing and feed the chunk data to the parser. */
static void
chunked_feed(struct conn *c, const char *p, size_t n)
{
	const char	*lf;
	size_t		 k;

	while (n > 0 && c->state != CONN_DONE) {
		if (c->chunk == CHUNK_DATA) {
			k = n < c->remaining ? n : (size_t)c->remaining;
			sse_feed(c, p, k);
			p += k;
			n -= k;
			if ((c->remaining -= k) == 0)
				c->chunk = CHUNK_DATA_END;
			continue;
		}
		lf = memchr(p, '\n', n);
		k = lf != NULL ? (size_t)(lf - p) : n;
		if (buf_add(&c->chunk_line, p, k, CHUNK_LINE_CAP) != 0) {
			conn_fail(c, "chunked: chunk-size line too long");
			return;
		}
		if (lf == NULL)
			return;
		p += k + 1;
		n -= k + 1;
		chunk_line_done(c);
	}
}

/* Feed response body bytes according to the body's framing. */
static void
body_feed(struct conn *c, const char *p, size_t n)
{
	switch (c->mode) {
	case BODY_CHUNKED:
		chunked_feed(c, p, n);
		break;
	case BODY_LENGTH:
		if (n > c->remaining)
			n = c->remaining;
		sse_feed(c, p, n);
		c->remaining -= n;
		if (c->remaining == 0)
			conn_finish(c, OUT_ENDED);
		break;
	case BODY_EOF:
		sse_feed(c, p, n);
		break;
	}
}

/* Return the next line of a head at *pos (CR stripped), its length in *n. */
static const char *
head_line(const char *h, size_t end, size_t *pos, size_t *n)
{
	const char	*s = h + *pos, *lf;

	if (*pos >= end)
		return NULL;
	lf = memchr(s, '\n', end - *pos);
	*n = lf != NULL ? (size_t)(lf - s) : end - *pos;
	*pos += *n + 1;
	if (*n > 0 && s[*n - 1] == '\r')
		(*n)--;
	return s;
}

/* Parse "HTTP/1.x NNN reason": the status code, or -1. */
static int
parse_status_line(const char *s, size_t n)
{
	int	 i, code = 0;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' ||
	    s[7] > '9' || s[8] != ' ' || (n > 12 && s[12] != ' '))
		return -1;
	for (i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		code = code * 10 + s[i] - '0';
	}
	return code < 100 ? -1 : code;
}

/* Does header value v (length n) end with the transfer coding "chunked"? */
static int
is_chunked(const char *v, size_t n)
{
	const char	*comma = memrchr(v, ',', n);

	if (comma != NULL) {
		n -= comma + 1 - v;
		v = comma + 1;
	}
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	return n == 7 && strncasecmp(v, "chunked", 7) == 0;
}

/* Is the media type of Content-Type value v text/event-stream? */
static int
is_event_stream(const char *v, size_t n)
{
	const char	*semi = memchr(v, ';', n);

	if (semi != NULL)
		n = semi - v;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == 17 && strncasecmp(v, "text/event-stream", 17) == 0;
}

/* Parse decimal Content-Length value v into *len: 0 or -1. */
static int
parse_length(const char *v, size_t n, uint64_t *len)
{
	*len = 0;
	if (n == 0)
		return -1;
	for (; n > 0; v++, n--) {
		if (*v < '0' || *v > '9' || *len > UINT64_MAX / 10 - 1)
			return -1;
		*len = *len * 10 + (uint64_t)(*v - '0');
	}
	return 0;
}

/* Is the header name (p, n) equal to name, ignoring case? */
static int
header_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Read the headers that matter: framing and media type; 0 or -1. */
static int
parse_headers(struct conn *c, const char *h, size_t end, size_t pos,
    int *stream)
{
	const char	*s, *colon, *v;
	size_t		 n, name, vn;
	int		 has_length = 0, has_coding = 0;

	c->mode = BODY_EOF;
	*stream = 0;
	while ((s = head_line(h, end, &pos, &n)) != NULL && n > 0) {
		if ((colon = memchr(s, ':', n)) == NULL)
			return -1;
		name = colon - s;
		for (v = colon + 1; v < s + n && (*v == ' ' || *v == '\t'); v++)
			;
		vn = s + n - v;
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (header_is(s, name, "Transfer-Encoding")) {
			c->mode = is_chunked(v, vn) ? BODY_CHUNKED : BODY_EOF;
			has_coding = 1;
		} else if (header_is(s, name, "Content-Length")) {
			if (parse_length(v, vn, &c->remaining) != 0)
				return -1;
			has_length = 1;
		} else if (header_is(s, name, "Content-Type"))
			*stream = is_event_stream(v, vn);
	}
	if (has_length && !has_coding)	/* Transfer-Encoding wins */
		c->mode = BODY_LENGTH;
	return 0;
}

/* Decide what follows a final response head: the stream, or the end. */
static void
head_accept(struct conn *c, int code, size_t end, size_t pos)
{
	int	 stream;

	if (parse_headers(c, c->head.p, end, pos, &stream) != 0)
		conn_fail(c, "malformed response header");
	else if (code != 200)
		conn_finish(c, OUT_CLOSED);	/* EventSource gives up */
	else if (!stream)
		conn_fail(c, "status 200 without text/event-stream");
	else if (opt.keep == 0)
		conn_finish(c, OUT_CLOSED);
	else if (c->mode == BODY_LENGTH && c->remaining == 0)
		conn_finish(c, OUT_ENDED);
	else {
		c->state = CONN_BODY;
		c->chunk = CHUNK_SIZE;
	}
}

/* Act on a complete response head of end bytes: 1 if interim, else 0. */
static int
head_done(struct conn *c, size_t end)
{
	const char	*s;
	size_t		 pos = 0, n;
	int		 code;

	s = head_line(c->head.p, end, &pos, &n);
	if ((code = parse_status_line(s, n)) < 0) {
		conn_fail(c, "malformed status line '%.*s'", (int)n, s);
		return 0;
	}
	if (code < 200 && code != 101)
		return 1;		/* 100 Continue and friends */
	c->status = code;
	responded++;
	status_count[code]++;
	if (opt.dir != NULL)
		write_status_file(c, c->head.p, end);
	if (c->state != CONN_DONE)
		head_accept(c, code, end, pos);
	buf_free(&c->head);
	return 0;
}

/* Offset just past the blank line ending a head (new bytes from from), or 0. */
static size_t
head_end(const char *h, size_t len, size_t from)
{
	size_t	 i = from >= 2 ? from - 2 : 0;

	for (; i < len; i++) {
		if (h[i] != '\n')
			continue;
		if (i + 1 < len && h[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && h[i + 1] == '\r' && h[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Collect response head bytes; pass what follows the head to the body. */
static void
head_feed(struct conn *c, const char *p, size_t n)
{
	size_t	 old, end, extra;

	while (n > 0 && c->state == CONN_HEAD) {
		old = c->head.len;
		if (buf_add(&c->head, p, n, HEAD_CAP) != 0) {
			conn_fail(c, "response head larger than %d bytes",
			    HEAD_CAP);
			return;
		}
		if ((end = head_end(c->head.p, c->head.len, old)) == 0)
			return;
		/* The head ends inside p, so what follows it is p's tail. */
		extra = c->head.len - end;
		p += n - extra;
		n = extra;
		if (head_done(c, end))
			c->head.len = 0;	/* an interim response */
	}
	if (n > 0 && c->state == CONN_BODY)
		body_feed(c, p, n);
}

/* The server closed the connection: a clean end or a truncation. */
static void
conn_eof(struct conn *c)
{
	if (c->state == CONN_HEAD)
		conn_fail(c, "connection closed before the response head");
	else if (c->mode == BODY_EOF)
		conn_finish(c, OUT_ENDED);
	else if (c->mode == BODY_CHUNKED)
		conn_fail(c, "connection closed before the last chunk");
	else
		conn_fail(c, "connection closed %llu bytes before the end",
		    (unsigned long long)c->remaining);
}

/* The socket is readable: read once and feed the bytes. */
static void
conn_readable(struct conn *c)
{
	static char	 rbuf[READ_SIZE];
	ssize_t		 r;

	r = recv(c->fd, rbuf, sizeof rbuf, 0);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_fail(c, "read: %s", strerror(errno));
		return;
	}
	if (r == 0) {
		conn_eof(c);
		return;
	}
	slot_release(c);
	if (c->state == CONN_HEAD)
		head_feed(c, rbuf, r);
	else
		body_feed(c, rbuf, r);
}

/* The socket is writable: finish connecting, then send the request. */
static void
conn_writable(struct conn *c)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;
	ssize_t		 r;

	if (c->state == CONN_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			conn_fail(c, "connect: %s", strerror(err));
			return;
		}
		opened++;
		c->state = CONN_SENDING;
	}
	r = send(c->fd, request + c->sent, request_len - c->sent,
	    MSG_NOSIGNAL);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_fail(c, "write: %s", strerror(errno));
		return;
	}
	if ((c->sent += r) == request_len) {
		c->state = CONN_HEAD;
		conn_poll(c, POLLIN);
	}
}

/* Handle what poll() reported for one connection. */
static void
conn_event(struct conn *c, short revents)
{
	if (c->state == CONN_CONNECTING || c->state == CONN_SENDING)
		conn_writable(c);
	else if (revents & (POLLIN|POLLERR|POLLHUP))
		conn_readable(c);
}

/* Close what is still open when the deadline passes or a signal comes. */
static void
close_all(void)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < opt.count; i++) {
		c = &conns[i];
		if (c->state == CONN_IDLE)
			conn_fail(c, "not started before the deadline");
		else if (c->status == 0)
			conn_fail(c, "no response before the deadline");
		else
			conn_finish(c, OUT_CLOSED);
	}
}

/* Run the poll loop until every connection is done or time is up. */
static void
run(void)
{
	int64_t	 deadline, now, wait;
	int	 i, r;

	deadline = now_ms() + (int64_t)(opt.timeout * 1000);
	while (!stop && done_count < opt.count) {
		now = now_ms();
		if (now >= deadline)
			break;
		start_more(now);
		wait = deadline - now;
		if (wait > TICK_MS)
			wait = TICK_MS;
		if (next_start < opt.count && wait > 20)
			wait = 20;	/* look again for free batch slots */
		r = poll(pfds, opt.count, (int)wait);
		if (r < 0 && errno != EINTR)
			fatal("poll");
		for (i = 0; r > 0 && i < opt.count; i++) {
			if (pfds[i].fd < 0 || pfds[i].revents == 0)
				continue;
			conn_event(&conns[i], pfds[i].revents);
			r--;	/* stop looking once all are seen */
		}
	}
	close_all();
}

/* Print per-status counts for unusual statuses, then the summary line. */
static void
report(void)
{
	long	 s4xx = 0, other = 0;
	int	 code;

	for (code = 100; code < 1000; code++) {
		if (status_count[code] == 0 || code == 200 || code == 204)
			continue;
		if (code >= 400 && code < 500)
			s4xx += status_count[code];
		else
			other += status_count[code];
		printf("status %d %ld\n", code, status_count[code]);
	}
	printf("connections %d opened %ld status200 %ld status204 %ld"
	    " status4xx %ld other %ld events %ld comments %ld ended %ld"
	    " errors %ld\n", opt.count, opened, status_count[200],
	    status_count[204], s4xx, other, events, comments, ended, errors);
	if (errors > ERRORS_SHOWN)
		fprintf(stderr, "sseclient: %ld more errors not shown\n",
		    errors - ERRORS_SHOWN);
}

/* Note SIGINT or SIGTERM: stop, close everything and report. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Install the signal handlers. */
static void
setup_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Parse the options, run every connection, report what arrived. */
int
main(int argc, char **argv)
{
	int	 i;

	parse_url(parse_args(argc, argv));
	prepare_dir();
	raise_nofile();
	setup_signals();
	if (!opt.quiet)
		setvbuf(stdout, NULL, _IOLBF, 0);

	conns = calloc(opt.count, sizeof *conns);
	pfds = calloc(opt.count, sizeof *pfds);
	if (conns == NULL || pfds == NULL)
		fatal("calloc");
	for (i = 0; i < opt.count; i++) {
		conns[i].num = i;
		conns[i].fd = conns[i].events_fd = -1;
		pfds[i].fd = -1;
		if (opt.last_id != NULL)
			buf_set(&conns[i].id, opt.last_id, strlen(opt.last_id));
	}
	run();
	report();
	free(conns);
	free(pfds);
	free(request);
	buf_free(&out);
	return responded == opt.count && errors == 0 ? 0 : 1;
}
