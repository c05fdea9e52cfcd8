/*
 * formcheck: what the two form fuzz targets share.
 *
 * form.c promises that a body gives the same fields, or the same error,
 * however it is split into form_feed calls.  So each input is parsed twice,
 * once whole and once in chunks whose sizes come from the input, and the
 * two outcomes (every field, the error and its message) must be byte for
 * byte the same.  Each parse is also checked against its limits and the
 * files it wrote against their reported sizes, then aborted so nothing is
 * left in the upload directory.  A broken invariant calls abort(), which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef LONGJOB_FORMCHECK_H
#define LONGJOB_FORMCHECK_H

#include <stddef.h>
#include <stdint.h>

struct form_limits;

/*
 * Parses body (n bytes) as content type ctype with the given limits, whole
 * and in chunks, checks both parses and compares them.  upload_dir may be
 * NULL (no uploads accepted).  Uploads are decided as submit decides them
 * (form_set_uploads): names starting with 's' skipped, with 'r' refused,
 * at most 600 bytes stored in all.  Returns only if every check held.
 */
void formcheck_run(const char *ctype, const uint8_t *body, size_t n,
    const struct form_limits *limits, const char *upload_dir);

/*
 * The upload directory of this process: made on first use under $TMPDIR
 * (else /tmp), removed at exit.  It is empty between two inputs.
 */
const char *formcheck_dir(void);

#endif
