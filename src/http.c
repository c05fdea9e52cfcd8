/* http: requests over FastCGI or plain CGI, and error answers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fastcgi.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "xmem.h"

const char *
http_param(const struct http_req *r, const char *name)
{
	if (r->cgi)
		return getenv(name);
	if (r->detached) {
		log_error("http_param(%s) after http_detach", name);
		return NULL;
	}
	return FCGX_GetParam(name, r->fcgx.envp);
}

/*
 * PATH_INFO, as lighttpd, mod_fcgid and CGI set it.  mod_proxy_fcgi (through
 * ProxyPass) leaves it unset, puts the whole path in SCRIPT_NAME, and the
 * path after the ProxyPass prefix at the end of SCRIPT_FILENAME
 * ("proxy:fcgi://<worker>//render", measured on Apache 2.4.71): take it from there.
 */
const char *
http_path_info(const struct http_req *r)
{
	const char *p = http_param(r, "PATH_INFO");
	const char *f = http_param(r, "SCRIPT_FILENAME");

	if (p != NULL && *p != '\0')
		return p;
	if (f != NULL && strncmp(f, "proxy:fcgi://", 13) == 0 &&
	    (f = strchr(f + 13, '/')) != NULL)
		return f + 1;
	return "";
}

int
http_get_path(const struct http_req *r, const char **path, const char **msg)
{
	const char *method = http_param(r, "REQUEST_METHOD");

	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
		*msg = "this is read with GET (or HEAD)";
		return 405;
	}
	*path = http_path_info(r);
	if (**path == '/')
		(*path)++;
	return 0;
}

/* Value of a hex digit, or -1. */
static int
http_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a %-encoded value of n bytes into out; -1 if it does not fit or is bad. */
static int
http_unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if (http_hex(s[i + 1]) < 0 || http_hex(s[i + 2]) < 0)
				return -1;
			c = http_hex(s[i + 1]) * 16 + http_hex(s[i + 2]);
			i += 2;
		}
		if (o + 1 >= size || c == '\0')
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * A parameter is its whole name before '=' ("xlastEventId" is not
 * "lastEventId"); one given twice is refused, since which was meant is
 * anyone's guess.
 */
int
http_query(const struct http_req *r, const char *name, char *out, size_t size)
{
	const char *q = http_param(r, "QUERY_STRING"), *value = NULL;
	size_t len = strlen(name), pair, n = 0;

	while (q != NULL && *q != '\0') {
		pair = strcspn(q, "&");
		if (pair > len && strncmp(q, name, len) == 0 && q[len] == '=') {
			if (value != NULL)
				return -1;
			value = q + len + 1;
			n = pair - len - 1;
		}
		q += pair;
		if (*q == '&')
			q++;
	}
	if (value == NULL)
		return 1;
	return http_unescape(value, n, out, size);
}

/* Position of a media type in the Accept header, or -1. */
static long
http_accept_pos(const struct http_req *r, const char *type)
{
	const char *accept = http_param(r, "HTTP_ACCEPT");
	const char *at;

	if (accept == NULL || (at = strcasestr(accept, type)) == NULL)
		return -1;
	return at - accept;
}

int
http_wants_json(const struct http_req *r)
{
	long json = http_accept_pos(r, "application/json");
	long html = http_accept_pos(r, "text/html");

	return json >= 0 && (html < 0 || json < html);
}

int
http_wants_html(const struct http_req *r)
{
	return http_accept_pos(r, "text/html") >= 0 && !http_wants_json(r);
}

ssize_t
http_read(struct http_req *r, char *p, size_t n)
{
	ssize_t got;

	if (!r->cgi)
		return FCGX_GetStr(p, (int)(n > 65536 ? 65536 : n), r->fcgx.in);
	do
		got = read(0, p, n);
	while (got < 0 && errno == EINTR);
	return got;
}

void
http_drain(struct http_req *r)
{
	char tmp[4096];

	while (http_read(r, tmp, sizeof tmp) > 0)
		;
}

/* Writes all of p to fd 1 (plain CGI). */
static int
http_write_fd(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* How many requests have bytes in their backlog. */
static int http_nbacklogged;
static void (*http_backlog_fn)(struct http_req *);

void
http_on_backlog(void (*fn)(struct http_req *r))
{
	http_backlog_fn = fn;
}

int
http_backlogged(void)
{
	return http_nbacklogged;
}

/* Appends to the backlog; -1 if that would pass HTTP_BACKLOG_MAX (the client does not read). */
static int
http_backlog_add(struct http_req *r, const void *p, size_t n)
{
	size_t had = r->backlog.len;

	if (n == 0)
		return 0;
	if (buf_add(&r->backlog, p, n) == 0) {
		if (had == 0) {
			http_nbacklogged++;
			if (http_backlog_fn != NULL)
				http_backlog_fn(r);
		}
		return 0;
	}
	log_info("a client read nothing while %d bytes waited for it; closing its stream",
	    HTTP_BACKLOG_MAX);
	return -1;
}

/* Drops the backlog (the request ends). */
static void
http_backlog_drop(struct http_req *r)
{
	if (r->backlog.len > 0)
		http_nbacklogged--;
	buf_free(&r->backlog);
}

int
http_write_backlog(struct http_req *r)
{
	ssize_t w;

	while (r->backlog.len > 0 && !r->gone) {
		w = write(r->fcgx.ipcFd, r->backlog.data, r->backlog.len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0) {
			http_set_gone(r);
			return -1;
		}
		buf_consume(&r->backlog, (size_t)w);
		if (r->backlog.len == 0)
			http_nbacklogged--;
	}
	return r->gone ? -1 : 0;
}

/*
 * Writes one FastCGI record (n <= 65535) on a detached request's
 * connection, without waiting: behind a backlog, or what the socket does
 * not take now, goes to the backlog.  -1 if the connection failed or the
 * backlog is full.
 */
static int
http_write_record(struct http_req *r, int type, const void *p, size_t n)
{
	FCGI_Header h;
	struct iovec iov[2];
	size_t done = 0, total = sizeof h + n, off;
	ssize_t w;

	memset(&h, 0, sizeof h);
	h.version = FCGI_VERSION_1;
	h.type = (unsigned char)type;
	h.requestIdB1 = (unsigned char)((r->fcgx.requestId >> 8) & 0xff);
	h.requestIdB0 = (unsigned char)(r->fcgx.requestId & 0xff);
	h.contentLengthB1 = (unsigned char)((n >> 8) & 0xff);
	h.contentLengthB0 = (unsigned char)(n & 0xff);
	if (http_write_backlog(r) != 0)
		return -1;
	while (done < total && r->backlog.len == 0) {
		int cnt = 0;

		if (done < sizeof h) {
			iov[cnt].iov_base = (char *)&h + done;
			iov[cnt++].iov_len = sizeof h - done;
		}
		if (n > 0) {
			off = done > sizeof h ? done - sizeof h : 0;
			iov[cnt].iov_base = (char *)p + off;
			iov[cnt++].iov_len = n - off;
		}
		w = writev(r->fcgx.ipcFd, iov, cnt);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	if (done < sizeof h && http_backlog_add(r, (char *)&h + done, sizeof h - done) != 0)
		return -1;
	off = done > sizeof h ? done - sizeof h : 0;
	return http_backlog_add(r, (const char *)p + off, n - off);
}

/* Writes bytes as FCGI_STDOUT records (a detached request). */
static int
http_write_detached(struct http_req *r, const char *p, size_t n)
{
	while (n > 0) {
		size_t part = n > 65535 ? 65535 : n;

		if (http_write_record(r, FCGI_STDOUT, p, part) != 0)
			return -1;
		p += part;
		n -= part;
	}
	return 0;
}

/* How many requests were marked gone: the loop looks for them only when this moved. */
static unsigned long http_gone_marks;

void
http_set_gone(struct http_req *r)
{
	if (!r->gone)
		http_gone_marks++;
	r->gone = 1;
}

unsigned long
http_gone_count(void)
{
	return http_gone_marks;
}

int
http_write(struct http_req *r, const void *p, size_t n)
{
	int rc;

	if (r->gone)
		return -1;
	if (r->head_only)
		return 0;
	if (r->cgi)
		rc = http_write_fd(p, n);
	else if (r->detached)
		rc = http_write_detached(r, p, n);
	else
		rc = FCGX_PutStr(p, (int)n, r->fcgx.out) == (int)n ? 0 : -1;
	if (rc != 0)
		http_set_gone(r);
	return rc;
}

int
http_printf(struct http_req *r, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = http_write(r, s, strlen(s));
	free(s);
	return rc;
}

int
http_flush(struct http_req *r)
{
	if (r->gone)
		return -1;
	if (!r->cgi && !r->detached && FCGX_FFlush(r->fcgx.out) != 0) {
		http_set_gone(r);
		return -1;
	}
	return 0;
}

int
http_fd(const struct http_req *r)
{
	return r->cgi ? 1 : r->fcgx.ipcFd;
}

int
http_detach(struct http_req *r)
{
	if (r->cgi || r->detached || r->fcgx.keepConnection)
		return 0;
	if (http_flush(r) != 0)
		return -1;
	/* Frees the streams and the parameters; the connection stays open. */
	FCGX_Free(&r->fcgx, 0);
	r->fcgx.envp = NULL;
	r->detached = 1;
	buf_init(&r->backlog, HTTP_BACKLOG_MAX);
	/* From now on a write never waits for the client (http.h). */
	if (fcntl(r->fcgx.ipcFd, F_SETFL, fcntl(r->fcgx.ipcFd, F_GETFL) | O_NONBLOCK) != 0)
		log_warn("fcntl(O_NONBLOCK): %s", strerror(errno));
	return 0;
}

void
http_finish(struct http_req *r)
{
	/* FCGI_END_REQUEST's body: appStatus 0, FCGI_REQUEST_COMPLETE. */
	static const unsigned char end[8] = { 0, 0, 0, 0, FCGI_REQUEST_COMPLETE, 0, 0, 0 };

	if (r->cgi)
		return;
	if (!r->detached) {
		if (!r->gone)
			FCGX_FFlush(r->fcgx.out);
		FCGX_Finish_r(&r->fcgx);
		return;
	}
	/*
	 * What FCGX_Finish_r writes: the end of stdout, then the end of the
	 * request.  Whatever the socket has not taken by now is dropped: the
	 * client resumes from its Last-Event-ID.
	 */
	if (!r->gone && http_write_record(r, FCGI_STDOUT, NULL, 0) == 0)
		http_write_record(r, FCGI_END_REQUEST, end, sizeof end);
	http_write_backlog(r);
	if (r->backlog.len > 0)
		log_info("a stream ended with %zu bytes its client had not taken", r->backlog.len);
	http_backlog_drop(r);
	close(r->fcgx.ipcFd);
	r->fcgx.ipcFd = -1;
}

/* The reason phrase of a status. */
static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

/*
 * nosniff: a browser takes each answer as the type it says, never guesses
 * script or a page from its bytes.  frame-ancestors: no other site can
 * frame our pages under its own (clickjacking a Cancel button).
 */
int
http_start(struct http_req *r, int status, const char *ctype, const char *extra)
{
	const char *method;
	int page = ctype != NULL && strncasecmp(ctype, "text/html", 9) == 0 &&
	    (extra == NULL || strcasestr(extra, "Content-Security-Policy:") == NULL);
	int rc;

	if (r->headers_sent) {
		log_error("headers already sent, cannot send status %d", status);
		return -1;
	}
	method = http_param(r, "REQUEST_METHOD");
	r->headers_sent = 1;
	rc = http_printf(r, "Status: %d %s\r\n%s%s%s"
	    "X-Content-Type-Options: nosniff\r\n%s%s\r\n", status,
	    http_reason(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "",
	    page ? "Content-Security-Policy: frame-ancestors 'self'\r\n" : "",
	    extra ? extra : "");
	r->head_only = method != NULL && strcmp(method, "HEAD") == 0;
	return rc;
}

char *
http_html_escape(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_adds(&b, "&lt;"); break;
		case '>': buf_adds(&b, "&gt;"); break;
		case '&': buf_adds(&b, "&amp;"); break;
		case '"': buf_adds(&b, "&quot;"); break;
		case '\'': buf_adds(&b, "&#39;"); break;
		default: buf_add(&b, s, 1); break;
		}
	}
	return buf_take(&b);
}

void
http_error(struct http_req *r, int status, const char *message)
{
	const char *extra = status == 503 || status == 429 ?
	    "Retry-After: 10\r\nCache-Control: no-store\r\n" : "Cache-Control: no-store\r\n";
	struct json_object *o;
	char *esc;

	if (r->headers_sent) {
		log_warn("too late to answer %d: %s", status, message);
		return;
	}
	if (status >= 500)
		log_error("%d: %s", status, message);
	if (http_wants_html(r)) {
		esc = http_html_escape(message);
		http_start(r, status, "text/html; charset=utf-8", extra);
		http_printf(r, "<!doctype html>\n<meta charset=\"utf-8\">\n"
		    "<title>%d %s</title>\n<h1>%d %s</h1>\n<p>%s</p>\n", status,
		    http_reason(status), status, http_reason(status), esc);
		free(esc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "error", json_object_new_string(message));
	http_start(r, status, "application/json", extra);
	http_printf(r, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}
