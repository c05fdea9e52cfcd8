/*
 * fuzz: what every libFuzzer target in this directory shares.
 *
 * Each target defines LLVMFuzzerTestOneInput, feeds the input to one parser
 * and checks, where it is cheap, what the parser promises in its header.  A
 * broken promise goes through FUZZ_CHECK, which names the file, the line and
 * the condition and then aborts: libFuzzer (or ASan, for a memory error)
 * reports that as a crash and writes the input to a crash-* file.
 */
#ifndef LONGJOB_FUZZ_H
#define LONGJOB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Declared here because the targets build with -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#endif
