/*
 * xmem: allocation that never returns NULL.
 *
 * Running out of memory in a job-progress server is not recoverable in any
 * useful way, so these abort with a message instead.  Every buffer that grows
 * from outside input has its own ceiling (see buf.h): that is where the
 * real limits live, not here.
 */
#ifndef LONGJOB_XMEM_H
#define LONGJOB_XMEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Frees a NULL-terminated array of strings and the strings (NULL: nothing). */
void xfree_strings(char **v);

#endif
