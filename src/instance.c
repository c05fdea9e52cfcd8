/* instance: opens the config and the store every program needs. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "instance.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "xmem.h"

/*
 * This host's name in the store: the machine's name and the spool's path,
 * so that two instances on one machine (two spools) are two hosts; a long
 * spool path is replaced by its hash.
 */
static void
instance_host(struct instance *in)
{
	char name[256] = "";
	const char *p;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	char *host;

	gethostname(name, sizeof name - 1);
	if (strlen(name) + strlen(in->cfg->spool) < 200)
		host = xasprintf("%s:%s", name, in->cfg->spool);
	else {
		for (p = in->cfg->spool; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		host = xasprintf("%.180s:#%016llx", name, (unsigned long long)h);
	}
	store_set_host(in->st, host);
	free(host);
}

int
instance_open(struct instance *in, const char *path, char **cause)
{
	umask(077);
	in->st = NULL;
	in->cfg = conf_load(path != NULL ? path : conf_default_path(), cause);
	if (in->cfg == NULL)
		return -1;
	if (in->cfg->debug)
		log_set_level(LOG_DEBUG);
	if (mkdir(in->cfg->spool, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", in->cfg->spool, strerror(errno));
		instance_close(in);
		return -1;
	}
	in->st = store_open(in->cfg->database, cause);
	if (in->st == NULL) {
		instance_close(in);
		return -1;
	}
	instance_host(in);
	return 0;
}

void
instance_close(struct instance *in)
{
	store_close(in->st);
	conf_free(in->cfg);
	in->st = NULL;
	in->cfg = NULL;
}

/* The loop's wake-ups come from the store: empties its descriptor, returns it. */
static int
instance_wake(void *st)
{
	store_wake_drain(st);
	return store_wake_fd(st);
}

int
instance_serve(const char *progname, int argc, char **argv,
    const struct loop_ops *ops, void *(*open)(struct instance *),
    void (*close)(void *))
{
	struct instance in;
	char *cause = NULL;
	void *ctx;
	int fd, rc;

	log_init(progname);
	loop_signals();
	if ((fd = loop_listen_fd(argc, argv)) == -2)
		return 2;
	if (instance_open(&in, NULL, &cause) != 0) {
		rc = loop_run_broken(fd, cause);
		free(cause);
		return rc;
	}
	ctx = open(&in);
	if (ops->wake_on_write && in.cfg->wake_on_write)
		loop_wake_on(instance_wake, in.st, LOOP_WAKE_MIN_MS);
	rc = loop_run(fd, ops, ctx, in.cfg->poll_ms);
	close(ctx);
	instance_close(&in);
	return rc;
}
