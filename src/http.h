/*
 * http: one web request, whether it came over FastCGI or plain CGI.
 *
 * The programs never touch libfcgi streams or fd 0/1 directly: they read
 * parameters, the body and write the response through these functions, so
 * the same code serves a request from lighttpd's mod_fastcgi, mod_fcgid or
 * mod_cgi.  A failed write marks the request gone (the client left).
 *
 * http_error is the one place a failure becomes an answer: a status and a
 * message a person can act on, as JSON or HTML depending on Accept, and only
 * while no header has been sent.
 */
#ifndef LONGJOB_HTTP_H
#define LONGJOB_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <fcgiapp.h>

#include "buf.h"

/*
 * What a detached request may have waiting for a client that does not read
 * (its socket full): past it the request is gone, and the client, an
 * EventSource, resumes from its Last-Event-ID when it reads again.
 */
#define HTTP_BACKLOG_MAX (256 * 1024)

struct http_req {
	FCGX_Request fcgx;	/* unused under plain CGI */
	int cgi;		/* 1: plain CGI on fd 0/1 with the environment */
	int headers_sent;
	int gone;		/* a write failed or the peer closed (set with http_set_gone) */
	int detached;		/* libfcgi's buffers freed: we write the records (http_detach) */
	int head_only;		/* HEAD: http_start sent the headers, http_write drops the body */
	void *data;		/* the program's own state for this request */
	int loop_slot;		/* loop.c's index of a kept request */
	struct buf backlog;	/* a detached request's bytes its socket did not take yet */
};

/* A request parameter (CGI variable), or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* The path after the program's mount point ("/<id>/image.png"), never NULL. */
const char *http_path_info(const struct http_req *r);
/*
 * Checks that the request is a GET (or a HEAD, answered as a GET without
 * its body) and gives its path after the mount point without the leading
 * slash; 0, or 405 with *msg naming what (a noun phrase).
 */
int http_get_path(const struct http_req *r, const char **path, const char **msg);
/*
 * Copies the query-string parameter of exactly this name (decoded) into
 * out: 0, 1 if absent, -1 if too long, badly encoded or given twice.
 */
int http_query(const struct http_req *r, const char *name, char *out, size_t size);
/* 1 if the client prefers JSON (Accept names application/json before text/html). */
int http_wants_json(const struct http_req *r);
/* 1 if the client asked for HTML (a browser navigating). */
int http_wants_html(const struct http_req *r);

/* Reads up to n body bytes; 0 at the end, -1 on error. */
ssize_t http_read(struct http_req *r, char *p, size_t n);
/* Reads and discards the rest of the body. */
void http_drain(struct http_req *r);
/* Writes bytes; -1 (and r->gone set) if the client is gone. */
int http_write(struct http_req *r, const void *p, size_t n);
int http_printf(struct http_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int http_flush(struct http_req *r);
/* Marks the request gone (the loop then tells its program and frees it). */
void http_set_gone(struct http_req *r);
/* How many requests were ever marked gone (a cheap "did any fail?" for the loop). */
unsigned long http_gone_count(void);
/* How many requests have a backlog now (the loop then offers it again). */
int http_backlogged(void);
/* Writes what it can of a detached request's backlog without waiting; -1 if gone. */
int http_write_backlog(struct http_req *r);
/* Calls fn each time a request's backlog stops being empty (the loop watches its socket then). */
void http_on_backlog(void (*fn)(struct http_req *r));
/* The descriptor to poll for the peer going away. */
int http_fd(const struct http_req *r);
/*
 * For a response that stays open long (an SSE stream): flushes, then frees
 * libfcgi's per-request buffers and parameters (about 12 KiB of touched
 * memory a request, measured by bench/run), after which writes go out as
 * FastCGI records of their own, without waiting: what the socket does not
 * take waits in the request's backlog, at most HTTP_BACKLOG_MAX, so one
 * client that never reads can neither block the process nor make it hold
 * without bound.  http_param must not be called afterwards.  Does nothing under CGI or on a connection the front end
 * wants to keep (FCGI_KEEP_CONN).  -1 (and gone) if the flush failed.
 */
int http_detach(struct http_req *r);
/* Ends the response (FastCGI: the end records) and releases the connection. */
void http_finish(struct http_req *r);

/*
 * Sends the status and headers (extra: more "Name: value\r\n" lines or
 * NULL).  Every response gets X-Content-Type-Options: nosniff, and an HTML
 * one a Content-Security-Policy of frame-ancestors 'self' unless extra
 * sets a policy of its own.  For a HEAD request, the body that follows is
 * dropped.
 */
int http_start(struct http_req *r, int status, const char *ctype, const char *extra);
/* Answers with an error status and a message (JSON or HTML by Accept). */
void http_error(struct http_req *r, int status, const char *message);
/* Appends s to an allocated HTML-escaped copy; the caller frees it. */
char *http_html_escape(const char *s);

#endif
