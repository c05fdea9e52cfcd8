/*
 * fuzz_proto: proto_parse, one line of handler output (proto.c).
 *
 * The input is the line, NULs and stray newlines included (the reader never
 * passes a '\n', but proto_parse takes any n bytes).  The checks are
 * proto.h's promises: every text is valid UTF-8 with no control character
 * but tab, a progress is a finite 0..100, ids and artifact names keep their
 * rules, a result is an object, and what was accepted reads back the same
 * when written out again as a protocol line.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "proto.h"
#include "xmem.h"

#include "fuzz.h"
#include "../tests/unit/textcheck.h"

/* 1 if s is a step id: 1 to PROTO_MAX_ID of [A-Za-z0-9_-]. */
static int
fuzz_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= PROTO_MAX_ID && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
	    == n;
}

/* Parses the line written back from an accepted message; checks it matches. */
static void
fuzz_again(const struct proto_msg *msg)
{
	struct proto_msg again;
	char *line;

	switch (msg->kind) {
	case PROTO_PROGRESS:
		line = xasprintf("progress %.17g", msg->percent);
		break;
	case PROTO_STEP:
		line = xasprintf("step %s", msg->id);
		break;
	case PROTO_RESULT:
		line = xasprintf("result %s", json_object_to_json_string_ext(
		    msg->json, JSON_C_TO_STRING_PLAIN));
		break;
	case PROTO_FILE:
		line = xasprintf("file %s", msg->id);
		break;
	default:
		return;
	}
	proto_parse(line, strlen(line), &again);
	FUZZ_CHECK(again.kind == msg->kind);
	if (msg->kind == PROTO_PROGRESS)
		FUZZ_CHECK(again.percent == msg->percent);
	if (msg->id != NULL)
		FUZZ_CHECK(strcmp(again.id, msg->id) == 0);
	if (msg->kind == PROTO_RESULT)
		FUZZ_CHECK(json_object_equal(again.json, msg->json));
	proto_msg_clear(&again);
	free(line);
}

/* Checks a parsed message against proto.h. */
static void
fuzz_check(const struct proto_msg *msg, size_t n)
{
	FUZZ_CHECK(msg->text != NULL && textcheck_safe(msg->text));
	FUZZ_CHECK(msg->kind == PROTO_RESULT || msg->json == NULL);
	switch (msg->kind) {
	case PROTO_LOG:
		FUZZ_CHECK(msg->id == NULL && strlen(msg->text) <= n);
		break;
	case PROTO_PROGRESS:
		FUZZ_CHECK(isfinite(msg->percent));
		FUZZ_CHECK(msg->percent >= 0 && msg->percent <= 100);
		FUZZ_CHECK(strlen(msg->text) <= PROTO_MAX_MESSAGE);
		break;
	case PROTO_STEP:
		FUZZ_CHECK(msg->id != NULL && fuzz_id_ok(msg->id));
		FUZZ_CHECK(strlen(msg->text) <= PROTO_MAX_MESSAGE);
		break;
	case PROTO_RESULT:
		FUZZ_CHECK(json_object_is_type(msg->json, json_type_object));
		break;
	case PROTO_FILE:
		FUZZ_CHECK(msg->id != NULL && proto_name_valid(msg->id));
		FUZZ_CHECK(*msg->text != '\0');
		break;
	case PROTO_INVALID:
		FUZZ_CHECK(msg->id == NULL && *msg->text != '\0');
		break;
	default:
		FUZZ_CHECK(!"unknown kind");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg msg;
	char *s;

	proto_parse((const char *)data, size, &msg);
	fuzz_check(&msg, size);
	fuzz_again(&msg);
	proto_msg_clear(&msg);
	FUZZ_CHECK(msg.storage == NULL && msg.json == NULL);

	/* The name rule and the type guess, on the input as a C string. */
	s = xstrndup((const char *)data, size);
	FUZZ_CHECK(proto_guess_type(s) != NULL);
	if (proto_name_valid(s))
		FUZZ_CHECK(strlen(s) <= PROTO_MAX_ID && s[0] != '.' &&
		    strchr(s, '/') == NULL);
	free(s);
	return 0;
}
