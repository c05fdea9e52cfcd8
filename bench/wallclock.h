/*
 * wallclock: milliseconds since the epoch, the clock every bench program
 * shares: the tick handler and the nchan publisher stamp each update with
 * it, and the load client subtracts that stamp from its own reading.
 */
#ifndef LONGJOB_BENCH_WALLCLOCK_H
#define LONGJOB_BENCH_WALLCLOCK_H

#include <time.h>

static long long __attribute__((unused))
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
