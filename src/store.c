/*
 * store: the rules of the job store, over whichever backend the `database`
 * key names (store_backend.h).  See store.h for the design of events and
 * states.  No SQL here: statements are named by id.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "xmem.h"

struct store {
	const struct store_backend *be;
	void *db;
	char host[256];		/* the host this process runs on (store_set_host) */
	/* The batch being written: its changes (apply_batch) and the jobs found ended. */
	const char **pend_id;
	const struct job_change **pend_c;
	size_t npend, cappend;
	char (*ended)[JOBID_LEN + 1];
	size_t nended, capended;
};

/* A job's file goes into a shared store in parts of this many bytes. */
#define STORE_FILE_PART (256 * 1024)

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Runs statement id with args (a compound literal array). */
/* Runs statement id without parameters. */
#define QUERY0(s, id) ((s)->be->query((s)->db, (id), NULL, 0))
#define QUERY(s, id, ...) ((s)->be->query((s)->db, (id), \
	(const struct store_arg[]){ __VA_ARGS__ }, \
	NARGS(((const struct store_arg[]){ __VA_ARGS__ }))))

/*
 * A URI, or a libpq conninfo string: key=value words whose first key is
 * one of libpq's (so that a path with '=' in it stays a path).
 */
int
store_is_postgresql(const char *database)
{
	static const char *const keys[] = { "host", "hostaddr", "port", "dbname", "user",
	    "password", "passfile", "service", "connect_timeout", "options",
	    "application_name", "sslmode", "target_session_attrs" };
	size_t key = strspn(database, "abcdefghijklmnopqrstuvwxyz_"), i;

	if (strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0)
		return 1;
	if (database[key + strspn(database + key, " ")] != '=')
		return 0;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i]) == key && strncmp(database, keys[i], key) == 0)
			return 1;
	return 0;
}

/* The length of a conninfo value at s: up to a space, or a quoted one. */
static size_t
store_value_len(const char *s)
{
	size_t n = 0;

	if (*s != '\'')
		return strcspn(s, " ");
	for (n = 1; s[n] != '\0' && s[n] != '\''; n++)
		if (s[n] == '\\' && s[n + 1] != '\0')
			n++;
	return s[n] == '\'' ? n + 1 : n;
}

char *
store_shown(const char *database)
{
	const char *at, *colon, *pw;
	char *out;

	if (strncmp(database, "postgres", 8) == 0 && (colon = strstr(database, "://")) != NULL) {
		colon += 3;
		at = strchr(colon, '@');
		pw = at != NULL ? memchr(colon, ':', (size_t)(at - colon)) : NULL;
		if (pw != NULL)
			return xasprintf("%.*s:***%s", (int)(pw - database), database, at);
		return xstrdup(database);
	}
	if (!store_is_postgresql(database) || (pw = strstr(database, "password")) == NULL)
		return xstrdup(database);
	pw += 8;
	pw += strspn(pw, " ");
	if (*pw != '=')
		return xstrdup(database);
	pw++;
	pw += strspn(pw, " ");
	out = xasprintf("%.*s***%s", (int)(pw - database), database, pw + store_value_len(pw));
	return out;
}

struct store *
store_open(const char *database, char **cause)
{
	const struct store_backend *be = &store_sqlite;
	struct store *s;
	void *db;

	if (store_is_postgresql(database)) {
#ifdef HAVE_LIBPQ
		be = &store_pg;
#else
		*cause = xstrdup("database is a PostgreSQL one, but this longjob was built"
		    " without PostgreSQL (configure --with-postgresql, libpq-dev)");
		return NULL;
#endif
	}
	if ((db = be->open(database, cause)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->be = be;
	s->db = db;
	gethostname(s->host, sizeof s->host - 1);
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->be->close(s->db);
	free(s->pend_id);
	free(s->pend_c);
	free(s->ended);
	free(s);
}

void
store_set_host(struct store *s, const char *host)
{
	snprintf(s->host, sizeof s->host, "%s", host);
}

const char *
store_host(const struct store *s)
{
	return s->host;
}

int
store_shared(const struct store *s)
{
	return s->be->shared;
}

const char *
store_backend_name(const struct store *s)
{
	return s->be->name;
}

int
store_full(const struct store *s)
{
	return s->be->full(s->db);
}

int
store_busy(const struct store *s)
{
	return s->be->busy(s->db);
}

int
store_down(const struct store *s)
{
	return s->be->down(s->db);
}

int
store_wake_fd(struct store *s)
{
	return s->be->wake_fd(s->db);
}

void
store_wake_drain(struct store *s)
{
	s->be->wake_drain(s->db);
}

/* Seconds on a monotonic clock (the backends' up_since). */
static double
store_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ends a transaction: commit if rc is not an error, else roll back. */
static int
store_end(struct store *s, int rc)
{
	if (rc >= 0 && s->be->commit(s->db) == 0)
		return rc;
	s->be->rollback(s->db);
	return -1;
}

/* Runs a statement that returns no rows; its changes in *changes if asked. */
static int
store_run(struct store *s, struct store_rows *r, int64_t *changes)
{
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1)
		;
	if (rc == 0 && changes != NULL)
		*changes = s->be->changes(r);
	s->be->finish(r);
	return rc;
}

/* Reads the one integer a statement returns (0 if it returns no row). */
static int
store_int(struct store *s, struct store_rows *r, int64_t *out)
{
	int rc;

	if (r == NULL)
		return -1;
	*out = 0;
	if ((rc = s->be->step(r)) == 1)
		*out = s->be->integer(r, 0);
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

/* A copy of a text column, or NULL when it is NULL. */
static char *
store_text(struct store *s, struct store_rows *r, int col)
{
	const char *t = s->be->text(r, col);

	return t != NULL ? xstrdup(t) : NULL;
}

/* Fills j from a row of STORE_JOB_COLUMNS. */
static void
store_row_job(struct store *s, struct store_rows *r, struct job *j)
{
	const struct store_backend *be = s->be;
	const char *id = be->text(r, 0);

	job_clear(j);
	snprintf(j->id, sizeof j->id, "%s", id ? id : "");
	j->type = store_text(s, r, 1);
	j->state = store_text(s, r, 2);
	j->progress = be->real(r, 3);
	j->step = store_text(s, r, 4);
	j->message = store_text(s, r, 5);
	j->eta_s = be->real(r, 6);
	j->created = be->real(r, 7);
	j->started = be->real(r, 8);
	j->heartbeat = be->real(r, 9);
	j->finished = be->real(r, 10);
	j->worker_pid = (long)be->integer(r, 11);
	j->params = store_text(s, r, 12);
	j->steps = store_text(s, r, 13);
	j->result = store_text(s, r, 14);
	j->error = store_text(s, r, 15);
	j->out_offset = be->integer(r, 16);
	j->out_skip = (int)be->integer(r, 17);
	j->out_result = store_text(s, r, 18);
	j->log_count = (int)be->integer(r, 19);
	j->log_dropped = (int)be->integer(r, 20);
	j->steps_refused = (int)be->integer(r, 21);
	j->keeper_pid = (long)be->integer(r, 22);
	j->keeper_start = be->integer(r, 23);
	j->host = store_text(s, r, 24);
	j->attempts = (int)be->integer(r, 25);
}

/* Inserts one event row inside the caller's transaction; its seq in *seq if asked. */
static int
store_add_event(struct store *s, const char *id, const char *kind,
    const char *json, int64_t *seq)
{
	if (seq == NULL)
		return store_run(s, QUERY(s, SQL_ADD_EVENT, STORE_TEXT(id), STORE_TEXT(kind),
		    STORE_TEXT(json), STORE_REAL(store_now())), NULL);
	return store_int(s, QUERY(s, SQL_INSERT_EVENT, STORE_TEXT(id), STORE_TEXT(kind),
	    STORE_TEXT(json), STORE_REAL(store_now())), seq);
}

int
store_job_insert(struct store *s, const char *id, const char *type,
    const char *params, const char *steps, const struct store_admit *admit)
{
	int64_t queued, mine = 0;
	int counted = admit->client != NULL && admit->max_per_client > 0;

	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	if (store_int(s, QUERY(s, SQL_COUNT_STATE, STORE_TEXT("queued")), &queued) != 0)
		return store_end(s, -1);
	if (queued >= admit->max_queued)
		return store_end(s, 1);
	if (counted && store_int(s, QUERY(s, SQL_CLIENT_JOBS, STORE_TEXT(admit->client)),
	    &mine) != 0)
		return store_end(s, -1);
	if (counted && mine >= admit->max_per_client)
		return store_end(s, 2);
	return store_end(s, store_run(s, QUERY(s, SQL_INSERT_JOB, STORE_TEXT(id),
	    STORE_TEXT(type), STORE_REAL(store_now()), STORE_TEXT(params), STORE_TEXT(steps),
	    STORE_TEXT(admit->client)), NULL));
}

/* Reads the job row; 1 if absent. */
static int
store_read_job(struct store *s, const char *id, struct job *j)
{
	struct store_rows *r = QUERY(s, SQL_GET_JOB, STORE_TEXT(id));
	int rc;

	if (r == NULL)
		return -1;
	if ((rc = s->be->step(r)) == 1)
		store_row_job(s, r, j);
	s->be->finish(r);
	return rc < 0 ? -1 : rc == 0;
}

int
store_job_get(struct store *s, const char *id, struct job *j)
{
	return store_read_job(s, id, j);
}

int
store_job_snapshot(struct store *s, const char *id, struct job *j)
{
	int rc;

	/* One read transaction: the row and the max seq describe the same moment. */
	if (s->be->begin(s->db, STORE_READ) != 0)
		return -1;
	rc = store_read_job(s, id, j);
	if (rc == 0 && store_int(s, QUERY(s, SQL_JOB_MAX_SEQ, STORE_TEXT(id)),
	    &j->last_seq) != 0)
		rc = -1;
	if (rc == 0 && strcmp(j->state, "queued") == 0 &&
	    store_int(s, QUERY(s, SQL_QUEUE_POS, STORE_TEXT(id)), &j->queue_position) != 0)
		rc = -1;
	return store_end(s, rc);
}

/* A real parameter, NAN meaning NULL (unchanged). */
static struct store_arg
store_real_opt(double v)
{
	return isnan(v) ? STORE_NULL : STORE_REAL(v);
}

/* An integer of the worker's record, -1 meaning NULL (unchanged). */
static struct store_arg
store_own(int64_t v)
{
	return v < 0 ? STORE_NULL : STORE_INT(v);
}

/*
 * Rows that wait (store.h): writes progress update c as its event alone,
 * with its position, if the job runs and nothing else of the position
 * moved: 0 if it did, 2 if the row must be written instead, -1.
 */
static int
store_apply_event_only(struct store *s, const char *id, const struct job_change *c)
{
	int64_t added = 0;

	if (store_run(s, QUERY(s, SQL_ADD_EVENT_AT, STORE_TEXT(id), STORE_TEXT(c->event_kind),
	    STORE_TEXT(c->event_json), STORE_REAL(store_now()), store_own(c->out_offset),
	    store_own(c->out_skip), store_own(c->log_count), store_own(c->log_dropped),
	    store_own(c->steps_refused), STORE_TEXT(c->out_result)), &added) != 0)
		return -1;
	return added == 1 ? 0 : 2;
}

/* Applies a change inside the caller's transaction: 0, 1 if the job has ended (nothing written), -1. */
static int
store_apply(struct store *s, const char *id, const struct job_change *c, int64_t *seq)
{
	int64_t changed = 0;
	/* Most changes are progress: they leave the indexed columns alone. */
	enum store_sql sql = c->state == NULL && c->finished == 0 ? SQL_CHANGE_LIGHT : SQL_CHANGE;
	int rc;

	if (c->defer_row && s->be->defers_rows && c->event_kind != NULL && seq == NULL &&
	    (rc = store_apply_event_only(s, id, c)) != 2)
		return rc;
	if (store_run(s, QUERY(s, sql, STORE_TEXT(c->state), store_real_opt(c->progress),
	    STORE_TEXT(c->message), STORE_TEXT(c->step), store_real_opt(c->eta_s),
	    STORE_TEXT(c->steps), STORE_TEXT(c->result), STORE_TEXT(c->error),
	    STORE_INT(c->started != 0), STORE_INT(c->finished != 0), STORE_INT(c->heartbeat != 0),
	    STORE_REAL(store_now()), STORE_TEXT(id), store_own(c->out_offset),
	    store_own(c->out_skip), STORE_TEXT(c->out_result), store_own(c->log_count),
	    store_own(c->log_dropped), store_own(c->steps_refused), store_own(c->keeper_pid),
	    store_own(c->keeper_start), store_own(c->worker_pid)), &changed) != 0)
		return -1;
	/* No row changed: the job has already ended (cancelled, reaped); write nothing. */
	if (changed == 0)
		return 1;
	if (c->event_kind != NULL &&
	    store_add_event(s, id, c->event_kind, c->event_json, seq) != 0)
		return -1;
	return 0;
}

int
store_job_change(struct store *s, const char *id, const struct job_change *c,
    int64_t *seq)
{
	int rc;

	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	if ((rc = store_apply(s, id, c, seq)) == 1) {
		s->be->rollback(s->db);
		return 1;
	}
	return store_end(s, rc);
}

int
store_batch_begin(struct store *s)
{
	s->npend = s->nended = 0;
	return s->be->begin(s->db, STORE_WRITE);
}

/* 1 if the batch found job id ended. */
static int
store_batch_ended(const struct store *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->nended; i++)
		if (strcmp(s->ended[i], id) == 0)
			return 1;
	return 0;
}

/* Notes that the batch found job id ended (once). */
static void
store_note_ended(void *ctx, const char *id)
{
	struct store *s = ctx;

	if (store_batch_ended(s, id))
		return;
	if (s->nended == s->capended) {
		s->capended = s->capended ? 2 * s->capended : 16;
		s->ended = xrealloc(s->ended, s->capended * sizeof *s->ended);
	}
	snprintf(s->ended[s->nended++], sizeof s->ended[0], "%s", id);
}

int
store_batch_change(struct store *s, const char *id, const struct job_change *c)
{
	int rc;

	if (s->be->apply_batch != NULL) {
		if (s->npend == s->cappend) {
			s->cappend = s->cappend ? 2 * s->cappend : 256;
			s->pend_id = xrealloc(s->pend_id, s->cappend * sizeof *s->pend_id);
			s->pend_c = xrealloc(s->pend_c, s->cappend * sizeof *s->pend_c);
		}
		s->pend_id[s->npend] = id;
		s->pend_c[s->npend++] = c;
		return 0;
	}
	/* Change by change: what comes after a job's end is skipped. */
	if (s->nended > 0 && store_batch_ended(s, id))
		return 0;
	if ((rc = store_apply(s, id, c, NULL)) == 1)
		store_note_ended(s, id);
	return rc < 0 ? -1 : 0;
}

/* Merges change c into m: each field c sets replaces m's; the time stamps add up. */
static void
store_merge(struct job_change *m, const struct job_change *c)
{
	if (c->state != NULL)
		m->state = c->state;
	if (!isnan(c->progress))
		m->progress = c->progress;
	if (c->message != NULL)
		m->message = c->message;
	if (c->step != NULL)
		m->step = c->step;
	if (!isnan(c->eta_s))
		m->eta_s = c->eta_s;
	if (c->steps != NULL)
		m->steps = c->steps;
	if (c->result != NULL)
		m->result = c->result;
	if (c->error != NULL)
		m->error = c->error;
	m->started |= c->started;
	m->finished |= c->finished;
	m->heartbeat |= c->heartbeat;
	if (c->out_offset >= 0)
		m->out_offset = c->out_offset;
	if (c->out_skip >= 0)
		m->out_skip = c->out_skip;
	if (c->out_result != NULL)
		m->out_result = c->out_result;
	if (c->log_count >= 0)
		m->log_count = c->log_count;
	if (c->log_dropped >= 0)
		m->log_dropped = c->log_dropped;
	if (c->steps_refused >= 0)
		m->steps_refused = c->steps_refused;
	if (c->keeper_pid >= 0)
		m->keeper_pid = c->keeper_pid;
	if (c->keeper_start >= 0)
		m->keeper_start = c->keeper_start;
	if (c->worker_pid >= 0)
		m->worker_pid = c->worker_pid;
}

/* A job id's slot in an open-addressed table of size n (a power of two). */
static size_t
store_slot(const char *id, size_t n)
{
	size_t h = 0;
	int i;

	for (i = 0; i < 16 && id[i] != '\0'; i++)
		h = h * 31 + (unsigned char)id[i];
	return h & (n - 1);
}

/*
 * Hands the pending changes to the backend: one merged change per job,
 * in the order each job first appears, and every event in order.
 */
static int
store_batch_apply(struct store *s)
{
	size_t tab = 16, i, k, njobs = 0, nev = 0;
	struct store_batch_job *jobs;
	struct store_batch_event *ev;
	struct job_change *merged;
	size_t *slot;
	int rc;

	while (tab < 2 * s->npend)
		tab *= 2;
	slot = xmalloc(tab * sizeof *slot);
	for (i = 0; i < tab; i++)
		slot[i] = (size_t)-1;
	jobs = xcalloc(s->npend, sizeof *jobs);
	merged = xcalloc(s->npend, sizeof *merged);
	ev = xcalloc(s->npend, sizeof *ev);
	for (i = 0; i < s->npend; i++) {
		for (k = store_slot(s->pend_id[i], tab);
		    slot[k] != (size_t)-1 && strcmp(jobs[slot[k]].id, s->pend_id[i]) != 0;
		    k = (k + 1) & (tab - 1))
			;
		if (slot[k] == (size_t)-1) {
			slot[k] = njobs;
			job_change_init(&merged[njobs]);
			jobs[njobs].id = s->pend_id[i];
			jobs[njobs].c = &merged[njobs];
			njobs++;
		}
		store_merge(jobs[slot[k]].c, s->pend_c[i]);
		if (s->pend_c[i]->event_kind != NULL) {
			ev[nev].id = s->pend_id[i];
			ev[nev].kind = s->pend_c[i]->event_kind;
			ev[nev].json = s->pend_c[i]->event_json;
			nev++;
		}
	}
	rc = s->be->apply_batch(s->db, jobs, njobs, ev, nev, store_now(), store_note_ended, s);
	free(slot);
	free(jobs);
	free(merged);
	free(ev);
	return rc;
}

int
store_batch_commit(struct store *s, void (*ended)(void *, const char *), void *ctx)
{
	size_t i;
	int rc = 0;

	if (s->npend > 0)
		rc = store_batch_apply(s);
	s->npend = 0;
	if (store_end(s, rc) < 0)
		return -1;
	for (i = 0; ended != NULL && i < s->nended; i++)
		ended(ctx, s->ended[i]);
	s->nended = 0;
	return 0;
}

void
store_batch_abort(struct store *s)
{
	s->npend = s->nended = 0;
	if (s->be->in_txn(s->db))
		s->be->rollback(s->db);
}

/* Rows that wait (store.h): the job's row takes in its newest waiting progress, before it ends. */
static int
store_fold(struct store *s, const char *id)
{
	if (!s->be->defers_rows)
		return 0;
	return store_run(s, QUERY(s, SQL_FOLD, STORE_TEXT(id)), NULL);
}

/* The `end` event of a job that failed with error. */
static char *
store_failed_json(const char *error)
{
	struct json_object *o = json_object_new_object();
	char *json;

	json_object_object_add(o, "state", json_object_new_string("failed"));
	json_object_object_add(o, "error", json_object_new_string(error));
	json = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return json;
}

/* Fails one lost job inside the caller's transaction; 1 if it was not running. */
static int
store_fail_lost(struct store *s, const char *id, const char *error, double now)
{
	int64_t changed = 0;
	char *json;
	int rc;

	if (store_fold(s, id) != 0)
		return -1;
	if (store_run(s, QUERY(s, SQL_LOST, STORE_TEXT(id), STORE_TEXT(error), STORE_REAL(now)),
	    &changed) != 0)
		return -1;
	if (changed == 0)
		return 1;
	log_warn("job %s: %s", id, error);
	json = store_failed_json(error);
	rc = store_add_event(s, id, "end", json, NULL);
	free(json);
	return rc;
}

int
store_job_lost(struct store *s, const char *id, const char *error)
{
	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	return store_end(s, store_fail_lost(s, id, error, store_now()));
}

/* Reads the first column of up to 256 rows into ids; how many, or -1. */
static int
store_ids(struct store *s, struct store_rows *r, char ids[256][JOBID_LEN + 1])
{
	int n = 0, rc = 0;

	if (r == NULL)
		return -1;
	while (n < 256 && (rc = s->be->step(r)) == 1)
		snprintf(ids[n++], sizeof ids[0], "%s", s->be->text(r, 0));
	s->be->finish(r);
	return rc < 0 ? -1 : n;
}

int
store_reap_lost(struct store *s, const char *error)
{
	char ids[256][JOBID_LEN + 1];
	double now = store_now();
	int n, i, rc = 0;

	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	if ((n = store_ids(s, QUERY(s, SQL_RUNNING, STORE_TEXT(s->host)), ids)) < 0)
		return store_end(s, -1);
	for (i = 0; i < n && rc >= 0; i++)
		rc = store_fail_lost(s, ids[i], error, now);
	return store_end(s, rc >= 0 ? n : -1);
}

/* 1 if a job of type may start under its limit over every host (limit: NULL, none). */
static int
store_under_limit(struct store *s, store_limit_cb limit, void *ctx, const char *type)
{
	int max = limit != NULL ? limit(ctx, type) : 0;
	int64_t n = 0;

	if (max <= 0)
		return 1;
	if (store_int(s, QUERY(s, SQL_TYPE_RUNNING, STORE_TEXT(type)), &n) != 0)
		return -1;
	return n < max;
}

int
store_job_claim(struct store *s, pid_t pid, store_type_cb may_run, store_limit_cb limit,
    void *ctx, char out[JOBID_LEN + 1])
{
	char ids[64][JOBID_LEN + 1], types[64][65];
	struct store_rows *r;
	int64_t any = 0;
	int rc = 0, step, n = 0, i, under;

	/* A read first: the usual answer, nothing queued, takes no write lock. */
	if (store_int(s, QUERY0(s, SQL_ANY_QUEUED), &any) != 0)
		return -1;
	if (any == 0)
		return 0;
	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	if ((r = QUERY(s, SQL_QUEUED, STORE_REAL(store_now()))) == NULL)
		return store_end(s, -1);
	/* The oldest queued jobs whose type has room here (types.<name>.max_running). */
	while (n < 64 && (step = s->be->step(r)) == 1) {
		if (may_run == NULL || may_run(ctx, s->be->text(r, 1))) {
			snprintf(ids[n], sizeof ids[0], "%s", s->be->text(r, 0));
			snprintf(types[n], sizeof types[0], "%s", s->be->text(r, 1));
			n++;
		}
	}
	s->be->finish(r);
	if (step < 0)
		return store_end(s, -1);
	/* ... and over every host (types.<name>.max_running_all). */
	for (i = 0; i < n && rc == 0; i++) {
		if ((under = store_under_limit(s, limit, ctx, types[i])) < 0)
			rc = -1;
		else if (under) {
			snprintf(out, JOBID_LEN + 1, "%s", ids[i]);
			rc = 1;
		}
	}
	if (rc == 1 && store_run(s, QUERY(s, SQL_CLAIM, STORE_TEXT(out),
	    STORE_REAL(store_now()), STORE_INT(pid), STORE_TEXT(s->host)), NULL) != 0)
		rc = -1;
	return store_end(s, rc);
}

/* A running job of a lost host, as store_reap_hosts reads it. */
struct store_orphan {
	char id[JOBID_LEN + 1];
	char type[65];
	int attempts;
};

/* Reads a lost host's running jobs (up to 256); how many, or -1. */
static int
store_orphans(struct store *s, const char *host, struct store_orphan *o)
{
	struct store_rows *r = QUERY(s, SQL_HOST_JOBS, STORE_TEXT(host));
	int n = 0, rc = 0;

	if (r == NULL)
		return -1;
	while (n < 256 && (rc = s->be->step(r)) == 1) {
		snprintf(o[n].id, sizeof o[n].id, "%s", s->be->text(r, 0));
		snprintf(o[n].type, sizeof o[n].type, "%s", s->be->text(r, 1));
		o[n].attempts = (int)s->be->integer(r, 2);
		n++;
	}
	s->be->finish(r);
	return rc < 0 ? -1 : n;
}

/*
 * Puts a lost host's job back in the queue, to run again from the start no
 * sooner than 5 s after (10, 20 ... for later attempts); its streams are
 * told in a log line.
 */
static int
store_requeue(struct store *s, const struct store_orphan *o, const char *host, int retries)
{
	struct json_object *e = json_object_new_object();
	char *line;
	int rc;

	rc = store_run(s, QUERY(s, SQL_REQUEUE, STORE_TEXT(o->id),
	    STORE_REAL(store_now() + 5.0 * (1 << (o->attempts < 8 ? o->attempts : 8)))), NULL);
	line = xasprintf("host %s was lost: the job runs again from the start (run %d of %d)",
	    host, o->attempts + 2, retries + 1);
	log_warn("job %s: %s", o->id, line);
	json_object_object_add(e, "line", json_object_new_string(line));
	if (rc == 0)
		rc = store_add_event(s, o->id, "log",
		    json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN), NULL);
	json_object_put(e);
	free(line);
	return rc;
}

/* Ends or requeues one lost host's running jobs, and forgets its worker. */
static int
store_reap_host(struct store *s, const char *host, double beat_before,
    store_retries_cb retries, void *ctx)
{
	struct store_orphan *o = xcalloc(256, sizeof *o);
	char *error;
	int n, i, rc = 0, allowed;

	error = xasprintf("host lost: %s stopped answering (no heartbeat for %.0f s)", host,
	    store_now() - beat_before);
	if ((n = store_orphans(s, host, o)) < 0)
		rc = -1;
	for (i = 0; i < n && rc >= 0; i++) {
		allowed = retries != NULL ? retries(ctx, o[i].type) : 0;
		rc = o[i].attempts < allowed ? store_requeue(s, &o[i], host, allowed) :
		    store_fail_lost(s, o[i].id, error, store_now());
	}
	if (rc >= 0 && store_run(s, QUERY(s, SQL_HOST_FORGET, STORE_TEXT(host),
	    STORE_REAL(beat_before)), NULL) != 0)
		rc = -1;
	free(error);
	free(o);
	return rc < 0 ? -1 : n;
}

int
store_reap_hosts(struct store *s, double lease_s, store_retries_cb retries, void *ctx)
{
	char hosts[16][256];
	double before = store_now() - lease_s;
	struct store_rows *r;
	int n = 0, i, rc = 0, total = 0, got;

	if (!s->be->shared)
		return 0;
	/*
	 * Not while this process's own connection is younger than the lease:
	 * after the database was away, every host's heartbeat is old, and the
	 * hosts need a lease to write a new one.
	 */
	if (store_mono() - s->be->up_since(s->db) < lease_s)
		return 0;
	/* A read first: the usual answer, none lost, takes no write lock. */
	for (i = 0; i < 2; i++) {
		if (i == 1 && s->be->begin(s->db, STORE_WRITE) != 0)
			return -1;
		if ((r = QUERY(s, SQL_HOSTS_LOST, STORE_REAL(before), STORE_TEXT(s->host))) == NULL)
			return i == 1 ? store_end(s, -1) : -1;
		n = 0;
		while (n < 16 && (rc = s->be->step(r)) == 1)
			snprintf(hosts[n++], sizeof hosts[0], "%s", s->be->text(r, 0));
		s->be->finish(r);
		if (rc < 0)
			return i == 1 ? store_end(s, -1) : -1;
		/*
		 * Again: a connection lost while this process was idle is found
		 * and made anew by the query itself, after the check above.
		 */
		if (n == 0 || store_mono() - s->be->up_since(s->db) < lease_s)
			return i == 1 ? store_end(s, 0) : 0;
	}
	for (i = 0; i < n && total >= 0; i++) {
		if ((got = store_reap_host(s, hosts[i], before, retries, ctx)) < 0)
			total = -1;
		else
			total += got;
	}
	return store_end(s, total);
}

/* Reads up to n bytes, as many as there are: the count, or -1. */
static ssize_t
store_read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/* Writes all n bytes; 0 or -1. */
static int
store_write_full(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
store_file_put(struct store *s, const char *id, const char *name, int fd)
{
	char *buf;
	ssize_t n;
	int part, rc;

	if (!s->be->shared)
		return 0;
	if (s->be->begin(s->db, STORE_BULK) != 0)
		return -1;
	buf = xmalloc(STORE_FILE_PART);
	rc = store_run(s, QUERY(s, SQL_FILE_DELETE, STORE_TEXT(id), STORE_TEXT(name)), NULL);
	for (part = 0; rc == 0; part++) {
		if ((n = store_read_full(fd, buf, STORE_FILE_PART)) < 0) {
			log_error("job %s: reading its file %s: %s", id, name, strerror(errno));
			rc = -1;
			break;
		}
		/* An empty file has one empty part, so that its name is there. */
		if (n == 0 && part > 0)
			break;
		rc = store_run(s, QUERY(s, SQL_FILE_PART_ADD, STORE_TEXT(id), STORE_TEXT(name),
		    STORE_INT(part), STORE_BLOB(buf, n)), NULL);
		if (n < STORE_FILE_PART)
			break;
	}
	free(buf);
	return store_end(s, rc);
}

int
store_file_get(struct store *s, const char *id, const char *name, int fd)
{
	struct store_rows *r;
	const void *p;
	size_t n;
	int part, rc = 0, step;

	if (!s->be->shared)
		return 1;
	for (part = 0; rc == 0; part++) {
		if ((r = QUERY(s, SQL_FILE_PART, STORE_TEXT(id), STORE_TEXT(name),
		    STORE_INT(part))) == NULL)
			return -1;
		if ((step = s->be->step(r)) == 1) {
			p = s->be->blob(r, 0, &n);
			if (store_write_full(fd, p, n) != 0) {
				log_error("job %s: writing its file %s: %s", id, name, strerror(errno));
				rc = -1;
			}
		}
		s->be->finish(r);
		if (step < 0)
			return -1;
		if (step == 0)
			return part == 0 ? 1 : rc;
	}
	return rc;
}

int
store_file_names(struct store *s, const char *id, void (*cb)(void *, const char *), void *ctx)
{
	struct store_rows *r;
	int rc;

	if (!s->be->shared)
		return 0;
	if ((r = QUERY(s, SQL_FILE_NAMES, STORE_TEXT(id))) == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1)
		cb(ctx, s->be->text(r, 0));
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

/* Calls cb for each job a statement returns. */
static int
store_each_job(struct store *s, struct store_rows *r, store_job_cb cb, void *ctx)
{
	struct job j;
	int rc;

	if (r == NULL)
		return -1;
	job_init(&j);
	while ((rc = s->be->step(r)) == 1) {
		store_row_job(s, r, &j);
		cb(ctx, &j);
	}
	job_clear(&j);
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

int
store_job_running(struct store *s, store_job_cb cb, void *ctx)
{
	return store_each_job(s, QUERY(s, SQL_RUNNING_JOBS, STORE_TEXT(s->host)), cb, ctx);
}

int
store_job_ended_since(struct store *s, double since, pid_t pid,
    void (*cb)(void *, const char *, const char *), void *ctx)
{
	struct store_rows *r = QUERY(s, SQL_ENDED_SINCE, STORE_REAL(since), STORE_INT(pid),
	    STORE_TEXT(s->host));
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1)
		cb(ctx, s->be->text(r, 0), s->be->text(r, 1));
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

int
store_pending(struct store *s, double queued_before, int64_t *n)
{
	return store_int(s, QUERY(s, SQL_PENDING, STORE_REAL(queued_before), STORE_TEXT(s->host)), n);
}

int
store_worker_beat(struct store *s, const struct store_worker *w)
{
	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	return store_end(s, store_run(s, QUERY(s, SQL_WORKER_BEAT, STORE_TEXT(w->host),
	    STORE_INT(w->pid), STORE_REAL(w->started), STORE_REAL(store_now()),
	    STORE_INT(w->running), STORE_INT(w->commits), STORE_REAL(w->last_commit)), NULL));
}

/* A row of the workers table, as SQL_WORKER_GET and SQL_WORKERS_ALL select it. */
static void
store_worker_row(struct store *s, struct store_rows *r, struct store_worker *w)
{
	memset(w, 0, sizeof *w);
	snprintf(w->host, sizeof w->host, "%s", s->be->text(r, 0));
	w->pid = (long)s->be->integer(r, 1);
	w->started = s->be->real(r, 2);
	w->beat = s->be->real(r, 3);
	w->running = (int)s->be->integer(r, 4);
	w->commits = s->be->integer(r, 5);
	w->last_commit = s->be->real(r, 6);
}

int
store_worker_get(struct store *s, struct store_worker *w)
{
	struct store_rows *r = QUERY(s, SQL_WORKER_GET, STORE_TEXT(s->host));
	int rc;

	if (r == NULL)
		return -1;
	memset(w, 0, sizeof *w);
	if ((rc = s->be->step(r)) == 1)
		store_worker_row(s, r, w);
	s->be->finish(r);
	return rc < 0 ? -1 : rc == 0;
}

int
store_workers_each(struct store *s, void (*cb)(void *ctx, const struct store_worker *w),
    void *ctx)
{
	struct store_rows *r = QUERY0(s, SQL_WORKERS_ALL);
	struct store_worker w;
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1) {
		store_worker_row(s, r, &w);
		cb(ctx, &w);
	}
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

int
store_worker_end(struct store *s, const struct store_worker *w)
{
	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	return store_end(s, store_run(s, QUERY(s, SQL_WORKER_END, STORE_TEXT(w->host),
	    STORE_INT(w->pid)), NULL));
}

int
store_job_list(struct store *s, int limit, store_job_cb cb, void *ctx)
{
	return store_each_job(s, QUERY(s, SQL_LIST, STORE_INT(limit)), cb, ctx);
}

/* Steps through event rows calling cb; stops early if cb asks to. */
static int
store_each_event(struct store *s, struct store_rows *r, store_event_cb cb, void *ctx)
{
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1) {
		if (cb(ctx, s->be->integer(r, 0), s->be->text(r, 1), s->be->text(r, 2),
		    s->be->text(r, 3)) != 0)
			break;
	}
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

int
store_job_events(struct store *s, const char *id, int64_t after,
    store_event_cb cb, void *ctx)
{
	return store_each_event(s, QUERY(s, SQL_JOB_EVENTS, STORE_TEXT(id), STORE_INT(after)),
	    cb, ctx);
}

int
store_version(struct store *s, int64_t *v)
{
	return s->be->version(s->db, 0, v);
}

int
store_others_version(struct store *s, int64_t *v)
{
	return s->be->version(s->db, 1, v);
}

int
store_artifact_add(struct store *s, const char *id, const char *name,
    const char *ctype)
{
	return store_run(s, QUERY(s, SQL_ARTIFACT_ADD, STORE_TEXT(id), STORE_TEXT(name),
	    STORE_TEXT(ctype)), NULL);
}

int
store_artifact_get(struct store *s, const char *id, const char *name,
    char **ctype)
{
	struct store_rows *r = QUERY(s, SQL_ARTIFACT_GET, STORE_TEXT(id), STORE_TEXT(name));
	int rc;

	if (r == NULL)
		return -1;
	if ((rc = s->be->step(r)) == 1)
		*ctype = store_text(s, r, 0);
	s->be->finish(r);
	return rc < 0 ? -1 : rc == 0;
}

int
store_artifact_names(struct store *s, const char *id, void (*cb)(void *, const char *),
    void *ctx)
{
	struct store_rows *r = QUERY(s, SQL_ARTIFACT_NAMES, STORE_TEXT(id));
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = s->be->step(r)) == 1)
		cb(ctx, s->be->text(r, 0));
	s->be->finish(r);
	return rc < 0 ? -1 : 0;
}

int
store_cursor_end(struct store *s, struct store_cursor *c)
{
	/* -1 is never a version: the next read will look. */
	c->version = -1;
	return store_int(s, QUERY0(s, SQL_MAX_SEQ), &c->seq);
}

/* A read in progress: the caller's callback and the rows seen. */
struct store_cursor_read {
	struct store_cursor *c;
	store_event_cb cb;
	void *ctx;
	int rows;
};

/* Moves the cursor past each row before handing it on. */
static int
store_cursor_row(void *ctx, int64_t seq, const char *job_id, const char *kind,
    const char *json)
{
	struct store_cursor_read *r = ctx;

	r->c->seq = seq;
	r->rows++;
	return r->cb(r->ctx, seq, job_id, kind, json);
}

int
store_cursor_read(struct store *s, struct store_cursor *c, store_event_cb cb,
    void *ctx)
{
	struct store_cursor_read r = { c, cb, ctx, 0 };
	int64_t version;

	if (store_version(s, &version) != 0)
		return -1;
	if (version == c->version)
		return 0;
	c->version = version;
	/* In batches, so one burst of events never means one huge result. */
	do {
		r.rows = 0;
		if (store_each_event(s, QUERY(s, SQL_EVENTS_AFTER, STORE_INT(c->seq),
		    STORE_INT(1000)), store_cursor_row, &r) != 0)
			return -1;
	} while (r.rows == 1000);
	return 0;
}

int
store_job_cancel(struct store *s, const char *id, long *keeper, int64_t *start)
{
	struct job j;
	int rc;

	*keeper = 0;
	*start = 0;
	job_init(&j);
	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	rc = store_read_job(s, id, &j);
	if (rc == 1)
		rc = 2;
	else if (rc == 0 && strcmp(j.state, "queued") != 0 && strcmp(j.state, "running") != 0)
		rc = 1;
	else if (rc == 0) {
		rc = store_fold(s, id);
		if (rc == 0)
			rc = store_run(s, QUERY(s, SQL_CANCEL, STORE_TEXT(id),
			    STORE_REAL(store_now())), NULL);
		if (rc == 0 && store_add_event(s, id, "end", "{\"state\":\"cancelled\"}", NULL) != 0)
			rc = -1;
		/* A keeper of another host's is not ours to signal: its worker hears of the cancel. */
		if (rc == 0 && strcmp(j.state, "running") == 0 &&
		    (!s->be->shared || (j.host != NULL && strcmp(j.host, s->host) == 0))) {
			*keeper = j.keeper_pid;
			*start = j.keeper_start;
		}
	}
	job_clear(&j);
	/* 1 and 2 wrote nothing: commit is as good as rollback. */
	return store_end(s, rc);
}

int
store_job_unstartable(struct store *s, const char *id, const char *error,
    const char *end_json)
{
	int64_t changed = 0;
	int rc;

	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	rc = store_run(s, QUERY(s, SQL_UNSTARTABLE, STORE_TEXT(id), STORE_TEXT(error),
	    STORE_REAL(store_now())), &changed);
	if (rc == 0 && changed == 0)
		rc = 1;
	if (rc == 0)
		rc = store_add_event(s, id, "end", end_json, NULL);
	return store_end(s, rc);
}

/* Deletes one job's rows inside the caller's transaction. */
static int
store_gc_job(struct store *s, const char *id)
{
	static const enum store_sql sql[] = { SQL_GC_EVENTS, SQL_GC_ARTIFACTS, SQL_GC_FILES,
	    SQL_GC_JOB };
	size_t i;

	for (i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (store_run(s, QUERY(s, sql[i], STORE_TEXT(id)), NULL) != 0)
			return -1;
	return 0;
}

/*
 * Whether any job is past retention: a read, so that the usual answer
 * (nothing) takes no write lock.
 */
static int
store_gc_due(struct store *s, double before)
{
	struct store_rows *r = QUERY(s, SQL_GC_LIST, STORE_REAL(before));
	int rc;

	if (r == NULL)
		return -1;
	rc = s->be->step(r);
	s->be->finish(r);
	return rc;
}

/* One batch of store_gc: up to 256 jobs in one transaction; how many, or -1. */
static int
store_gc_batch(struct store *s, double before, void (*cb)(void *, const char *),
    void *ctx)
{
	char ids[256][JOBID_LEN + 1];
	int n, i, rc = 0;

	if (s->be->begin(s->db, STORE_WRITE) != 0)
		return -1;
	if ((n = store_ids(s, QUERY(s, SQL_GC_LIST, STORE_REAL(before)), ids)) < 0)
		return store_end(s, -1);
	for (i = 0; i < n && rc == 0; i++)
		rc = store_gc_job(s, ids[i]);
	if (store_end(s, rc == 0 ? n : -1) < 0)
		return -1;
	/* Files go once their rows are gone for good, never before. */
	for (i = 0; i < n; i++)
		cb(ctx, ids[i]);
	return n;
}

int
store_gc(struct store *s, double before, void (*cb)(void *, const char *), void *ctx)
{
	int n, total = 0;

	while ((n = store_gc_due(s, before)) > 0 &&
	    (n = store_gc_batch(s, before, cb, ctx)) > 0)
		total += n;
	return n < 0 ? -1 : total;
}
