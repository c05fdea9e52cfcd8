/*
 * beneath: opening a file a handler made, inside its job's directory and
 * nowhere else.
 *
 * A handler runs as the same user as the programs, in a directory of the
 * spool it can rename: it can replace that directory (or anything under it)
 * with a symlink, or hard-link a file from elsewhere (the database, a file
 * of another job) into it, and then name it in a `file` line.  A path
 * opened the plain way would follow either, and result would serve the
 * other file.  So a handler's file is opened relative to a directory the
 * config names (the spool) with no symlink in any component of what
 * follows, and only a regular file with one link is taken.
 *
 * On Linux 5.6 and later this is one openat2 call (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS); elsewhere, or where a sandbox refuses openat2, each
 * component is opened in turn from the one above with O_NOFOLLOW, which
 * refuses the same paths.
 */
#ifndef LONGJOB_BENEATH_H
#define LONGJOB_BENEATH_H

#include <sys/stat.h>

/*
 * Finds rel beneath the directory dirfd: rel is relative, has no empty,
 * "." or ".." component, and no component of it may be a symlink.  An
 * O_PATH descriptor (close-on-exec; for fstat, not for reading: closing it
 * drops no lock the process holds on that file), or -1 with errno: ELOOP
 * for a symlink, EINVAL for a path that is not such a rel, or what open
 * says.
 */
int beneath_open(int dirfd, const char *rel);
/*
 * Opens root/rel for reading as a handler's file: beneath_open from root,
 * then it must be a regular file with no other hard link, and only then is
 * it opened to be read (through /proc/self/fd).  The descriptor
 * with *sb filled, or -1 with *cause (allocated, for a log line) and errno:
 * ENOENT when the file is simply not there, EPERM when it is there but
 * refused (a symlink on the way, another link, not a regular file).
 */
int beneath_file(const char *root, const char *rel, struct stat *sb, char **cause);

#endif
