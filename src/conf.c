/*
 * conf: loads and checks the longjob JSON config (see conf.h).
 *
 * DESIGN: every key the file may hold is a row in one of four tables: the
 * top level (conf_top), a job type (conf_type_keys), a form field
 * (conf_field_keys) and a step object (conf_step_keys).  A row gives the
 * key's name, its kind (how the value is read and checked), where it goes
 * in the struct being filled, its default, bounds and help text.  One walker
 * (conf_object) drives loading from a table: it reports unknown keys (with a
 * did-you-mean), applies the defaults, reads the keys in table order (so a
 * key can rely on the ones above it: a type's max_body defaults to the
 * top-level one) and reports missing required keys.  conf_describe prints
 * the same tables, so the documentation cannot disagree with the loader.
 *
 * A mistake never stops the walk: each is appended to the context, one line
 * starting with the JSON path of the key, and the config is thrown away at
 * the end if there was any.  So one run of check-config reports them all.
 *
 * json-c references: the tokener returns the root with one reference, which
 * conf_parse drops at the end; every value reached from it is borrowed,
 * so every string kept is copied (xstrdup) first.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "buf.h"
#include "conf.h"
#include "store.h"
#include "text.h"
#include "xmem.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif
#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/local/libexec/longjob"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

#define CONF_MAX_FILE (1024 * 1024)	/* larger config files are refused */
#define CONF_MAX_ERRORS 100		/* mistakes listed; the rest counted */
#define CONF_MAX_NAME 64		/* type, field and step names */
#define CONF_MAX_ARGV 64
#define CONF_MAX_STEPS 64		/* declared steps of a type */
#define CONF_MAX_JOB_STEPS 1000		/* largest max_steps */
#define CONF_MAX_URL 1024
#define CONF_MAX_PATH 4096
#define CONF_MAX_STRING (1024 * 1024)	/* largest length bound of a string */
#define CONF_MAX_BODY 1099511627776LL
#define CONF_MAX_SPOOL 1125899906842624LL	/* 1 PiB */
#define CONF_NAME_RULE "1 to 64 of A-Z a-z 0-9 _ -"

#define nitems(a) (sizeof (a) / sizeof (a)[0])

/* How a key's value is read and checked. */
enum conf_kind {
	CONF_INT,		/* int within min..max */
	CONF_LLONG,		/* long long within min..max */
	CONF_BOOL,		/* int, 0 or 1 */
	CONF_TEXT,		/* any string */
	CONF_ID,		/* a name: [A-Za-z0-9_-], 1..64 */
	CONF_PATH,		/* a path, relative to the config's directory */
	CONF_DATABASE,		/* a path (SQLite) or a PostgreSQL URI / conninfo */
	CONF_URL,		/* '/...' or 'http(s)://...' */
	CONF_ORIGINS,		/* array of scheme://host[:port] */
	CONF_TYPES,		/* object of job types */
	CONF_ARGV,		/* array of 1..64 strings, argv[0] a path */
	CONF_FIELDS,		/* object of form fields */
	CONF_STEPS,		/* array of step ids or step objects */
	CONF_FIELD_KIND,	/* "string", "int" or "file" */
	CONF_FIELD_BOUND,	/* min or max of a field: depends on its kind */
	CONF_FIELD_BYTES,	/* max_bytes of a file field */
	CONF_FIELD_DEFAULT,	/* default of a field: checked by its bounds */
};

/*
 * One row of a table: a key and everything known about it.  For numbers,
 * def is NULL and idef the default, or def describes a default computed
 * from elsewhere (a type's max_body is the top-level one).
 */
struct conf_key {
	const char *name;
	enum conf_kind kind;
	size_t off;		/* where the value goes in the struct filled */
	const char *def;	/* the default of a string; see above */
	long long idef;		/* the default of a number or a boolean */
	long long min, max;	/* the bounds of a number */
	const char *required;	/* set if the key must be present: why */
	const char *help;
};

/* What conf_object and the value readers share while one text is loaded. */
struct conf_ctx {
	struct buf errors;	/* one line per mistake */
	int nerrors;
	char *base_dir;		/* absolute; relative paths are taken from it */
	long long type_max_body;	/* of the job type being loaded */
	int kind_known;		/* the field being loaded has a valid "type" */
	char got[128];		/* the offending value, for a message */
};

#define TOP(f) offsetof(struct config, f)
static const struct conf_key conf_top[] = {
	{ "database", CONF_DATABASE, TOP(database),
	  LOCALSTATEDIR "/lib/longjob/longjob.db", 0, 0, 0, NULL,
	  "The database of jobs and events: a path is an SQLite file (keep it "
	  "outside any document root); a postgresql:// URI or a libpq "
	  "connection string (host=... dbname=...) is a PostgreSQL database, "
	  "which several web hosts can share." },
	{ "spool", CONF_PATH, TOP(spool),
	  LOCALSTATEDIR "/lib/longjob/spool", 0, 0, 0, NULL,
	  "Directory for uploads and each job's working directory and "
	  "artifacts." },
	{ "worker", CONF_PATH, TOP(worker),
	  PKGLIBEXECDIR "/longjob-worker", 0, 0, 0, NULL,
	  "The longjob-worker program that submit starts to run jobs. "
	  "longjob-keeper, which runs each handler, is taken from the same "
	  "directory." },
	{ "log_file", CONF_PATH, TOP(log_file), NULL, 0, 0, 0, NULL,
	  "The worker's log: each job's start and end, adoptions, store "
	  "retries. By default worker.log in the database's directory (with "
	  "PostgreSQL, in the spool's)." },
	{ "log_max_bytes", CONF_LLONG, TOP(log_max_bytes), NULL, 4194304, 65536,
	  1073741824LL, NULL,
	  "Past this size the worker's log is renamed to <log_file>.1 "
	  "(replacing the one before) and a new one is started." },
	{ "max_running", CONF_INT, TOP(max_running), NULL, 2, 1, 1024, NULL,
	  "Jobs that run at once (on this host: the one worker runs them "
	  "all); the others wait, queued, and start in order." },
	{ "max_queued", CONF_INT, TOP(max_queued), NULL, 1000, 1, 100000, NULL,
	  "Jobs waiting to run; past this, submit refuses new jobs with 503." },
	{ "poll_ms", CONF_INT, TOP(poll_ms), NULL, 200, 20, 5000, NULL,
	  "How often (milliseconds) progress and result look for new "
	  "events at the least; a job's write wakes them sooner." },
	{ "host_lease_s", CONF_INT, TOP(host_lease_s), NULL, 30, 5, 3600, NULL,
	  "With a PostgreSQL store shared by several hosts: a host whose "
	  "worker has written no heartbeat for this many seconds (it writes "
	  "one every 5) is taken for lost; another host's worker, or any "
	  "progress or result request, ends its running jobs (types.<name>"
	  ".retries) and the other hosts run its queue." },
	{ "heartbeat_s", CONF_INT, TOP(heartbeat_s), NULL, 15, 1, 300, NULL,
	  "A keepalive comment goes out after this many seconds of silence "
	  "on a stream." },
	{ "stream_max_s", CONF_INT, TOP(stream_max_s), NULL, 240, 1, 86400,
	  NULL,
	  "A progress stream ends itself after this many seconds and the "
	  "browser resumes it without a gap. Keep it below the front end's "
	  "limit on a request's life (mod_fcgid's FcgidBusyTimeout, 300)." },
	{ "result_wait_s", CONF_INT, TOP(result_wait_s), NULL, 25, 1, 86400,
	  NULL,
	  "A result request waits at most this long for its job, then answers "
	  "202 with Retry-After and the job's state. Keep it below the "
	  "front end's idle timeout (mod_fcgid's FcgidIOTimeout, 40)." },
	{ "max_jobs_per_client", CONF_INT, TOP(max_jobs_per_client), NULL, 0, 0,
	  100000, NULL,
	  "Jobs one client (an address the web server passes; an IPv6 one by "
	  "its /64) may have queued or running at once; past it, submit "
	  "answers 429. 0: no limit. Behind a proxy every client has its "
	  "address: set the proxy's real-address module first." },
	{ "max_waiting", CONF_INT, TOP(max_waiting), NULL, 256, 1, 100000, NULL,
	  "Result requests that wait for their job at once, over every "
	  "process; past this a request gets 202 with Retry-After at once. "
	  "Each holds a connection of the web server's, which does not "
	  "notice a client that left before the answer." },
	{ "max_waiting_per_job", CONF_INT, TOP(max_waiting_per_job), NULL, 16, 1,
	  1000, NULL,
	  "Result requests that wait for one job at once (counted per 1/4096 "
	  "of the job ids); past this, 202 at once." },
	{ "retry_ms", CONF_INT, TOP(retry_ms), NULL, 2000, 100, 600000, NULL,
	  "The SSE retry: value, how long a browser waits before it "
	  "reconnects." },
	{ "progress_interval_ms", CONF_INT, TOP(progress_interval_ms), NULL,
	  100, 0, 10000, NULL,
	  "Progress of one job is stored at most this often (0: every "
	  "update)." },
	{ "wake_on_write", CONF_BOOL, TOP(wake_on_write), NULL, 1, 0, 1, NULL,
	  "Whether progress and result read the store as soon as a job writes "
	  "(inotify on the file beside the database that commits touch), not "
	  "only every poll_ms." },
	{ "debug", CONF_BOOL, TOP(debug), NULL, 0, 0, 1, NULL,
	  "Also log, with the time in ms since the epoch, each request the "
	  "progress and result programs open and free (noisy; for measuring)." },
	{ "log_lines", CONF_INT, TOP(log_lines), NULL, 1000, 0, 100000, NULL,
	  "At most this many lines of handler output are kept per job." },
	{ "max_steps", CONF_INT, TOP(max_steps), NULL, 100, 1,
	  CONF_MAX_JOB_STEPS, NULL,
	  "A job has at most this many steps, its type's declared ones "
	  "included; a step line for a new step past them becomes one log "
	  "line. A job type may set its own." },
	{ "retain_s", CONF_INT, TOP(retain_s), NULL, 604800, 1, 31536000,
	  NULL,
	  "Ended jobs are deleted, with their events and files, after this "
	  "many seconds (leave time to fetch the result)." },
	{ "max_body", CONF_LLONG, TOP(max_body), NULL, 67108864, 1024,
	  CONF_MAX_BODY, NULL,
	  "Largest request body in bytes (the form with its uploads); a job "
	  "type may set its own." },
	{ "max_spool_bytes", CONF_LLONG, TOP(max_spool_bytes), NULL,
	  1073741824, 0, CONF_MAX_SPOOL, NULL,
	  "Most bytes the spool may hold: uploads, job directories and the "
	  "files handlers make, until their jobs go (retain_s). An upload "
	  "that would pass it, or any job once it is full, is refused with "
	  "507. Keep it well above the largest max_body; 0: no quota." },
	{ "page_url", CONF_URL, TOP(page_url), "/job.html", 0, 0, 0, NULL,
	  "The job page: a browser's form submission is redirected to "
	  "page_url?id=<id>." },
	{ "progress_url", CONF_URL, TOP(progress_url), "/longjob/progress",
	  0, 0, 0, NULL,
	  "Where the progress program is mounted: progress_url/<id> is a "
	  "job's event stream." },
	{ "result_url", CONF_URL, TOP(result_url), "/longjob/result",
	  0, 0, 0, NULL,
	  "Where the result program is mounted: result_url/<id>[/<file>]." },
	{ "allowed_origins", CONF_ORIGINS, TOP(allowed_origins), NULL,
	  0, 0, 0, NULL,
	  "Other origins (scheme://host[:port], no path) whose pages may "
	  "submit jobs; the server's own origin may too while trust_host "
	  "is true." },
	{ "trust_host", CONF_BOOL, TOP(trust_host), NULL, 1, 0, 1, NULL,
	  "Whether a page may post when its origin is the one the request's "
	  "Host header names (with the server's scheme). Set false and list "
	  "the site's own origin in allowed_origins, so that a page on a "
	  "name that resolves to this server (DNS rebinding) cannot pass "
	  "for the site." },
	{ "types", CONF_TYPES, TOP(types), NULL, 0, 0, 0,
	  "at least one job type is required",
	  "The job types, by name (" CONF_NAME_RULE "); each is an object "
	  "with the keys below." },
};

#define TYPE(f) offsetof(struct config_type, f)
static const struct conf_key conf_type_keys[] = {
	{ "argv", CONF_ARGV, TYPE(argv), NULL, 0, 1, CONF_MAX_ARGV,
	  "the command to run is required",
	  "The handler: program and arguments, run with execve (no shell, "
	  "no PATH search). The program must contain a '/'; a relative one "
	  "is taken from the config file's directory." },
	{ "timeout_s", CONF_INT, TYPE(timeout_s), NULL, 3600, 1, 604800, NULL,
	  "The job fails when its handler runs longer than this many "
	  "seconds." },
	{ "retries", CONF_INT, TYPE(retries), NULL, 0, 0, 10, NULL,
	  "With a PostgreSQL store shared by several hosts: how many times a "
	  "job of this type is run again from the start, on another host, "
	  "when the host that ran it is lost (after 5 s, then 10, 20 ...). "
	  "0 by default: a handler may not be safe to run twice, so the job "
	  "fails as \"host lost\"." },
	{ "max_running_all", CONF_INT, TYPE(max_running_all), NULL, 0, 0, 1000000, NULL,
	  "With a PostgreSQL store shared by several hosts: jobs of this type "
	  "that run at once over all of them (max_running is per host). 0: no "
	  "such limit." },
	{ "max_running", CONF_INT, TYPE(max_running), NULL, 0, 0, 1024, NULL,
	  "Jobs of this type that run at once, within the top-level "
	  "max_running; queued jobs of other types may start first. 0: no "
	  "limit of its own." },
	{ "max_body", CONF_LLONG, TYPE(max_body), "the top-level max_body",
	  0, 1024, CONF_MAX_BODY, NULL,
	  "Largest request body in bytes for this type." },
	{ "fields", CONF_FIELDS, TYPE(fields), NULL, 0, 0, 0, NULL,
	  "The form fields, by name (" CONF_NAME_RULE "); each is an object "
	  "with the keys below." },
	/* Before steps, which must not declare more. */
	{ "max_steps", CONF_INT, TYPE(max_steps), "the top-level max_steps",
	  0, 1, CONF_MAX_JOB_STEPS, NULL,
	  "At most this many steps for a job of this type, the declared ones "
	  "included." },
	{ "steps", CONF_STEPS, TYPE(steps), NULL, 0, 0, CONF_MAX_STEPS, NULL,
	  "Declared steps, so the page can show them before the job starts: "
	  "each an id (" CONF_NAME_RULE ") or an object with the keys below; "
	  "ids are unique." },
};

#define FIELD(f) offsetof(struct config_field, f)
static const struct conf_key conf_field_keys[] = {
	{ "type", CONF_FIELD_KIND, FIELD(kind), NULL, 0, 0, 0,
	  "one of \"string\", \"int\", \"file\"",
	  "What the field holds: \"string\", \"int\" or \"file\" (an "
	  "upload)." },
	{ "required", CONF_BOOL, FIELD(required), NULL, 0, 0, 1, NULL,
	  "A submission without this field is refused." },
	{ "min", CONF_FIELD_BOUND, FIELD(min), "int: none; string: 0",
	  0, 0, 0, NULL,
	  "int: the smallest value; string: the shortest length in "
	  "characters." },
	{ "max", CONF_FIELD_BOUND, FIELD(max), "int: none; string: 4096",
	  0, 0, 0, NULL,
	  "int: the largest value; string: the longest length in characters "
	  "(at most 1048576)." },
	{ "max_bytes", CONF_FIELD_BYTES, FIELD(max_bytes),
	  "the type's max_body", 0, 1, 0, NULL,
	  "file only: the largest upload in bytes, at most the type's "
	  "max_body." },
	{ "default", CONF_FIELD_DEFAULT, FIELD(def), NULL, 0, 0, 0, NULL,
	  "Value used when the field is absent: a string, or an integer for "
	  "an int field; not for files. It must satisfy min and max." },
	{ "label", CONF_TEXT, FIELD(label), NULL, 0, 0, 0, NULL,
	  "Shown in forms and messages; defaults to the field's name." },
};

#define STEP(f) offsetof(struct config_step, f)
static const struct conf_key conf_step_keys[] = {
	{ "id", CONF_ID, STEP(id), NULL, 0, 0, 0, "a step object needs an id",
	  "The id the handler names in its \"step <id>\" lines." },
	{ "label", CONF_TEXT, STEP(label), NULL, 0, 0, 0, NULL,
	  "Shown on the page; without it, the label of the handler's step "
	  "line, else the id." },
};

static void conf_error(struct conf_ctx *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void conf_object(struct conf_ctx *, const char *, struct json_object *,
    const struct conf_key *, size_t, void *);

/* Records one mistake: "<path>: <message>", one line each. */
static void
conf_error(struct conf_ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (++ctx->nerrors > CONF_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	buf_addf(&ctx->errors, "%s%s: %s", ctx->errors.len != 0 ? "\n" : "",
	    path, msg);
	free(msg);
}

/* The value as short JSON text for a message, kept in ctx->got. */
static const char *
conf_got(struct conf_ctx *ctx, struct json_object *v)
{
	const char *s;
	size_t len, max = 60;

	/* json-c keeps UINT64_MAX for any larger number: don't show it. */
	if (json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == INT64_MAX &&
	    json_object_get_uint64(v) == UINT64_MAX)
		return "a number too large";
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	if (len <= max) {
		memcpy(ctx->got, s, len + 1);
		return ctx->got;
	}
	len = text_cut(s, len, max);
	memcpy(ctx->got, s, len);
	memcpy(ctx->got + len, "...", 4);
	return ctx->got;
}

/* parent.key as a new string, the key made printable and short. */
static char *
conf_join(const char *parent, const char *key)
{
	struct buf b;
	size_t len = strlen(key);

	buf_init(&b, 0);
	if (*parent != '\0')
		buf_addf(&b, "%s.", parent);
	if (len == 0)
		buf_adds(&b, "\"\"");
	text_quote(&b, key, len, CONF_MAX_NAME);
	return buf_take(&b);
}

/* parent[i] as a new string. */
static char *
conf_index(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

/* 1 if s is a name: 1 to 64 characters from A-Z a-z 0-9 _ -. */
static int
conf_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_MAX_NAME)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") == n;
}

/* Smallest of three. */
static size_t
conf_min3(size_t a, size_t b, size_t c)
{
	if (b < a)
		a = b;
	return c < a ? c : a;
}

/*
 * Edit distance between a and b, counting a swap of two neighbours as one
 * edit ("lable" is one from "label"); SIZE_MAX when either is over 64 bytes.
 */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t rows[3][CONF_MAX_NAME + 1], la = strlen(a), lb = strlen(b), i, j;
	size_t *prev2, *prev, *cur, d;

	if (la > CONF_MAX_NAME || lb > CONF_MAX_NAME)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		rows[0][j] = j;
	for (i = 1; i <= la; i++) {
		prev2 = rows[(i + 1) % 3];
		prev = rows[(i - 1) % 3];
		cur = rows[i % 3];
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			d = conf_min3(prev[j] + 1, cur[j - 1] + 1,
			    prev[j - 1] + (a[i - 1] != b[j - 1]));
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
	}
	return rows[la % 3][lb];
}

/* Reports an unknown key, suggesting a known one a small edit away. */
static void
conf_unknown(struct conf_ctx *ctx, const char *parent, const char *key,
    const struct conf_key *keys, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX, limit;
	char *path = conf_join(parent, key);

	for (i = 0; i < n; i++) {
		d = conf_distance(key, keys[i].name);
		limit = strlen(keys[i].name) >= 6 ? 2 : 1;
		if (d <= limit && d < bestd) {
			best = keys[i].name;
			bestd = d;
		}
	}
	if (best != NULL)
		conf_error(ctx, path, "unknown key (did you mean %s?)", best);
	else
		conf_error(ctx, path, "unknown key");
	free(path);
}

/* The row for key, or NULL. */
static const struct conf_key *
conf_key_find(const struct conf_key *keys, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(keys[i].name, key) == 0)
			return &keys[i];
	}
	return NULL;
}

/* Where a row's value lives in the struct at base. */
static void *
conf_slot(void *base, const struct conf_key *k)
{
	return (char *)base + k->off;
}

/* The exact integer in v: 0, or -1 (also when json-c saturated it). */
static int
conf_int_exact(struct json_object *v, long long *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return -1;
	x = json_object_get_int64(v);
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return -1;
	*out = x;
	return 0;
}

/* Reads an integer within min..max into *out; 0, or -1 after reporting. */
static int
conf_get_int(struct conf_ctx *ctx, const char *path, struct json_object *v,
    long long min, long long max, long long *out)
{
	long long x;

	if (conf_int_exact(v, &x) == 0 && x >= min && x <= max) {
		*out = x;
		return 0;
	}
	conf_error(ctx, path, "must be an integer from %lld to %lld (got %s)",
	    min, max, conf_got(ctx, v));
	return -1;
}

/* The string in v, or NULL after reporting that it must be `what'. */
static const char *
conf_get_string(struct conf_ctx *ctx, const char *path, struct json_object *v,
    const char *what)
{
	const char *s;

	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		if (strlen(s) == (size_t)json_object_get_string_len(v))
			return s;
		conf_error(ctx, path, "must not contain a NUL character");
		return NULL;
	}
	conf_error(ctx, path, "must be %s (got %s)", what, conf_got(ctx, v));
	return NULL;
}

/* A path relative to the config's directory made absolute, as a new string. */
static char *
conf_resolve(struct conf_ctx *ctx, const char *s)
{
	if (*s == '/')
		return xstrdup(s);
	while (s[0] == '.' && s[1] == '/') {
		s += 2;
		while (*s == '/')
			s++;
	}
	if (strcmp(ctx->base_dir, "/") == 0)
		return xasprintf("/%s", s);
	return xasprintf("%s/%s", ctx->base_dir, s);
}

/* 1 if s may be used as page_url, progress_url or result_url. */
static int
conf_url_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CONF_MAX_URL)
		return 0;
	if (*s != '/' && !(strncmp(s, "http://", 7) == 0 && n > 7) &&
	    !(strncmp(s, "https://", 8) == 0 && n > 8))
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f ||
		    strchr("\"'<>", s[i]) != NULL)
			return 0;
	}
	return 1;
}

/* 1 if s is an origin as browsers send it: http(s)://host[:port]. */
static int
conf_origin_valid(const char *s)
{
	size_t n;
	long port;
	char *end;

	if (strlen(s) > CONF_MAX_URL)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else
		return 0;
	if (*s == '[') {
		n = strspn(s + 1, "0123456789abcdef:.");
		if (n == 0 || s[1 + n] != ']')
			return 0;
		n += 2;
	} else
		n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-");
	if (n == 0)
		return 0;
	s += n;
	if (*s == '\0')
		return 1;
	if (*s != ':' || s[1] < '0' || s[1] > '9' || strlen(s + 1) > 5)
		return 0;
	port = strtol(s + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535;
}

/* Sets the table's defaults in the struct at base (already zeroed). */
static void
conf_defaults(const struct conf_key *keys, size_t n, void *base)
{
	const struct conf_key *k;
	char **list;
	size_t i;

	for (i = 0; i < n; i++) {
		k = &keys[i];
		switch (k->kind) {
		case CONF_INT:
		case CONF_BOOL:
			if (k->def == NULL)
				*(int *)conf_slot(base, k) = (int)k->idef;
			break;
		case CONF_LLONG:
			if (k->def == NULL)
				*(long long *)conf_slot(base, k) = k->idef;
			break;
		case CONF_PATH:
		case CONF_DATABASE:
		case CONF_URL:
		case CONF_TEXT:
			if (k->def != NULL)
				*(char **)conf_slot(base, k) = xstrdup(k->def);
			break;
		case CONF_ORIGINS:
			list = xcalloc(1, sizeof *list);
			*(char ***)conf_slot(base, k) = list;
			break;
		default:
			break;
		}
	}
}

/* Replaces the string in *slot by s (which the slot now owns). */
static void
conf_set_string(char **slot, char *s)
{
	free(*slot);
	*slot = s;
}

/* 1 if s is printable ASCII (a connection string: no newline can hide in a log). */
static int
conf_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* Reads a string key of kind TEXT, ID, PATH, DATABASE or URL. */
static void
conf_string_value(struct conf_ctx *ctx, const char *path,
    const struct conf_key *k, struct json_object *v, char **slot)
{
	const char *s;

	switch (k->kind) {
	case CONF_TEXT:
		if ((s = conf_get_string(ctx, path, v, "a string")) != NULL)
			conf_set_string(slot, xstrdup(s));
		break;
	case CONF_ID:
		s = conf_get_string(ctx, path, v, "an id (" CONF_NAME_RULE ")");
		if (s != NULL && !conf_name_valid(s))
			conf_error(ctx, path, "must be an id (" CONF_NAME_RULE
			    ") (got %s)", conf_got(ctx, v));
		else if (s != NULL)
			conf_set_string(slot, xstrdup(s));
		break;
	case CONF_PATH:
		s = conf_get_string(ctx, path, v,
		    "a path (a non-empty string)");
		if (s != NULL && (*s == '\0' || strlen(s) > CONF_MAX_PATH))
			conf_error(ctx, path, "must be a path of 1 to %d bytes",
			    CONF_MAX_PATH);
		else if (s != NULL)
			conf_set_string(slot, conf_resolve(ctx, s));
		break;
	case CONF_DATABASE:
		s = conf_get_string(ctx, path, v,
		    "a path or a PostgreSQL connection string");
		if (s != NULL && (*s == '\0' || strlen(s) > CONF_MAX_PATH))
			conf_error(ctx, path, "must be a path or a connection string of 1 to %d bytes",
			    CONF_MAX_PATH);
		else if (s != NULL && store_is_postgresql(s) && !conf_printable(s))
			conf_error(ctx, path, "must be a connection string of printable ASCII");
		else if (s != NULL && store_is_postgresql(s))
			conf_set_string(slot, xstrdup(s));
		else if (s != NULL)
			conf_set_string(slot, conf_resolve(ctx, s));
		break;
	default:
		s = conf_get_string(ctx, path, v, "a URL (a string)");
		if (s != NULL && !conf_url_valid(s))
			conf_error(ctx, path, "must be a URL starting with "
			    "'/', 'http://' or 'https://', printable ASCII "
			    "without spaces, quotes, '<' or '>', at most %d "
			    "bytes (got %s)", CONF_MAX_URL, conf_got(ctx, v));
		else if (s != NULL)
			conf_set_string(slot, xstrdup(s));
		break;
	}
}

/* Reads allowed_origins into a new NULL-terminated array. */
static void
conf_origins(struct conf_ctx *ctx, const char *path, struct json_object *v,
    char ***slot)
{
	struct json_object *e;
	const char *s;
	size_t n, i;
	char *p, **list;

	if (!json_object_is_type(v, json_type_array)) {
		conf_error(ctx, path, "must be an array of origins (got %s)",
		    conf_got(ctx, v));
		return;
	}
	n = json_object_array_length(v);
	list = xcalloc(n + 1, sizeof *list);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		p = conf_index(path, i);
		s = conf_get_string(ctx, p, e, "an origin (a string)");
		if (s != NULL && !conf_origin_valid(s))
			conf_error(ctx, p, "must be an origin like "
			    "https://example.com or http://example.com:8080 "
			    "(lowercase scheme://host[:port], no path) "
			    "(got %s)", conf_got(ctx, e));
		list[i] = xstrdup(s != NULL ? s : "");
		free(p);
	}
	free(*slot);
	*slot = list;
}

/* Reads one argument of argv; argv[0] must be a path and is resolved. */
static char *
conf_arg(struct conf_ctx *ctx, const char *path, struct json_object *e,
    size_t i)
{
	const char *s;

	s = conf_get_string(ctx, path, e, "a non-empty string");
	if (s == NULL)
		return xstrdup("");
	if (*s == '\0')
		conf_error(ctx, path, "must be a non-empty string");
	else if (i == 0 && strchr(s, '/') == NULL)
		conf_error(ctx, path,
		    "must be a path containing '/' (it is run without "
		    "a shell or PATH search)");
	else if (i == 0)
		return conf_resolve(ctx, s);
	return xstrdup(s);
}

/* Reads a type's argv into a new NULL-terminated array, without holes. */
static void
conf_argv(struct conf_ctx *ctx, const char *path, struct json_object *v,
    struct config_type *t)
{
	struct json_object *e;
	size_t n, i;
	char *p;

	n = 0;
	if (json_object_is_type(v, json_type_array))
		n = json_object_array_length(v);
	if (n < 1 || n > CONF_MAX_ARGV) {
		conf_error(ctx, path, "must be an array of 1 to %d strings, "
		    "the program and its arguments (got %s)", CONF_MAX_ARGV,
		    conf_got(ctx, v));
		return;
	}
	t->argv = xcalloc(n + 1, sizeof *t->argv);
	for (i = 0; i < n; i++) {
		p = conf_index(path, i);
		e = json_object_array_get_idx(v, i);
		t->argv[i] = conf_arg(ctx, p, e, i);
		free(p);
	}
}

/* Reads a step given as a bare id. */
static void
conf_step_id(struct conf_ctx *ctx, const char *path, struct json_object *e,
    struct config_step *s)
{
	const char *id = json_object_get_string(e);

	if (!conf_name_valid(id) ||
	    strlen(id) != (size_t)json_object_get_string_len(e)) {
		conf_error(ctx, path, "must be a step id (" CONF_NAME_RULE
		    ") (got %s)", conf_got(ctx, e));
		return;
	}
	s->id = xstrdup(id);
}

/* Reports the step at i if its id was already used by an earlier one. */
static void
conf_step_unique(struct conf_ctx *ctx, const char *path, struct config_type *t,
    size_t i)
{
	size_t j;

	for (j = 0; j < i; j++) {
		if (t->steps[j].id != NULL &&
		    strcmp(t->steps[j].id, t->steps[i].id) == 0) {
			conf_error(ctx, path,
			    "duplicate step id '%s' (also steps[%zu])",
			    t->steps[i].id, j);
			return;
		}
	}
}

/* Reads a type's declared steps. */
static void
conf_steps(struct conf_ctx *ctx, const char *path, struct json_object *v,
    struct config_type *t)
{
	struct json_object *e;
	struct config_step *s;
	size_t n, i;
	char *p;

	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > CONF_MAX_STEPS) {
		conf_error(ctx, path,
		    "must be an array of at most %d steps (got %s)",
		    CONF_MAX_STEPS, conf_got(ctx, v));
		return;
	}
	if (n > (size_t)t->max_steps)
		conf_error(ctx, path, "declares %zu steps, more than max_steps "
		    "(%d)", n, t->max_steps);
	t->steps = xcalloc(n + 1, sizeof *t->steps);
	t->nsteps = n;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		s = &t->steps[i];
		p = conf_index(path, i);
		if (json_object_is_type(e, json_type_string))
			conf_step_id(ctx, p, e, s);
		else if (json_object_is_type(e, json_type_object))
			conf_object(ctx, p, e, conf_step_keys,
			    nitems(conf_step_keys), s);
		else
			conf_error(ctx, p, "must be a step id or an object "
			    "{\"id\": ..., \"label\": ...} (got %s)",
			    conf_got(ctx, e));
		if (s->id != NULL)
			conf_step_unique(ctx, p, t, i);
		free(p);
	}
}

/* Checks a field's bounds against each other and its default against them. */
static void
conf_field_check(struct conf_ctx *ctx, const char *path, struct config_field *f)
{
	long long x;
	char *p;

	if (f->kind == FIELD_FILE)
		return;
	if (f->min > f->max) {
		p = conf_join(path, "min");
		conf_error(ctx, p, "must not be greater than max (%lld > %lld)",
		    f->min, f->max);
		free(p);
		return;
	}
	if (f->def == NULL)
		return;
	if (f->kind == FIELD_INT)
		x = strtoll(f->def, NULL, 10);
	else
		x = (long long)text_chars(f->def, strlen(f->def));
	if (x >= f->min && x <= f->max)
		return;
	p = conf_join(path, "default");
	if (f->kind == FIELD_INT)
		conf_error(ctx, p, "%lld is outside min..max (%lld to %lld)", x,
		    f->min, f->max);
	else
		conf_error(ctx, p,
		    "is %lld characters long, outside min..max (%lld to %lld)",
		    x, f->min, f->max);
	free(p);
}

/* Loads one form field. */
static void
conf_field(struct conf_ctx *ctx, const char *parent, const char *name,
    struct json_object *v, struct config_field *f)
{
	char *path = conf_join(parent, name);

	f->name = xstrdup(name);
	if (!conf_name_valid(name))
		conf_error(ctx, path, "invalid field name: use "
		    CONF_NAME_RULE);
	if (!json_object_is_type(v, json_type_object))
		conf_error(ctx, path, "must be an object (got %s)",
		    conf_got(ctx, v));
	else {
		ctx->kind_known = 0;
		conf_object(ctx, path, v, conf_field_keys,
		    nitems(conf_field_keys), f);
		if (ctx->kind_known)
			conf_field_check(ctx, path, f);
	}
	if (f->label == NULL)
		f->label = xstrdup(name);
	free(path);
}

/* Reads a type's form fields, in the order of the file. */
static void
conf_fields(struct conf_ctx *ctx, const char *path, struct json_object *v,
    struct config_type *t)
{
	size_t i = 0;

	if (!json_object_is_type(v, json_type_object)) {
		conf_error(ctx, path, "must be an object of fields (got %s)",
		    conf_got(ctx, v));
		return;
	}
	t->nfields = (size_t)json_object_object_length(v);
	t->fields = xcalloc(t->nfields + 1, sizeof *t->fields);
	ctx->type_max_body = t->max_body;
	json_object_object_foreach(v, name, fv) {
		conf_field(ctx, path, name, fv, &t->fields[i++]);
	}
}

/* Reads a field's "type" and sets the defaults that depend on it. */
static void
conf_field_kind(struct conf_ctx *ctx, const char *path, struct json_object *v,
    struct config_field *f)
{
	const char *s = json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : "";

	f->min = LLONG_MIN;
	f->max = LLONG_MAX;
	if (strcmp(s, "string") == 0) {
		f->kind = FIELD_STRING;
		f->min = 0;
		f->max = 4096;
	} else if (strcmp(s, "int") == 0)
		f->kind = FIELD_INT;
	else if (strcmp(s, "file") == 0) {
		f->kind = FIELD_FILE;
		f->max_bytes = ctx->type_max_body;
	} else {
		conf_error(ctx, path,
		    "must be \"string\", \"int\" or \"file\" (got %s)",
		    conf_got(ctx, v));
		return;
	}
	ctx->kind_known = 1;
}

/* Reads a field's min, max or max_bytes, which only some kinds have. */
static void
conf_field_number(struct conf_ctx *ctx, const char *path,
    const struct conf_key *k, struct json_object *v, struct config_field *f)
{
	long long *slot = conf_slot(f, k);

	if (!ctx->kind_known)
		return;
	if (k->kind == CONF_FIELD_BYTES) {
		if (f->kind != FIELD_FILE)
			conf_error(ctx, path, "only for file fields");
		else
			conf_get_int(ctx, path, v, 1, ctx->type_max_body, slot);
	} else if (f->kind == FIELD_FILE)
		conf_error(ctx, path, "only for int and string fields");
	else if (f->kind == FIELD_STRING)
		conf_get_int(ctx, path, v, 0, CONF_MAX_STRING, slot);
	else
		conf_get_int(ctx, path, v, LLONG_MIN, LLONG_MAX, slot);
}

/* Reads a field's default as text; conf_field_check checks its bounds. */
static void
conf_field_default(struct conf_ctx *ctx, const char *path,
    struct json_object *v, struct config_field *f)
{
	const char *s;
	long long x;

	if (!ctx->kind_known)
		return;
	if (f->kind == FIELD_FILE)
		conf_error(ctx, path, "not allowed for file fields");
	else if (f->kind == FIELD_INT && conf_int_exact(v, &x) == -1)
		conf_error(ctx, path, "must be an integer (got %s)",
		    conf_got(ctx, v));
	else if (f->kind == FIELD_INT)
		conf_set_string(&f->def, xasprintf("%lld", x));
	else if ((s = conf_get_string(ctx, path, v, "a string")) != NULL)
		conf_set_string(&f->def, xstrdup(s));
}

/* Loads one job type. */
static void
conf_type(struct conf_ctx *ctx, const char *parent, const char *name,
    struct json_object *v, const struct config *c, struct config_type *t)
{
	char *path = conf_join(parent, name);

	t->name = xstrdup(name);
	if (!conf_name_valid(name))
		conf_error(ctx, path, "invalid job type name: use "
		    CONF_NAME_RULE);
	if (!json_object_is_type(v, json_type_object))
		conf_error(ctx, path, "must be an object (got %s)",
		    conf_got(ctx, v));
	else {
		t->max_body = c->max_body;
		t->max_steps = c->max_steps;
		conf_object(ctx, path, v, conf_type_keys,
		    nitems(conf_type_keys), t);
	}
	free(path);
}

/* Reads the job types, in the order of the file. */
static void
conf_types(struct conf_ctx *ctx, const char *path, struct json_object *v,
    struct config *c)
{
	size_t i = 0;

	if (!json_object_is_type(v, json_type_object) ||
	    json_object_object_length(v) == 0) {
		conf_error(ctx, path,
		    "must be an object with at least one job type (got %s)",
		    conf_got(ctx, v));
		return;
	}
	c->ntypes = (size_t)json_object_object_length(v);
	c->types = xcalloc(c->ntypes, sizeof *c->types);
	json_object_object_foreach(v, name, tv) {
		conf_type(ctx, path, name, tv, c, &c->types[i++]);
	}
}

/* Reads the value of one present key into the struct at base. */
static void
conf_value(struct conf_ctx *ctx, const char *path, const struct conf_key *k,
    struct json_object *v, void *base)
{
	long long x;
	int b;

	switch (k->kind) {
	case CONF_INT:
		if (conf_get_int(ctx, path, v, k->min, k->max, &x) == 0)
			*(int *)conf_slot(base, k) = (int)x;
		break;
	case CONF_LLONG:
		conf_get_int(ctx, path, v, k->min, k->max, conf_slot(base, k));
		break;
	case CONF_BOOL:
		if (json_object_is_type(v, json_type_boolean)) {
			b = json_object_get_boolean(v);
			*(int *)conf_slot(base, k) = b ? 1 : 0;
		} else
			conf_error(ctx, path, "must be true or false (got %s)",
			    conf_got(ctx, v));
		break;
	case CONF_TEXT:
	case CONF_ID:
	case CONF_PATH:
	case CONF_DATABASE:
	case CONF_URL:
		conf_string_value(ctx, path, k, v, conf_slot(base, k));
		break;
	case CONF_ORIGINS:
		conf_origins(ctx, path, v, conf_slot(base, k));
		break;
	case CONF_TYPES:
		conf_types(ctx, path, v, base);
		break;
	case CONF_ARGV:
		conf_argv(ctx, path, v, base);
		break;
	case CONF_FIELDS:
		conf_fields(ctx, path, v, base);
		break;
	case CONF_STEPS:
		conf_steps(ctx, path, v, base);
		break;
	case CONF_FIELD_KIND:
		conf_field_kind(ctx, path, v, base);
		break;
	case CONF_FIELD_BOUND:
	case CONF_FIELD_BYTES:
		conf_field_number(ctx, path, k, v, base);
		break;
	case CONF_FIELD_DEFAULT:
		conf_field_default(ctx, path, v, base);
		break;
	}
}

/*
 * Loads the JSON object obj into the struct at base, driven by the table:
 * unknown keys, then defaults, then each key in table order, missing ones too.
 */
static void
conf_object(struct conf_ctx *ctx, const char *path, struct json_object *obj,
    const struct conf_key *keys, size_t n, void *base)
{
	struct json_object *v;
	size_t i;
	char *p;

	json_object_object_foreach(obj, key, val) {
		if (conf_key_find(keys, n, key) == NULL)
			conf_unknown(ctx, path, key, keys, n);
	}
	conf_defaults(keys, n, base);
	for (i = 0; i < n; i++) {
		p = conf_join(path, keys[i].name);
		/* A JSON null is there with v == NULL: a wrong type. */
		if (json_object_object_get_ex(obj, keys[i].name, &v))
			conf_value(ctx, p, &keys[i], v, base);
		else if (keys[i].required != NULL)
			conf_error(ctx, p, "missing (%s)", keys[i].required);
		free(p);
	}
}

/* Reports a syntax error at byte offset off of text as "line L, column C". */
static void
conf_syntax_error(struct conf_ctx *ctx, const char *text, size_t off,
    const char *what)
{
	size_t i, line = 1, start = 0;
	char *where;

	for (i = 0; i < off && text[i] != '\0'; i++) {
		if (text[i] == '\n') {
			line++;
			start = i + 1;
		}
	}
	/* Columns count characters, as an editor does. */
	where = xasprintf("line %zu, column %zu", line,
	    text_chars(text + start, i - start) + 1);
	conf_error(ctx, where, "invalid JSON (%s)", what);
	free(where);
}

/* Parses strict JSON: the root (one reference, the caller's) or NULL. */
static struct json_object *
conf_json(struct conf_ctx *ctx, const char *text)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error err;
	size_t len = strlen(text), end;

	if (len >= INT_MAX) {
		conf_error(ctx, "top level", "the text is too large");
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* With its NUL, so that the text ends there ("5" is whole). */
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (root == NULL && (err == json_tokener_continue ||
	    err == json_tokener_error_parse_eof))
		conf_syntax_error(ctx, text, len, "unexpected end of file");
	else if (root == NULL)
		conf_syntax_error(ctx, text, end, json_tokener_error_desc(err));
	else if (text[end + strspn(text + end, " \t\r\n")] != '\0') {
		conf_syntax_error(ctx, text, end,
		    "unexpected text after the object");
		json_object_put(root);
		root = NULL;
	}
	return root;
}

/* dir made absolute (NULL or "": the current directory), a new string. */
static char *
conf_abs_dir(const char *dir)
{
	char cwd[PATH_MAX];
	size_t n;

	if (dir != NULL && *dir == '/')
		return xstrdup(dir);
	if (getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(dir != NULL && *dir != '\0' ? dir : ".");
	while (dir != NULL && dir[0] == '.' &&
	    (dir[1] == '/' || dir[1] == '\0')) {
		dir += dir[1] == '/' ? 2 : 1;
		while (*dir == '/')
			dir++;
	}
	if (dir == NULL || *dir == '\0')
		return xstrdup(cwd);
	n = strlen(cwd);
	return xasprintf("%s%s%s", cwd, n > 0 && cwd[n - 1] == '/' ? "" : "/",
	    dir);
}

/* The absolute directory to resolve against, without a trailing '/'. */
static char *
conf_base_dir(const char *dir)
{
	char *s = conf_abs_dir(dir);
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* $LONGJOB_CONFIG when set and not empty, else the built-in path. */
const char *
conf_default_path(void)
{
	const char *s = getenv("LONGJOB_CONFIG");

	if (s != NULL && *s != '\0')
		return s;
	return SYSCONFDIR "/longjob/longjob.json";
}

/*
 * log_file, when the config names none: worker.log beside the database,
 * or beside the spool when the database is a PostgreSQL one.
 */
static void
conf_log_default(struct config *c)
{
	const char *beside = c->database, *slash;

	if (c->log_file != NULL || c->database == NULL)
		return;
	if (store_is_postgresql(beside))
		beside = c->spool;
	slash = beside != NULL ? strrchr(beside, '/') : NULL;
	c->log_file = slash == NULL ? xstrdup("worker.log") :
	    xasprintf("%.*s/worker.log", (int)(slash - beside), beside);
}

/* Loads a config from JSON text; relative paths are taken from base_dir. */
struct config *
conf_parse(const char *json, const char *base_dir, char **cause)
{
	struct conf_ctx ctx;
	struct json_object *root;
	struct config *c = xcalloc(1, sizeof *c);

	memset(&ctx, 0, sizeof ctx);
	buf_init(&ctx.errors, 0);
	ctx.base_dir = conf_base_dir(base_dir);
	if ((root = conf_json(&ctx, json)) != NULL) {
		if (json_object_is_type(root, json_type_object))
			conf_object(&ctx, "", root, conf_top,
			    nitems(conf_top), c);
		else
			conf_error(&ctx, "top level",
			    "must be a JSON object (got %s)",
			    conf_got(&ctx, root));
		json_object_put(root);
	}
	free(ctx.base_dir);
	if (ctx.nerrors == 0) {
		buf_free(&ctx.errors);
		conf_log_default(c);
		return c;
	}
	if (ctx.nerrors > CONF_MAX_ERRORS)
		buf_addf(&ctx.errors, "\n(%d more mistakes not shown)",
		    ctx.nerrors - CONF_MAX_ERRORS);
	conf_free(c);
	if (cause != NULL)
		*cause = buf_take(&ctx.errors);
	buf_free(&ctx.errors);
	return NULL;
}

/* Reads the whole file into b (bounded); 0, or -1 with *cause set. */
static int
conf_read(const char *path, struct buf *b, char **cause)
{
	char chunk[8192];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf_add(b, chunk, n) == -1) {
			*cause = xasprintf("%s: larger than %d bytes", path,
			    CONF_MAX_FILE);
			fclose(f);
			return -1;
		}
	}
	if (ferror(f)) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (memchr(b->data != NULL ? b->data : "", '\0', b->len) != NULL) {
		*cause = xasprintf("%s: contains a NUL byte (not a JSON "
		    "text file)", path);
		return -1;
	}
	return 0;
}

/* Loads the config file at path; relative paths are from its directory. */
struct config *
conf_load(const char *path, char **cause)
{
	struct config *c;
	struct buf text;
	char *dir, *slash, *err = NULL;

	buf_init(&text, CONF_MAX_FILE);
	if (conf_read(path, &text, &err) == -1) {
		buf_free(&text);
		if (cause != NULL)
			*cause = err;
		else
			free(err);
		return NULL;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL)
		dir[0] = '\0';
	else
		slash[slash == dir ? 1 : 0] = '\0';
	c = conf_parse(text.data != NULL ? text.data : "", dir, cause);
	if (c != NULL)
		c->path = xstrdup(path);
	free(dir);
	buf_free(&text);
	return c;
}

/* Frees a NULL-terminated array of strings. */
static void
conf_free_list(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* Frees what one job type owns. */
static void
conf_free_type(struct config_type *t)
{
	size_t i;

	free(t->name);
	conf_free_list(t->argv);
	for (i = 0; i < t->nfields; i++) {
		free(t->fields[i].name);
		free(t->fields[i].def);
		free(t->fields[i].label);
	}
	free(t->fields);
	for (i = 0; i < t->nsteps; i++) {
		free(t->steps[i].id);
		free(t->steps[i].label);
	}
	free(t->steps);
}

/* Frees a config and everything it owns; NULL is allowed. */
void
conf_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->database);
	free(c->spool);
	free(c->worker);
	free(c->log_file);
	free(c->page_url);
	free(c->progress_url);
	free(c->result_url);
	conf_free_list(c->allowed_origins);
	for (i = 0; i < c->ntypes; i++)
		conf_free_type(&c->types[i]);
	free(c->types);
	free(c);
}

/* The job type called name, or NULL. */
const struct config_type *
conf_type_find(const struct config *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->ntypes; i++) {
		if (strcmp(c->types[i].name, name) == 0)
			return &c->types[i];
	}
	return NULL;
}

/* The form field of t called name, or NULL. */
const struct config_field *
conf_field_find(const struct config_type *t, const char *name)
{
	size_t i;

	if (t == NULL || name == NULL)
		return NULL;
	for (i = 0; i < t->nfields; i++) {
		if (strcmp(t->fields[i].name, name) == 0)
			return &t->fields[i];
	}
	return NULL;
}

/* The declared step of t with this id, or NULL. */
const struct config_step *
conf_step_find(const struct config_type *t, const char *id)
{
	size_t i;

	if (t == NULL || id == NULL)
		return NULL;
	for (i = 0; i < t->nsteps; i++) {
		if (t->steps[i].id != NULL && strcmp(t->steps[i].id, id) == 0)
			return &t->steps[i];
	}
	return NULL;
}

/* What a kind of value is called in the reference. */
static const char *
conf_kind_name(enum conf_kind kind)
{
	switch (kind) {
	case CONF_INT:
	case CONF_LLONG:
	case CONF_FIELD_BOUND:
	case CONF_FIELD_BYTES:
		return "integer";
	case CONF_BOOL:
		return "boolean";
	case CONF_TEXT:
		return "string";
	case CONF_ID:
		return "id";
	case CONF_PATH:
		return "path";
	case CONF_DATABASE:
		return "path or PostgreSQL connection string";
	case CONF_URL:
		return "URL";
	case CONF_ORIGINS:
		return "array of origins";
	case CONF_ARGV:
		return "array of strings";
	case CONF_STEPS:
		return "array";
	case CONF_FIELD_KIND:
		return "string";
	case CONF_FIELD_DEFAULT:
		return "string or integer";
	default:
		return "object";
	}
}

/* Writes one row of a table: its name, type, bounds, default and help. */
static void
conf_describe_key(FILE *f, const struct conf_key *k, const char *indent)
{
	fprintf(f, "%s%s: %s", indent, k->name, conf_kind_name(k->kind));
	if (k->kind == CONF_INT || k->kind == CONF_LLONG)
		fprintf(f, " from %lld to %lld", k->min, k->max);
	if (k->kind == CONF_ARGV || k->kind == CONF_STEPS)
		fprintf(f, " (%lld to %lld entries)", k->min, k->max);
	if (k->required != NULL)
		fprintf(f, ", required");
	else if ((k->kind == CONF_INT || k->kind == CONF_LLONG) &&
	    k->def == NULL)
		fprintf(f, ", default %lld", k->idef);
	else if (k->kind == CONF_BOOL)
		fprintf(f, ", default %s", k->idef ? "true" : "false");
	else if ((k->kind == CONF_PATH || k->kind == CONF_DATABASE || k->kind == CONF_URL) &&
	    k->def != NULL)
		fprintf(f, ", default \"%s\"", k->def);
	else if (k->def != NULL)
		fprintf(f, ", default %s", k->def);
	else if (k->kind == CONF_ORIGINS || k->kind == CONF_STEPS)
		fprintf(f, ", default []");
	else if (k->kind == CONF_FIELDS)
		fprintf(f, ", default {}");
	fprintf(f, "\n%s    %s\n", indent, k->help);
}

/* Writes every row of a table under a heading. */
static void
conf_describe_table(FILE *f, const char *heading, const struct conf_key *keys,
    size_t n)
{
	size_t i;

	fprintf(f, "%s\n\n", heading);
	for (i = 0; i < n; i++)
		conf_describe_key(f, &keys[i], "  ");
	fprintf(f, "\n");
}

/* Writes the reference of every key, from the tables, to fp (a FILE *). */
void
conf_describe(void *fp)
{
	FILE *f = fp;

	fprintf(f,
	    "The config is one JSON object. Relative paths are taken from the "
	    "directory of the file.\n\n");
	conf_describe_table(f, "Top-level keys:", conf_top, nitems(conf_top));
	conf_describe_table(f,
	    "Keys of a job type (types.<name>):", conf_type_keys,
	    nitems(conf_type_keys));
	conf_describe_table(f,
	    "Keys of a form field (types.<name>.fields.<field>):",
	    conf_field_keys, nitems(conf_field_keys));
	conf_describe_table(f,
	    "Keys of a step object (types.<name>.steps[<i>]):", conf_step_keys,
	    nitems(conf_step_keys));
}
