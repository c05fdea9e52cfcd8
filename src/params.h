/*
 * params: checks the fields of a submission against its job type and builds
 * the JSON object the handler reads on stdin:
 *
 *     {"fields": {"seconds": 60, "name": "x"},
 *      "files": {"csv": {"path": "/spool/<id>/upload-1", "filename": "a.csv",
 *                        "content_type": "text/csv", "size": 1234}}}
 *
 * Int fields become JSON numbers, everything else strings.  Fields the type
 * does not declare are ignored (forms carry buttons and such); declared ones
 * are validated and defaulted.  Messages name the field and say what is
 * wrong; the caller frees them.
 */
#ifndef LONGJOB_PARAMS_H
#define LONGJOB_PARAMS_H

#include <stddef.h>

struct config_type;
struct params;

struct params *params_new(const struct config_type *t);
/* A text value for a field; -1 with *cause if it does not fit the field. */
int params_text(struct params *p, const char *name, const char *value,
    size_t len, char **cause);
/* An uploaded file for a field; -1 with *cause if the field is not a file field. */
int params_file(struct params *p, const char *name, const char *path,
    const char *filename, const char *ctype, size_t size, char **cause);
/* Applies defaults, checks required fields; JSON text (caller frees) or NULL with *cause. */
char *params_finish(struct params *p, char **cause);
void params_free(struct params *p);

#endif
