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

struct loop_ops;

/* Opens the config at path (NULL: the default) and its store; -1 with *cause. */
int instance_open(struct instance *in, const char *path, char **cause);
void instance_close(struct instance *in);

/*
 * The whole main() of a web program (submit, progress, result): logging,
 * signals, the listening socket (FastCGI, --listen, or plain CGI), the
 * instance, then the poll loop with the program's callbacks and the state
 * that open() makes from the instance (close() frees it).  When the config
 * or store cannot be opened, every request is answered 500 and the reason
 * goes to the error log.  Returns the exit status.
 */
int instance_serve(const char *progname, int argc, char **argv,
    const struct loop_ops *ops, void *(*open)(struct instance *),
    void (*close)(void *));

#endif
