/*
 * tick: the benchmark's job handler.  Reports progress `rate` times a second
 * for `seconds` seconds (both form fields, read from the JSON on stdin), each
 * message carrying the wall-clock time it was printed:
 *
 *   progress <0-100> @ms=<ms since the epoch> k=<1..rate*seconds>
 *
 * so that the load client can tell how long the frame took to reach it
 * (bench/sseload.c) and whether any was lost.  With --go FIFO it first
 * waits, silently and without a wake-up, until someone opens FIFO for
 * writing (at most --wait seconds): the benchmark opens every stream while
 * the jobs are running but quiet, measures the idle cost, then opens FIFO so
 * that every job starts reporting at once.  (Polling for a file instead cost
 * 1,000 handlers 18 % of a core, in the middle of the idle measurement.)
 * With seconds = 0 it does nothing at all (the submission benchmark).
 *
 * Lines go out on a fixed schedule (tick k at start + k/rate), not after a
 * sleep each, so a late wake-up does not slow the rate down; start is
 * offset by a random fraction of a period, as independent jobs would be.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../wallclock.h"

#define TICK_STDIN_CAP 65536	/* the job's JSON is small; more is not ours */

/* Sleeps until the wall clock reaches ms (or returns at once if it has). */
static void
tick_sleep_until(long long ms)
{
	long long left;
	struct timespec ts;

	while ((left = ms - wall_ms()) > 0) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* The integer form field `name` from the job's JSON, or def. */
static long
tick_field(const char *json, const char *name, long def)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, "\"%s\"", name);
	if ((p = strstr(json, key)) == NULL)
		return def;
	p += strlen(key);
	while (*p == ' ' || *p == ':' || *p == '"')
		p++;
	return strtol(p, NULL, 10);
}

int
main(int argc, char **argv)
{
	static char json[TICK_STDIN_CAP];
	const char *go = NULL;
	long rate, seconds, total, k, wait_s = 600;
	long long start;
	size_t len = 0;
	ssize_t n;
	int i, fd, aligned = 0, burst = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--go") == 0 && i + 1 < argc)
			go = argv[++i];
		else if (strcmp(argv[i], "--aligned") == 0)
			aligned = 1;
		else if (strcmp(argv[i], "--burst") == 0)
			burst = 1;
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
			wait_s = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: tick [--go FILE] [--wait SECONDS] [--aligned | --burst]\n");
			return 2;
		}
	}
	while (len < sizeof json - 1 &&
	    ((n = read(0, json + len, sizeof json - 1 - len)) > 0 ||
	    (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	json[len] = '\0';
	rate = tick_field(json, "rate", 1);
	seconds = tick_field(json, "seconds", 10);
	if (rate < 1 || rate > 1000 || seconds < 0 || seconds > 86400) {
		fprintf(stderr, "tick: rate must be 1-1000 and seconds 0-86400\n");
		return 2;
	}
	if (seconds == 0)
		return 0;
	if (go != NULL) {
		/* Opening a FIFO to read blocks until a writer opens it; SIGALRM bounds it. */
		alarm((unsigned)wait_s);
		if ((fd = open(go, O_RDONLY)) < 0) {
			fprintf(stderr, "tick: %s: %s\n", go, strerror(errno));
			return 1;
		}
		close(fd);
		alarm(0);
	}
	total = rate * seconds;
	/*
	 * --burst: every line at once, as fast as stdout takes them (stdio's
	 * buffer, so few large writes): what the worker commits a second when
	 * the handlers cost nothing, its own ceiling.
	 */
	if (burst) {
		for (k = 1; k <= total; k++) {
			if (printf("progress %ld @ms=%lld k=%ld\n", k * 100 / total, wall_ms(), k) < 0)
				return 1;
		}
		return fflush(stdout) != 0;
	}
	/*
	 * Jobs started by one go file would all print in step, at the same
	 * phase of progress's 200 ms tick, and the latency would measure only
	 * that phase.  Real jobs print at any phase: start at a random one.
	 * --aligned is the other extreme: every job prints at the same moments
	 * (on the next whole second of the wall clock, then every 1/rate s).
	 */
	srandom((unsigned)getpid() ^ (unsigned)wall_ms());
	if (aligned)
		start = (wall_ms() / 1000 + 1) * 1000 - 1000 / rate;
	else
		start = wall_ms() + random() % (1000 / rate);
	for (k = 1; k <= total; k++) {
		tick_sleep_until(start + k * 1000 / rate);
		if (printf("progress %ld @ms=%lld k=%ld\n", k * 100 / total,
		    wall_ms(), k) < 0 || fflush(stdout) != 0)
			return 1;
	}
	return 0;
}
