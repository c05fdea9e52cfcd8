/* spool: the quota on what the spool holds.  See spool.h. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "spool.h"
#include "xmem.h"

/*
 * DESIGN: why a running total, and how it stays right.
 *
 * Counting the spool is one stat per file.  Measured on 2 shared cores:
 * 250 ms for 10,000 job directories of two files each, which a host that
 * keeps a week of jobs reaches; far too much to spend on every submit.  So
 * the total is kept in a small record in the spool, SPOOL_RECORD ("<bytes>
 * <time of the last scan>", a fixed-width line rewritten in place, so that
 * it needs no new disk block even on a full disk), which every submit
 * process reads and updates under flock:
 *
 * - an upload takes its bytes before they are written (spool_take), so
 *   uploads that stream at the same time, from as many processes as the
 *   front end runs, each see the others' and together never pass the quota;
 * - a refused upload gives its bytes back (spool_give) as its files go;
 * - what the record cannot see (what handlers write, what gc and `longjob
 *   gc` remove) is found by a scan of the spool, by the first request that
 *   finds the count older than SPOOL_RESCAN_S; and before anything is
 *   refused the count is scanned again if it is older than SPOOL_RECHECK_S,
 *   so a refusal never rests on space that gc has since freed.
 *
 * So a submit costs a flock, a read and a write of 42 bytes per 16 KB
 * written, and the scan (bounded at SPOOL_MAX_ENTRIES) happens at most once
 * per SPOOL_RESCAN_S on the whole host: about 5 % of a core with 10,000
 * jobs kept, nothing when nobody submits.  The quota can be passed by what
 * handlers write in those few seconds, never by uploads.  The count is of
 * blocks on disk (st_blocks), what fills a disk, for files and directories
 * alike, without following symlinks or crossing into another file system.
 */

#define SPOOL_RECORD ".usage"
#define SPOOL_RECORD_FMT "%020lld %020lld\n"
#define SPOOL_RECORD_LEN 42		/* bytes of SPOOL_RECORD_FMT */
#define SPOOL_RESCAN_S 5
#define SPOOL_RECHECK_S 1
#define SPOOL_MAX_ENTRIES 200000	/* a scan stops after this many files */
#define SPOOL_SCAN_FDS 16		/* directories nftw holds open */

struct spool {
	char *dir;
	char *record;		/* its path, for messages */
	long long quota;
	int fd;			/* the record */
	long long bytes;	/* the count, while locked */
	long long scanned;	/* when it was last scanned (epoch s) */
};

/* nftw has no argument for its callback: the scan's sums live here. */
static long long spool_scan_bytes;
static long long spool_scan_entries;

/* Opens the running total of the spool; see spool.h. */
struct spool *
spool_open(const struct config *cfg)
{
	struct spool *s;

	if (cfg->max_spool_bytes == 0)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(cfg->spool);
	s->record = xasprintf("%s/%s", cfg->spool, SPOOL_RECORD);
	s->quota = cfg->max_spool_bytes;
	s->fd = open(s->record, O_RDWR|O_CREAT|O_CLOEXEC|O_NOFOLLOW, 0600);
	if (s->fd == -1) {
		log_error("%s: %s (the spool's quota is not enforced)", s->record,
		    strerror(errno));
		spool_close(s);
		return NULL;
	}
	return s;
}

/* Closes the record (which drops a lock still held). */
void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	free(s->record);
	free(s->dir);
	free(s);
}

/* nftw callback: adds one entry's blocks; stops the walk at SPOOL_MAX_ENTRIES. */
static int
spool_scan_entry(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (++spool_scan_entries > SPOOL_MAX_ENTRIES)
		return 1;
	if (type != FTW_NS)
		spool_scan_bytes += (long long)sb->st_blocks * 512;
	return 0;
}

/* Counts what the spool holds, now; the count stays as it was if it cannot be read. */
static void
spool_scan(struct spool *s, long long now)
{
	int rc;

	spool_scan_bytes = spool_scan_entries = 0;
	rc = nftw(s->dir, spool_scan_entry, SPOOL_SCAN_FDS, FTW_PHYS|FTW_MOUNT);
	if (rc == -1)
		log_error("cannot count the spool %s: %s", s->dir, strerror(errno));
	else {
		if (rc == 1) {
			log_warn("the spool %s has more than %d files: only those "
			    "are counted against max_spool_bytes", s->dir,
			    SPOOL_MAX_ENTRIES);
		}
		s->bytes = spool_scan_bytes;
	}
	if (s->bytes < 0)
		s->bytes = 0;
	s->scanned = now;
}

/* Locks the record and reads it; an unreadable record counts as never scanned. */
static int
spool_lock(struct spool *s)
{
	char line[SPOOL_RECORD_LEN + 1];
	ssize_t n;

	while (flock(s->fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			log_error("flock %s: %s", s->record, strerror(errno));
			return -1;
		}
	}
	n = pread(s->fd, line, SPOOL_RECORD_LEN, 0);
	line[n > 0 ? n : 0] = '\0';
	if (n != SPOOL_RECORD_LEN ||
	    sscanf(line, "%lld %lld", &s->bytes, &s->scanned) != 2 ||
	    s->bytes < 0)
		s->bytes = s->scanned = -1;
	return 0;
}

/* Writes the count back and unlocks the record. */
static void
spool_unlock(struct spool *s)
{
	char line[SPOOL_RECORD_LEN + 1];

	snprintf(line, sizeof line, SPOOL_RECORD_FMT, s->bytes, s->scanned);
	if (pwrite(s->fd, line, SPOOL_RECORD_LEN, 0) != SPOOL_RECORD_LEN)
		log_error("cannot write %s: %s", s->record, strerror(errno));
	flock(s->fd, LOCK_UN);
}

/*
 * Whether n more bytes fit under the quota (locked): the count is scanned
 * again first when it is stale, or when it would refuse and is not fresh.
 */
static int
spool_fits(struct spool *s, long long n)
{
	long long now = (long long)time(NULL), age = now - s->scanned;

	if (s->scanned < 0 || age < 0 || age >= SPOOL_RESCAN_S ||
	    (s->bytes + n > s->quota && age >= SPOOL_RECHECK_S))
		spool_scan(s, now);
	if (s->bytes + n <= s->quota)
		return 1;
	log_warn("the spool %s holds %lld bytes: %lld more would pass "
	    "max_spool_bytes (%lld); refused", s->dir, s->bytes, n, s->quota);
	return 0;
}

/* 1 if the spool holds its quota or more; see spool.h. */
int
spool_full(struct spool *s)
{
	int fits;

	if (spool_lock(s) == -1)
		return 0;
	fits = spool_fits(s, 1);
	spool_unlock(s);
	return !fits;
}

/* Takes n bytes of the quota; see spool.h. */
int
spool_take(struct spool *s, size_t n)
{
	int fits;

	if (spool_lock(s) == -1)
		return 0;
	if ((fits = spool_fits(s, (long long)n)))
		s->bytes += (long long)n;
	spool_unlock(s);
	return !fits;
}

/* Gives back n bytes; see spool.h. */
void
spool_give(struct spool *s, size_t n)
{
	if (n == 0 || spool_lock(s) == -1)
		return;
	/* A scan since they were taken may have counted less: never below 0. */
	s->bytes = s->bytes > (long long)n ? s->bytes - (long long)n : 0;
	spool_unlock(s);
}
