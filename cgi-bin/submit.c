/* submit: takes a form, queues the job, starts a worker, answers at once. */
#include "config.h"

#include "instance.h"
#include "intake.h"

int
main(int argc, char **argv)
{
	return instance_serve("longjob-submit", argc, argv, &intake_ops, intake_open,
	    intake_close);
}
