/* runner: runs one job's handler and records what it reports.  See runner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "buf.h"
#include "conf.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "runner.h"
#include "spawn.h"
#include "store.h"
#include "text.h"
#include "view.h"
#include "xmem.h"

#define RUNNER_ERR_TAIL 2048	/* bytes of stderr kept for the error message */
#define RUNNER_KILL_GRACE_MS 5000
#define RUNNER_STORE_RETRY_S 60	/* how long a refused end is retried */
#define RUNNER_EXIT_POLL_MS 100	/* how often the handler's exit is looked for without a pidfd */
#define RUNNER_REAP_POLL_MS 50	/* how often what is left of a job is looked for */
#define RUNNER_REAP_MAX_MS 5000	/* how long after SIGKILL the runner waits for it to work */
/*
 * What is read from each pipe once the handler has exited: what it wrote
 * is all there, in at most a pipe's size, which an unprivileged handler
 * can raise to /proc/sys/fs/pipe-max-size (1 MiB by default); children
 * that keep writing cannot hold the runner past that.
 */
#define RUNNER_DRAIN_MAX (1024 * 1024)

/* Set by SIGUSR1: someone cancelled a job; look at the store now. */
static volatile sig_atomic_t runner_woken;

/* Notes the wake-up; poll() returns EINTR and the runner looks. */
static void
runner_on_usr1(int sig)
{
	(void)sig;
	runner_woken = 1;
}

void
runner_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = runner_on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

struct run {
	const struct config *cfg;
	struct store *st;
	const struct config_type *type;
	char id[JOBID_LEN + 1];
	char *dir;
	pid_t pid;			/* the handler, -1 once reaped */
	int pidfd;			/* readable once it has exited, or -1 */
	int exited, exit_code, exit_signal;
	int out_fd, err_fd;
	struct proto_reader *reader;
	struct buf err_tail;
	struct json_object *steps;	/* [{id,label,status,started,finished}] */
	int step;			/* index of the running step, -1 none */
	double progress;
	char *message;
	int pending;			/* progress not yet written */
	long long last_write_ms, last_beat_ms, deadline_ms, kill_ms;
	double started;
	struct json_object *result;
	int logs, logs_dropped;
	int steps_refused;		/* step lines for new steps past max_steps */
	int timed_out, ended_elsewhere, killed;
};

/* Serialises o (not consumed) to a new string. */
static char *
runner_json(struct json_object *o)
{
	return xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/*
 * Signals the handler's whole process group, and the handler's orphans
 * that the worker adopted (spawn.h), those that left the group included.
 */
static void
runner_signal(struct run *r, int sig)
{
	if (r->pid <= 0)
		return;
	if (kill(-r->pid, sig) != 0 && errno != ESRCH)
		log_warn("job %s: kill(-%ld, %d): %s", r->id, (long)r->pid, sig,
		    strerror(errno));
	spawn_orphans(r->pid, sig);
}

/* Starts stopping the job's processes: SIGTERM now, SIGKILL when the grace period is over. */
static void
runner_term(struct run *r)
{
	if (r->kill_ms != 0 || r->pid <= 0)
		return;
	runner_signal(r, SIGTERM);
	r->kill_ms = loop_now_ms() + RUNNER_KILL_GRACE_MS;
}

/*
 * Whether a failed write should be tried again: the store was busy (another
 * writer held the lock for the whole busy timeout), not full nor broken.
 * Measured with 1,000 jobs ending in the same second (bench/README.md):
 * SQLite's busy handler sleeps and retries with no queue, so some writers
 * wait past the timeout while nothing is wrong.  Bounded: past
 * RUNNER_BUSY_TRIES the job fails like on any store failure.  The handler
 * meanwhile waits on its full pipe.
 */
static int
runner_busy_again(struct run *r, int *tries)
{
	if (!store_busy(r->st) || ++*tries > RUNNER_BUSY_TRIES)
		return 0;
	log_warn("job %s: the store stayed busy; writing again (%d of %d)", r->id, *tries,
	    RUNNER_BUSY_TRIES);
	return 1;
}

/* Applies a change; notes when the job already ended elsewhere (then stops the handler). */
static int
runner_change(struct run *r, struct job_change *c)
{
	int rc, tries = 0;

	c->heartbeat = 1;
	do
		rc = store_job_change(r->st, r->id, c, NULL);
	while (rc < 0 && runner_busy_again(r, &tries));
	if (rc == 1 && !r->ended_elsewhere) {
		log_info("job %s ended elsewhere; stopping its handler", r->id);
		r->ended_elsewhere = 1;
		runner_term(r);
	}
	r->last_beat_ms = loop_now_ms();
	return rc < 0 ? -1 : 0;
}

/* Appends an event of the given kind with a one-member object {key: text}. */
static int
runner_text_event(struct run *r, const char *kind, const char *key, const char *text)
{
	struct json_object *o = json_object_new_object();
	struct job_change c;
	char *json;
	int rc;

	json_object_object_add(o, key, json_object_new_string(text));
	json = runner_json(o);
	json_object_put(o);
	job_change_init(&c);
	c.event_kind = kind;
	c.event_json = json;
	rc = runner_change(r, &c);
	free(json);
	return rc;
}

/* The id of the running step, or NULL. */
static const char *
runner_step_id(struct run *r)
{
	struct json_object *s, *id;

	if (r->step < 0)
		return NULL;
	s = json_object_array_get_idx(r->steps, (size_t)r->step);
	return json_object_object_get_ex(s, "id", &id) ? json_object_get_string(id) : NULL;
}

/* Writes the pending progress as one row and one event. */
static int
runner_flush(struct run *r)
{
	struct json_object *o;
	struct job_change c;
	double eta = view_eta(r->progress, r->started, store_now());
	char *json;
	int rc;

	if (!r->pending)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "progress", json_object_new_double(r->progress));
	json_object_object_add(o, "message", json_object_new_string(r->message));
	json_object_object_add(o, "step", runner_step_id(r) ?
	    json_object_new_string(runner_step_id(r)) : NULL);
	json_object_object_add(o, "eta_s", eta >= 0 ? json_object_new_int((int)ceil(eta)) : NULL);
	json = runner_json(o);
	json_object_put(o);
	job_change_init(&c);
	c.progress = r->progress;
	c.message = r->message;
	c.eta_s = eta;
	c.event_kind = "progress";
	c.event_json = json;
	rc = runner_change(r, &c);
	free(json);
	r->pending = 0;
	r->last_write_ms = loop_now_ms();
	return rc;
}

/* Notes a progress line; written now only if the coalescing window has passed. */
static int
runner_progress(struct run *r, double pct, const char *message)
{
	r->progress = pct;
	free(r->message);
	r->message = xstrdup(message);
	r->pending = 1;
	if (loop_now_ms() - r->last_write_ms >= r->cfg->progress_interval_ms)
		return runner_flush(r);
	return 0;
}

/* Sets status (and a timestamp member) of step i. */
static void
runner_step_status(struct run *r, int i, const char *status, const char *when)
{
	struct json_object *s = json_object_array_get_idx(r->steps, (size_t)i);

	if (s == NULL)
		return;
	json_object_object_add(s, "status", json_object_new_string(status));
	if (when != NULL)
		json_object_object_add(s, when, json_object_new_double(store_now()));
}

/*
 * Index of the step with this id, appending it if the type did not declare
 * it; -1 if that would make more than max_steps.  A step line's label
 * (label is the id when the line gives none) replaces the one shown unless
 * the config gives the step one.
 */
static int
runner_step_find(struct run *r, const char *id, const char *label)
{
	const struct config_step *declared;
	struct json_object *s, *sid;
	size_t i, n = json_object_array_length(r->steps);

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(r->steps, i);
		if (!json_object_object_get_ex(s, "id", &sid) ||
		    strcmp(json_object_get_string(sid), id) != 0)
			continue;
		declared = conf_step_find(r->type, id);
		if ((declared == NULL || declared->label == NULL) && strcmp(label, id) != 0)
			json_object_object_add(s, "label", json_object_new_string(label));
		return (int)i;
	}
	if (n >= (size_t)r->type->max_steps)
		return -1;
	s = json_object_new_object();
	json_object_object_add(s, "id", json_object_new_string(id));
	json_object_object_add(s, "label", json_object_new_string(label));
	json_object_object_add(s, "status", json_object_new_string("pending"));
	json_object_array_add(r->steps, s);
	return (int)n;
}

/* A log line, within the per-job limit. */
static int
runner_log(struct run *r, const char *line)
{
	if (r->logs >= r->cfg->log_lines) {
		r->logs_dropped++;
		return 0;
	}
	r->logs++;
	return runner_text_event(r, "log", "line", line);
}

/* A step line past max_steps: said once, as a log line, so that the handler's author can see why. */
static int
runner_step_refused(struct run *r, const char *id)
{
	char *msg;
	int rc;

	if (r->steps_refused++ > 0)
		return 0;
	msg = xasprintf("handler: step %s ignored: more than %d steps", id, r->type->max_steps);
	rc = runner_log(r, msg);
	free(msg);
	return rc;
}

/* A step line: closes the running step, starts this one, writes one event. */
static int
runner_step(struct run *r, const char *id, const char *label)
{
	struct json_object *o, *s, *l;
	struct job_change c;
	char *json, *steps;
	int i, rc;

	if (runner_flush(r) != 0)
		return -1;
	if ((i = runner_step_find(r, id, label)) < 0)
		return runner_step_refused(r, id);
	if (r->step >= 0 && r->step != i)
		runner_step_status(r, r->step, "done", "finished");
	r->step = i;
	runner_step_status(r, i, "running", "started");
	s = json_object_array_get_idx(r->steps, (size_t)i);
	o = json_object_new_object();
	json_object_object_add(o, "step", json_object_new_string(id));
	json_object_object_add(o, "label", json_object_new_string(
	    json_object_object_get_ex(s, "label", &l) ? json_object_get_string(l) : label));
	json_object_object_add(o, "index", json_object_new_int(i + 1));
	json_object_object_add(o, "total",
	    json_object_new_int((int)json_object_array_length(r->steps)));
	json = runner_json(o);
	steps = runner_json(r->steps);
	json_object_put(o);
	job_change_init(&c);
	c.step = id;
	c.steps = steps;
	c.event_kind = "step";
	c.event_json = json;
	rc = runner_change(r, &c);
	free(json);
	free(steps);
	return rc;
}

/*
 * A file line: recorded only if it names a regular file in the job's
 * directory, reached with no symlink and with no other hard link
 * (beneath.h), the same rule result applies when it serves the file.
 */
static int
runner_file(struct run *r, const char *name, const char *ctype)
{
	struct stat sb;
	char *rel = xasprintf("%s/%s", r->id, name), *cause = NULL;
	int rc = 0, fd = beneath_file(r->cfg->spool, rel, &sb, &cause);

	if (fd < 0) {
		char *msg = xasprintf("handler: 'file %s': %s", name, errno == ENOENT ?
		    "no such file in the job's directory" : "refused: a symlink, another hard "
		    "link or not a regular file");
		rc = runner_log(r, msg);
		free(msg);
	} else {
		close(fd);
		int tries = 0;

		while ((rc = store_artifact_add(r->st, r->id, name, ctype)) != 0 &&
		    runner_busy_again(r, &tries))
			;
	}
	free(cause);
	free(rel);
	return rc;
}

/* Handles one protocol line from the handler's stdout. */
static int
runner_line(struct run *r, const char *line, size_t n, int cut)
{
	struct proto_msg m;
	char *text;
	int rc = 0;

	proto_parse(line, n, &m);
	switch (m.kind) {
	case PROTO_PROGRESS:
		rc = runner_progress(r, m.percent, m.text);
		break;
	case PROTO_STEP:
		rc = runner_step(r, m.id, m.text);
		break;
	case PROTO_RESULT:
		json_object_put(r->result);
		r->result = json_object_get(m.json);
		break;
	case PROTO_FILE:
		rc = runner_file(r, m.id, m.text);
		break;
	case PROTO_INVALID:
		text = xasprintf("handler: %s", m.text);
		rc = runner_log(r, text);
		free(text);
		break;
	case PROTO_LOG:
		if (cut) {
			text = xasprintf("%s [line cut at %d bytes]", m.text, PROTO_MAX_LINE);
			rc = runner_log(r, text);
			free(text);
		} else
			rc = runner_log(r, m.text);
		break;
	}
	proto_msg_clear(&m);
	return rc;
}

/* Handles the complete lines read so far; at eof, the unterminated rest too.  -1 on store errors. */
static int
runner_lines(struct run *r, int eof)
{
	const char *line;
	size_t n;
	int cut;

	while (proto_reader_next(r->reader, eof, &line, &n, &cut)) {
		if (runner_line(r, line, n, cut) != 0)
			return -1;
	}
	return 0;
}

/* Reads a pipe (non-blocking) into chunk: bytes read, 0 at EOF (or on an error), -1 if empty for now. */
static ssize_t
runner_read(int fd, char *chunk, size_t size)
{
	ssize_t got;

	do
		got = read(fd, chunk, size);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN ? -1 : 0;
	return got;
}

/*
 * Reads what the handler wrote on stdout and handles its lines: 1 if it
 * read something, 2 if nothing was there, 0 at EOF, -1 on store errors.
 */
static int
runner_read_out(struct run *r)
{
	char chunk[16384];
	ssize_t got = runner_read(r->out_fd, chunk, sizeof chunk);

	if (got > 0)
		proto_reader_feed(r->reader, chunk, (size_t)got);
	if (runner_lines(r, got == 0) != 0)
		return -1;
	return got == 0 ? 0 : got > 0 ? 1 : 2;
}

/* Keeps the tail of stderr for the error message: 1 if it read something, 2 if nothing was there, 0 at EOF. */
static int
runner_read_err(struct run *r)
{
	char chunk[4096];
	ssize_t got = runner_read(r->err_fd, chunk, sizeof chunk);

	if (got <= 0)
		return got == 0 ? 0 : 2;
	buf_add(&r->err_tail, chunk, (size_t)got);
	if (r->err_tail.len > RUNNER_ERR_TAIL)
		buf_consume(&r->err_tail, r->err_tail.len - RUNNER_ERR_TAIL);
	return 1;
}

/* Closes our end of a pipe: a child still writing to it gets EPIPE. */
static void
runner_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Writes the handler's input JSON to a file in its directory and opens it. */
static int
runner_input(struct run *r, const struct job *j)
{
	struct json_object *o = json_tokener_parse(j->params);
	char *path = xasprintf("%s/.input.json", r->dir);
	const char *text;
	int fd;

	if (o == NULL)
		o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(j->id));
	json_object_object_add(o, "type", json_object_new_string(j->type));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		log_error("job %s: %s: %s", r->id, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	json_object_put(o);
	free(path);
	return fd;
}

/* Starts the handler; -1 with *cause if it cannot be started. */
static int
runner_start(struct run *r, const struct job *j, char **cause)
{
	char *env[8];
	int in, out[2], err[2], fds[3], i;

	if ((in = runner_input(r, j)) < 0) {
		*cause = xstrdup("cannot write the job's input file (disk full?)");
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		close(in);
		return -1;
	}
	/* Our ends only: once the handler exits, its pipes are read until empty, not until EOF. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	env[0] = xasprintf("LONGJOB_JOB_ID=%s", r->id);
	env[1] = xasprintf("LONGJOB_RESULT_URL=%s/%s", r->cfg->result_url, r->id);
	env[2] = xasprintf("LONGJOB_DIR=%s", r->dir);
	env[3] = xasprintf("HOME=%s", r->dir);
	env[4] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[5] = xstrdup("LC_ALL=C.UTF-8");
	env[6] = NULL;
	fds[0] = in;
	fds[1] = out[1];
	fds[2] = err[1];
	r->pid = spawn_process(r->type->argv[0], r->type->argv, env, r->dir, fds);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	close(in);
	close(out[1]);
	close(err[1]);
	r->out_fd = out[0];
	r->err_fd = err[0];
	if (r->pid < 0) {
		*cause = xstrdup("cannot start the handler (fork failed)");
		return -1;
	}
	r->pidfd = spawn_pidfd(r->pid);
	return 0;
}

/* Milliseconds until the next thing the runner must do without input. */
static int
runner_timeout(struct run *r)
{
	long long now = loop_now_ms(), next = r->last_beat_ms + RUNNER_HEARTBEAT_S * 1000;

	if (r->pending && r->last_write_ms + r->cfg->progress_interval_ms < next)
		next = r->last_write_ms + r->cfg->progress_interval_ms;
	if (r->kill_ms > 0 && !r->killed && r->kill_ms < next)
		next = r->kill_ms;
	else if (r->kill_ms == 0 && r->deadline_ms < next)
		next = r->deadline_ms;
	if (r->pidfd < 0 && now + RUNNER_EXIT_POLL_MS < next)
		next = now + RUNNER_EXIT_POLL_MS;
	return next > now ? (int)(next - now) : 0;
}

/*
 * Reaps the handler's orphans that have exited, so that none piles up as a
 * zombie during a long job (and without reading /proc: one call each).
 */
static void
runner_zombies(struct run *r)
{
	siginfo_t si;
	int i, status;

	for (i = 0; i < 1000; i++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
		    si.si_pid == 0 || si.si_pid == r->pid)
			return;
		waitpid(si.si_pid, &status, WNOHANG);
	}
}

/* Timers: coalesced progress, heartbeat, timeout, the kill after the grace period. */
static int
runner_timers(struct run *r)
{
	long long now = loop_now_ms();
	struct job_change c;

	if (r->pending && now - r->last_write_ms >= r->cfg->progress_interval_ms &&
	    runner_flush(r) != 0)
		return -1;
	if (runner_woken || now - r->last_beat_ms >= RUNNER_HEARTBEAT_S * 1000) {
		runner_woken = 0;
		job_change_init(&c);
		if (runner_change(r, &c) != 0)
			return -1;
		runner_zombies(r);
	}
	if (r->kill_ms == 0 && now >= r->deadline_ms) {
		log_info("job %s: timed out after %d s", r->id, r->type->timeout_s);
		r->timed_out = 1;
		runner_term(r);
	} else if (r->kill_ms > 0 && !r->killed && now >= r->kill_ms) {
		runner_signal(r, SIGKILL);
		r->killed = 1;
	}
	return 0;
}

/*
 * 1 once the handler has exited, its status noted, else 0.  It is left a
 * zombie (WNOWAIT) until runner_reap: while it is not reaped its pid, the
 * id of its process group, cannot go to another process, so signalling the
 * group can only reach the job's own processes.
 */
static int
runner_exited(struct run *r)
{
	siginfo_t si;

	if (r->exited)
		return 1;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
		if (errno != ECHILD)
			return 0;
		log_error("job %s: its handler (pid %ld) was reaped elsewhere", r->id, (long)r->pid);
		r->exited = 1;
		r->exit_code = -1;
		r->pid = -1;
		return 1;
	}
	if (si.si_pid != r->pid)
		return 0;
	r->exited = 1;
	if (si.si_code == CLD_EXITED)
		r->exit_code = si.si_status;
	else
		r->exit_signal = si.si_status;
	return 1;
}

/*
 * The handler has exited: what it wrote is in its pipes.  Reads it without
 * waiting for EOF, which children that hold the pipes may never give, and
 * handles its last line even without a newline.  Then closes the pipes.
 */
static int
runner_drain(struct run *r)
{
	size_t n;
	int rc = 1;

	for (n = 0; r->out_fd >= 0 && n < RUNNER_DRAIN_MAX && rc == 1; n += 16384) {
		if ((rc = runner_read_out(r)) < 0)
			return -1;
	}
	if (runner_lines(r, 1) != 0)
		return -1;
	for (n = 0, rc = 1; r->err_fd >= 0 && n < RUNNER_DRAIN_MAX && rc == 1; n += 4096)
		rc = runner_read_err(r);
	runner_close(&r->out_fd);
	runner_close(&r->err_fd);
	return 0;
}

/*
 * Runs the handler until it exits, whoever else holds its stdout and
 * stderr, reading them as it goes; then drains them.  -1 on store failure.
 */
static int
runner_pump(struct run *r)
{
	struct pollfd p[3];
	int rc;

	while (!runner_exited(r)) {
		p[0].fd = r->out_fd;
		p[1].fd = r->err_fd;
		p[2].fd = r->pidfd;
		p[0].events = p[1].events = p[2].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (poll(p, 3, runner_timeout(r)) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return -1;
		}
		if (p[0].revents && (rc = runner_read_out(r)) <= 0) {
			if (rc < 0)
				return -1;
			runner_close(&r->out_fd);
		}
		if (p[1].revents && runner_read_err(r) == 0)
			runner_close(&r->err_fd);
		if (runner_timers(r) != 0)
			return -1;
	}
	return runner_drain(r);
}

/*
 * Ends what is left of the job's processes, then reaps the handler:
 * SIGTERM to its group and its adopted orphans (unless the timeout or a
 * cancel sent it already), SIGKILL once the grace period is over, and the
 * same to orphans adopted meanwhile, until the handler has exited and no
 * other child of the worker is alive.  A process that SIGKILL does not end
 * (stuck in the kernel) is given up on after RUNNER_REAP_MAX_MS, logged.
 */
static void
runner_reap(struct run *r)
{
	long long now;
	int left, status;

	if (r->pid <= 0)
		return;
	runner_term(r);
	for (;;) {
		now = loop_now_ms();
		if (now >= r->kill_ms && !r->killed) {
			runner_signal(r, SIGKILL);
			r->killed = 1;
		}
		left = spawn_orphans(r->pid, r->killed ? SIGKILL : 0);
		if (runner_exited(r) && left == 0)
			break;
		if (now >= r->kill_ms + RUNNER_REAP_MAX_MS) {
			log_warn("job %s: %d of its processes outlive SIGKILL%s", r->id, left,
			    r->exited ? "" : ", its handler too");
			break;
		}
		poll(NULL, 0, RUNNER_REAP_POLL_MS);
	}
	if (r->exited && r->pid > 0)
		waitpid(r->pid, &status, 0);
	r->pid = -1;
}

/* The error message of a failed handler: the tail of its stderr, or how it ended. */
static char *
runner_error(struct run *r)
{
	const char *tail = r->err_tail.data;
	size_t n = r->err_tail.len;
	struct buf b;

	if (r->timed_out)
		return xasprintf("timed out after %d s", r->type->timeout_s);
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' ' || tail[n - 1] == '\r'))
		n--;
	if (n > 0) {
		/* Lines kept: a stack trace reads as one.  No longer than the tail. */
		buf_init(&b, 0);
		text_clean(&b, tail, n, n, TEXT_TAB | TEXT_NEWLINE);
		return buf_take(&b);
	}
	if (r->exit_signal > 0)
		return xasprintf("killed by signal %d (%s)", r->exit_signal,
		    strsignal(r->exit_signal));
	return xasprintf("exited with status %d", r->exit_code);
}

/* Marks the running step done (or failed) for the final record. */
static void
runner_close_steps(struct run *r, int ok)
{
	if (r->step >= 0)
		runner_step_status(r, r->step, ok ? "done" : "failed", "finished");
}

/* Records the final state and the end event. */
static int
runner_end(struct run *r, const char *state, const char *error)
{
	struct json_object *o = json_object_new_object();
	struct job_change c;
	char *json, *steps, *result = NULL;
	int ok = strcmp(state, "succeeded") == 0, rc;

	runner_close_steps(r, ok);
	job_change_init(&c);
	json_object_object_add(o, "state", json_object_new_string(state));
	if (ok) {
		if (r->result == NULL)
			r->result = json_object_new_object();
		json_object_object_add(o, "result", json_object_get(r->result));
		result = runner_json(r->result);
		c.progress = 100;
		c.result = result;
	} else {
		json_object_object_add(o, "error", json_object_new_string(error));
		c.error = error;
	}
	json = runner_json(o);
	steps = runner_json(r->steps);
	json_object_put(o);
	c.state = state;
	c.steps = steps;
	c.finished = 1;
	c.event_kind = "end";
	c.event_json = json;
	rc = runner_change(r, &c);
	free(json);
	free(steps);
	free(result);
	return rc;
}

/* Writes the `state` event that says the job started running. */
static int
runner_announce(struct run *r)
{
	struct job j;
	struct job_change c;
	char *json;
	int rc;

	job_init(&j);
	if (store_job_snapshot(r->st, r->id, &j) != 0) {
		job_clear(&j);
		return -1;
	}
	json = view_state(&j);
	job_change_init(&c);
	c.event_kind = "state";
	c.event_json = json;
	rc = runner_change(r, &c);
	free(json);
	job_clear(&j);
	return rc;
}

/* Prepares the run from the claimed job; -1 with *cause if it cannot run. */
static int
runner_setup(struct run *r, const struct job *j, char **cause)
{
	r->type = conf_type_find(r->cfg, j->type);
	if (r->type == NULL) {
		*cause = xasprintf("job type '%s' is no longer configured", j->type);
		return -1;
	}
	r->dir = xasprintf("%s/%s", r->cfg->spool, r->id);
	if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("cannot create the job directory: %s", strerror(errno));
		return -1;
	}
	r->steps = json_tokener_parse(j->steps ? j->steps : "[]");
	if (r->steps == NULL || !json_object_is_type(r->steps, json_type_array)) {
		json_object_put(r->steps);
		r->steps = json_object_new_array();
	}
	r->started = j->started > 0 ? j->started : store_now();
	r->deadline_ms = loop_now_ms() + (long long)r->type->timeout_s * 1000;
	return 0;
}

/* Frees what the run holds. */
static void
runner_free(struct run *r)
{
	runner_close(&r->out_fd);
	runner_close(&r->err_fd);
	runner_close(&r->pidfd);
	proto_reader_free(r->reader);
	buf_free(&r->err_tail);
	json_object_put(r->steps);
	json_object_put(r->result);
	free(r->message);
	free(r->dir);
}

/*
 * The store refused a write, most often because the disk is full.  Nothing
 * the handler reports could be kept, so it is stopped, and the job's end is
 * recorded as soon as the store takes writes again: tried once a second for
 * RUNNER_STORE_RETRY_S, after which whoever next looks fails the job as
 * "worker lost".  0 once the end is recorded.
 */
static int
runner_store_failed(struct run *r)
{
	const char *error = store_full(r->st) ?
	    "stopped: the server's disk is full" :
	    "stopped: the job's progress could not be recorded";
	int i;

	log_error("job %s: %s", r->id, error);
	runner_reap(r);
	for (i = 0; i < RUNNER_STORE_RETRY_S; i++) {
		if (runner_end(r, "failed", error) == 0)
			return 0;
		sleep(1);
	}
	return -1;
}

/* Records the outcome of a handler that has exited; -1 on store failure. */
static int
runner_record(struct run *r)
{
	char *error, *note;
	int rc = 0;

	if (r->logs_dropped > 0) {
		note = xasprintf("(%d more lines of output not shown)", r->logs_dropped);
		r->logs = 0;
		rc = runner_log(r, note);
		free(note);
	}
	if (rc == 0)
		rc = runner_flush(r);
	if (rc != 0 || r->ended_elsewhere)
		return rc;
	if (!r->timed_out && r->exit_signal == 0 && r->exit_code == 0)
		error = NULL;
	else
		error = runner_error(r);
	rc = runner_end(r, error ? "failed" : "succeeded", error);
	free(error);
	return rc;
}

/*
 * Runs the started handler to its end and records the outcome.  The job
 * ends when the handler exits: the rest of its group gets SIGTERM at once,
 * the end is recorded, and only then does the runner wait for them to go.
 */
static int
runner_finish(struct run *r)
{
	int rc;

	if (runner_pump(r) != 0)
		return runner_store_failed(r);
	runner_term(r);
	rc = runner_record(r);
	runner_reap(r);
	return rc == 0 ? 0 : runner_store_failed(r);
}

int
runner_run(const struct config *cfg, struct store *st, const char *id)
{
	struct run r;
	struct job j;
	char *cause = NULL;
	int rc;

	memset(&r, 0, sizeof r);
	r.cfg = cfg;
	r.st = st;
	r.out_fd = r.err_fd = r.pidfd = -1;
	r.pid = -1;
	r.step = -1;
	r.message = xstrdup("");
	r.reader = proto_reader_new();
	r.last_beat_ms = r.last_write_ms = loop_now_ms();
	buf_init(&r.err_tail, 0);
	snprintf(r.id, sizeof r.id, "%s", id);
	job_init(&j);
	if (store_job_get(st, id, &j) != 0) {
		runner_free(&r);
		return -1;
	}
	log_info("job %s (%s): starting", id, j.type);
	if (runner_setup(&r, &j, &cause) != 0 || runner_announce(&r) != 0 ||
	    runner_start(&r, &j, &cause) != 0) {
		rc = runner_end(&r, "failed", cause ? cause : "cannot start the job");
		free(cause);
	} else
		rc = runner_finish(&r);
	log_info("job %s: done", id);
	job_clear(&j);
	runner_free(&r);
	return rc;
}
