/* params: validates submitted fields against a job type; builds the handler's input. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "params.h"
#include "text.h"
#include "xmem.h"

struct params {
	const struct config_type *type;
	struct json_object *fields;
	struct json_object *files;
	struct json_object *seen;	/* the declared fields sent so far */
};

struct params *
params_new(const struct config_type *t)
{
	struct params *p = xcalloc(1, sizeof *p);

	p->type = t;
	p->fields = json_object_new_object();
	p->files = json_object_new_object();
	p->seen = json_object_new_object();
	return p;
}

void
params_free(struct params *p)
{
	if (p == NULL)
		return;
	json_object_put(p->fields);
	json_object_put(p->files);
	json_object_put(p->seen);
	free(p);
}

/*
 * Parses a whole decimal integer written the one plain way: an optional '-',
 * then digits without leading zeros ("0" itself, but not "-0", "007", "+5"
 * or " 5"); -1 if it is not one.
 */
static int
params_parse_int(const char *s, long long *v)
{
	const char *d = *s == '-' ? s + 1 : s;
	char *end;

	if (*d < '0' || *d > '9' || (d[0] == '0' && (d[1] != '\0' || d != s)) ||
	    strlen(s) > 20)
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Checks and stores one text value for a declared field. */
static int
params_store(struct params *p, const struct config_field *f, const char *value,
    size_t len, char **cause)
{
	long long v, chars;

	if (f->kind == FIELD_FILE) {
		*cause = xasprintf("field '%s' must be a file upload", f->name);
		return -1;
	}
	if (memchr(value, '\0', len) != NULL) {
		*cause = xasprintf("field '%s' contains a NUL byte", f->name);
		return -1;
	}
	if (f->kind == FIELD_STRING) {
		/* A handler reads its input as JSON text, which is UTF-8. */
		if (!text_valid(value, len)) {
			*cause = xasprintf("field '%s' is not valid UTF-8 text", f->name);
			return -1;
		}
		/* Characters, not bytes: the config's bounds count them so. */
		chars = (long long)text_chars(value, len);
		if (chars < f->min || chars > f->max) {
			*cause = xasprintf("field '%s' must be %lld to %lld characters long",
			    f->name, f->min, f->max);
			return -1;
		}
		json_object_object_add(p->fields, f->name,
		    json_object_new_string_len(value, (int)len));
		return 0;
	}
	if (params_parse_int(value, &v) != 0 || v < f->min || v > f->max) {
		*cause = xasprintf("field '%s' must be a whole number from %lld to %lld",
		    f->name, f->min, f->max);
		return -1;
	}
	json_object_object_add(p->fields, f->name, json_object_new_int64(v));
	return 0;
}

/* Refuses a declared field sent twice: which value was meant is anyone's guess. */
static int
params_once(struct params *p, const struct config_field *f, char **cause)
{
	if (json_object_object_get_ex(p->seen, f->name, NULL)) {
		*cause = xasprintf("field '%s' was sent more than once", f->name);
		return -1;
	}
	json_object_object_add(p->seen, f->name, NULL);
	return 0;
}

int
params_text(struct params *p, const char *name, const char *value, size_t len,
    char **cause)
{
	const struct config_field *f = conf_field_find(p->type, name);

	if (f == NULL)
		return 0;
	if (params_once(p, f, cause) != 0)
		return -1;
	/* An empty optional number means "use the default", as a browser sends it. */
	if (len == 0 && !f->required && f->kind != FIELD_STRING)
		return 0;
	return params_store(p, f, value, len, cause);
}

int
params_file(struct params *p, const char *name, const char *path,
    const char *filename, const char *ctype, size_t size, char **cause)
{
	const struct config_field *f = conf_field_find(p->type, name);
	struct json_object *o;

	if (f == NULL)
		return 0;
	if (params_once(p, f, cause) != 0)
		return -1;
	if (f->kind != FIELD_FILE) {
		*cause = xasprintf("field '%s' must be text, not a file", name);
		return -1;
	}
	if ((long long)size > f->max_bytes) {
		*cause = xasprintf("the upload '%s' is larger than %lld bytes", name,
		    f->max_bytes);
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "filename", json_object_new_string(filename));
	json_object_object_add(o, "content_type", json_object_new_string(ctype));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(p->files, name, o);
	return 0;
}

/* Applies the default of one absent field, or reports it missing. */
static int
params_default(struct params *p, const struct config_field *f, char **cause)
{
	const char *label = f->label != NULL ? f->label : f->name;

	if (f->required) {
		*cause = xasprintf("field '%s' (%s) is required", f->name, label);
		return -1;
	}
	if (f->def == NULL)
		return 0;
	return params_store(p, f, f->def, strlen(f->def), cause);
}

char *
params_finish(struct params *p, char **cause)
{
	struct json_object *o, *unused;
	char *text;
	size_t i;

	for (i = 0; i < p->type->nfields; i++) {
		const struct config_field *f = &p->type->fields[i];
		struct json_object *where = f->kind == FIELD_FILE ? p->files : p->fields;

		if (!json_object_object_get_ex(where, f->name, &unused) &&
		    params_default(p, f, cause) != 0)
			return NULL;
	}
	o = json_object_new_object();
	/* The object takes our references; take new ones so params_free stays valid. */
	json_object_object_add(o, "fields", json_object_get(p->fields));
	json_object_object_add(o, "files", json_object_get(p->files));
	text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}
