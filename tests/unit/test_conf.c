/*
 * test_conf: the config loader, mostly from data files.
 *
 * tests/data/conf/good-*.json must load; tests/data/conf/bad-<what>.json must
 * not, and every non-empty line of its sibling bad-<what>.expect must appear
 * in the reported cause.  A new case is a new pair of files, not new code.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"
#include "xmem.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/usr/local/var"
#endif
#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/local/libexec/longjob"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

static char *datadir;

/* The whole file as a string, or NULL. */
static char *
slurp(const char *path)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (getdelim(&s, &n, '\0', f) == -1) {
		free(s);
		s = xstrdup("");
	}
	fclose(f);
	return s;
}

/* Writes text (n bytes) to a new temporary file; returns its path. */
static char *
write_temp(const char *text, size_t n)
{
	char *path = xstrdup("/tmp/test_conf.XXXXXX");
	int fd = mkstemp(path);

	if (fd == -1 || write(fd, text, n) != (ssize_t)n)
		abort();
	close(fd);
	return path;
}

/* 1 if s ends with suffix. */
static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Number of lines in s. */
static int
count_lines(const char *s)
{
	int n = 1;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Checks that each line of the .expect file is in the cause. */
static void
check_bad(const char *name)
{
	char *path, *expect_path, *expect, *cause = NULL, *line, *save = NULL;
	struct config *c;
	char what[256];
	int lines;

	path = xasprintf("%s/%s", datadir, name);
	expect_path = xasprintf("%s/%.*s.expect", datadir,
	    (int)(strlen(name) - strlen(".json")), name);
	c = conf_load(path, &cause);
	snprintf(what, sizeof what, "%s is refused", name);
	ok(c == NULL && cause != NULL, what);
	conf_free(c);
	expect = slurp(expect_path);
	snprintf(what, sizeof what, "%s has a .expect file", name);
	ok(expect != NULL, what);
	if (expect != NULL && cause != NULL) {
		lines = 0;
		for (line = strtok_r(expect, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			snprintf(what, sizeof what, "%s: reports '%.150s'",
			    name, line);
			if (!ok(strstr(cause, line) != NULL, what))
				printf("# cause was:\n# %s\n", cause);
			lines++;
		}
		if (strcmp(name, "bad-several.json") == 0)
			is_int(count_lines(cause), lines,
			    "bad-several: every mistake, one per line");
	}
	free(expect);
	free(cause);
	free(expect_path);
	free(path);
}

/* What every loaded config must satisfy, whatever the file. */
static void
check_invariants(const char *name, const struct config *c)
{
	char what[256];
	size_t i, j;
	int good = 1;

	good &= c->database != NULL && c->database[0] == '/';
	good &= c->spool != NULL && c->spool[0] == '/';
	good &= c->worker != NULL && c->worker[0] == '/';
	good &= c->page_url != NULL && c->progress_url != NULL &&
	    c->result_url != NULL;
	good &= c->allowed_origins != NULL && c->ntypes > 0;
	for (i = 0; good && i < c->ntypes; i++) {
		good &= c->types[i].argv != NULL &&
		    c->types[i].argv[0][0] == '/';
		for (j = 0; j < c->types[i].nfields; j++)
			good &= c->types[i].fields[j].label != NULL;
		good &= c->types[i].nsteps <= (size_t)c->types[i].max_steps;
		for (j = 0; j < c->types[i].nsteps; j++)
			good &= conf_step_find(&c->types[i],
			    c->types[i].steps[j].id) == &c->types[i].steps[j];
	}
	snprintf(what, sizeof what, "%s: everything filled, paths absolute",
	    name);
	ok(good, what);
}

/* good-minimal.json: only a type; everything else must be the defaults. */
static void
check_minimal(const struct config *c)
{
	const struct config_type *t = conf_type_find(c, "render");

	is_str(c->database, LOCALSTATEDIR "/lib/longjob/longjob.db",
	    "default database");
	is_str(c->spool, LOCALSTATEDIR "/lib/longjob/spool", "default spool");
	is_str(c->worker, PKGLIBEXECDIR "/longjob-worker", "default worker");
	is_int(c->max_running, 2, "default max_running");
	is_int(c->max_queued, 1000, "default max_queued");
	is_int(c->poll_ms, 200, "default poll_ms");
	is_int(c->heartbeat_s, 15, "default heartbeat_s");
	is_int(c->stream_max_s, 240, "default stream_max_s (below FcgidBusyTimeout)");
	is_int(c->result_wait_s, 25, "default result_wait_s (below FcgidIOTimeout)");
	is_int(c->retry_ms, 2000, "default retry_ms");
	is_int(c->progress_interval_ms, 100, "default progress_interval_ms");
	is_int(c->log_lines, 1000, "default log_lines");
	is_int(c->max_steps, 100, "default max_steps");
	is_int(c->retain_s, 604800, "default retain_s");
	is_int(c->max_body, 67108864, "default max_body");
	is_int(c->max_spool_bytes, 1073741824, "default max_spool_bytes (1 GiB)");
	is_str(c->page_url, "/job.html", "default page_url");
	is_str(c->progress_url, "/longjob/progress", "default progress_url");
	is_str(c->result_url, "/longjob/result", "default result_url");
	ok(c->allowed_origins[0] == NULL, "default allowed_origins is empty");
	is_int(c->trust_host, 1, "default trust_host");
	if (!ok(t != NULL, "type render found"))
		return;
	ok(ends_with(t->argv[0], "/tests/data/conf/jobs/render"),
	    "relative argv[0] resolved");
	ok(t->argv[1] == NULL, "argv NULL-terminated");
	is_int(t->timeout_s, 3600, "default timeout_s");
	is_int(t->max_body, 67108864,
	    "type max_body defaults to the top level");
	is_int(t->nfields, 0, "no fields");
	is_int(t->nsteps, 0, "no steps");
	is_int(t->max_steps, 100, "type max_steps defaults to the top level");
	ok(conf_step_find(t, "prepare") == NULL, "no step found");
	ok(conf_type_find(c, "import") == NULL, "unknown type not found");
}

/* good-full.json: the render type. */
static void
check_full_render(const struct config_type *t)
{
	const struct config_field *f;

	is_str(t->argv[0], "/usr/bin/env", "absolute argv[0] kept");
	is_str(t->argv[3], "--size=800", "argv[3]");
	ok(t->argv[4] == NULL, "argv NULL-terminated");
	is_int(t->timeout_s, 120, "timeout_s");
	is_int(t->max_body, 1048576, "type max_body from the top level");
	is_int(t->nfields, 3, "3 fields");
	is_str(t->fields[0].name, "size", "fields in file order");
	f = conf_field_find(t, "size");
	ok(f != NULL && f->kind == FIELD_INT && f->min == 16 && f->max == 4096,
	    "int field with bounds");
	is_str(f != NULL ? f->def : NULL, "800", "int default as text");
	is_str(f != NULL ? f->label : NULL, "Size (pixels)", "label");
	f = conf_field_find(t, "title");
	ok(f != NULL && f->kind == FIELD_STRING && f->min == 0 &&
	    f->max == 80 && !f->required,
	    "string field, default min 0");
	is_str(f != NULL ? f->label : NULL, "title",
	    "label defaults to the name");
	f = conf_field_find(t, "offset");
	ok(f != NULL && f->min == LLONG_MIN && f->max == LLONG_MAX,
	    "int field default bounds");
	is_str(f != NULL ? f->def : NULL, "-5", "negative default");
	ok(conf_field_find(t, "nope") == NULL, "unknown field not found");
	is_int(t->max_steps, 50, "type max_steps from the top level");
	is_int(t->nsteps, 3, "3 steps");
	if (t->nsteps == 3) {
		ok(t->steps[0].label == NULL,
		    "a step without a label has none (the handler's or the id is shown)");
		ok(conf_step_find(t, "encode") == &t->steps[2], "step found by id");
		is_str(t->steps[1].id, "draw", "step object id");
		is_str(t->steps[1].label, "Drawing the picture",
		    "step object label");
	}
}

/* good-full.json: the import type. */
static void
check_full_import(const struct config_type *t)
{
	const struct config_field *f;

	ok(ends_with(t->argv[0], "/tests/data/conf/jobs/import"),
	    "relative argv[0] resolved");
	is_str(t->argv[1], "--verbose", "argv[1] not resolved");
	is_int(t->max_body, 536870912, "type max_body");
	f = conf_field_find(t, "csv");
	ok(f != NULL && f->kind == FIELD_FILE && f->required &&
	    f->max_bytes == 268435456,
	    "file field");
	f = conf_field_find(t, "photo");
	ok(f != NULL && f->max_bytes == 536870912 && !f->required,
	    "max_bytes defaults to the type's max_body");
	f = conf_field_find(t, "note");
	ok(f != NULL && f->kind == FIELD_STRING && f->max == 4096 &&
	    f->def == NULL,
	    "string field defaults");
	is_int(t->nsteps, 7, "7 steps");
	if (t->nsteps == 7) {
		ok(t->steps[0].label == NULL, "step object without label");
		is_int(t->max_steps, 7, "type max_steps");
		is_str(t->steps[6].id, "car_assignments", "last step");
	}
}

/* good-full.json: every key set. */
static void
check_full(const struct config *c)
{
	const struct config_type *t;

	ok(ends_with(c->database, "/tests/data/conf/state/longjob.db"),
	    "relative database resolved");
	is_str(c->spool, "/srv/longjob/spool", "absolute spool kept");
	ok(ends_with(c->worker, "/tests/data/conf/../bin/longjob-worker"),
	    "relative worker resolved");
	ok(c->max_running == 4 && c->max_queued == 50 && c->poll_ms == 100 &&
	    c->heartbeat_s == 20 && c->stream_max_s == 240 &&
	    c->retry_ms == 1500 && c->progress_interval_ms == 0 &&
	    c->log_lines == 0 && c->retain_s == 86400 && c->max_steps == 50,
	    "integers read");
	is_int(c->max_body, 1048576, "max_body");
	is_int(c->max_spool_bytes, 0, "max_spool_bytes 0: no quota");
	is_str(c->page_url, "https://example.com/jobs/job.html", "page_url");
	is_str(c->progress_url, "/lj/progress", "progress_url");
	is_str(c->result_url, "http://example.com:8080/lj/result",
	    "result_url");
	is_str(c->allowed_origins[2], "http://[::1]:8080",
	    "allowed_origins[2]");
	ok(c->allowed_origins[3] == NULL, "allowed_origins NULL-terminated");
	is_int(c->trust_host, 0, "trust_host");
	is_int(c->ntypes, 2, "2 types");
	is_str(c->types[0].name, "render", "types in file order");
	if ((t = conf_type_find(c, "render")) != NULL)
		check_full_render(t);
	if ((t = conf_type_find(c, "import")) != NULL)
		check_full_import(t);
}

/* Loads one good-*.json and checks it. */
static void
check_good(const char *name)
{
	struct config *c;
	char *path, *cause = NULL;
	char what[256];

	path = xasprintf("%s/%s", datadir, name);
	c = conf_load(path, &cause);
	snprintf(what, sizeof what, "%s loads", name);
	if (!ok(c != NULL, what))
		printf("# cause:\n# %s\n", cause);
	if (c != NULL) {
		is_str(c->path, path, "path recorded");
		check_invariants(name, c);
		if (strcmp(name, "good-minimal.json") == 0)
			check_minimal(c);
		if (strcmp(name, "good-full.json") == 0)
			check_full(c);
	}
	conf_free(c);
	free(cause);
	free(path);
}

/* Selects the data files. */
static int
select_json(const struct dirent *d)
{
	return ends_with(d->d_name, ".json");
}

/* Runs every data file of the directory. */
static void
test_data_files(void)
{
	struct dirent **list;
	int n, i, good = 0, bad = 0;

	n = scandir(datadir, &list, select_json, alphasort);
	if (!ok(n > 0, "data directory readable"))
		return;
	for (i = 0; i < n; i++) {
		if (strncmp(list[i]->d_name, "good-", 5) == 0) {
			check_good(list[i]->d_name);
			good++;
		} else if (strncmp(list[i]->d_name, "bad-", 4) == 0) {
			check_bad(list[i]->d_name);
			bad++;
		}
		free(list[i]);
	}
	free(list);
	ok(good >= 2, "good cases ran");
	ok(bad >= 15, "at least 15 bad cases ran");
}

/* Files that cannot be read, or are not text. */
static void
test_unreadable(void)
{
	char *cause = NULL, *path, *big;
	struct config *c;

	c = conf_load("/nonexistent/longjob.json", &cause);
	ok(c == NULL, "missing file refused");
	is_str(cause, "/nonexistent/longjob.json: No such file or directory",
	    "missing file message");
	free(cause);

	c = conf_load(datadir, &cause);
	ok(c == NULL && cause != NULL &&
	    strstr(cause, ": Is a directory") != NULL,
	    "directory refused");
	free(cause);

	path = write_temp("{\"types\"\0:{}}", 13);
	c = conf_load(path, &cause);
	ok(c == NULL && cause != NULL &&
	    strstr(cause, "contains a NUL byte") != NULL,
	    "NUL byte refused");
	free(cause);
	unlink(path);
	free(path);

	big = xmalloc(1024 * 1024 + 2);
	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '{';
	path = write_temp(big, 1024 * 1024 + 1);
	c = conf_load(path, &cause);
	ok(c == NULL && cause != NULL &&
	    strstr(cause, "larger than 1048576 bytes") != NULL,
	    "oversized file refused");
	free(cause);
	unlink(path);
	free(path);
	free(big);

	c = conf_load("/nonexistent/longjob.json", NULL);
	ok(c == NULL, "NULL cause allowed");
}

/* A PostgreSQL database is kept as written, and the worker's log goes beside the spool. */
static void
test_parse_postgresql(void)
{
	static const char *const dbs[] = { "postgresql://longjob@db.example/jobs",
	    "host=/run/postgresql dbname=longjob", "dbname = longjob" };
	char json[256], *cause = NULL;
	struct config *c;
	size_t i;

	for (i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
		snprintf(json, sizeof json, "{\"database\": \"%s\", \"spool\": \"/srv/lj/spool\","
		    " \"types\": {\"t\": {\"argv\": [\"/bin/t\"]}}}", dbs[i]);
		c = conf_parse(json, "/etc/longjob", &cause);
		is_str(c != NULL ? c->database : cause, dbs[i], "a PostgreSQL database as written");
		is_str(c != NULL ? c->log_file : NULL, "/srv/lj/worker.log",
		    "and the log beside the spool");
		conf_free(c);
	}
	c = conf_parse("{\"database\": \"db=1/x.db\", \"types\": {\"t\": {\"argv\": [\"/bin/t\"]}}}",
	    "/etc/longjob", &cause);
	is_str(c != NULL ? c->database : NULL, "/etc/longjob/db=1/x.db",
	    "a path with '=' in it is a path");
	conf_free(c);
}

/* conf_parse and its base directory. */
static void
test_parse(void)
{
	const char *json = "{\"database\": \"./db/x.db\", \"types\": {\"t\": "
	    "{\"argv\": [\"./bin/t\"]}}}";
	char cwd[PATH_MAX], *want, *cause = NULL;
	struct config *c;

	c = conf_parse(json, "/etc/longjob", &cause);
	if (!ok(c != NULL, "parse from text"))
		printf("# %s\n", cause);
	if (c != NULL) {
		is_str(c->database, "/etc/longjob/db/x.db",
		    "resolved against base_dir");
		is_str(c->types[0].argv[0], "/etc/longjob/bin/t",
		    "argv[0] resolved");
		ok(c->path == NULL, "no path for a text");
	}
	conf_free(c);

	c = conf_parse(json, "/", &cause);
	is_str(c != NULL ? c->database : NULL, "/db/x.db", "base_dir /");
	conf_free(c);

	c = conf_parse(json, "/etc/longjob//", &cause);
	is_str(c != NULL ? c->database : NULL, "/etc/longjob/db/x.db",
	    "trailing '/' of base_dir");
	conf_free(c);

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	c = conf_parse(json, NULL, &cause);
	want = xasprintf("%s/db/x.db", cwd);
	is_str(c != NULL ? c->database : NULL, want,
	    "NULL base_dir is the current directory");
	conf_free(c);
	free(want);

	c = conf_parse(json, "./conf/", &cause);
	want = xasprintf("%s/conf/db/x.db", cwd);
	is_str(c != NULL ? c->database : NULL, want,
	    "relative base_dir made absolute");
	conf_free(c);
	free(want);

	test_parse_postgresql();
	conf_free(NULL);
	ok(1, "conf_free(NULL)");
	ok(conf_type_find(NULL, "x") == NULL &&
	    conf_field_find(NULL, "x") == NULL,
	    "find on NULL");
}

/* Many mistakes: listed up to a limit, the rest counted. */
static void
test_many_errors(void)
{
	struct config *c;
	char *json, *p, *cause = NULL;
	size_t i;

	json = p = xmalloc(150 * 16 + 64);
	p += sprintf(p, "{");
	for (i = 0; i < 150; i++)
		p += sprintf(p, "\"k%zu\": 1, ", i);
	sprintf(p, "\"types\": 1}");
	c = conf_parse(json, "/", &cause);
	ok(c == NULL, "150 unknown keys refused");
	ok(cause != NULL && strstr(cause, "k99: unknown key") != NULL,
	    "100th listed");
	ok(cause != NULL && strstr(cause, "k100:") == NULL, "101st not listed");
	ok(cause != NULL &&
	    strstr(cause, "\n(51 more mistakes not shown)") != NULL,
	    "the rest counted");
	free(cause);
	free(json);
}

/* conf_default_path and LONGJOB_CONFIG. */
static void
test_default_path(void)
{
	setenv("LONGJOB_CONFIG", "/srv/lj.json", 1);
	is_str(conf_default_path(), "/srv/lj.json", "LONGJOB_CONFIG");
	setenv("LONGJOB_CONFIG", "", 1);
	is_str(conf_default_path(), SYSCONFDIR "/longjob/longjob.json",
	    "empty LONGJOB_CONFIG");
	unsetenv("LONGJOB_CONFIG");
	is_str(conf_default_path(), SYSCONFDIR "/longjob/longjob.json",
	    "built-in default");
}

/* conf_describe documents every key. */
static void
test_describe(void)
{
	static const char *keys[] = {
		"database", "spool", "worker", "max_running", "max_queued",
		"poll_ms", "heartbeat_s", "stream_max_s", "retry_ms",
		"progress_interval_ms", "log_lines", "max_steps", "retain_s",
		"max_body", "max_spool_bytes", "debug",
		"page_url", "progress_url", "result_url", "allowed_origins",
		"trust_host",
		"types", "argv", "timeout_s", "fields", "steps", "type",
		"required", "min", "max", "max_bytes", "default", "label", "id"
	};
	char *text = NULL, *needle, what[128];
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	conf_describe(f);
	fclose(f);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		needle = xasprintf("\n  %s: ", keys[i]);
		snprintf(what, sizeof what, "describe: %s", keys[i]);
		ok(strstr(text, needle) != NULL, what);
		free(needle);
	}
	ok(strstr(text, "  max_running: integer from 1 to 1024, "
	    "default 2\n") != NULL, "describe: type, bounds and default");
	ok(strstr(text, "  page_url: URL, default \"/job.html\"\n") != NULL,
	    "describe: string default");
	ok(strstr(text, "  types: object, required\n") != NULL,
	    "describe: required");
	ok(strstr(text, "  max_steps: integer from 1 to 1000, default 100\n") != NULL &&
	    strstr(text, "  max_steps: integer from 1 to 1000, default the "
	    "top-level max_steps\n") != NULL,
	    "describe: max_steps, top level and per type");
	free(text);
}

/* Runs every test; the exit status says whether all passed. */
int
main(void)
{
	const char *top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		top = ".";
	datadir = xasprintf("%s/tests/data/conf", top);
	test_data_files();
	test_unreadable();
	test_parse();
	test_many_errors();
	test_default_path();
	test_describe();
	free(datadir);
	return tap_done();
}
