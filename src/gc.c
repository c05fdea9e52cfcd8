/* gc: deletes old ended jobs with their rows and files.  See gc.h. */
#include "config.h"

#include <stdlib.h>

#include "conf.h"
#include "gc.h"
#include "intake.h"
#include "log.h"
#include "store.h"
#include "xmem.h"

/* store_gc callback: the job's rows are gone; now its directory goes. */
static void
gc_remove_files(void *ctx, const char *id)
{
	const struct config *cfg = ctx;
	char *dir = xasprintf("%s/%s", cfg->spool, id);

	intake_remove_dir(dir);
	free(dir);
}

int
gc_run(const struct config *cfg, struct store *st, double age_s)
{
	int n = store_gc(st, store_now() - age_s, gc_remove_files, (void *)cfg);

	if (n > 0)
		log_info("removed %d ended jobs older than %.0f s", n, age_s);
	return n;
}
