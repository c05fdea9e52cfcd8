/* log: prefixed, leveled lines on stderr (the web server's error log). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "longjob";
static enum log_level log_level = LOG_INFO;

void
log_init(const char *progname)
{
	const char *debug = getenv("LONGJOB_DEBUG");

	log_progname = progname;
	if (debug != NULL && *debug != '\0' && *debug != '0')
		log_level = LOG_DEBUG;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent writers do not interleave mid-line. */
	fprintf(stderr, "%s[%ld]: %s: %s: %s\n", log_progname, (long)getpid(),
	    names[level], func, line);
}
