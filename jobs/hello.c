/*
 * hello: the job handler to copy when you write your own in C.
 *
 * It greets the person in the field "name" in five languages, one line of
 * greeting.txt every seconds / 5 seconds, reporting its steps and progress
 * as it goes, then names the file and prints a result.  The kit (handler.h)
 * reads the job and speaks the protocol (README.md, "Writing a job handler").
 *
 * Fields: name (default "world"), seconds 0..60 (default 3).
 * Build: cc -o hello hello.c handler.c $(pkg-config --cflags --libs json-c)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "handler.h"

#define FILE_NAME "greeting.txt"

static const char *const greetings[] = {
	"Hello", "Bonjour", "Hallo", "Hola", "Ciao",
};
#define NGREETINGS (int)(sizeof greetings / sizeof greetings[0])

/* Sleeps for ms milliseconds. */
static void
nap(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
}

/* Writes the greetings to FILE_NAME, then names it and prints the result. */
int
main(void)
{
	struct json_object *res;
	const char *name;
	int seconds, i;
	char *url;
	FILE *fp;

	handler_init();
	name = handler_field_str("name", "world");
	seconds = handler_field_int("seconds", 3, 0, 60);
	handler_log("%s asked for a greeting", name);

	handler_step("compose", "Composing the greetings");
	if ((fp = fopen(FILE_NAME, "w")) == NULL)
		handler_fail("cannot create %s: %s", FILE_NAME, strerror(errno));
	for (i = 0; i < NGREETINGS; i++) {
		fprintf(fp, "%s, %s!\n", greetings[i], name);
		handler_progress(90.0 * (i + 1) / NGREETINGS, "%s (%d of %d)",
		    greetings[i], i + 1, NGREETINGS);
		nap(seconds * 1000L / NGREETINGS);
	}
	if (fclose(fp) != 0)
		handler_fail("cannot write %s: %s", FILE_NAME, strerror(errno));

	handler_step("publish", "Publishing the file");
	handler_file(FILE_NAME, NULL);	/* the type from the name: text/plain */
	handler_progress(100, "done");
	url = handler_file_url(FILE_NAME);
	res = json_object_new_object();
	/* res takes over each new value's reference. */
	json_object_object_add(res, "greeted", json_object_new_string(name));
	json_object_object_add(res, "lines", json_object_new_int(NGREETINGS));
	json_object_object_add(res, "file", json_object_new_string(url));
	handler_result(res);
	json_object_put(res);
	free(url);
	return handler_end();
}
