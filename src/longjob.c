/*
 * longjob: the command line for the host's admin and for scripts.
 *
 *   longjob submit TYPE [field=value | field=@file]... [--watch]
 *   longjob watch ID          longjob show ID          longjob list [N]
 *   longjob cancel ID         longjob gc [--age SECONDS]    longjob status
 *   longjob check-config [PATH]                        longjob config-help
 *
 * It works on the same config and store as the web programs, so a job
 * submitted here shows up on the job page, and one submitted from the web
 * can be watched here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "gc.h"
#include "instance.h"
#include "intake.h"
#include "job.h"
#include "lease.h"
#include "log.h"
#include "params.h"
#include "oversee.h"
#include "store.h"
#include "view.h"
#include "watch.h"
#include "xmem.h"

/* Prints the usage and returns the usage exit status. */
static int
usage(void)
{
	fprintf(stderr,
	    "usage: longjob submit TYPE [field=value | field=@file]... [--watch]\n"
	    "       longjob watch ID\n"
	    "       longjob show ID\n"
	    "       longjob cancel ID\n"
	    "       longjob gc [--age SECONDS]\n"
	    "       longjob list [N]\n"
	    "       longjob status\n"
	    "       longjob check-config [PATH]\n"
	    "       longjob config-help\n"
	    "Ctrl-C stops watching a job, not the job itself.\n"
	    "The config is $LONGJOB_CONFIG or %s.\n", conf_default_path());
	return 2;
}

/* Copies a file into the job's directory as upload-N; the new path, or NULL. */
static char *
copy_upload(const char *src, const char *dir, int n, size_t *size)
{
	char *dst = xasprintf("%s/upload-%d", dir, n), chunk[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	ssize_t got;

	*size = 0;
	if (in >= 0)
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	while (out >= 0 && (got = read(in, chunk, sizeof chunk)) > 0) {
		if (write(out, chunk, (size_t)got) != got)
			got = -1;
		*size += (size_t)got;
	}
	if (in < 0 || out < 0 || got < 0 || close(out) != 0) {
		fprintf(stderr, "longjob: %s: %s\n", src, strerror(errno));
		free(dst);
		dst = NULL;
	}
	if (in >= 0)
		close(in);
	return dst;
}

/* Adds one field=value (or field=@file) argument to the parameters. */
static int
add_arg(struct params *p, const char *arg, const char *dir, int *nfiles, char **cause)
{
	const char *eq = strchr(arg, '=');
	char *name, *path;
	size_t size;
	int rc;

	if (eq == NULL || eq == arg) {
		*cause = xasprintf("'%s' is not field=value", arg);
		return -1;
	}
	name = xstrndup(arg, (size_t)(eq - arg));
	if (eq[1] != '@')
		rc = params_text(p, name, eq + 1, strlen(eq + 1), cause);
	else if ((path = copy_upload(eq + 2, dir, ++*nfiles, &size)) == NULL) {
		*cause = xasprintf("cannot read %s", eq + 2);
		rc = -1;
	} else {
		const char *base = strrchr(eq + 2, '/');

		rc = params_file(p, name, path, base ? base + 1 : eq + 2,
		    "application/octet-stream", size, cause);
		free(path);
	}
	free(name);
	return rc;
}

/* Builds the parameters from the arguments; JSON text, or NULL with *cause. */
static char *
build_params(const struct config_type *t, int argc, char **argv, const char *dir,
    char **cause)
{
	struct params *p = params_new(t);
	char *json = NULL;
	int i, nfiles = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--watch") != 0 &&
		    add_arg(p, argv[i], dir, &nfiles, cause) != 0)
			goto out;
	}
	json = params_finish(p, cause);
out:
	params_free(p);
	return json;
}

/* longjob submit TYPE field=value... [--watch] */
static int
cmd_submit(struct instance *in, int argc, char **argv)
{
	const struct config_type *t;
	char id[JOBID_LEN + 1], *dir = NULL, *params = NULL, *cause = NULL;
	int i, watch = 0, rc = 1;

	if (argc < 1)
		return usage();
	for (i = 1; i < argc; i++)
		watch |= strcmp(argv[i], "--watch") == 0;
	if ((t = conf_type_find(in->cfg, argv[0])) == NULL) {
		fprintf(stderr, "longjob: unknown job type '%s'\n", argv[0]);
		return 2;
	}
	if (jobid_new(id) != 0 || intake_job_dir(in->cfg, id, &dir) != 0) {
		fprintf(stderr, "longjob: cannot create the job directory: %s\n", strerror(errno));
		return 1;
	}
	if ((params = build_params(t, argc - 1, argv + 1, dir, &cause)) == NULL) {
		fprintf(stderr, "longjob: %s\n", cause);
		goto out;
	}
	if ((rc = intake_enqueue(in->cfg, in->st, id, t, params, NULL)) != 0) {
		fprintf(stderr, "longjob: %s\n", rc == 1 ? "the queue is full" : rc == 2 ?
		    "the worker cannot be started (see above); the job failed" :
		    "cannot record the job");
		rc = 1;
		goto out;
	}
	printf("%s\n", id);
	fflush(stdout);
	rc = watch ? watch_job(in->cfg, in->st, id, stdout, isatty(1), in->cfg->poll_ms) : 0;
out:
	if (params == NULL || (rc != 0 && !watch))
		intake_remove_dir(dir);
	free(cause);
	free(params);
	free(dir);
	return rc;
}

/* longjob show ID: the job's whole picture as JSON. */
static int
cmd_show(struct instance *in, const char *id)
{
	struct json_object *o;
	struct job j;
	char *json;
	int rc;

	job_init(&j);
	if (!jobid_valid(id) || (rc = store_job_snapshot(in->st, id, &j)) != 0) {
		fprintf(stderr, "longjob: %s: no such job\n", id);
		return 1;
	}
	json = view_state(&j);
	o = json_tokener_parse(json);
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	free(json);
	rc = strcmp(j.state, "succeeded") == 0 ? 0 : 1;
	job_clear(&j);
	return rc;
}

/* One line of `longjob list`. */
static void
list_row(void *ctx, const struct job *j)
{
	(void)ctx;
	printf("%s  %-10s %-9s %5.1f%%  %s\n", j->id, j->type, j->state, j->progress,
	    j->error ? j->error : j->message ? j->message : "");
}

/* longjob cancel ID */
static int
cmd_cancel(struct instance *in, const char *id)
{
	int rc;

	if (!jobid_valid(id)) {
		fprintf(stderr, "longjob: %s: not a job id\n", id);
		return 2;
	}
	rc = intake_cancel(in->cfg, in->st, id);
	if (rc == 0)
		printf("%s cancelled\n", id);
	else
		fprintf(stderr, "longjob: %s: %s\n", id, rc == 1 ? "the job has already ended" :
		    rc == 2 ? "no such job" : "cannot write the store");
	return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}

/* longjob gc [--age SECONDS]: deletes ended jobs older than that (default retain_s). */
static int
cmd_gc(struct instance *in, int argc, char **argv)
{
	double age = in->cfg->retain_s;
	char *end;
	int n;

	if (argc == 2 && strcmp(argv[0], "--age") == 0) {
		age = strtod(argv[1], &end);
		if (*argv[1] == '\0' || *end != '\0' || age < 0)
			return usage();
	} else if (argc != 0)
		return usage();
	if ((n = gc_run(in->cfg, in->st, age)) < 0)
		return 1;
	printf("%d ended jobs removed\n", n);
	return 0;
}

/* Prints a unix time as local "YYYY-MM-DD HH:MM:SS", and how long ago. */
static void
print_when(const char *label, double t)
{
	char when[32];
	time_t secs = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		printf("%-12s never\n", label);
		return;
	}
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&secs, &tm));
	printf("%-12s %s (%.1f s ago)\n", label, when, store_now() - t);
}

/* One host's line of `longjob status` on a shared store. */
static void
print_host(void *ctx, const struct store_worker *w)
{
	const struct config *cfg = ctx;
	double ago = store_now() - w->beat;

	printf("  %s  pid %ld, %d running, heartbeat %.1f s ago%s\n", w->host, w->pid,
	    w->running, ago, ago > cfg->host_lease_s ? " (past host_lease_s)" : "");
}

/* longjob status: the host's worker, from its lease and its own row. */
static int
cmd_status(struct instance *in)
{
	struct store_worker w;
	int held = lease_held(in->cfg->spool), rc = store_worker_get(in->st, &w);
	int64_t pending = 0;

	if (held < 0 || rc < 0 || store_pending(in->st, store_now() + 60, &pending) != 0)
		return 1;
	printf("%-12s %s\n", "worker", held ? "running" : "not running");
	if (held && rc == 0) {
		printf("%-12s %ld on %s\n", "pid", w.pid, w.host);
		print_when("since", w.started);
		printf("%-12s %d (max_running %d)\n", "jobs running", w.running,
		    in->cfg->max_running);
		printf("%-12s %lld\n", "commits", (long long)w.commits);
		print_when("last commit", w.last_commit);
		print_when("heartbeat", w.beat);
	}
	printf("%-12s %lld queued or running\n", "jobs", (long long)pending);
	printf("%-12s %s\n", "log", in->cfg->log_file);
	/* The other hosts of a shared store: the workers that wrote a heartbeat. */
	if (store_shared(in->st)) {
		printf("%-12s (host: spool  worker, its jobs, its last heartbeat)\n", "hosts");
		if (store_workers_each(in->st, print_host, (void *)in->cfg) != 0)
			return 1;
	}
	return 0;
}

/*
 * 0 if path is a program someone can run, else prints why and returns 1.
 * As root, access(X_OK) passes any file with one execute bit, so the bits
 * are what is checked; the web server's user may still lack the directories.
 */
static int
check_program(const char *cfgpath, const char *what, const char *path)
{
	struct stat sb;
	const char *why = NULL;

	if (stat(path, &sb) != 0)
		why = strerror(errno);
	else if (!S_ISREG(sb.st_mode))
		why = "not a regular file";
	else if ((sb.st_mode & 0111) == 0 || (geteuid() != 0 && access(path, X_OK) != 0))
		why = "not executable";
	if (why == NULL)
		return 0;
	fprintf(stderr, "%s: %s %s: %s\n", cfgpath, what, path, why);
	return 1;
}

/*
 * A PostgreSQL database must answer (an SQLite file is made on first use:
 * opening it here, maybe as root, could make it with the wrong owner).
 */
static int
check_database(const char *cfgpath, const char *database)
{
	struct store *st;
	char *cause = NULL;

	if (!store_is_postgresql(database))
		return 0;
	if ((st = store_open(database, &cause)) != NULL) {
		store_close(st);
		return 0;
	}
	fprintf(stderr, "%s: database: %s\n", cfgpath, cause);
	free(cause);
	return 1;
}

/* longjob check-config [PATH]: the file, then the programs it names. */
static int
cmd_check_config(const char *path)
{
	struct config *cfg;
	char *cause = NULL, *what;
	int bad;
	size_t i;

	if (path == NULL)
		path = conf_default_path();
	if ((cfg = conf_load(path, &cause)) == NULL) {
		fprintf(stderr, "%s: not valid:\n%s\n", path, cause);
		free(cause);
		return 1;
	}
	bad = check_program(path, "worker", cfg->worker);
	what = xasprintf("%.*s/longjob-keeper", (int)(strrchr(cfg->worker, '/') - cfg->worker),
	    cfg->worker);
	bad |= check_program(path, "keeper (beside the worker)", what);
	free(what);
	for (i = 0; i < cfg->ntypes; i++) {
		what = xasprintf("types.%s handler", cfg->types[i].name);
		bad |= check_program(path, what, cfg->types[i].argv[0]);
		free(what);
	}
	bad |= check_database(path, cfg->database);
	if (!bad) {
		what = store_shown(cfg->database);
		printf("%s: ok (%zu job types, database %s)\n", path, cfg->ntypes, what);
		free(what);
	}
	conf_free(cfg);
	return bad;
}

/* Runs a command that needs the instance open. */
static int
run_command(int argc, char **argv)
{
	struct instance in;
	char *cause = NULL;
	int rc;

	if (instance_open(&in, NULL, &cause) != 0) {
		fprintf(stderr, "longjob: %s\n", cause);
		free(cause);
		return 1;
	}
	/* Before showing jobs: running ones whose worker died get a new one that adopts them. */
	if (strcmp(argv[1], "show") == 0 || strcmp(argv[1], "watch") == 0 ||
	    strcmp(argv[1], "list") == 0)
		oversee_check(in.cfg, in.st);
	if (strcmp(argv[1], "submit") == 0)
		rc = cmd_submit(&in, argc - 2, argv + 2);
	else if (strcmp(argv[1], "watch") == 0 && argc == 3 && jobid_valid(argv[2]))
		rc = watch_job(in.cfg, in.st, argv[2], stdout, isatty(1), in.cfg->poll_ms);
	else if (strcmp(argv[1], "show") == 0 && argc == 3)
		rc = cmd_show(&in, argv[2]);
	else if (strcmp(argv[1], "cancel") == 0 && argc == 3)
		rc = cmd_cancel(&in, argv[2]);
	else if (strcmp(argv[1], "gc") == 0)
		rc = cmd_gc(&in, argc - 2, argv + 2);
	else if (strcmp(argv[1], "status") == 0 && argc == 2)
		rc = cmd_status(&in);
	else if (strcmp(argv[1], "list") == 0 && argc <= 3)
		rc = store_job_list(in.st, argc == 3 ? atoi(argv[2]) : 20, list_row, NULL) == 0 ? 0 : 1;
	else
		rc = usage();
	instance_close(&in);
	return rc;
}

int
main(int argc, char **argv)
{
	log_init("longjob");
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "check-config") == 0 && argc <= 3)
		return cmd_check_config(argc == 3 ? argv[2] : NULL);
	if (strcmp(argv[1], "config-help") == 0) {
		conf_describe(stdout);
		return 0;
	}
	return run_command(argc, argv);
}
