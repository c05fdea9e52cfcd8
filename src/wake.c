/* wake: an inotify watch on the file the store touches after a commit.  See wake.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "wake.h"
#include "xmem.h"

int
wake_open(const char *db_path)
{
	char *file = store_wake_path(db_path);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		log_debug("no wake-up on writes (inotify: %s): reading every tick", strerror(errno));
	else if (inotify_add_watch(fd, file, IN_MODIFY) < 0) {
		log_debug("no wake-up on writes (%s: %s): reading every tick", file, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(file);
	return fd;
}
