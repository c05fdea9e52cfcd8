/*
 * publish: the nchan side's job handlers and workers in one program.  Makes
 * the same updates as bench/handlers/tick.c (RATE a second for SECONDS on
 * each of CHANNELS channels, the same "@ms=<now> k=<k>" marks) and sends
 * each as one HTTP POST to nchan's publisher location, which is how an
 * application feeds nchan:
 *
 *   publish [-c CONNS] [-j CHANNELS] [-r RATE] [-s SECONDS] [-g GRACE]
 *           http://127.0.0.1:PORT/pub/
 *
 * posts to <url><channel> with channel = ch0 .. ch<CHANNELS-1>.  Updates are
 * due on a fixed schedule, spread evenly (update m of all CHANNELS*RATE a
 * second is due at m / (CHANNELS*RATE) s and goes to channel m % CHANNELS);
 * CONNS keep-alive connections each carry one request at a time.  The mark
 * is the time the POST is written, so a publisher that falls behind shows
 * as "late" here rather than as latency at the client.  Stops when every
 * update went out or GRACE seconds after the schedule ended, and prints:
 *
 *   publish due D sent S ok O failed F unsent U late_max_ms L rate_per_s R
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "wallclock.h"

#define PUB_MAX_CONNS 256
#define PUB_RESP_CAP 8192

/* One keep-alive connection to the publisher location. */
struct pconn {
	int fd;
	int busy;		/* a request is in flight */
	char req[1024];
	size_t req_len, sent;
	char resp[PUB_RESP_CAP];
	size_t resp_len;
};

static struct sockaddr_in addr;
static char host[64], path[512];
static struct pconn conns[PUB_MAX_CONNS];
static long sent, ok, failed;

/* Milliseconds on the monotonic clock, as a double. */
static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Opens (or reopens) a blocking connection with Nagle off. */
static int
pconn_open(struct pconn *c)
{
	int one = 1;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		perror("publish: connect");
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->busy = 0;
	c->resp_len = 0;
	return 0;
}

/* Sends update k of channel ch on an idle connection. */
static int
pconn_send(struct pconn *c, long ch, long k, long total)
{
	char body[256];
	int blen;
	ssize_t w;

	blen = snprintf(body, sizeof body, "{\"progress\":%ld,\"message\":\"@ms=%lld k=%ld\"}",
	    k * 100 / total, wall_ms(), k);
	c->req_len = (size_t)snprintf(c->req, sizeof c->req,
	    "POST %sch%ld HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	    "Accept: text/plain\r\nContent-Length: %d\r\n\r\n%s", path, ch, host, blen, body);
	c->sent = 0;
	while (c->sent < c->req_len) {
		w = write(c->fd, c->req + c->sent, c->req_len - c->sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c->sent += (size_t)w;
	}
	c->busy = 1;
	c->resp_len = 0;
	sent++;
	return 0;
}

/* Reads the response; frees the connection once it is complete. */
static int
pconn_read(struct pconn *c)
{
	ssize_t r;
	char *end, *cl;
	size_t need;
	int status;

	r = read(c->fd, c->resp + c->resp_len, sizeof c->resp - 1 - c->resp_len);
	if (r <= 0)
		return -1;
	c->resp_len += (size_t)r;
	c->resp[c->resp_len] = '\0';
	if ((end = strstr(c->resp, "\r\n\r\n")) == NULL)
		return c->resp_len < sizeof c->resp - 1 ? 0 : -1;
	need = (size_t)(end - c->resp) + 4;
	if ((cl = strcasestr(c->resp, "\r\nContent-Length:")) != NULL && cl < end)
		need += strtoul(cl + 17, NULL, 10);
	if (c->resp_len < need)
		return 0;
	if (sscanf(c->resp, "HTTP/1.%*d %d", &status) == 1 && status >= 200 && status < 300)
		ok++;
	else
		failed++;
	c->busy = 0;
	c->resp_len = 0;
	return 0;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[PUB_MAX_CONNS];
	long nconns = 16, channels = 1000, rate = 1, seconds = 10, grace = 5;
	long total, due_total, m = 0, i;
	double start, now, per_ms, late, late_max = 0;
	const char *url, *h, *p;
	char *colon;
	int ch, n, timeout;

	while ((ch = getopt(argc, argv, "c:g:j:r:s:")) != -1) {
		switch (ch) {
		case 'c': nconns = atol(optarg); break;
		case 'g': grace = atol(optarg); break;
		case 'j': channels = atol(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 's': seconds = atol(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 1 || nconns < 1 || nconns > PUB_MAX_CONNS || channels < 1 ||
	    rate < 1 || seconds < 1)
		goto usage;
	url = argv[optind];
	if (strncmp(url, "http://", 7) != 0)
		goto usage;
	h = url + 7;
	p = h + strcspn(h, "/");
	if ((size_t)(p - h) >= sizeof host || strlen(p) >= sizeof path)
		goto usage;
	memcpy(host, h, (size_t)(p - h));
	host[p - h] = '\0';
	snprintf(path, sizeof path, "%s", *p ? p : "/");
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(80);
	{
		char ip[64];

		snprintf(ip, sizeof ip, "%s", host);
		if ((colon = strchr(ip, ':')) != NULL) {
			*colon = '\0';
			addr.sin_port = htons((uint16_t)atoi(colon + 1));
		}
		if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
			goto usage;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		if (pconn_open(&conns[i]) != 0)
			return 1;
	}
	total = rate * seconds;
	due_total = channels * total;
	per_ms = (double)(channels * rate) / 1000.0;
	start = mono_ms();
	while (m < due_total || sent > ok + failed) {
		now = mono_ms();
		if (now - start > (seconds + grace) * 1000.0)
			break;
		/* Every due update that an idle connection can take goes now. */
		for (i = 0; i < nconns && m < due_total; i++) {
			if (conns[i].busy || (double)m > (now - start) * per_ms)
				continue;
			late = (now - start) - (double)m / per_ms;
			if (late > late_max)
				late_max = late;
			if (pconn_send(&conns[i], m % channels, m / channels + 1, total) != 0) {
				failed++;
				if (pconn_open(&conns[i]) != 0)
					return 1;
			}
			m++;
		}
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = conns[i].busy ? POLLIN : 0;
			pfd[i].revents = 0;
		}
		/* Sleep until the next update is due, or a response comes. */
		timeout = 100;
		for (i = 0; i < nconns && m < due_total; i++) {
			if (!conns[i].busy) {
				late = (double)m / per_ms - (mono_ms() - start);
				timeout = late <= 0 ? 0 : late >= 100 ? 100 : (int)late + 1;
				break;
			}
		}
		n = poll(pfd, (nfds_t)nconns, timeout);
		if (n < 0 && errno != EINTR) {
			perror("publish: poll");
			return 1;
		}
		for (i = 0; i < nconns && n > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pconn_read(&conns[i]) != 0) {
				failed++;
				if (pconn_open(&conns[i]) != 0)
					return 1;
			}
		}
	}
	now = mono_ms();
	printf("publish due %ld sent %ld ok %ld failed %ld unsent %ld late_max_ms %.0f"
	    " rate_per_s %.0f\n", due_total, sent, ok, failed, due_total - m, late_max,
	    (double)ok * 1000.0 / (now - start));
	return 0;
usage:
	fprintf(stderr, "usage: publish [-c CONNS] [-j CHANNELS] [-r RATE] [-s SECONDS]"
	    " [-g GRACE] http://127.0.0.1:PORT/pub/\n");
	return 2;
}
