/* progress: the SSE streams of jobs, all from one process and one poll loop. */
#include "config.h"

#include "feed.h"
#include "instance.h"

/* The program's state: a feed over the instance's config and store. */
static void *
progress_open(struct instance *in)
{
	return feed_new(in->cfg, in->st);
}

/* Frees the feed. */
static void
progress_close(void *ctx)
{
	feed_free(ctx);
}

int
main(int argc, char **argv)
{
	return instance_serve("longjob-progress", argc, argv, &feed_ops,
	    progress_open, progress_close);
}
