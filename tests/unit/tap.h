/*
 * tap: the smallest test helper that prints TAP.
 *
 * A test program calls ok()/is_str()/is_int() for each assertion and returns
 * tap_done(), which is 0 only if every assertion passed.  Failed assertions
 * print what was expected and what was got, with the line number.
 */
#ifndef LONGJOB_TAP_H
#define LONGJOB_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int __attribute__((unused))
tap_ok(int cond, const char *what, int line)
{
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%s %d - %s (line %d)\n", cond ? "ok" : "not ok", tap_n, what, line);
	return cond;
}

static int __attribute__((unused))
tap_is_str(const char *got, const char *want, const char *what, int line)
{
	int cond = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);

	if (!tap_ok(cond, what, line))
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)",
		    want ? want : "(null)");
	return cond;
}

static int __attribute__((unused))
tap_is_int(long long got, long long want, const char *what, int line)
{
	int cond = got == want;

	if (!tap_ok(cond, what, line))
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
	return cond;
}

static int __attribute__((unused))
tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d assertions failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#define ok(cond, what) tap_ok((cond) ? 1 : 0, (what), __LINE__)
#define is_str(got, want, what) tap_is_str((got), (want), (what), __LINE__)
#define is_int(got, want, what) tap_is_int((long long)(got), (long long)(want), (what), __LINE__)

#endif
