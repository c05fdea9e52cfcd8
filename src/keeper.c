/*
 * longjob-keeper: runs one job's handler and keeps what it reports where
 * any worker can find it, so that a worker killed with -9 loses no job.
 * The contract is keep.h's.
 *
 *   longjob-keeper [-w WORKER -c CONFIG -s SPOOL [-e NAME=VALUE]...]
 *                  RUNDIR ID HANDLER [ARG...]
 *
 * With -w, -c and -s, it starts `WORKER --config CONFIG` (environment: the
 * -e variables) when no worker holds SPOOL's lease (revive.h), so that a
 * worker killed with -9 is replaced even on a host nobody asks anything.
 * The worker starts it (spawn_keeper) in the job's directory, with the
 * job's input file on stdin, /dev/null on stdout, its own log on stderr and
 * exactly the handler's environment.  HANDLER [ARG...] is the handler's
 * argv, HANDLER its path too.  Exit status: 0 once <ID>.exit is written and
 * the job's processes are gone; 1 if <ID>.exit could not be written; 2 on
 * bad arguments; 111 if the handler could not be started.  The worker fails a job whose keeper is gone without an
 * <ID>.exit.
 *
 * DESIGN.  One poll loop and no signal handler: SIGTERM and SIGCHLD are
 * blocked and read from a signalfd, so a signal that comes just before
 * poll() still wakes it.  The handler's exit wakes it through a pidfd
 * (every 100 ms a look with waitid where the kernel has no pidfd).  The
 * handler is left a zombie (WNOWAIT) until the end: while it is not reaped
 * its pid, the id of its process group, cannot be reused, so signalling
 * the group reaches only the job's processes.
 *
 * Stdout is <ID>.out itself, opened for appending: the handler writes its
 * lines where the worker reads them, and the keeper wakes for none of them
 * (it copied them from a pipe until 7 December 2026: one wake-up, a read
 * and a write per line, 4 % of a core for 1,000 jobs at a line a second,
 * bench/README.md).  The lag cap (what .out holds past <ID>.ack, the
 * worker's committed offset, stays near KEEP_LAG_MAX) is kept by stopping
 * the handler's group with SIGSTOP, and SIGCONT once the worker has
 * committed half of it.  The keeper looks when the worker asks (SIGUSR1:
 * it saw the lag pass the cap) and, for a worker that is gone, with every
 * look at the lease (KEEPER_LOOK_MS); while it holds the job, every
 * KEEPER_LAG_POLL_MS.  Stderr is a pipe, read all the time; only its tail
 * is kept.
 *
 * When the handler has exited, the size of .out is noted (the worker reads
 * no further: what children it leaves write later is not the job's), its
 * stderr pipe is drained without waiting for EOF (children may hold it for
 * ever), at most 1 MiB; then <ID>.exit is written, and what is left of the
 * job (its process group, and the orphans this keeper adopted as their
 * subreaper, those that left the group too) gets SIGTERM, SIGKILL
 * KEEP_GRACE_MS later, and is reaped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobid.h"
#include "keep.h"
#include "log.h"
#include "revive.h"
#include "spawn.h"
#include "xmem.h"

extern char **environ;

#define KEEPER_ERR_READ 4096		/* stderr read at once */
/*
 * What is read from the stderr pipe once the handler has exited: what it
 * wrote is all there, in at most a pipe's size, which an unprivileged
 * handler can raise to /proc/sys/fs/pipe-max-size (1 MiB by default);
 * children that keep writing cannot hold the keeper past that.
 */
#define KEEPER_DRAIN_MAX (1024 * 1024)
#define KEEPER_LAG_POLL_MS 20		/* how often the ack is looked at while the cap holds */
#define KEEPER_LOOK_MS REVIVE_LOOK_MS	/* the lag looked at unasked, with the lease: one wake-up */
#define KEEPER_EXIT_POLL_MS 100		/* how often the exit is looked for without a pidfd */
#define KEEPER_HOLD_LOG_MS 60000	/* a handler held again and again is said once a minute */
#define KEEPER_REAP_POLL_MS 50		/* how often what is left of the job is looked for */
#define KEEPER_REAP_MAX_MS 5000		/* how long after SIGKILL the keeper waits for it */
#define KEEPER_ENV_MAX 8		/* -e options at most */

struct keeper {
	const char *rundir;
	const char *id;
	pid_t pid;		/* the handler; a zombie once it exited, until the end */
	int pidfd;		/* readable once it has exited, or -1 */
	int sigfd;		/* SIGTERM, SIGCHLD and SIGUSR1 */
	int err_pipe;		/* our end of its stderr; -1 once closed */
	int out_fd;		/* <id>.out, appending: its stdout */
	long long out_size;	/* the size of .out when it exited; -1: not known */
	struct keep_ack *ack;
	long long lag_ms;	/* when the lag is looked at next */
	int held;		/* its group is stopped (SIGSTOP) until the worker catches up */
	long holds;		/* how often it was */
	long long hold_log_ms;	/* when a hold is said in the log again (at most once a minute) */
	int hold_said;		/* this hold was said: its end is said too */
	char err[KEEP_ERR_TAIL];	/* the tail of stderr */
	size_t err_len;
	long long kill_ms;	/* when SIGKILL follows the SIGTERM sent; 0: none sent */
	int killed;
	int exited, code, signal;
	int lost;		/* its status could not be had: nothing can be recorded */
	struct revive *revive;	/* starts a worker when none runs; NULL without -w */
	long long revive_ms;	/* when it looks next */
};

/* The options: how to start a worker (revive.h). */
struct keeper_opts {
	char *worker, *config, *spool;
	char *env[KEEPER_ENV_MAX + 1];
	int nenv;
};

/* Milliseconds on a clock that only goes forward. */
static long long
keeper_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Closes *fd if open and marks it closed. */
static void
keeper_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Opens /dev/null on any of 0, 1 and 2 that is closed, so that no
 * descriptor opened later takes the place of stdio (and is handed to the
 * handler as its stdin, say).
 */
static void
keeper_stdio(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return;
	}
}

/*
 * Blocks SIGTERM, SIGCHLD and SIGUSR1 for the signalfd; ignores what would kill the
 * keeper for nothing (it has no terminal, and writes to no pipe); SIGCHLD
 * at its default, in case an ignored one was inherited: children would
 * then be reaped by the kernel, and the handler's status lost.  0 or -1.
 */
static int
keeper_signals(struct keeper *k)
{
	sigset_t set;

	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (k->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("job %s: signalfd: %s", k->id, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens <id>.out and maps <id>.ack, which keep_prepare made; 0 or -1 (logged). */
static int
keeper_open(struct keeper *k)
{
	char *path = keep_path(k->rundir, k->id, ".out");
	struct stat sb;

	k->out_fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (k->out_fd < 0 || fstat(k->out_fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		log_error("job %s: %s: %s", k->id, path, k->out_fd < 0 || errno != 0 ?
		    strerror(errno) : "not a file");
		free(path);
		return -1;
	}
	free(path);
	if ((k->ack = keep_ack_map(k->rundir, k->id, 0)) == NULL)
		return -1;
	return 0;
}

/*
 * Starts the handler (argv[0] its path) with our stdin and environment,
 * <id>.out as its stdout and a pipe for its stderr, in its own process
 * group, killed if we die; 0 or -1 (logged).
 */
static int
keeper_start(struct keeper *k, char *const argv[])
{
	int err[2], fds[3];

	if (pipe2(err, O_CLOEXEC) != 0) {
		log_error("job %s: pipe: %s", k->id, strerror(errno));
		return -1;
	}
	/* Our end only: once the handler exits, its pipe is read until empty, not until EOF. */
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	fds[0] = 0;
	fds[1] = k->out_fd;
	fds[2] = err[1];
	k->pid = spawn_process(argv[0], argv, environ, ".", fds);
	close(err[1]);
	k->err_pipe = err[0];
	if (k->pid < 0)
		return -1;
	k->pidfd = spawn_pidfd(k->pid);
	log_debug("job %s: handler %s started, pid %ld", k->id, argv[0], (long)k->pid);
	return 0;
}

/*
 * Signals the handler's process group and the orphans we adopted (spawn.h),
 * those that left the group too; the exited ones among the orphans are reaped.
 */
static void
keeper_signal(struct keeper *k, int sig)
{
	if (!k->lost && kill(-k->pid, sig) != 0 && errno != ESRCH)
		log_warn("job %s: kill(-%ld, %d): %s", k->id, (long)k->pid, sig, strerror(errno));
	spawn_orphans(k->pid, sig);
}

/*
 * Starts stopping the job: SIGTERM now (once), SIGKILL when the grace
 * period is over.  A group held back is let go on, to take its SIGTERM.
 */
static void
keeper_term(struct keeper *k)
{
	if (k->kill_ms != 0)
		return;
	keeper_signal(k, SIGTERM);
	if (k->held) {
		keeper_signal(k, SIGCONT);
		k->held = 0;
	}
	k->kill_ms = keeper_now_ms() + KEEP_GRACE_MS;
}

/* The SIGKILL that follows SIGTERM, once its time has come. */
static void
keeper_timers(struct keeper *k)
{
	if (k->kill_ms != 0 && !k->killed && keeper_now_ms() >= k->kill_ms) {
		log_info("job %s: still there %d ms after SIGTERM: SIGKILL", k->id, KEEP_GRACE_MS);
		keeper_signal(k, SIGKILL);
		k->killed = 1;
	}
}

/*
 * Takes the signals that came: SIGTERM stops the job; SIGCHLD, an orphan
 * to reap; SIGUSR1, the worker saw the lag pass the cap: looked at now.
 */
static void
keeper_on_signals(struct keeper *k)
{
	struct signalfd_siginfo si;
	int chld = 0;

	/* Standard signals do not queue: at most one of each is pending. */
	while (read(k->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			chld = 1;
		else if (si.ssi_signo == SIGUSR1)
			k->lag_ms = 0;
		else if (si.ssi_signo == SIGTERM && k->kill_ms == 0) {
			log_info("job %s: SIGTERM: stopping its handler (pid %ld)", k->id,
			    (long)k->pid);
			keeper_term(k);
		}
	}
	/* An orphan's exit: reaped now, so that none piles up as a zombie during a long job. */
	if (chld)
		spawn_orphans(k->pid, 0);
}

/* Waits until at_ms, or until a signal comes (then taken); timers run. */
static void
keeper_pause(struct keeper *k, long long at_ms)
{
	struct pollfd p;
	long long now = keeper_now_ms();

	p.fd = k->sigfd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, at_ms > now ? (int)(at_ms - now) : 0) > 0)
		keeper_on_signals(k);
	keeper_timers(k);
}

/*
 * 1 once the handler has exited, its status noted, else 0.  It stays a
 * zombie (WNOWAIT) until keeper_stop.
 */
static int
keeper_exited(struct keeper *k)
{
	siginfo_t si;

	if (k->exited)
		return 1;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
		if (errno == EINTR)
			return 0;
		/* Only this process reaps its children: this is a bug, not a job's end. */
		log_error("job %s: waitid(%ld): %s", k->id, (long)k->pid, strerror(errno));
		k->exited = k->lost = 1;
		return 1;
	}
	if (si.si_pid != k->pid)
		return 0;
	k->exited = 1;
	if (si.si_code == CLD_EXITED) {
		k->code = si.si_status;
		k->signal = 0;
	} else {
		k->code = -1;
		k->signal = si.si_status;
	}
	return 1;
}

/* Reads what a pipe holds now, at most max: bytes read, or 0 (empty for now, or closed: *fd is -1). */
static size_t
keeper_read(struct keeper *k, int *fd, char *buf, size_t max)
{
	ssize_t n;

	while ((n = read(*fd, buf, max)) < 0 && errno == EINTR)
		;
	if (n > 0)
		return (size_t)n;
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		log_warn("job %s: reading the handler's output: %s", k->id, strerror(errno));
	keeper_close(fd);
	return 0;
}

/* Reads a chunk of stderr into the tail: bytes read, 0 if none now (or closed). */
static size_t
keeper_err(struct keeper *k)
{
	char buf[KEEPER_ERR_READ];
	size_t n, keep;

	if (k->err_pipe < 0 || (n = keeper_read(k, &k->err_pipe, buf, sizeof buf)) == 0)
		return 0;
	if (n >= sizeof k->err) {
		memcpy(k->err, buf + n - sizeof k->err, sizeof k->err);
		k->err_len = sizeof k->err;
		return n;
	}
	/* Keep the last bytes held that still fit beside the new ones. */
	keep = k->err_len < sizeof k->err - n ? k->err_len : sizeof k->err - n;
	memmove(k->err, k->err + k->err_len - keep, keep);
	memcpy(k->err + keep, buf, n);
	k->err_len = keep + n;
	return n;
}

/*
 * How far <id>.out is ahead of the worker's ack, or -1 if its size cannot
 * be had.  An ack outside [0, size] is the worker's bug: it is taken as
 * the nearest bound.
 */
static long long
keeper_lag(const struct keeper *k)
{
	struct stat sb;
	int64_t ack = keep_ack_get(k->ack);

	if (fstat(k->out_fd, &sb) != 0)
		return -1;
	if (ack < 0)
		ack = 0;
	if (ack > (int64_t)sb.st_size)
		ack = (int64_t)sb.st_size;
	return (long long)sb.st_size - ack;
}

/*
 * The lag cap: the handler's group stopped when .out is more than
 * KEEP_LAG_MAX ahead of the ack, let go on once it is half of that; looked
 * at again soon while held, else at the next look.  Not while the job is
 * being stopped (keeper_term lets it go on).
 */
static void
keeper_hold(struct keeper *k, long long now)
{
	long long lag;

	if (now < k->lag_ms || k->kill_ms != 0)
		return;
	lag = keeper_lag(k);
	if (!k->held && lag > KEEP_LAG_MAX) {
		keeper_signal(k, SIGSTOP);
		k->held = 1;
		/* A handler that never stops printing is held every megabyte: said once a minute. */
		if ((k->hold_said = ++k->holds == 1 || now >= k->hold_log_ms)) {
			log_info("job %s: its output is %lld bytes ahead of what is recorded: its "
			    "processes are stopped until the worker catches up (%ld times so far)",
			    k->id, lag, k->holds);
			k->hold_log_ms = now + KEEPER_HOLD_LOG_MS;
		}
	} else if (k->held && lag >= 0 && lag <= KEEP_LAG_MAX / 2) {
		keeper_signal(k, SIGCONT);
		k->held = 0;
		if (k->hold_said)
			log_info("job %s: the worker caught up: its processes go on", k->id);
	}
	k->lag_ms = now + (k->held ? KEEPER_LAG_POLL_MS : KEEPER_LOOK_MS);
}

/* 1 while the keeper looks after the worker: not once it stops the job. */
static int
keeper_reviving(const struct keeper *k)
{
	return k->revive != NULL && k->kill_ms == 0;
}

/* Milliseconds the poll may sleep: -1 when only a descriptor can wake it. */
static int
keeper_timeout(const struct keeper *k)
{
	long long now = keeper_now_ms(), next = -1;

	if (k->kill_ms == 0)
		next = k->lag_ms;
	if (k->kill_ms != 0 && !k->killed && (next < 0 || k->kill_ms < next))
		next = k->kill_ms;
	if (k->pidfd < 0 && (next < 0 || now + KEEPER_EXIT_POLL_MS < next))
		next = now + KEEPER_EXIT_POLL_MS;
	if (keeper_reviving(k) && (next < 0 || k->revive_ms < next))
		next = k->revive_ms;
	if (next < 0)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

/* Looks after the handler while it runs, until it exits; 0, or -1 if poll fails. */
static int
keeper_run(struct keeper *k)
{
	struct pollfd p[3];
	int n, err_i, sig_i;

	while (!keeper_exited(k)) {
		if (keeper_reviving(k))
			k->revive_ms = revive_tick(k->revive, keeper_now_ms());
		keeper_hold(k, keeper_now_ms());
		n = 0;
		err_i = -1;
		if (k->err_pipe >= 0) {
			err_i = n;
			p[n++].fd = k->err_pipe;
		}
		sig_i = n;
		p[n++].fd = k->sigfd;
		if (k->pidfd >= 0)
			p[n++].fd = k->pidfd;
		for (int i = 0; i < n; i++) {
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, keeper_timeout(k)) < 0 && errno != EINTR) {
			log_error("job %s: poll: %s", k->id, strerror(errno));
			return -1;
		}
		if (p[sig_i].revents != 0)
			keeper_on_signals(k);
		if (err_i >= 0 && p[err_i].revents != 0)
			keeper_err(k);
		keeper_timers(k);
	}
	return 0;
}

/*
 * The handler has exited: notes the size of .out (what the worker reads,
 * and no further), then reads what is in its stderr pipe without waiting
 * for EOF, which children that hold it may never give, at most
 * KEEPER_DRAIN_MAX, and closes the pipe.
 */
static void
keeper_drain(struct keeper *k)
{
	struct stat sb;
	size_t got, n;

	k->out_size = fstat(k->out_fd, &sb) == 0 ? (long long)sb.st_size : -1;
	for (got = 0; k->err_pipe >= 0 && got < KEEPER_DRAIN_MAX; got += n) {
		if ((n = keeper_err(k)) == 0)
			break;
	}
	keeper_close(&k->err_pipe);
}

/* Writes <id>.exit: how the handler ended and its stderr's tail; 0 or -1 (logged). */
static int
keeper_record(struct keeper *k)
{
	struct keep_exit e;

	memset(&e, 0, sizeof e);
	e.pid = (long)k->pid;
	e.code = k->code;
	e.signal = k->signal;
	e.out = k->out_size;
	e.err_len = k->err_len;
	memcpy(e.err, k->err, k->err_len);
	if (keep_exit_write(k->rundir, k->id, &e) != 0)
		return -1;
	log_debug("job %s: handler ended (code %d, signal %d)", k->id, k->code, k->signal);
	return 0;
}

/*
 * Ends what is left of the job, then reaps the handler: SIGTERM to its
 * group and our orphans (unless sent already), SIGKILL once the grace
 * period is over, to orphans adopted meanwhile too, until the handler has
 * exited and no other child of ours is left.  What SIGKILL does not end
 * (stuck in the kernel) is given up on after KEEPER_REAP_MAX_MS, logged.
 */
static void
keeper_stop(struct keeper *k)
{
	long long now;
	int left, status;

	keeper_term(k);
	for (;;) {
		now = keeper_now_ms();
		keeper_timers(k);
		left = spawn_orphans(k->pid, k->killed ? SIGKILL : 0);
		if (keeper_exited(k) && left == 0)
			break;
		if (now >= k->kill_ms + KEEPER_REAP_MAX_MS) {
			log_warn("job %s: %d of its processes outlive SIGKILL%s", k->id, left,
			    k->exited ? "" : ", its handler too");
			break;
		}
		keeper_pause(k, now + KEEPER_REAP_POLL_MS);
	}
	if (k->exited && !k->lost) {
		while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
}

/* Frees what the keeper holds. */
static void
keeper_free(struct keeper *k)
{
	keeper_close(&k->err_pipe);
	keeper_close(&k->out_fd);
	keeper_close(&k->pidfd);
	keeper_close(&k->sigfd);
	keep_ack_unmap(k->ack);
	revive_free(k->revive);
}

/* Says how to call us; exit status 2. */
static int
keeper_usage(const char *why)
{
	log_error("%s; usage: longjob-keeper [-w WORKER -c CONFIG -s SPOOL "
	    "[-e NAME=VALUE]...] RUNDIR ID HANDLER [ARG...]", why);
	return 2;
}

/* Reads the options into o: the index of RUNDIR, or -1 after saying what is wrong. */
static int
keeper_options(int argc, char **argv, struct keeper_opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt(argc, argv, "+w:c:s:e:")) != -1) {
		if (c == 'w' || c == 'c' || c == 's') {
			if (optarg[0] == '\0') {
				keeper_usage("an empty -w, -c or -s");
				return -1;
			}
			*(c == 'w' ? &o->worker : c == 'c' ? &o->config : &o->spool) = optarg;
		} else if (c == 'e' && strchr(optarg, '=') != NULL && o->nenv < KEEPER_ENV_MAX) {
			o->env[o->nenv++] = optarg;
		} else {
			keeper_usage(c == 'e' ? "-e wants NAME=VALUE, at most 8 of them" :
			    "an unknown option, or one without its value");
			return -1;
		}
	}
	if ((o->worker != NULL) != (o->config != NULL) || (o->worker != NULL) != (o->spool != NULL)) {
		keeper_usage("-w, -c and -s go together");
		return -1;
	}
	return optind;
}

/* Looks after the worker, with -w (revive.h). */
static void
keeper_revive(struct keeper *k, struct keeper_opts *o)
{
	char *argv[] = { o->worker, "--config", o->config, NULL };

	if (o->worker != NULL)
		k->revive = revive_new(o->spool, argv, o->env, keeper_now_ms());
}

int
main(int argc, char **argv)
{
	struct keeper k;
	struct keeper_opts o;
	int rc, first;

	log_init("longjob-keeper");
	if ((first = keeper_options(argc, argv, &o)) < 0)
		return 2;
	argc -= first - 1;
	argv += first - 1;
	if (argc < 4)
		return keeper_usage("too few arguments");
	if (argv[1][0] == '\0')
		return keeper_usage("an empty RUNDIR");
	if (!jobid_valid(argv[2]))
		return keeper_usage("ID is not a job id (32 lowercase hex digits)");
	if (argv[3][0] == '\0')
		return keeper_usage("an empty HANDLER");
	memset(&k, 0, sizeof k);
	k.rundir = argv[1];
	k.id = argv[2];
	k.pid = -1;
	k.pidfd = k.sigfd = k.err_pipe = k.out_fd = -1;
	k.out_size = -1;
	keeper_stdio();
	/* Before the handler starts: what it leaves behind must become ours, not init's. */
	spawn_subreaper();
	if (keeper_signals(&k) != 0 || keeper_open(&k) != 0 || keeper_start(&k, argv + 3) != 0) {
		keeper_free(&k);
		return 111;
	}
	keeper_revive(&k, &o);
	rc = keeper_run(&k);
	if (rc == 0)
		keeper_drain(&k);
	if (rc == 0 && !k.lost)
		rc = keeper_record(&k);
	else
		rc = -1;
	keeper_stop(&k);
	keeper_free(&k);
	return rc == 0 ? 0 : 1;
}
