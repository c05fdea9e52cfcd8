/* crew: the worker's one loop over every job of its host.  See crew.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "conf.h"
#include "crew.h"
#include "gc.h"
#include "instance.h"
#include "job.h"
#include "keep.h"
#include "lease.h"
#include "log.h"
#include "loop.h"
#include "oversee.h"
#include "proc.h"
#include "runner.h"
#include "store.h"
#include "xmem.h"

#define CREW_TAG_INOTIFY 1
#define CREW_TAG_WAKE 2
#define CREW_TAG_SIGNAL 3
#define CREW_RETRY_MS 1000	/* after a failed commit */
#define CREW_TOMB ((struct member *)1)

/* A running job and what the loop has noticed about it. */
struct member {
	struct run *r;
	size_t at;		/* its index in crew.all */
	int ready;		/* its output may have grown */
	int check;		/* its end may have come */
	int watched;		/* its keeper's pidfd is in the epoll set */
	int busy;		/* in crew.busy */
};

struct crew {
	struct instance *in;
	const struct config *cfg;
	struct store *st;
	char *rundir;
	struct batch batch;
	struct member **all;	/* the running jobs */
	size_t n, cap;
	struct member **slots;	/* by id: open addressing, CREW_TOMB for a removed one */
	size_t nslots, tombs;
	struct member **busy;	/* the members the loop visits: see crew_busy */
	size_t nbusy, capbusy;
	int settled;		/* everything read is committed: crew_reap may shorten busy */
	int epfd, inofd, wakefd, sigfd, lease_fd;
	int stop, look, freed, commit_now;
	int64_t version;	/* others' commits, when last looked */
	double since;		/* ends are looked for from here (unix time) */
	long long next_tick, next_look, next_beat, next_gc, retry_at, idle_since, failing_since;
	struct store_worker self;
};

/* Where an id goes in the table: its first 8 hex digits are random. */
static size_t
crew_hash(const struct crew *c, const char *id)
{
	char head[9];

	snprintf(head, sizeof head, "%s", id);
	return (size_t)strtoul(head, NULL, 16) & (c->nslots - 1);
}

/* The member running job id, or NULL. */
static struct member *
crew_find(const struct crew *c, const char *id)
{
	size_t i = crew_hash(c, id), k;
	struct member *m;

	for (k = 0; k < c->nslots; k++, i = (i + 1) & (c->nslots - 1)) {
		if ((m = c->slots[i]) == NULL)
			return NULL;
		if (m != CREW_TOMB && strcmp(runner_id(m->r), id) == 0)
			return m;
	}
	return NULL;
}

/* Puts m in the table (which always has room: see crew_table). */
static void
crew_slot(struct crew *c, struct member *m)
{
	size_t i = crew_hash(c, runner_id(m->r));

	while (c->slots[i] != NULL && c->slots[i] != CREW_TOMB)
		i = (i + 1) & (c->nslots - 1);
	if (c->slots[i] == CREW_TOMB)
		c->tombs--;
	c->slots[i] = m;
}

/*
 * Rebuilds the table from every member when it would be more than a
 * quarter full, or a quarter of it is removed slots: 1 if it did (then
 * every member is in it), 0 if it did not.
 */
static int
crew_table(struct crew *c)
{
	size_t want = 64, i;

	while (want < 4 * (c->n + 1))
		want *= 2;
	if (c->slots != NULL && want <= c->nslots && c->tombs < c->nslots / 4)
		return 0;
	free(c->slots);
	c->nslots = want;
	c->tombs = 0;
	c->slots = xcalloc(want, sizeof *c->slots);
	for (i = 0; i < c->n; i++)
		crew_slot(c, c->all[i]);
	return 1;
}

/* Watches a keeper's pidfd. */
static void
crew_watch(struct crew *c, struct member *m)
{
	struct epoll_event ev;
	int fd = runner_pidfd(m->r);

	if (fd < 0)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = m;
	m->watched = epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

/* Stops watching a keeper's pidfd (it has exited: it would stay readable). */
static void
crew_unwatch(struct crew *c, struct member *m)
{
	if (m->watched)
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, runner_pidfd(m->r), NULL);
	m->watched = 0;
}

/*
 * Puts m on the busy list: the members with output or an end to look at,
 * or a change not yet committed.  Only they are visited each turn (read,
 * position, commit, reap): visiting all of a thousand members three times
 * a turn, when a few of them had printed, was a tenth of the worker's time
 * (bench/README.md).  A member leaves the list when it is done, or when
 * all it did is committed and nothing waits (crew_reap).
 */
static void
crew_busy(struct crew *c, struct member *m)
{
	if (m->busy)
		return;
	if (c->nbusy == c->capbusy) {
		c->capbusy = c->capbusy ? c->capbusy * 2 : 64;
		c->busy = xrealloc(c->busy, c->capbusy * sizeof *c->busy);
	}
	c->busy[c->nbusy++] = m;
	m->busy = 1;
}

/* Notes that m's output may have grown (ready) or its end come (check). */
static void
crew_mark(struct crew *c, struct member *m, int ready, int check)
{
	m->ready |= ready;
	m->check |= check;
	crew_busy(c, m);
}

/* Adds a run to the crew. */
static void
crew_add(struct crew *c, struct run *r)
{
	struct member *m = xcalloc(1, sizeof *m);

	m->r = r;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->all = xrealloc(c->all, c->cap * sizeof *c->all);
	}
	m->at = c->n;
	c->all[c->n++] = m;
	crew_mark(c, m, 1, 1);
	/* A rebuilt table has m already: it is built from c->all. */
	if (!crew_table(c))
		crew_slot(c, m);
	crew_watch(c, m);
}

/* Removes the member at index i and frees its run (the caller takes it off busy). */
static void
crew_remove(struct crew *c, size_t i)
{
	struct member *m = c->all[i];
	size_t k = crew_hash(c, runner_id(m->r));

	while (c->slots[k] != m)
		k = (k + 1) & (c->nslots - 1);
	c->slots[k] = CREW_TOMB;
	c->tombs++;
	crew_unwatch(c, m);
	runner_free(m->r);
	free(m);
	c->all[i] = c->all[--c->n];
	if (i < c->n)
		c->all[i]->at = i;
	c->freed = 1;
}

/* A job of the batch had ended elsewhere: stop its handler. */
static void
crew_ended(void *ctx, const char *id)
{
	struct member *m = crew_find(ctx, id);

	if (m != NULL) {
		runner_stop(m->r);
		crew_busy(ctx, m);
	}
}

/* The cancel of one of our jobs, read from the store. */
static void
crew_cancelled(void *ctx, const char *id, const char *state)
{
	(void)state;
	crew_ended(ctx, id);
}

/* Commits the batch when due; frees the runs whose end it held. */
static void
crew_commit(struct crew *c, long long now)
{
	size_t i;

	if (!c->commit_now && !batch_due(&c->batch, now))
		return;
	if (now < c->retry_at)
		return;
	c->commit_now = 0;
	for (i = 0; i < c->nbusy; i++)
		runner_position(c->busy[i]->r, &c->batch);
	if (c->batch.n == 0) {
		c->batch.touched = 0;
		c->settled = 1;
		return;
	}
	if (batch_commit(&c->batch, c->st, crew_ended, c) != 0) {
		if (c->failing_since == 0)
			c->failing_since = now;
		log_warn("the store refused a batch of %zu changes%s; trying again in %d ms "
		    "(failing for %lld s)", c->batch.n, store_full(c->st) ? " (disk full)" :
		    store_busy(c->st) ? " (busy)" : "", CREW_RETRY_MS,
		    (now - c->failing_since) / 1000);
		c->retry_at = now + CREW_RETRY_MS;
		for (i = 0; store_full(c->st) && i < c->n; i++)
			runner_disk_was_full(c->all[i]->r);
		return;
	}
	if (c->failing_since != 0)
		log_info("the store takes writes again");
	c->failing_since = 0;
	c->self.commits++;
	c->self.last_commit = store_now();
	for (i = 0; i < c->nbusy; i++)
		runner_committed(c->busy[i]->r);
	c->settled = 1;
}

/*
 * Frees the runs that are done: their end committed, or ended elsewhere
 * (a cancel: nothing of theirs is left to commit), which frees their slots.
 */
static void
crew_reap(struct crew *c)
{
	size_t i, k = 0;
	/* An empty batch, not due either: no member holds anything uncommitted. */
	int settled = c->settled || (c->batch.n == 0 && !c->batch.touched);

	for (i = 0; i < c->nbusy; i++) {
		struct member *m = c->busy[i];

		if (runner_done(m->r)) {
			crew_remove(c, m->at);
			continue;
		}
		if (settled && !m->ready && !m->check) {
			m->busy = 0;
			continue;
		}
		c->busy[k++] = m;
	}
	c->nbusy = k;
	c->settled = 0;
}

/* Whether a job of this type may start: within its type's max_running. */
static int
crew_may_run(void *ctx, const char *type)
{
	struct crew *c = ctx;
	const struct config_type *t = conf_type_find(c->cfg, type);
	size_t i;
	int n = 0;

	if (t == NULL || t->max_running <= 0)
		return 1;
	for (i = 0; i < c->n; i++)
		n += strcmp(runner_type(c->all[i]->r), type) == 0;
	return n < t->max_running;
}

/* How many jobs of a type may run over every host (types.<name>.max_running_all). */
static int
crew_limit_all(void *ctx, const char *type)
{
	struct crew *c = ctx;
	const struct config_type *t = conf_type_find(c->cfg, type);

	return t != NULL ? t->max_running_all : 0;
}

/* Claims and starts queued jobs while there is room. */
static void
crew_claim(struct crew *c)
{
	char id[JOBID_LEN + 1];
	struct job j;
	int rc;

	while (c->n < (size_t)c->cfg->max_running && c->batch.n < BATCH_FULL) {
		if ((rc = store_job_claim(c->st, getpid(), crew_may_run, crew_limit_all, c, id)) != 1)
			break;
		job_init(&j);
		if (store_job_snapshot(c->st, id, &j) == 0) {
			crew_add(c, runner_start(c->cfg, c->st, &c->batch, &j, 2));
			/* The keeper's pid goes into the store at once: a successor needs it. */
			c->commit_now = 1;
		}
		job_clear(&j);
	}
}

/*
 * Watches the store's wake descriptor, anew when it changed (the store
 * connected again; the new one can have the old one's number, so the watch
 * is renewed rather than trusted).
 */
static void
crew_wake_watch(struct crew *c)
{
	struct epoll_event ev;
	int fd = store_wake_fd(c->st);

	if (fd != c->wakefd && c->wakefd >= 0)
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->wakefd, NULL);	/* may be closed: no matter */
	c->wakefd = fd;
	if (fd < 0)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.u64 = CREW_TAG_WAKE;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
		epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Someone else wrote, or a slot was freed: new jobs, cancels. */
static void
crew_look(struct crew *c, long long now)
{
	int64_t v;
	double started = store_now();

	c->next_look = now + CREW_POLL_MS;
	crew_wake_watch(c);
	if (store_others_version(c->st, &v) != 0)
		return;
	if (v == c->version && !c->look && !c->freed)
		return;
	if (v != c->version || c->look) {
		if (store_job_ended_since(c->st, c->since, getpid(), crew_cancelled, c) == 0)
			c->since = started - 2;
	}
	c->version = v;
	c->look = c->freed = 0;
	crew_claim(c);
}

/* Reads new output, a slice per job per turn. */
static int
crew_read(struct crew *c)
{
	size_t i;
	int more = 0;

	if (c->batch.n >= BATCH_FULL) {
		/* Nothing is read: the keepers of jobs that go on writing hold them back. */
		for (i = 0; i < c->nbusy; i++) {
			if (c->busy[i]->ready)
				runner_behind(c->busy[i]->r);
		}
		return 0;
	}
	for (i = 0; i < c->nbusy; i++) {
		struct member *m = c->busy[i];

		if (m->check) {
			m->check = 0;
			runner_check_end(m->r, &c->batch);
		}
		if (m->ready) {
			m->ready = runner_read(m->r, &c->batch, CREW_SLICE);
			more |= m->ready;
			/* A progress line left pending is written when its window ends. */
			if (runner_due(m->r) < c->next_tick)
				c->next_tick = runner_due(m->r);
		}
	}
	return more;
}

/* Timers of every run, when the nearest is due. */
static void
crew_tick(struct crew *c, long long now)
{
	long next = 1000, t;
	struct statvfs sv;
	size_t i;
	int full;

	if (now < c->next_tick)
		return;
	/*
	 * Noted for a keeper that dies unable to write: known after space is
	 * freed too.  Once a tick for all: every run's files are in one directory.
	 */
	full = c->n > 0 && statvfs(c->rundir, &sv) == 0 && sv.f_bavail == 0;
	for (i = 0; i < c->n; i++) {
		if (full)
			runner_disk_was_full(c->all[i]->r);
		if ((t = runner_tick(c->all[i]->r, &c->batch, now)) < next)
			next = t;
		if (runner_moved(c->all[i]->r))
			crew_busy(c, c->all[i]);
		/*
		 * No pidfd (an old kernel, valgrind): a keeper's death is looked for
		 * every tick; so is the end of a job waiting for the store.
		 */
		if (runner_pidfd(c->all[i]->r) < 0 || runner_finishing(c->all[i]->r))
			crew_mark(c, c->all[i], 0, 1);
	}
	c->next_tick = now + (next > 0 ? next : 1);
}

/* Retention while busy: a worker that never idles must not let the store grow. */
static void
crew_gc(struct crew *c, long long now)
{
	if (now < c->next_gc)
		return;
	c->next_gc = now + CREW_GC_MS;
	gc_run(c->cfg, c->st, c->cfg->retain_s);
}

/* The worker's own row: alive, how busy. */
static void
crew_beat(struct crew *c, long long now)
{
	if (now < c->next_beat)
		return;
	c->next_beat = now + CREW_BEAT_MS;
	c->self.running = (int)c->n;
	if (store_worker_beat(c->st, &c->self) != 0) {
		log_warn("cannot record the worker's heartbeat; trying again in 1 s");
		/* The store away: other hosts must see a beat as soon as it is back. */
		c->next_beat = now + 1000;
	}
	oversee_hosts(c->cfg, c->st);
}

/* Handles what inotify says about the run directory. */
static void
crew_inotify(struct crew *c)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	char id[JOBID_LEN + 1];
	struct member *m;
	ssize_t n;
	size_t i;

	while ((n = read(c->inofd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				for (i = 0; i < c->n; i++)
					crew_mark(c, c->all[i], 1, 1);
				continue;
			}
			if (ev->len == 0 || strlen(ev->name) < JOBID_LEN)
				continue;
			memcpy(id, ev->name, JOBID_LEN);
			id[JOBID_LEN] = '\0';
			if ((m = crew_find(c, id)) == NULL)
				continue;
			if (strcmp(ev->name + JOBID_LEN, ".out") == 0)
				crew_mark(c, m, 1, 0);
			else if (strcmp(ev->name + JOBID_LEN, ".exit") == 0)
				crew_mark(c, m, 0, 1);
		}
	}
}

/* SIGTERM/SIGINT: stop; SIGCHLD: reap the keepers that have exited. */
static void
crew_signals(struct crew *c)
{
	struct signalfd_siginfo si;
	int status;

	while (read(c->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("stopping (signal %u); the running jobs go on and the next "
			    "worker adopts them", si.ssi_signo);
			c->stop = 1;
		}
	}
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
}

/* How long the loop may sleep. */
static int
crew_timeout(struct crew *c, long long now, int more)
{
	long long next = c->next_look;

	if (more || c->freed || (c->commit_now && now >= c->retry_at))
		return 0;
	if (c->next_tick < next)
		next = c->next_tick;
	if (c->batch.n > 0 || c->batch.touched) {
		long long due = batch_due_at(&c->batch);

		if (due < c->retry_at)
			due = c->retry_at;
		if (due < next)
			next = due;
	}
	if (c->next_beat < next)
		next = c->next_beat;
	if (c->n == 0 && c->batch.n == 0 && c->idle_since + CREW_IDLE_MS < next)
		next = c->idle_since + CREW_IDLE_MS;
	return next > now ? (int)(next - now) : 0;
}

/* Waits for something to happen and notes it. */
static void
crew_wait(struct crew *c, int timeout)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(c->epfd, evs, 64, timeout);
	for (i = 0; i < n; i++) {
		switch (evs[i].data.u64) {
		case CREW_TAG_INOTIFY:
			crew_inotify(c);
			break;
		case CREW_TAG_WAKE:
			store_wake_drain(c->st);
			c->next_look = 0;
			break;
		case CREW_TAG_SIGNAL:
			crew_signals(c);
			break;
		default: {
			struct member *m = evs[i].data.ptr;

			crew_mark(c, m, 0, 1);
			crew_unwatch(c, m);
			}
		}
	}
}

/* Adopts one running job a previous worker left. */
static void
crew_adopt_one(void *ctx, const struct job *j)
{
	struct crew *c = ctx;

	if (crew_find(c, j->id) == NULL)
		crew_add(c, runner_adopt(c->cfg, c->st, &c->batch, j));
}

/*
 * Files in the run directory of jobs nobody runs (cancelled while no
 * worker was there): their keepers are stopped and the files go.
 */
static void
crew_sweep(struct crew *c)
{
	DIR *d = opendir(c->rundir);
	struct dirent *e;
	char id[JOBID_LEN + 1];
	struct job j;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != JOBID_LEN + 4 || strcmp(e->d_name + JOBID_LEN, ".out") != 0)
			continue;
		memcpy(id, e->d_name, JOBID_LEN);
		id[JOBID_LEN] = '\0';
		if (crew_find(c, id) != NULL)
			continue;
		job_init(&j);
		if (store_job_get(c->st, id, &j) == 0 && j.keeper_pid > 0 &&
		    proc_kill((pid_t)j.keeper_pid, j.keeper_start, SIGTERM) == 0)
			log_info("job %s ended while no worker ran: stopping its keeper (pid %ld)",
			    id, j.keeper_pid);
		job_clear(&j);
		keep_remove(c->rundir, id);
	}
	closedir(d);
}

/* Takes over what the previous worker left: its running jobs. */
static void
crew_adopt(struct crew *c)
{
	if (store_job_running(c->st, crew_adopt_one, c) != 0)
		log_error("cannot list the running jobs to adopt");
	crew_sweep(c);
	c->commit_now = 1;
	c->look = 1;
	c->next_look = 0;
}

/* Adds fd to the epoll set under a tag. */
static void
crew_epoll(struct crew *c, int fd, uint64_t tag)
{
	struct epoll_event ev;

	if (fd < 0)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The descriptors the loop watches; -1 (logged) if it cannot run. */
static int
crew_open(struct crew *c)
{
	sigset_t set;

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->epfd < 0 || c->sigfd < 0) {
		log_error("epoll/signalfd: %s", strerror(errno));
		return -1;
	}
	if (mkdir(c->rundir, 0700) != 0 && errno != EEXIST) {
		log_error("%s: %s", c->rundir, strerror(errno));
		return -1;
	}
	c->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->inofd < 0 || inotify_add_watch(c->inofd, c->rundir, IN_MODIFY | IN_MOVED_TO) < 0) {
		log_warn("%s: inotify: %s; output is looked for every %d ms", c->rundir,
		    strerror(errno), CREW_POLL_MS);
		if (c->inofd >= 0)
			close(c->inofd);
		c->inofd = -1;
	}
	crew_epoll(c, c->inofd, CREW_TAG_INOTIFY);
	crew_wake_watch(c);
	crew_epoll(c, c->sigfd, CREW_TAG_SIGNAL);
	return 0;
}

/* Where inotify is missing: every job's output and end are looked at now and then. */
static void
crew_poll_all(struct crew *c, long long now)
{
	static long long last;
	size_t i;

	if (c->inofd >= 0 || now - last < CREW_POLL_MS)
		return;
	last = now;
	for (i = 0; i < c->n; i++)
		crew_mark(c, c->all[i], 1, 1);
}

/*
 * Nothing runs or waits: the worker goes.  The lease is given up first and
 * the queue looked at after, so that a job queued meanwhile is either seen
 * here (and the lease taken again) or sees the lease free and starts a
 * worker itself.  1 if the worker goes on.
 */
static int
crew_leave(struct crew *c)
{
	int64_t pending = 0;

	gc_run(c->cfg, c->st, c->cfg->retain_s);
	store_worker_end(c->st, &c->self);
	lease_drop(c->lease_fd);
	c->lease_fd = -1;
	if (store_pending(c->st, store_now() + 60, &pending) != 0 || pending == 0)
		return 0;
	if ((c->lease_fd = lease_take(c->cfg->spool)) < 0)
		return 0;
	log_info("%lld jobs came while it was leaving: going on", (long long)pending);
	c->idle_since = 0;
	crew_adopt(c);
	return 1;
}

/*
 * After a commit, nothing read can be committed before the batch is due
 * again, so the worker sleeps until then instead of waking for every line a
 * handler writes: each turn visits every run, and a thousand jobs printing
 * once a second made a thousand turns a second (bench/README.md).  Not
 * while a job has more output waiting: that is read on at once.
 */
static void
crew_pace(struct crew *c, int more)
{
	long long left = batch_due_at(&c->batch) - loop_now_ms();
	struct timespec ts;

	if (more || c->n == 0 || left <= 0 || left > BATCH_MS)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = left * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The loop itself; see crew.h. */
static void
crew_loop(struct crew *c)
{
	long long now;
	int more = 1;

	while (!c->stop) {
		crew_pace(c, more);
		now = loop_now_ms();
		crew_wait(c, crew_timeout(c, now, more));
		now = loop_now_ms();
		crew_poll_all(c, now);
		more = crew_read(c);
		if (now >= c->next_look || c->look || c->freed)
			crew_look(c, now);
		crew_tick(c, now);
		crew_commit(c, now);
		crew_reap(c);
		crew_beat(c, now);
		crew_gc(c, now);
		if (c->n > 0 || c->batch.n > 0 || c->batch.touched) {
			c->idle_since = now;
			continue;
		}
		if (now - c->idle_since >= CREW_IDLE_MS && !crew_leave(c))
			break;
	}
}

/* Frees everything; the runs still going keep their files for the next worker. */
static void
crew_close(struct crew *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		runner_free(c->all[i]->r);
		free(c->all[i]);
	}
	free(c->all);
	free(c->busy);
	free(c->slots);
	batch_free(&c->batch);
	free(c->rundir);
	if (c->inofd >= 0)
		close(c->inofd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	if (c->epfd >= 0)
		close(c->epfd);
}

int
crew_run(struct instance *in, int lease_fd)
{
	struct crew c;
	long long now = loop_now_ms();

	memset(&c, 0, sizeof c);
	c.in = in;
	c.cfg = in->cfg;
	c.st = in->st;
	c.lease_fd = lease_fd;
	c.epfd = c.inofd = c.wakefd = c.sigfd = -1;
	c.rundir = xasprintf("%s/%s", c.cfg->spool, KEEP_DIR);
	c.version = -1;
	c.since = store_now() - 60;
	c.idle_since = now;
	c.next_gc = now + CREW_GC_MS;
	batch_init(&c.batch);
	snprintf(c.self.host, sizeof c.self.host, "%s", store_host(c.st));
	c.self.pid = getpid();
	c.self.started = store_now();
	crew_table(&c);
	if (crew_open(&c) != 0) {
		crew_close(&c);
		return 1;
	}
	log_info("started (pid %ld, max_running %d)", (long)getpid(), c.cfg->max_running);
	/* Alive before it runs anything: other hosts take a running job with no heartbeat for lost. */
	crew_beat(&c, loop_now_ms());
	crew_adopt(&c);
	crew_loop(&c);
	if (c.stop) {
		c.commit_now = 1;
		crew_commit(&c, loop_now_ms());
		store_worker_end(c.st, &c.self);
	}
	lease_drop(c.lease_fd);
	log_info("stopped");
	crew_close(&c);
	return 0;
}
