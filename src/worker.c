/*
 * longjob-worker: started detached by submit (or `longjob submit`).  Runs
 * queued jobs, oldest first, while fewer than max_running run; exits when
 * there is nothing it may start.  Several workers may run at once: claiming
 * is one IMMEDIATE transaction, so each job is claimed exactly once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "gc.h"
#include "instance.h"
#include "log.h"
#include "runner.h"
#include "spawn.h"
#include "store.h"

/*
 * Claims the next queued job: 1 (id set), 0 if none may start, -1.  A claim
 * that found the store busy is tried again: were this worker to give up,
 * what is queued behind it would wait for the next submission.
 */
static int
worker_claim(struct instance *inst, char id[JOBID_LEN + 1])
{
	int rc, tries = 0;

	while ((rc = store_job_claim(inst->st, inst->cfg->max_running, getpid(),
	    RUNNER_STALE_S, id)) < 0 && store_busy(inst->st) && ++tries <= RUNNER_BUSY_TRIES)
		log_warn("the store stayed busy; claiming again (%d of %d)", tries,
		    RUNNER_BUSY_TRIES);
	return rc;
}

int
main(int argc, char **argv)
{
	struct instance inst;
	char id[JOBID_LEN + 1], *cause = NULL;
	const char *path = NULL;
	int rc;

	log_init("longjob-worker");
	/* Before the first claim: a cancel may SIGUSR1 us as soon as our pid is stored. */
	runner_signals();
	/* A handler's children that leave its group become ours when orphaned, so they can be stopped. */
	spawn_subreaper();
	if (argc == 3 && strcmp(argv[1], "--config") == 0)
		path = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: longjob-worker [--config PATH]\n");
		return 2;
	}
	if (instance_open(&inst, path, &cause) != 0) {
		log_error("%s", cause);
		free(cause);
		return 1;
	}
	while ((rc = worker_claim(&inst, id)) == 1) {
		if (runner_run(inst.cfg, inst.st, id) != 0)
			break;
	}
	/* Nothing left to run: a good moment to delete what is past retention. */
	if (rc == 0)
		gc_run(inst.cfg, inst.st, inst.cfg->retain_s);
	instance_close(&inst);
	return rc < 0 ? 1 : 0;
}
