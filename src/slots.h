/*
 * slots: a bounded number of places shared by every process of one store,
 * held as fcntl locks on the bytes of a file in the spool.
 *
 * The bound must hold across processes: under CGI and mod_fcgid every
 * waiting request is a process of its own.  A byte locked is a place
 * taken; the kernel gives a process's places back when it exits, however
 * it exits, so a crash never leaks one.  A process does not conflict with
 * its own locks, so it remembers which places it holds itself.
 */
#ifndef LONGJOB_SLOTS_H
#define LONGJOB_SLOTS_H

struct slots;

/* Opens (creating it, owner-only) the file behind count places; NULL (logged) on failure. */
struct slots *slots_open(const char *path, int count);
/* NULL-safe; gives back every place still held. */
void slots_close(struct slots *s);
/*
 * Takes a free place among [first, first + n): its index, -1 if all are
 * held, -2 if this filesystem has no working locks (logged; no bound).
 */
int slots_take(struct slots *s, int first, int n);
/* Gives a place back (-1 is ignored). */
void slots_give(struct slots *s, int slot);

#endif
