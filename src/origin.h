/*
 * origin: which pages may post to submit (a job, a cancel).
 *
 * A browser names the page a POST comes from in Origin (and, from older
 * pages, in Referer): scheme://host[:port].  It is compared whole with
 * this site's own origin and with allowed_origins: the scheme, the host
 * (without regard to case) and the port, the default port of the scheme
 * when none is written (http://h is http://h:80).  This site's origin is
 * the scheme the server says it serves (HTTPS, REQUEST_SCHEME) with the
 * request's Host header, unless trust_host is false: the Host header is
 * the client's to choose, and a page on any name that resolves to this
 * server (DNS rebinding) has an Origin that matches its own Host.
 *
 * Refused: an Origin of another site, "null" (a sandboxed frame, a file,
 * a cross-site redirect), an empty one or one that is not an origin; with
 * no Origin, a Referer of another site.  A POST with neither is not from
 * a browser page (curl, a script): it is let through, as any such client
 * could send whichever header it liked.
 */
#ifndef LONGJOB_ORIGIN_H
#define LONGJOB_ORIGIN_H

struct config;
struct http_req;

/* 0 if the POST may be taken, or -1 with *cause (allocated) saying why not. */
int origin_check(const struct config *cfg, const struct http_req *r, char **cause);

#endif
