/* sse: text/event-stream framing (retry, events) and id parsing. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "sse.h"

int
sse_retry(struct buf *b, int ms)
{
	return buf_addf(b, "retry: %d\n\n", ms);
}

int
sse_event(struct buf *b, int64_t id, const char *kind, const char *json)
{
	if (strpbrk(kind, "\r\n") != NULL || strpbrk(json, "\r\n") != NULL)
		return -1;
	return buf_addf(b, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id,
	    kind, json);
}

int
sse_parse_id(const char *s, int64_t *id)
{
	const char *max = "9223372036854775807";
	size_t n;

	if (s == NULL)
		return -1;
	n = strnlen(s, SSE_MAX_ID_LEN + 1);
	if (n == 0 || n > SSE_MAX_ID_LEN || strspn(s, "0123456789") != n)
		return -1;
	/* Same length as INT64_MAX: digit strings compare like numbers. */
	if (n == SSE_MAX_ID_LEN && strcmp(s, max) > 0)
		return -1;
	*id = 0;
	while (*s != '\0')
		*id = *id * 10 + (*s++ - '0');
	return 0;
}
