/* slots: places shared across processes, held as byte locks.  See slots.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "slots.h"
#include "xmem.h"

struct slots {
	int fd;
	int count;
	unsigned char *mine;	/* 1 for each place this process holds */
};

struct slots *
slots_open(const char *path, int count)
{
	struct slots *s;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->fd = fd;
	s->count = count;
	s->mine = xcalloc((size_t)count, 1);
	return s;
}

void
slots_close(struct slots *s)
{
	if (s == NULL)
		return;
	close(s->fd);		/* drops every lock this process holds on it */
	free(s->mine);
	free(s);
}

/* Locks (F_WRLCK) or unlocks (F_UNLCK) one byte without waiting; 0 if done. */
static int
slots_lock(struct slots *s, int slot, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = slot;
	fl.l_len = 1;
	return fcntl(s->fd, F_SETLK, &fl);
}

int
slots_take(struct slots *s, int first, int n)
{
	int i;

	for (i = first; i < first + n && i < s->count; i++) {
		if (s->mine[i])
			continue;
		if (slots_lock(s, i, F_WRLCK) == 0) {
			s->mine[i] = 1;
			return i;
		}
		if (errno != EACCES && errno != EAGAIN) {
			/* Locks that do not work (an odd filesystem): no bound, say so once. */
			log_warn("fcntl lock: %s; waiting requests are not bounded", strerror(errno));
			return -2;
		}
	}
	return -1;
}

void
slots_give(struct slots *s, int slot)
{
	if (s == NULL || slot < 0 || slot >= s->count || !s->mine[slot])
		return;
	s->mine[slot] = 0;
	slots_lock(s, slot, F_UNLCK);
}
