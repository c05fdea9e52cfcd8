/* job: a job read from the store, and a change to write to it.  See job.h. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

void
job_init(struct job *j)
{
	memset(j, 0, sizeof *j);
	j->eta_s = -1;
}

void
job_clear(struct job *j)
{
	free(j->type);
	free(j->state);
	free(j->step);
	free(j->message);
	free(j->params);
	free(j->steps);
	free(j->result);
	free(j->error);
	free(j->out_result);
	free(j->host);
	job_init(j);
}

void
job_change_init(struct job_change *c)
{
	memset(c, 0, sizeof *c);
	c->progress = NAN;
	c->eta_s = NAN;
	c->out_offset = -1;
	c->out_skip = c->log_count = c->log_dropped = c->steps_refused = -1;
	c->keeper_pid = c->worker_pid = -1;
	c->keeper_start = -1;
}
