/* revive: a keeper whose worker is gone starts another.  See revive.h. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "revive.h"
#include "spawn.h"
#include "xmem.h"

/* How often the keeper that started a worker looks whether it took the lease. */
#define REVIVE_POLL_MS 100

struct revive {
	char *spool;
	char **argv, **envp;	/* the worker's, copied */
	long long due_ms;	/* the next look */
	int lease_fd;		/* the lease file, kept open for the looks; or -1 */
	int lock_fd;		/* REVIVE_FILE, locked while a worker we started starts; or -1 */
	long long wait_until;	/* when we stop waiting for it */
};

/* A copy of a NULL-terminated array of strings. */
static char **
revive_copy(char *const v[])
{
	size_t n = 0;
	char **c;

	while (v[n] != NULL)
		n++;
	c = xcalloc(n + 1, sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

struct revive *
revive_new(const char *spool, char *const argv[], char *const envp[], long long now_ms)
{
	struct revive *v = xcalloc(1, sizeof *v);

	v->spool = xstrdup(spool);
	v->argv = revive_copy(argv);
	v->envp = revive_copy(envp);
	v->due_ms = now_ms + REVIVE_LOOK_MS;
	v->lease_fd = v->lock_fd = -1;
	return v;
}

/*
 * A look: 1 if a worker holds the lease, 0 if none seems to.  Through the
 * descriptor kept open (a thousand keepers look 200 times a second); a
 * "none" is checked afresh before anything is started (revive_start), and
 * the descriptor is opened again then, in case the file was replaced.
 */
static int
revive_look(struct revive *v)
{
	if (v->lease_fd < 0 && (v->lease_fd = lease_open(v->spool)) < 0)
		return 0;
	return lease_held_fd(v->lease_fd) != 0;
}

/* Opens the lease file anew for the next looks. */
static void
revive_reopen(struct revive *v)
{
	if (v->lease_fd >= 0)
		close(v->lease_fd);
	v->lease_fd = lease_open(v->spool);
}

/* Takes REVIVE_FILE's lock without waiting: its descriptor, or -1 (another keeper holds it). */
static int
revive_lock(const struct revive *v)
{
	int fd = lease_take_file(v->spool, REVIVE_FILE);

	return fd >= 0 ? fd : -1;
}

/*
 * Starts the worker, once this keeper holds REVIVE_FILE's lock and still no
 * worker runs.  The lock is held REVIVE_WAIT_MS even if it cannot be
 * started: a thousand keepers try once in that time, not a thousand times.
 */
static void
revive_start(struct revive *v, long long now_ms)
{
	char *why = NULL;

	v->wait_until = now_ms + REVIVE_WAIT_MS;
	if (lease_held(v->spool) != 0) {
		revive_reopen(v);
		return;
	}
	log_warn("no worker holds the lease of %s: starting one (%s)", v->spool, v->argv[0]);
	if (spawn_detached(v->argv[0], v->argv, v->envp, &why) != 0) {
		log_error("cannot start the worker (%s): %s", v->argv[0], why);
		free(why);
	}
}

/* Gives the lock up. */
static void
revive_unlock(struct revive *v)
{
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	v->lock_fd = -1;
}

long long
revive_tick(struct revive *v, long long now_ms)
{
	if (now_ms < v->due_ms)
		return v->due_ms;
	v->due_ms = now_ms + REVIVE_LOOK_MS;
	if (v->lock_fd >= 0) {
		/* Waiting for the worker we started to take the lease. */
		if (lease_held(v->spool) == 0 && now_ms < v->wait_until) {
			v->due_ms = now_ms + REVIVE_POLL_MS;
			return v->due_ms;
		}
		revive_unlock(v);
		return v->due_ms;
	}
	if (revive_look(v) || (v->lock_fd = revive_lock(v)) < 0)
		return v->due_ms;
	revive_start(v, now_ms);
	v->due_ms = now_ms + REVIVE_POLL_MS;
	return v->due_ms;
}

void
revive_free(struct revive *v)
{
	if (v == NULL)
		return;
	revive_unlock(v);
	if (v->lease_fd >= 0)
		close(v->lease_fd);
	xfree_strings(v->argv);
	xfree_strings(v->envp);
	free(v->spool);
	free(v);
}
