/* oversee: a worker for jobs that need one.  See oversee.h. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "lease.h"
#include "log.h"
#include "oversee.h"
#include "spawn.h"
#include "store.h"
#include "xmem.h"

char **
oversee_worker_env(void)
{
	/* The worker gets a clean environment, but for these (debugging, tests). */
	static const char *keep[] = { "LONGJOB_DEBUG", "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS", NULL };
	char **envp = xcalloc(sizeof keep / sizeof keep[0] + 1, sizeof *envp);
	int i, n = 0;

	envp[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	for (i = 0; keep[i] != NULL; i++) {
		if (getenv(keep[i]) != NULL)
			envp[n++] = xasprintf("%s=%s", keep[i], getenv(keep[i]));
	}
	return envp;
}

int
oversee_start(const struct config *cfg, char **cause)
{
	char *argv[] = { cfg->worker, "--config", cfg->path, NULL };
	char **envp = oversee_worker_env(), *why = NULL;
	int rc = spawn_detached(cfg->worker, argv, envp, &why);

	xfree_strings(envp);
	if (rc != 0) {
		/* Where the sysadmin looks: the web server's error log. */
		log_error("cannot start the worker (%s): %s", cfg->worker, why);
		if (cause != NULL)
			*cause = why;
		else
			free(why);
	}
	return rc;
}

/*
 * 1 if this process may start the worker: it owns the spool.  Root running
 * `longjob list` on a host whose store belongs to www-data must not start a
 * worker as root, whose files the web server could not read.
 */
static int
oversee_owner(const struct config *cfg)
{
	struct stat sb;

	return stat(cfg->spool, &sb) != 0 || sb.st_uid == geteuid();
}

/* How many times a job of a type may run again (0 for a type no longer configured). */
static int
oversee_retries(void *ctx, const char *type)
{
	const struct config_type *t = conf_type_find(ctx, type);

	return t != NULL ? t->retries : 0;
}

int
oversee_hosts(const struct config *cfg, struct store *st)
{
	int n;

	if (!store_shared(st))
		return 0;
	/* The cast: conf_type_find takes the config as it is, read-only. */
	if ((n = store_reap_hosts(st, cfg->host_lease_s, oversee_retries, (void *)cfg)) > 0)
		log_warn("%d jobs of lost hosts ended or queued again", n);
	return n;
}

int
oversee_check(const struct config *cfg, struct store *st)
{
	int64_t pending = 0;
	char *why = NULL, *error;
	int held = lease_held(cfg->spool);

	oversee_hosts(cfg, st);
	if (held != 0)
		return held < 0 ? -1 : 0;
	if (!oversee_owner(cfg))
		return 0;
	/* A job queued in the last few seconds has its submitter starting a worker. */
	if (store_pending(st, store_now() - OVERSEE_MS / 1000.0, &pending) != 0)
		return -1;
	if (pending == 0)
		return 0;
	log_warn("%lld jobs queued or running and no worker: starting one", (long long)pending);
	if (oversee_start(cfg, &why) == 0)
		return 1;
	/* Nothing can adopt them: end them, so that no stream waits for ever. */
	error = xasprintf("worker lost, and no new one can be started: %s", why);
	store_reap_lost(st, error);
	free(error);
	free(why);
	return -1;
}
