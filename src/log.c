/* log: prefixed, leveled lines on stderr (the web server's error log). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "longjob";
static enum log_level log_level = LOG_INFO;
static char *log_path;		/* the file stderr is, or NULL */
static long long log_max, log_size;

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

/* Opens path for appending as stderr; 0, or -1 with errno. */
static int
log_open(const char *path)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (dup2(fd, 2) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	log_size = fstat(2, &sb) == 0 ? (long long)sb.st_size : 0;
	return 0;
}

int
log_to_file(const char *path, long long max_bytes)
{
	if (log_open(path) != 0) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	free(log_path);
	log_path = strdup(path);
	log_max = max_bytes;
	return 0;
}

/* Past the cap: the file becomes <path>.1 and a new one is started. */
static void
log_rotate(void)
{
	char old[4096];

	if (log_path == NULL || log_max <= 0 || log_size < log_max)
		return;
	snprintf(old, sizeof old, "%s.1", log_path);
	if (rename(log_path, old) != 0 || log_open(log_path) != 0)
		log_max = 0;	/* it cannot be rotated: keep writing where we are */
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
	if (log_path != NULL) {
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		int n;

		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
		n = fprintf(stderr, "%s %s[%ld]: %s: %s: %s\n", when, log_progname,
		    (long)getpid(), names[level], func, line);
		log_size += n > 0 ? n : 0;
		log_rotate();
		return;
	}
	fprintf(stderr, "%s[%ld]: %s: %s: %s\n", log_progname, (long)getpid(),
	    names[level], func, line);
}
