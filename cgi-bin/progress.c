/* progress: the SSE streams of jobs, all from one process and one poll loop. */
#include "config.h"

#include <stdlib.h>

#include "conf.h"
#include "feed.h"
#include "instance.h"
#include "log.h"
#include "loop.h"

int
main(int argc, char **argv)
{
	struct instance inst;
	struct feed *f;
	char *cause = NULL;
	int fd, rc;

	log_init("longjob-progress");
	loop_signals();
	if ((fd = loop_listen_fd(argc, argv)) == -2)
		return 2;
	if (instance_open(&inst, NULL, &cause) != 0) {
		rc = loop_run_broken(fd, cause);
		free(cause);
		return rc;
	}
	f = feed_new(inst.cfg, inst.st);
	rc = loop_run(fd, &feed_ops, f, inst.cfg->poll_ms);
	feed_free(f);
	instance_close(&inst);
	return rc;
}
