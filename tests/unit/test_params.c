/* Unit tests for params.c: submitted fields checked against a job type. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "params.h"
#include "tap.h"

static const char *cfg_json =
    "{\"types\": {\"t\": {\"argv\": [\"/bin/true\"], \"fields\": {"
    " \"n\": {\"type\": \"int\", \"min\": 1, \"max\": 10, \"default\": 5},"
    " \"name\": {\"type\": \"string\", \"min\": 1, \"max\": 3},"
    " \"up\": {\"type\": \"file\", \"required\": true, \"max_bytes\": 100}}}}}";

/* Runs one submission; returns the JSON or NULL, with the message in *cause. */
static char *
submit(const struct config_type *t, const char *n, const char *name, size_t upsize,
    char **cause)
{
	struct params *p = params_new(t);
	char *json = NULL;

	*cause = NULL;
	if (n != NULL && params_text(p, "n", n, strlen(n), cause) != 0)
		goto out;
	if (name != NULL && params_text(p, "name", name, strlen(name), cause) != 0)
		goto out;
	if (params_text(p, "button", "Go", 2, cause) != 0)
		goto out;
	if (upsize > 0 && params_file(p, "up", "/spool/x/upload-1", "a.csv",
	    "text/csv", upsize, cause) != 0)
		goto out;
	json = params_finish(p, cause);
out:
	params_free(p);
	return json;
}

/* Expects a refusal whose message contains want. */
static void
refused(const struct config_type *t, const char *n, const char *name, size_t up,
    const char *want)
{
	char *cause, *json = submit(t, n, name, up, &cause);

	ok(json == NULL && cause != NULL && strstr(cause, want) != NULL, want);
	if (cause != NULL && strstr(cause, want) == NULL)
		printf("#   got: %s\n", cause);
	free(json);
	free(cause);
}

/* A declared field sent twice is refused, text, empty number or file alike. */
static void
test_twice(const struct config_type *t)
{
	struct params *p;
	char *cause = NULL;
	int rc;

	p = params_new(t);
	rc = params_text(p, "name", "ab", 2, &cause) == 0 &&
	    params_text(p, "name", "cd", 2, &cause) != 0;
	ok(rc && cause != NULL && strstr(cause, "field 'name' was sent more than once"),
	    "a text field sent twice is refused");
	free(cause);
	cause = NULL;
	params_free(p);
	p = params_new(t);
	rc = params_text(p, "n", "", 0, &cause) == 0 &&
	    params_text(p, "n", "7", 1, &cause) != 0;
	ok(rc && cause != NULL, "an empty number then another is refused");
	free(cause);
	cause = NULL;
	params_free(p);
	p = params_new(t);
	rc = params_file(p, "up", "/spool/x/upload-1", "a.csv", "text/csv", 5, &cause) == 0 &&
	    params_file(p, "up", "/spool/x/upload-2", "b.csv", "text/csv", 5, &cause) != 0;
	ok(rc && cause != NULL && strstr(cause, "field 'up' was sent more than once"),
	    "a second upload for a one-file field is refused");
	free(cause);
	params_free(p);
	p = params_new(t);
	rc = params_text(p, "button", "a", 1, &cause) == 0 &&
	    params_text(p, "button", "b", 1, &cause) == 0;
	ok(rc, "an undeclared field sent twice is ignored, as undeclared fields are");
	params_free(p);
}

int
main(void)
{
	struct config *c;
	const struct config_type *t;
	char *cause = NULL, *json;

	c = conf_parse(cfg_json, NULL, &cause);
	ok(c != NULL, "test config parses");
	if (c == NULL) {
		printf("# %s\n", cause);
		return tap_done();
	}
	t = conf_type_find(c, "t");
	json = submit(t, "7", "ab", 10, &cause);
	is_str(json, "{\"fields\":{\"n\":7,\"name\":\"ab\"},\"files\":{\"up\":"
	    "{\"path\":\"\\/spool\\/x\\/upload-1\",\"filename\":\"a.csv\","
	    "\"content_type\":\"text\\/csv\",\"size\":10}}}",
	    "int becomes a number, undeclared fields are dropped, files described");
	free(json);
	json = submit(t, NULL, "é", 10, &cause);
	ok(json != NULL && strstr(json, "\"n\":5") != NULL, "absent int gets its default");
	ok(json != NULL && strstr(json, "\"name\":\"é\"") != NULL,
	    "a 2-byte character counts as one character");
	free(json);
	json = submit(t, NULL, "\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9", 10, &cause);
	ok(json != NULL, "3 characters of 3, 4 and 2 bytes are 3 characters");
	free(json);
	json = submit(t, "", NULL, 10, &cause);
	ok(json != NULL && strstr(json, "\"n\":5") != NULL,
	    "an empty optional number (a browser's empty input) gets the default");
	free(json);
	refused(t, "11", NULL, 10, "field 'n' must be a whole number from 1 to 10");
	refused(t, "0x5", NULL, 10, "field 'n' must be a whole number");
	refused(t, "5 ", NULL, 10, "field 'n' must be a whole number");
	refused(t, "99999999999999999999999", NULL, 10, "field 'n' must be a whole number");
	refused(t, "5", "abcd", 10, "field 'name' must be 1 to 3 characters long");
	refused(t, "5", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10,
	    "field 'name' must be 1 to 3 characters long");
	refused(t, "5", "", 10, "field 'name' must be 1 to 3 characters long");
	refused(t, "5", "a\xff", 10, "field 'name' is not valid UTF-8 text");
	refused(t, "5", "\xc0\xaf", 10, "field 'name' is not valid UTF-8 text");
	refused(t, "5", "\xed\xa0\x80", 10, "field 'name' is not valid UTF-8 text");
	refused(t, "5", "a\xc3", 10, "field 'name' is not valid UTF-8 text");
	refused(t, "5", NULL, 0, "field 'up' (up) is required");
	refused(t, "5", NULL, 101, "the upload 'up' is larger than 100 bytes");
	/* Integers written the one plain way. */
	refused(t, "+5", NULL, 10, "field 'n' must be a whole number");
	refused(t, "05", NULL, 10, "field 'n' must be a whole number");
	refused(t, "-0", NULL, 10, "field 'n' must be a whole number");
	refused(t, " 5", NULL, 10, "field 'n' must be a whole number");
	refused(t, "-", NULL, 10, "field 'n' must be a whole number");
	json = submit(t, "10", NULL, 10, &cause);
	ok(json != NULL && strstr(json, "\"n\":10") != NULL, "10 is a whole number");
	free(json);
	test_twice(t);
	conf_free(c);
	return tap_done();
}
