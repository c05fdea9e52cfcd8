/* result: answers when a job has ended, from one process for all waiting requests. */
#include "config.h"

#include "await.h"
#include "instance.h"

/* The program's state: the waiting requests over the instance's config and store. */
static void *
result_open(struct instance *in)
{
	return await_new(in->cfg, in->st);
}

/* Frees it. */
static void
result_close(void *ctx)
{
	await_free(ctx);
}

int
main(int argc, char **argv)
{
	return instance_serve("longjob-result", argc, argv, &await_ops, result_open,
	    result_close);
}
