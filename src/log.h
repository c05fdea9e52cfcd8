/*
 * log: one line per message on stderr, which the web server puts in its
 * error log.  Every line names the program, its pid and the function that
 * failed, so a sysadmin can tell which of several backends spoke.
 */
#ifndef LONGJOB_LOG_H
#define LONGJOB_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the program name used as the prefix of every line. */
void log_init(const char *progname);
/* Lines above this level are dropped (default LOG_INFO; LONGJOB_DEBUG=1 raises it). */
void log_set_level(enum log_level level);
void log_write(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
