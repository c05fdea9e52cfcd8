/* jobid: 128-bit random job ids and their strict validation. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "jobid.h"
#include "log.h"

int
jobid_new(char out[JOBID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[JOBID_LEN / 2];
	size_t got = 0;
	ssize_t n;
	int i;

	while (got < sizeof raw) {
		n = getrandom(raw + got, sizeof raw - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	for (i = 0; i < JOBID_LEN / 2; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[JOBID_LEN] = '\0';
	return 0;
}

int
jobid_valid_n(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || n != JOBID_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

int
jobid_valid(const char *s)
{
	return s != NULL && jobid_valid_n(s, strnlen(s, JOBID_LEN + 1));
}
