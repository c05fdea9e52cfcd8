/* gc: deletes old ended jobs with their rows and files.  See gc.h. */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "conf.h"
#include "gc.h"
#include "intake.h"
#include "job.h"
#include "jobid.h"
#include "log.h"
#include "store.h"
#include "xmem.h"

/* Directories of the spool looked at by one sweep, at most, and how often one runs. */
#define GC_SWEEP_MAX 4096
#define GC_SWEEP_S 60

/* store_gc callback: the job's rows are gone; now its directory goes. */
static void
gc_remove_files(void *ctx, const char *id)
{
	const struct config *cfg = ctx;
	char *dir = xasprintf("%s/%s", cfg->spool, id);

	intake_remove_dir(dir);
	free(dir);
}

/*
 * On a store several hosts share, whichever host deletes a job's rows
 * removes its directory in its own spool only: the others (the host that
 * took its uploads, the one that ran it, those that served its files) find
 * theirs here, old and of a job the store no longer has.
 */
static void
gc_sweep(const struct config *cfg, struct store *st, double age_s)
{
	double before = store_now() - age_s;
	struct dirent *e;
	struct stat sb;
	struct job j;
	char *dir;
	DIR *d;
	int n = 0, removed = 0;
	static double last;

	/* The worker runs retention every second while busy: the spool is looked through once a minute. */
	if (!store_shared(st) || store_now() < last + GC_SWEEP_S || (d = opendir(cfg->spool)) == NULL)
		return;
	last = store_now();
	job_init(&j);
	while ((e = readdir(d)) != NULL && n++ < GC_SWEEP_MAX) {
		if (!jobid_valid(e->d_name))
			continue;
		dir = xasprintf("%s/%s", cfg->spool, e->d_name);
		if (lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_mtime < before &&
		    store_job_get(st, e->d_name, &j) == 1) {
			intake_remove_dir(dir);
			removed++;
		}
		job_clear(&j);
		free(dir);
	}
	closedir(d);
	if (removed > 0)
		log_info("removed %d directories of jobs other hosts deleted", removed);
}

int
gc_run(const struct config *cfg, struct store *st, double age_s)
{
	int n = store_gc(st, store_now() - age_s, gc_remove_files, (void *)cfg);

	if (n > 0)
		log_info("removed %d ended jobs older than %.0f s", n, age_s);
	if (n >= 0)
		gc_sweep(cfg, st, age_s);
	return n;
}
