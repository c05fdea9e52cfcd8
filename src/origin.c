/* origin: the check of a POST's Origin or Referer.  See origin.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "origin.h"
#include "text.h"
#include "xmem.h"

#define ORIGIN_MAX 1024		/* longer is no origin a browser sends */
#define ORIGIN_HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
#define ORIGIN_IPV6_CHARS "0123456789abcdefABCDEF:."

/* An origin taken apart; the strings point into the text it came from. */
struct origin {
	const char *scheme;
	size_t scheme_len;
	const char *host;	/* an IPv6 address keeps its brackets */
	size_t host_len;
	long port;		/* the scheme's default when none is written */
};

/* Reads the n bytes "host[:port]" at s into o, with def as the port if none; 0 or -1. */
static int
origin_host_port(const char *s, size_t n, long def, struct origin *o)
{
	size_t h, i;
	long port = 0;

	if (n > 0 && s[0] == '[') {
		for (h = 1; h < n && strchr(ORIGIN_IPV6_CHARS, s[h]) != NULL; h++)
			;
		if (h == 1 || h >= n || s[h] != ']')
			return -1;
		h++;
	} else {
		for (h = 0; h < n && strchr(ORIGIN_HOST_CHARS, s[h]) != NULL; h++)
			;
		if (h == 0)
			return -1;
	}
	o->host = s;
	o->host_len = h;
	o->port = def;
	if (h == n)
		return 0;
	if (s[h] != ':' || n - h - 1 < 1 || n - h - 1 > 5)
		return -1;
	for (i = h + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	o->port = port;
	return 0;
}

/* Reads the n bytes "scheme://host[:port]" at s into o (http or https only); 0 or -1. */
static int
origin_parse(const char *s, size_t n, struct origin *o)
{
	const char *sep = n <= ORIGIN_MAX ? memmem(s, n, "://", 3) : NULL;
	size_t len;
	long def;

	if (sep == NULL)
		return -1;
	len = (size_t)(sep - s);
	if (len == 4 && strncasecmp(s, "http", 4) == 0)
		def = 80;
	else if (len == 5 && strncasecmp(s, "https", 5) == 0)
		def = 443;
	else
		return -1;
	o->scheme = s;
	o->scheme_len = len;
	return origin_host_port(sep + 3, n - len - 3, def, o);
}

/* 1 if a and b are the same origin: scheme, host (in any case) and port. */
static int
origin_same(const struct origin *a, const struct origin *b)
{
	return a->scheme_len == b->scheme_len &&
	    strncasecmp(a->scheme, b->scheme, a->scheme_len) == 0 &&
	    a->host_len == b->host_len &&
	    strncasecmp(a->host, b->host, a->host_len) == 0 && a->port == b->port;
}

/*
 * This site's origin as the request shows it: the scheme the server says
 * it serves with the Host header; 0, or -1 if there is none to trust.
 */
static int
origin_own(const struct config *cfg, const struct http_req *r, struct origin *o)
{
	const char *host = http_param(r, "HTTP_HOST");
	const char *https = http_param(r, "HTTPS");
	const char *scheme = http_param(r, "REQUEST_SCHEME");
	int tls = (https != NULL && strcasecmp(https, "on") == 0) ||
	    (scheme != NULL && strcasecmp(scheme, "https") == 0);

	if (!cfg->trust_host || host == NULL || strlen(host) > ORIGIN_MAX)
		return -1;
	o->scheme = tls ? "https" : "http";
	o->scheme_len = strlen(o->scheme);
	return origin_host_port(host, strlen(host), tls ? 443 : 80, o);
}

/* 1 if o is this site (see origin_own) or one of allowed_origins. */
static int
origin_allowed(const struct config *cfg, const struct http_req *r,
    const struct origin *o)
{
	struct origin a;
	char **s;

	for (s = cfg->allowed_origins; s != NULL && *s != NULL; s++) {
		if (origin_parse(*s, strlen(*s), &a) == 0 && origin_same(o, &a))
			return 1;
	}
	return origin_own(cfg, r, &a) == 0 && origin_same(o, &a);
}

/* A refusal that quotes the n bytes at s (the client's): before, then s, then after. */
static char *
origin_refusal(const char *before, const char *s, size_t n, const char *after)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, before);
	text_quote(&b, s, n, 100);
	buf_adds(&b, after);
	return buf_take(&b);
}

int
origin_check(const struct config *cfg, const struct http_req *r, char **cause)
{
	const char *origin = http_param(r, "HTTP_ORIGIN");
	const char *referer = http_param(r, "HTTP_REFERER");
	const char *header = "Origin", *s = origin, *sep;
	char *before;
	struct origin o;
	size_t n;

	if (origin != NULL && (*origin == '\0' || strcmp(origin, "null") == 0)) {
		*cause = xstrdup(*origin == '\0' ? "this form was posted with an empty Origin "
		    "header; refused" : "this form was posted from a page with no origin "
		    "(Origin: null: a sandboxed frame, a local file, a redirect from "
		    "another site); refused");
		return -1;
	}
	if (origin != NULL)
		n = strlen(origin);
	else if (referer != NULL) {
		/* The Referer's origin: up to the path, query or fragment. */
		header = "Referer";
		s = referer;
		sep = strstr(referer, "://");
		n = sep == NULL ? strlen(referer) :
		    (size_t)(sep + 3 - referer) + strcspn(sep + 3, "/?#");
	} else
		return 0;	/* not a page of any site: curl, a script */
	if (origin_parse(s, n, &o) == 0 && origin_allowed(cfg, r, &o))
		return 0;
	before = xasprintf("this form was posted from another site (%s: ", header);
	*cause = origin_refusal(before, s, n, origin_parse(s, n, &o) != 0 ?
	    ", not an http or https origin); refused" : "); refused");
	free(before);
	return -1;
}
