/* share: a job's files through a store several hosts share.  See share.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "log.h"
#include "share.h"
#include "store.h"
#include "xmem.h"

int
share_uploads(struct store *st, const char *id, const char *dir)
{
	struct dirent *e;
	struct stat sb;
	DIR *d;
	int fd, rc = 0;

	if (!store_shared(st) || (d = opendir(dir)) == NULL)
		return store_shared(st) && errno != ENOENT ? -1 : 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		/* The form's own temporary files start with a dot. */
		if (e->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
			rc = -1;
		else
			rc = store_file_put(st, id, e->d_name, fd);
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	if (rc != 0)
		log_error("job %s: its uploads could not be copied into the store", id);
	return rc;
}

/* Writes the store's copy of name into dir, through a temporary file renamed into place. */
static int
share_write(struct store *st, const char *id, const char *dir, const char *name)
{
	char *tmp = xasprintf("%s/.%s.fetch-%ld", dir, name, (long)getpid());
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600), rc;

	if (fd < 0) {
		log_error("job %s: %s: %s", id, tmp, strerror(errno));
		rc = -1;
	} else {
		rc = store_file_get(st, id, name, fd);
		if (close(fd) != 0 && rc == 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0) {
			log_error("job %s: %s: %s", id, path, strerror(errno));
			rc = -1;
		}
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

/* What share_fetch_all is fetching into. */
struct share_fetching {
	struct store *st;
	const char *id, *dir;
	int rc;
};

static void
share_fetch_one(void *ctx, const char *name)
{
	struct share_fetching *f = ctx;
	char *path = xasprintf("%s/%s", f->dir, name);
	struct stat sb;

	/* Names come from the store, which took them from a directory: no slash, no dot first. */
	if (strchr(name, '/') == NULL && name[0] != '.' && lstat(path, &sb) != 0 && f->rc == 0)
		f->rc = share_write(f->st, f->id, f->dir, name) < 0 ? -1 : 0;
	free(path);
}

int
share_fetch_all(struct store *st, const char *id, const char *dir)
{
	struct share_fetching f = { st, id, dir, 0 };

	if (!store_shared(st))
		return 0;
	if (store_file_names(st, id, share_fetch_one, &f) != 0)
		return -1;
	return f.rc;
}

int
share_artifact(struct store *st, const char *spool, const char *id, const char *name,
    char **cause)
{
	char *rel;
	struct stat sb;
	int fd, rc;

	if (!store_shared(st))
		return 0;
	rel = xasprintf("%s/%s", id, name);
	fd = beneath_file(spool, rel, &sb, cause);
	free(rel);
	if (fd < 0)
		return -1;
	rc = store_file_put(st, id, name, fd);
	close(fd);
	if (rc != 0)
		*cause = xasprintf("its file %s could not be copied into the store", name);
	return rc;
}

int
share_fetch(struct store *st, const char *spool, const char *id, const char *name)
{
	char *dir, *path;
	struct stat sb;
	int rc;

	if (!store_shared(st))
		return 1;
	dir = xasprintf("%s/%s", spool, id);
	path = xasprintf("%s/%s", dir, name);
	if (lstat(path, &sb) == 0)
		rc = 0;
	else if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = -1;
	else
		rc = share_write(st, id, dir, name);
	free(dir);
	free(path);
	return rc;
}
