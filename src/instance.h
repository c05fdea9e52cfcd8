/*
 * instance: one longjob installation, opened: its config and its store.
 * Every program starts here.  The umask is set first so that the database,
 * the spool and every artifact are created owner-only.
 */
#ifndef LONGJOB_INSTANCE_H
#define LONGJOB_INSTANCE_H

struct config;
struct store;

struct instance {
	struct config *cfg;
	struct store *st;
};

/* Opens the config at path (NULL: the default) and its store; -1 with *cause. */
int instance_open(struct instance *in, const char *path, char **cause);
void instance_close(struct instance *in);

#endif
