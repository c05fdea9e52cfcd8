/*
 * test_log: the worker's log file (log.c): lines go to the file with the
 * time in front, and past max_bytes the file becomes <path>.1 (replacing
 * the one before) and a new one starts, so it never holds much more than
 * twice the cap.
 */
#include "../../src/log.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

/* The size of path, or -1 if there is none. */
static long long
size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

int
main(void)
{
	char tmpl[] = "/tmp/test_log.XXXXXX", *dir = mkdtemp(tmpl), path[256], old[300];
	char line[512];
	FILE *f;
	int i, saved = dup(2);

	if (dir == NULL) {
		printf("not ok 1 - cannot make a directory\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/worker.log", dir);
	snprintf(old, sizeof old, "%s.1", path);
	log_init("test_log");
	is_int(log_to_file(path, 65536), 0, "log_to_file opens the file as stderr");
	log_info("first line %d", 1);
	f = fopen(path, "r");
	ok(f != NULL && fgets(line, sizeof line, f) != NULL &&
	    strstr(line, " test_log[") != NULL && strstr(line, "first line 1") != NULL &&
	    line[4] == '-' && line[7] == '-' && line[13] == ':',
	    "a line: the time, then the program, then the message");
	if (f != NULL)
		fclose(f);
	ok(size_of(old) < 0, "no rotation below the cap");
	for (i = 0; i < 3000; i++)
		log_info("line %d of a log that passes its cap", i);
	ok(size_of(old) > 0, "past the cap the file was renamed to .1");
	ok(size_of(path) > 0 && size_of(path) <= 65536 + 512,
	    "and a new one started, under the cap");
	ok(size_of(old) <= 65536 + 512, "the old one is only about the cap");
	log_info("after rotating");
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		;
	ok(strstr(line, "after rotating") != NULL, "lines go on in the new file");
	if (f != NULL)
		fclose(f);
	dup2(saved, 2);
	unlink(path);
	unlink(old);
	rmdir(dir);
	return tap_done();
}
