# lib.sh: what every integration test shares.  Source it, then call lj_start.
#
# Each test gets its own temporary directory with a config, a database and a
# spool; the web server config is GENERATED FROM THE SHIPPED EXAMPLE (only
# its variables are replaced), so an example that stops working fails the
# suite.  A real web server is started on a free loopback port and stopped
# by the EXIT trap, together with every process the test caused to exist
# (workers, handlers and backends, found by pid).
#
# Environment: top_srcdir, top_builddir (set by make check), and
# LJ_FRONTEND, the web server setup the suite runs behind:
#   lighttpd            lighttpd + mod_fastcgi (lighttpd.conf.example), the default
#   lighttpd-cgi        lighttpd + mod_cgi (lighttpd-cgi.conf.example)
#   apache-proxy-fcgi   Apache + mod_proxy_fcgi to programs started with --listen
#   apache-fcgid        Apache + mod_fcgid
#   apache-cgi          Apache + mod_cgid
# (the last three from apache.conf.example, selected with -D).
# LJ_STORE, the store: sqlite (a file in the test's state directory, the
# default) or postgresql (a database of its own on the server frontend.sh
# started, tests/pg.sh, or on one the test starts itself when run alone).
# LJ_VALGRIND=1 runs every program of ours that the test starts under
# valgrind memcheck (tests/memcheck): the backends, the worker, the demo
# handlers and the longjob command.  Any error or definite leak in any of
# them fails the test at cleanup, with the report.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LJ_FRONTEND=${LJ_FRONTEND:-lighttpd}
LJ_STORE=${LJ_STORE:-sqlite}
LJ_PG_OURS=
SSECLIENT=$top_builddir/tests/sseclient
LJ_FAILED=0
LJ_CHECKS=0
LJ_PID=
LJ_BACKENDS=
LJ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/longjob-test.XXXXXX")
chmod 755 "$LJ_TMP"
LJ_CONFIG=$LJ_TMP/longjob.json
LJ_RUN=$LJ_TMP/run
LJ_STATE=$LJ_TMP/var/lib/longjob
mkdir -p "$LJ_RUN" "$LJ_STATE" "$LJ_TMP/san"
chmod 1777 "$LJ_TMP/san"
export LONGJOB_CONFIG=$LJ_CONFIG
# Sanitizer builds: every program (backends, workers) reports into files we check at the end.
export ASAN_OPTIONS="log_path=$LJ_TMP/san/sanitizer:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$LJ_TMP/san/sanitizer:print_stacktrace=1:halt_on_error=1"

# What another user must read (the web server's user, the shared-hosting
# user) cannot stay in the build tree: a clone in root's home (mode 700) is
# closed to them.  So each test copies the programs, the pages and the test
# handlers into its own world-readable directory, LJ_APP, and runs them from
# there: the web server config, the job config and the tests all take them
# from LJ_BIN (the programs), LJ_WWW (the pages) and LJ_HANDLERS.  Under
# LJ_VALGRIND=1, LJ_BIN holds wrappers of the same names that run the copies
# under memcheck (written below, once the cleanup trap is set).
LJ_APP=$LJ_TMP/app
LJ_BIN=$LJ_APP
LJ_WWW=$LJ_APP/html
LJ_HANDLERS=$LJ_APP/handlers
LJ_PROGRAMS="longjob longjob-worker longjob-keeper cgi-bin/submit cgi-bin/progress cgi-bin/result"
LJ_VALGRIND=${LJ_VALGRIND:-}

# What differs between the setups: where the app is mounted, who runs the
# programs (Apache will not run them as root), whether one process serves
# many streams.
case $LJ_FRONTEND in
lighttpd) LJ_PREFIX= LJ_AS= LJ_MULTIPLEX=1 ;;
lighttpd-cgi) LJ_PREFIX= LJ_AS= LJ_MULTIPLEX=0 ;;
apache-proxy-fcgi) LJ_PREFIX=/jobs LJ_AS=www-data LJ_MULTIPLEX=1 ;;
apache-fcgid | apache-cgi) LJ_PREFIX=/jobs LJ_AS=www-data LJ_MULTIPLEX=0 ;;
*) echo "unknown LJ_FRONTEND $LJ_FRONTEND" >&2; exit 99 ;;
esac

# Prints a check's outcome; counts failures.  Usage: lj_ok COND-EXIT-STATUS "what"
lj_check() {
	LJ_CHECKS=$((LJ_CHECKS + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $LJ_CHECKS - $2"
	else
		echo "not ok $LJ_CHECKS - $2"
		LJ_FAILED=$((LJ_FAILED + 1))
	fi
}

# lj_is GOT WANT "what": string equality.
lj_is() {
	if [ "$1" = "$2" ]; then lj_check 0 "$3"; else
		lj_check 1 "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}

# Stops the test with a skip (exit 77), loudly, saying why.
lj_skip() {
	echo "SKIP: $*" >&2
	echo "# SKIP: $*"
	exit 77
}

# Stops the test as failed.
# The cleanup (lj_cleanup) then prints the tail of every server log.
lj_die() {
	echo "FATAL: $*" >&2
	echo "not ok - $*"
	exit 1
}

# The pids of the processes this test caused: handlers (cwd in our tree),
# workers and servers (our directory on their command line), backends
# (cgi-bin programs with our config in their environment).
lj_our_pids() {
	local p cwd cmd
	for p in /proc/[0-9]*; do
		# Never the test itself (or the subshell running this).
		case "${p#/proc/}" in "$$"|"$BASHPID") continue ;; esac
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
		case "$cwd" in "$LJ_TMP"/*) echo "${p#/proc/}"; continue ;; esac
		case "$cmd" in
		# The config, or anything else of the test's directory (a second
		# host's server and worker, Apache's children).
		*"$LJ_CONFIG"* | *"$LJ_TMP/"*) echo "${p#/proc/}" ;;
		*/cgi-bin/*) tr '\0' '\n' 2>/dev/null <"$p/environ" |
			grep -qxF -- "LONGJOB_CONFIG=$LJ_CONFIG" && echo "${p#/proc/}" ;;
		esac
	done
}

# 0 if any process of ours is still alive.
lj_ours_alive() {
	[ -n "$(lj_our_pids)" ]
}

# 0 if a backend of ours (a cgi-bin program) is still alive.
lj_backends_alive() {
	local p
	for p in $(lj_our_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '/cgi-bin/' && return 0
	done
	return 1
}

# Kills, by pid, every process this test caused that is still there (with
# SIGKILL, or the signal named by $1).
lj_kill_ours() {
	local pids
	pids=$(lj_our_pids)
	[ -n "$pids" ] && kill -"${1:-KILL}" $pids 2>/dev/null
	return 0
}

# Apache's children can outlive a parent that took SIGKILL (they ignore
# SIGTERM while mod_fcgid keeps them waiting): kill those of our server by pid.
lj_kill_server_children() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$LJ_TMP/apache.conf" &&
			kill -9 "${p#/proc/}" 2>/dev/null
	done
	return 0
}

# Stops the web server (and the backends we started ourselves).
lj_stop_server() {
	local p
	for p in $LJ_PID $LJ_BACKENDS; do kill "$p" 2>/dev/null; done
	for p in $LJ_PID $LJ_BACKENDS; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	lj_kill_server_children
	LJ_PID= LJ_BACKENDS=
}

# The EXIT trap: stop the server and everything we started, keep logs on failure.
lj_cleanup() {
	local rc=$? log
	lj_stop_server
	# Give the programs that got SIGTERM (the backends) a moment to exit and
	# report leaks; workers and handlers of jobs still running get none.
	for _ in $(seq 30); do lj_backends_alive || break; sleep 0.1; done
	if [ -n "$LJ_VALGRIND" ]; then
		# memcheck reports leaks when a program exits, even of a signal, but
		# not of SIGKILL: ask what is left (workers of jobs still running)
		# to stop, and wait for the reports, which take a while to write.
		lj_kill_ours TERM
		for _ in $(seq 300); do lj_ours_alive || break; sleep 0.1; done
	fi
	lj_kill_ours
	if [ -n "$LJ_VALGRIND" ]; then
		if ! sh "$top_srcdir/tests/memcheck" --check "$LJ_TMP/vg"; then
			echo "not ok - memcheck reported errors or leaks (above)"
			rc=1
		fi
		echo "# memcheck: $(grep -l 'ERROR SUMMARY' "$LJ_TMP"/vg/*.log 2>/dev/null | wc -l) processes ran under memcheck to their end"
	fi
	[ -n "$LJ_PG_OURS" ] && lj_pg_stop
	# A test's own undoing (an unmount), once nothing of ours runs.
	[ -n "${LJ_ON_EXIT:-}" ] && eval "$LJ_ON_EXIT"
	# Sanitizers report to their files, or (a CGI under Apache) to the error log.
	if ls "$LJ_TMP"/san/sanitizer.* >/dev/null 2>&1 ||
		grep -qs 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$LJ_RUN"/*.log; then
		echo "not ok - a sanitizer reported errors:"
		cat "$LJ_TMP"/san/sanitizer.* 2>/dev/null | head -80 | sed 's/^/# /'
		grep -hs -A30 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' \
			"$LJ_RUN"/*.log | head -80 | sed 's/^/# /'
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for log in "$LJ_RUN"/*.log "$LJ_STATE"/worker.log; do
			[ -s "$log" ] || continue
			echo "# --- $(basename "$log") ---"
			tail -40 "$log" | sed 's/^/# /'
		done
	fi
	rm -rf "$LJ_TMP"
	exit "$rc"
}
trap lj_cleanup EXIT
trap 'exit 130' INT TERM

# Copies what the web server's user runs and reads into LJ_APP (see above):
# the programs, the demo handlers that were built, the pages, the test handlers.
lj_stage() {
	local p
	mkdir -p "$LJ_APP/cgi-bin" "$LJ_APP/jobs"
	for p in $LJ_PROGRAMS; do
		[ -x "$top_builddir/$p" ] || lj_die "$top_builddir/$p is missing (run make first)"
		cp "$top_builddir/$p" "$LJ_APP/$p" || lj_die "cannot copy $p into $LJ_APP"
	done
	for p in "$top_builddir"/jobs/*; do
		[ -f "$p" ] && [ -x "$p" ] && cp "$p" "$LJ_APP/jobs/"
	done
	cp -R "$top_srcdir/html" "$LJ_WWW" && cp -R "$top_srcdir/tests/handlers" "$LJ_HANDLERS" ||
		lj_die "cannot copy the pages and test handlers into $LJ_APP"
	chmod -R a+rX,go-w "$LJ_APP"
}
lj_stage

# LJ_VALGRIND=1: the memcheck wrappers (see LJ_BIN above); the reports go to $LJ_TMP/vg.
if [ -n "$LJ_VALGRIND" ]; then
	command -v valgrind >/dev/null || lj_skip "valgrind is not installed (apt-get install valgrind)"
	LJ_BIN=$LJ_TMP/vgbin
	mkdir -p "$LJ_TMP/vg"
	chmod 1777 "$LJ_TMP/vg"
	for p in $LJ_PROGRAMS $(cd "$LJ_APP" && ls jobs/*); do
		# The keeper runs as it is: under memcheck its start-up (seconds)
		# would be part of every job's timing.  test_keep runs under
		# memcheck, and keeper.sh under ASan + UBSan.
		if [ "$p" = longjob-keeper ]; then
			cp "$LJ_APP/$p" "$LJ_BIN/$p" || lj_die "cannot copy $p"
			continue
		fi
		sh "$top_srcdir/tests/memcheck" --wrap "$LJ_TMP/vg" "$LJ_APP/$p" "$LJ_BIN/$p" ||
			lj_die "cannot write the memcheck wrapper of $p"
	done
fi

# Writes the job config from the shipped template, with this test's paths.
lj_write_config() {
	lj_database
	sed -e "s|\"@statedir@/longjob.db\"|\"$LJ_DATABASE\"|" \
	    -e "s|@statedir@|$LJ_STATE|g" \
	    -e "s|@pkglibexecdir@|$LJ_BIN|g" \
	    -e "s|@jobsdir@|$LJ_BIN/jobs|g" \
	    -e "s|@urlprefix@|$LJ_PREFIX|g" \
	    "$top_srcdir/jobs/longjob.json.in" >"$LJ_CONFIG"
	grep -q '@' "$LJ_CONFIG" && lj_die "unreplaced @variables@ in the job config template"
	grep -q "\"result_url\": \"$LJ_PREFIX/longjob/result\"" "$LJ_CONFIG" ||
		lj_die "the job config template no longer has the URLs this test sets"
	return 0
}

# LJ_DATABASE, the database the config names: an SQLite file in the state
# directory, or a new PostgreSQL database (on a server of the test's own
# when no suite started one).
lj_database() {
	if [ "$LJ_STORE" != postgresql ]; then
		LJ_DATABASE=$LJ_STATE/longjob.db
		return
	fi
	[ -n "${LJ_DATABASE:-}" ] && return
	. "$top_srcdir/tests/pg.sh"
	if [ -z "${LJ_PG_HOST:-}" ]; then
		lj_pg_start || lj_die "cannot start PostgreSQL"
		LJ_PG_OURS=1
	fi
	LJ_PG_DB=t$$_$RANDOM
	LJ_DATABASE=$(lj_pg_database "$LJ_PG_DB") || lj_die "cannot create a PostgreSQL database"
}

# lj_sql SQL: runs a query on the test's store, rows one a line, columns
# separated by '|' (both stores' tables have the same names and columns).
lj_sql() {
	if [ "$LJ_STORE" = postgresql ]; then
		PGOPTIONS='-c search_path=longjob' lj_pg_psql "$LJ_PG_DB" "$1"
	else
		sqlite3 "$LJ_STATE/longjob.db" "$1"
	fi
}

# lj_hold_write_lock SECONDS OUT: another connection takes the store's write
# lock (waiting for it if a writer has it), writes "locked" to OUT once it
# holds it, and lets go SECONDS later.  On PostgreSQL the lock is the
# advisory lock every write transaction takes (src/store_pg.c).
lj_hold_write_lock() {
	if [ "$LJ_STORE" = postgresql ]; then
		printf '%s\n' 'BEGIN;' 'SELECT pg_advisory_xact_lock(1818914658);' \
			"SELECT 'locked';" "DO \$\$BEGIN PERFORM pg_sleep($1); END\$\$;" 'COMMIT;' |
			"$LJ_PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$LJ_PG_HOST" \
				-p "$LJ_PG_PORT" -U longjob -d "$LJ_PG_DB" -f - 2>&1 | grep --line-buffered -v '^$' >"$2"
	else
		# The job writes too: wait for the lock (.timeout), and say "locked"
		# only once it is ours (.bail).
		{ echo '.timeout 10000'; echo '.bail on'; echo 'BEGIN IMMEDIATE;'; echo "SELECT 'locked';"
			sleep "$1"; echo 'COMMIT;'; } | lj_as sqlite3 "$LJ_STATE/longjob.db" >"$2" 2>&1
	fi
}

# lj_config_set KEY VALUE: changes a top-level number in the config.
lj_config_set() {
	if grep -q "^  \"$1\": " "$LJ_CONFIG"; then
		sed -i -e "s|^  \"$1\": [^,]*,|  \"$1\": $2,|" "$LJ_CONFIG"
	else
		sed -i -e "1s|^{$|{\n  \"$1\": $2,|" "$LJ_CONFIG"
	fi
	grep -q "^  \"$1\": $2," "$LJ_CONFIG" || lj_die "cannot set $1 in the config"
}

# A free TCP port on 127.0.0.1.
lj_free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	lj_die "no free port found"
}

# Writes the lighttpd config from the shipped example, replacing only its variables and port.
lj_write_lighttpd_conf() {
	local example=$top_srcdir/lighttpd.conf.example
	[ "$LJ_FRONTEND" = lighttpd-cgi ] && example=$top_srcdir/lighttpd-cgi.conf.example
	sed -e "s|^var.longjob_www .*|var.longjob_www    = \"$LJ_WWW\"|" \
	    -e "s|^var.longjob_cgibin .*|var.longjob_cgibin = \"$LJ_BIN/cgi-bin\"|" \
	    -e "s|^var.longjob_config .*|var.longjob_config = \"$LJ_CONFIG\"|" \
	    -e "s|^var.longjob_run .*|var.longjob_run    = \"$LJ_RUN\"|" \
	    -e "s|^server.port .*|server.port          = $LJ_PORT|" \
	    "$example" >"$LJ_TMP/lighttpd.conf"
	for v in "$LJ_WWW" "$LJ_BIN/cgi-bin" "$LJ_CONFIG" "$LJ_RUN" "= $LJ_PORT"; do
		grep -qF -- "$v" "$LJ_TMP/lighttpd.conf" ||
			lj_die "the example $example no longer has the variable for $v"
	done
}

# Runs a command as the user the web server runs the programs as.
lj_as() {
	if [ -n "$LJ_AS" ]; then
		setpriv --reuid="$LJ_AS" --regid="$LJ_AS" --init-groups -- "$@"
	else
		"$@"
	fi
}

# 0 once what answers on LJ_PORT is the server we started: it sends the header line $1.
lj_wait_up() {
	for _ in $(seq 100); do
		kill -0 "$LJ_PID" 2>/dev/null || return 1
		curl -s -m 2 -o /dev/null -D - "http://127.0.0.1:$LJ_PORT/" 2>/dev/null |
			tr -d '\r' | grep -qxF "$1" && return 0
		sleep 0.05
	done
	return 1
}

# Writes the Apache config: a minimal server (this test's port, logs and
# modules; a host that compresses event streams, which longjob must defeat)
# that includes the shipped apache.conf.example with only its variables set.
lj_write_apache_conf() {
	local m=/usr/lib/apache2/modules example=$top_srcdir/apache.conf.example
	local site=${LJ_APACHE_SITE:-$LJ_TMP/apache-longjob.conf}
	if [ -z "${LJ_APACHE_SITE:-}" ]; then
		sed -e "s|^Define longjob_prefix .*|Define longjob_prefix \"$LJ_PREFIX\"|" \
	    -e "s|^Define longjob_www .*|Define longjob_www    \"$LJ_WWW\"|" \
	    -e "s|^Define longjob_cgibin .*|Define longjob_cgibin \"$LJ_BIN/cgi-bin\"|" \
	    -e "s|^Define longjob_config .*|Define longjob_config \"$LJ_CONFIG\"|" \
	    -e "s|^Define longjob_run .*|Define longjob_run    \"$LJ_RUN\"|" \
	    "$example" >"$LJ_TMP/apache-longjob.conf"
		for v in "$LJ_WWW" "$LJ_BIN/cgi-bin" "$LJ_CONFIG" "\"$LJ_RUN\"" "\"$LJ_PREFIX\""; do
			grep -qF -- "$v" "$LJ_TMP/apache-longjob.conf" ||
				lj_die "the example $example no longer has the variable for $v"
		done
	fi
	mkdir -p "$LJ_TMP/docroot" "$LJ_RUN/fcgid"
	chown "$LJ_AS" "$LJ_RUN/fcgid"
	cat >"$LJ_TMP/apache.conf" <<APACHE
ServerRoot /etc/apache2
DefaultRuntimeDir "$LJ_RUN"
PidFile "$LJ_RUN/apache.pid"
Mutex file:$LJ_RUN default
Listen 127.0.0.1:$LJ_PORT
ServerName 127.0.0.1
User $LJ_AS
Group $LJ_AS
ErrorLog "$LJ_RUN/apache-error.log"
LogLevel warn
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule mime_module $m/mod_mime.so
LoadModule alias_module $m/mod_alias.so
LoadModule dir_module $m/mod_dir.so
LoadModule env_module $m/mod_env.so
LoadModule headers_module $m/mod_headers.so
LoadModule filter_module $m/mod_filter.so
LoadModule deflate_module $m/mod_deflate.so
LoadModule proxy_module $m/mod_proxy.so
LoadModule proxy_fcgi_module $m/mod_proxy_fcgi.so
LoadModule fcgid_module $m/mod_fcgid.so
LoadModule cgid_module $m/mod_cgid.so
TypesConfig /etc/mime.types
DocumentRoot "$LJ_TMP/docroot"
DirectoryIndex index.html
Timeout 300
ScriptSock "$LJ_RUN/cgid.sock"
FcgidIPCDir "$LJ_RUN/fcgid"
FcgidProcessTableFile "$LJ_RUN/fcgid/shm"
<IfModule mpm_event_module>
    ServerLimit 16
    ThreadsPerChild 25
    MaxRequestWorkers 400
</IfModule>
Header always set X-Longjob-Test "$1"
# A host that compresses event streams: longjob's no-gzip must defeat it.
AddOutputFilterByType DEFLATE text/html text/plain application/json text/event-stream
# Sanitizer builds: the programs report into files the test checks.
SetEnv ASAN_OPTIONS "$ASAN_OPTIONS"
SetEnv UBSAN_OPTIONS "$UBSAN_OPTIONS"
FcgidInitialEnv ASAN_OPTIONS "$ASAN_OPTIONS"
FcgidInitialEnv UBSAN_OPTIONS "$UBSAN_OPTIONS"
Include "$site"
# A test's own server settings (waiting.sh lowers the server's limits).
${LJ_APACHE_EXTRA:-}
APACHE
}

# Starts the three programs as long-lived FastCGI servers (apache-proxy-fcgi).
lj_start_backends() {
	local p
	# Not through lj_as: a function in the background is a subshell, and $!
	# must be the program's own pid so that stopping it stops it.
	for p in submit progress result; do
		setpriv --reuid="$LJ_AS" --regid="$LJ_AS" --init-groups -- \
			"$LJ_BIN/cgi-bin/$p" --listen "$LJ_RUN/$p.sock" >>"$LJ_RUN/backends.log" 2>&1 &
		LJ_BACKENDS="$LJ_BACKENDS $!"
	done
	for _ in $(seq 100); do
		[ -S "$LJ_RUN/submit.sock" ] && [ -S "$LJ_RUN/progress.sock" ] &&
			[ -S "$LJ_RUN/result.sock" ] && return 0
		sleep 0.05
	done
	lj_die "the FastCGI programs did not start listening"
}

# Starts the web server of LJ_FRONTEND on LJ_PORT; 0 once it is ours and up.
lj_server_start() {
	local tag="longjob-test-$$-$LJ_PORT"
	case $LJ_FRONTEND in
	lighttpd*)
		"${LJ_LIGHTTPD_WRITER:-lj_write_lighttpd_conf}"
		echo "server.tag = \"$tag\"" >>"$LJ_TMP/lighttpd.conf"
		# A test's own server settings (waiting.sh lowers the server's limits).
		echo "${LJ_LIGHTTPD_EXTRA:-}" >>"$LJ_TMP/lighttpd.conf"
		lighttpd -tt -f "$LJ_TMP/lighttpd.conf" >"$LJ_TMP/check.log" 2>&1 ||
			lj_die "lighttpd rejects the generated config: $(cat "$LJ_TMP/check.log")"
		lighttpd -D -f "$LJ_TMP/lighttpd.conf" >>"$LJ_RUN/lighttpd-stdout.log" 2>&1 &
		LJ_PID=$!
		lj_wait_up "Server: $tag" ;;
	apache-*)
		local define
		define=LONGJOB_$(echo "${LJ_FRONTEND#apache-}" | tr 'a-z-' 'A-Z_')
		lj_write_apache_conf "$tag"
		apache2 -t -f "$LJ_TMP/apache.conf" -D "$define" >"$LJ_TMP/check.log" 2>&1 ||
			lj_die "apache2 rejects the generated config: $(cat "$LJ_TMP/check.log")"
		[ "$LJ_FRONTEND" = apache-proxy-fcgi ] && [ -z "$LJ_BACKENDS" ] && lj_start_backends
		apache2 -f "$LJ_TMP/apache.conf" -D "$define" -D FOREGROUND \
			>>"$LJ_RUN/apache-stdout.log" 2>&1 &
		LJ_PID=$!
		lj_wait_up "X-Longjob-Test: $tag" ;;
	esac
}

# The first requests: the page and each of the three programs must answer
# as themselves (the programs with their own JSON error for an unknown job).
# A server that cannot serve (a program it cannot run, a directory its user
# cannot read) stops the test here, with its error log, instead of failing
# every check one timeout at a time.  Under memcheck a program takes seconds
# to start: this also keeps valgrind's start-up out of every test's first
# measured request.
lj_first_requests() {
	local p code wait=20
	[ -n "$LJ_VALGRIND" ] && wait=60
	code=$(lj_status "$LJ_URL/" -m $wait)
	[ "$code" = 200 ] ||
		lj_die "the server cannot serve ($LJ_FRONTEND): GET $LJ_URL/ answered $code, not 200"
	for p in submit progress result; do
		code=$(curl -s -m $wait -o "$LJ_TMP/first.out" -w '%{http_code}' -H 'Accept: application/json' \
			"$LJ_URL/longjob/$p/00000000000000000000000000000000")
		grep -q '^{.*"error"' "$LJ_TMP/first.out" || lj_die "the server cannot run $p" \
			"($LJ_FRONTEND): GET $LJ_URL/longjob/$p/<id> answered $code: $(head -c 300 "$LJ_TMP/first.out")"
	done
}

# Starts the web server on a free port, retrying on another port if that one
# was taken meanwhile.  Sets LJ_PORT, LJ_ROOT (the server) and LJ_URL (the app).
lj_launch() {
	for attempt in 1 2 3 4 5; do
		LJ_PORT=$(lj_free_port)
		if lj_server_start; then
			LJ_ROOT=http://127.0.0.1:$LJ_PORT
			LJ_URL=$LJ_ROOT$LJ_PREFIX
			lj_first_requests
			return 0
		fi
		lj_stop_server
	done
	lj_die "the web server ($LJ_FRONTEND) did not start"
}

# Starts the web server (and the job config) for this test.
lj_start() {
	case $LJ_FRONTEND in
	lighttpd*) command -v lighttpd >/dev/null ||
		lj_skip "lighttpd is not installed (apt-get install lighttpd)" ;;
	apache-*) command -v apache2 >/dev/null && [ -f /usr/lib/apache2/modules/mod_fcgid.so ] ||
		lj_skip "Apache is not installed (apt-get install apache2 libapache2-mod-fcgid)" ;;
	esac
	[ -f "$LJ_CONFIG" ] || lj_write_config
	if [ -n "$LJ_AS" ]; then
		# The programs run as $LJ_AS: the state is theirs, and so is the database
		# (created now, so that the tests' own longjob commands, as root, find it).
		chown -R "$LJ_AS" "$LJ_TMP/var" "$LJ_RUN"
		lj_as "$LJ_APP/longjob" list >/dev/null ||
			lj_die "cannot create the database as $LJ_AS"
	fi
	lj_launch
}

# Graceful reload of the web server (what `systemctl reload` does).
lj_reload_server() {
	case $LJ_FRONTEND in
	lighttpd*) kill -USR1 "$LJ_PID" ;;
	apache-*) kill -USR1 "$LJ_PID" ;;
	esac
}

# Stops the web server and starts it again on the same port (backends too).
lj_restart_server() {
	lj_stop_server
	lj_server_start || lj_die "the web server did not come back on port $LJ_PORT"
}

# lj_submit TYPE CURL-ARGS...: posts a job as a script would; prints the job id.
lj_submit() {
	local type=$1 out
	shift
	# Without fields, post an empty form (curl sends no length otherwise: 411).
	[ $# -eq 0 ] && set -- -d ''
	out=$(curl -s -m 20 -X POST -H 'Accept: application/json' "$@" "$LJ_URL/longjob/submit/$type") ||
		{ echo "submit failed: curl $?" >&2; return 1; }
	case "$out" in *'"id":"'*) ;; *) echo "submit answered: $out" >&2; return 1 ;; esac
	echo "$out" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/'
}

# lj_stream ID OUTDIR [sseclient options]: one SSE connection until the server ends it.
lj_stream() {
	local id=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	"$SSECLIENT" -q -o "$dir" -t "${LJ_STREAM_TIMEOUT:-60}" "$@" "$LJ_URL/longjob/progress/$id"
}

# lj_status URL [curl args]: the HTTP status code of a GET.
lj_status() {
	local url=$1
	shift
	curl -s -o /dev/null -m 20 -w '%{http_code}' "$@" "$url"
}

# lj_wait_state ID STATE SECONDS: waits (bounded) until the job has that state.
lj_wait_state() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		# The harness's own poll, ten times a second: never under memcheck.
		"$top_builddir/longjob" show "$1" 2>/dev/null | grep -q "\"state\": \"$2\"" && return 0
		sleep 0.1
	done
	return 1
}

# Ends the test: exit status from the checks.
lj_done() {
	echo "1..$LJ_CHECKS"
	[ "$LJ_CHECKS" -gt 0 ] || { echo "no checks ran"; exit 1; }
	[ "$LJ_FAILED" -eq 0 ] || { echo "# $LJ_FAILED of $LJ_CHECKS checks failed"; exit 1; }
	exit 0
}

# lj_worker_gate NAME: a directory with a longjob-worker that runs the real
# one only while $LJ_TMP/runs-NAME exists (else it exits at once, as a
# worker that cannot start), with longjob-keeper beside it, as the config's
# worker wants; prints the wrapper's path, for the config's "worker".
lj_worker_gate() {
	local d=$LJ_TMP/worker-$1
	mkdir -p "$d"
	printf '#!/bin/sh\n[ -e "%s/runs-%s" ] || exit 0\nexec "%s/longjob-worker" "$@"\n' \
		"$LJ_TMP" "$1" "$LJ_BIN" >"$d/longjob-worker"
	chmod 755 "$d" "$d/longjob-worker"
	ln -sf "$LJ_BIN/longjob-keeper" "$d/longjob-keeper"
	echo "$d/longjob-worker"
}

# lj_add_type NAME JSON: adds a job type to the test config (before lj_start).
lj_add_type() {
	[ -f "$LJ_CONFIG" ] || lj_write_config
	sed -i -e "s|^  \"types\": {|  \"types\": {\n    \"$1\": $2,|" "$LJ_CONFIG"
	grep -q "\"$1\": " "$LJ_CONFIG" || lj_die "cannot add type $1"
}

# The handler of a job: the process group leader working in the job's directory.
lj_handler_of() {
	local p pid
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$LJ_STATE/spool/$1" ] || continue
		pid=${p#/proc/}
		# Its keeper works there too, and leads a group of its own.
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q longjob-keeper && continue
		[ "$(cut -d' ' -f5 "$p/stat" 2>/dev/null)" = "$pid" ] && { echo "$pid"; return 0; }
	done
	return 1
}

# 0 if the process is gone (a zombie is gone: here PID 1 may not reap orphans).
lj_gone() {
	local state
	state=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$state" = Z ] || [ "$state" = X ]
}

# Waits (bounded) until a job's handler is running and has reported; prints its pid.
lj_running_handler() {
	local h
	for _ in $(seq 100); do
		h=$(lj_handler_of "$1") && [ -n "$h" ] &&
			"$top_builddir/longjob" show "$1" 2>/dev/null | grep -q '"progress": [1-9]' &&
			{ echo "$h"; return 0; }
		sleep 0.1
	done
	return 1
}

# lj_test_handlers: the job types backed by tests/handlers.
lj_test_handlers() {
	local h=$LJ_HANDLERS
	lj_add_type fail "{ \"argv\": [\"$h/fail\"] }"
	lj_add_type chatty "{ \"argv\": [\"$h/chatty\"] }"
	lj_add_type slow "{ \"argv\": [\"$h/slow\", \"3\"], \"steps\": [\"only\"] }"
}
