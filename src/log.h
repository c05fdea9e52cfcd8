/*
 * log: one line per message on stderr, which the web server puts in its
 * error log.  Every line names the program, its pid and the function that
 * failed, so a sysadmin can tell which of several backends spoke.
 *
 * The worker, which has no web server to keep its lines, logs to a file
 * instead (log_to_file): each line then starts with the local time, and
 * the file is capped: past max_bytes it is renamed to <path>.1 (replacing
 * the one before) and a new one started, so it never holds more than about
 * twice that.  The file is stderr itself, so the processes the worker
 * starts (keepers) write their lines to it too.
 */
#ifndef LONGJOB_LOG_H
#define LONGJOB_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the program name used as the prefix of every line. */
void log_init(const char *progname);
/* Lines above this level are dropped (default LOG_INFO; LONGJOB_DEBUG=1 raises it). */
void log_set_level(enum log_level level);
/* Makes stderr the file at path (appended, owner-only), capped at max_bytes; 0, or -1 (logged). */
int log_to_file(const char *path, long long max_bytes);
void log_write(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
