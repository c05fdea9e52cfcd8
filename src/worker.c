/*
 * longjob-worker: the one worker of a host (crew.h).  submit starts it
 * detached when none runs, and every program that notices running jobs
 * with no worker starts one (oversee.h).  It takes the lease (lease.h) or
 * exits at once, since another worker already runs; logs to log_file; runs
 * and adopts jobs until there is nothing left to do.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "crew.h"
#include "instance.h"
#include "lease.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct instance inst;
	char *cause = NULL;
	const char *path = NULL;
	int lease, rc;

	log_init("longjob-worker");
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
	/* Before anything is logged to it: a second worker that exits says nothing. */
	if ((lease = lease_take(inst.cfg->spool)) < 0) {
		instance_close(&inst);
		return lease == -2 ? 0 : 1;
	}
	log_to_file(inst.cfg->log_file, inst.cfg->log_max_bytes);
	rc = crew_run(&inst, lease);
	instance_close(&inst);
	return rc;
}
