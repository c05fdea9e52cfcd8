/*
 * jobid: job ids are 128 random bits from getrandom(2), written as 32
 * lowercase hex digits.  Knowing the id is what lets someone watch, fetch or
 * cancel a job, so no other spelling (upper case, dashes, shorter, longer)
 * is ever accepted: jobid_valid is checked before an id touches SQL, a path
 * or a header.
 */
#ifndef LONGJOB_JOBID_H
#define LONGJOB_JOBID_H

#include <stddef.h>

#define JOBID_LEN 32

/* Fills out (JOBID_LEN + 1 bytes) with a fresh id; 0, or -1 if no randomness. */
int jobid_new(char out[JOBID_LEN + 1]);
/* 1 if s is exactly 32 lowercase hex digits, else 0. */
int jobid_valid(const char *s);
/* Same for the first n bytes of s (for ids inside a path). */
int jobid_valid_n(const char *s, size_t n);

#endif
