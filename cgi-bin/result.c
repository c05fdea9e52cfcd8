/* result: answers when a job has ended, from one process for all waiting requests. */
#include "config.h"

#include <stdlib.h>

#include "await.h"
#include "conf.h"
#include "instance.h"
#include "log.h"
#include "loop.h"

int
main(int argc, char **argv)
{
	struct instance inst;
	struct await *a;
	char *cause = NULL;
	int fd, rc;

	log_init("longjob-result");
	loop_signals();
	if ((fd = loop_listen_fd(argc, argv)) == -2)
		return 2;
	if (instance_open(&inst, NULL, &cause) != 0) {
		rc = loop_run_broken(fd, cause);
		free(cause);
		return rc;
	}
	a = await_new(inst.cfg, inst.st);
	rc = loop_run(fd, &await_ops, a, inst.cfg->poll_ms);
	await_free(a);
	instance_close(&inst);
	return rc;
}
