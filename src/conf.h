/*
 * conf: the one JSON file that describes a longjob installation.
 *
 * Found through $LONGJOB_CONFIG, else SYSCONFDIR/longjob/longjob.json.
 * Relative paths inside it (database, spool, a handler's argv[0] when it
 * contains a '/') are taken relative to the directory of the file, so a
 * config and its handlers can be moved together.
 *
 * Loading is table driven (conf.c): one table holds each top-level key's
 * name, type, default, bounds and help text; the loader, `longjob
 * check-config` and the documented example all come from it.  Every mistake
 * is reported with the JSON path of the key and what is wrong
 * ("types.render.timeout_s: must be an integer from 1 to 604800").
 */
#ifndef LONGJOB_CONF_H
#define LONGJOB_CONF_H

#include <stddef.h>

enum field_kind { FIELD_STRING, FIELD_INT, FIELD_FILE };

struct config_field {
	char *name;		/* form field name: [A-Za-z0-9_-], 1..64 chars */
	enum field_kind kind;
	int required;
	char *def;		/* default value as text, or NULL */
	long long min, max;	/* FIELD_INT: bounds; FIELD_STRING: length bounds */
	long long max_bytes;	/* FIELD_FILE: upload size limit */
	char *label;		/* for forms and messages; defaults to name */
};

struct config_step {
	char *id;		/* [A-Za-z0-9_-], 1..64 chars */
	char *label;		/* NULL if the config gives none: the handler's, else the id, is shown */
};

struct config_type {
	char *name;		/* [A-Za-z0-9_-], 1..64 chars */
	char **argv;		/* NULL-terminated; argv[0] absolute after loading */
	int timeout_s;
	int max_running;	/* jobs of this type that run at once; 0: only the global limit */
	int retries;		/* runs again when its host is lost (PostgreSQL) */
	int max_running_all;	/* of this type at once over every host; 0: no such limit */
	long long max_body;	/* whole request body limit for this type */
	int max_steps;		/* steps a job may have, declared ones included */
	struct config_field *fields;
	size_t nfields;
	struct config_step *steps;	/* declared steps, may be empty */
	size_t nsteps;
};

struct config {
	char *path;		/* the file it came from */
	char *database;
	char *spool;
	char *worker;		/* path of longjob-worker (longjob-keeper is beside it) */
	char *log_file;		/* the worker's log; by default worker.log beside the database */
	long long log_max_bytes;	/* ... rotated to <log_file>.1 past this */
	int max_running;
	int max_queued;
	int max_jobs_per_client;	/* queued or running per client address; 0 no limit */
	int poll_ms;
	int heartbeat_s;	/* SSE keepalive comment after this much silence */
	int stream_max_s;	/* a stream ends itself after this long; the client resumes */
	int result_wait_s;	/* a result request answers 202 after waiting this long */
	int max_waiting;	/* result requests waiting at once, all processes */
	int max_waiting_per_job;
	int retry_ms;		/* the SSE retry: value */
	int progress_interval_ms;	/* coalescing window for progress rows */
	int log_lines;		/* at most this many log events per job */
	int max_steps;		/* default of a type's max_steps */
	int retain_s;
	int host_lease_s;	/* a host silent this long is lost (PostgreSQL) */
	int wake_on_write;	/* progress and result read on a job's write (loop_wake_on) */
	int debug;		/* log requests opened and freed */
	long long max_body;	/* default body limit */
	long long max_spool_bytes;	/* the spool's quota (spool.h); 0: none */
	char *page_url;		/* the job page; submit redirects to page_url?id=<id> */
	char *progress_url;	/* progress_url/<id> is the stream */
	char *result_url;	/* result_url/<id>[/<artifact>] */
	char **allowed_origins;	/* NULL-terminated */
	int trust_host;		/* the Host header names an allowed origin (origin.h) */
	struct config_type *types;
	size_t ntypes;
};

/* Path of the config file to use: $LONGJOB_CONFIG or the built-in default. */
const char *conf_default_path(void);

/*
 * Loads and validates the file.  On success returns a config the caller frees
 * with conf_free.  On failure returns NULL and sets *cause to a message
 * (naming the key and the problem, one per line when there are several) that
 * the caller frees.
 */
struct config *conf_load(const char *path, char **cause);
/* The same from a JSON text; base_dir resolves relative paths (NULL: the current directory). */
struct config *conf_parse(const char *json, const char *base_dir, char **cause);
void conf_free(struct config *c);

const struct config_type *conf_type_find(const struct config *c, const char *name);
const struct config_field *conf_field_find(const struct config_type *t, const char *name);
const struct config_step *conf_step_find(const struct config_type *t, const char *id);

/* Writes the documentation of every key (from the table) to fp. */
void conf_describe(void *fp);

#endif
