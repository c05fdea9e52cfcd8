/* submit: takes a form, queues the job, starts a worker, answers at once. */
#include "config.h"

#include <stdlib.h>

#include "conf.h"
#include "instance.h"
#include "intake.h"
#include "log.h"
#include "loop.h"

/* Submissions are answered as they arrive; nothing is kept between ticks. */
static void
submit_gone(void *ctx, struct http_req *r)
{
	(void)ctx;
	(void)r;
}

/* Nothing to do on ticks. */
static void
submit_tick(void *ctx)
{
	(void)ctx;
}

int
main(int argc, char **argv)
{
	static const struct loop_ops ops = { intake_request, submit_gone, submit_tick };
	struct instance inst;
	struct intake in;
	char *cause = NULL;
	int fd, rc;

	log_init("longjob-submit");
	loop_signals();
	if ((fd = loop_listen_fd(argc, argv)) == -2)
		return 2;
	if (instance_open(&inst, NULL, &cause) != 0) {
		rc = loop_run_broken(fd, cause);
		free(cause);
		return rc;
	}
	in.cfg = inst.cfg;
	in.st = inst.st;
	rc = loop_run(fd, &ops, &in, 1000);
	instance_close(&inst);
	return rc;
}
