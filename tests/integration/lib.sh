# lib.sh: what every integration test shares.  Source it, then call lj_start.
#
# Each test gets its own temporary directory with a config, a database and a
# spool; the web server config is GENERATED FROM THE SHIPPED EXAMPLE (only
# its variables are replaced), so an example that stops working fails the
# suite.  A real lighttpd is started on a free loopback port and stopped by
# the EXIT trap, together with every process the test caused to exist
# (workers and handlers, found by pid through their config path or cwd).
#
# Environment: top_srcdir, top_builddir (set by make check), LJ_FRONTEND
# (lighttpd = FastCGI, the default; lighttpd-cgi = plain CGI).

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LJ_FRONTEND=${LJ_FRONTEND:-lighttpd}
SSECLIENT=$top_builddir/tests/sseclient
LJ_FAILED=0
LJ_CHECKS=0
LJ_PID=
LJ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/longjob-test.XXXXXX")
chmod 755 "$LJ_TMP"
LJ_CONFIG=$LJ_TMP/longjob.json
LJ_RUN=$LJ_TMP/run
LJ_STATE=$LJ_TMP/var/lib/longjob
mkdir -p "$LJ_RUN" "$LJ_STATE"
export LONGJOB_CONFIG=$LJ_CONFIG
# Sanitizer builds: every program (backends, workers) reports into files we check at the end.
export ASAN_OPTIONS="log_path=$LJ_TMP/sanitizer:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$LJ_TMP/sanitizer:print_stacktrace=1:halt_on_error=1"

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
lj_die() {
	echo "FATAL: $*" >&2
	echo "not ok - $*"
	[ -f "$LJ_RUN/lighttpd-error.log" ] && sed 's/^/# lighttpd: /' "$LJ_RUN/lighttpd-error.log" | tail -30
	exit 1
}

# The pids of the processes this test caused: handlers (cwd in our tree),
# workers (our config on their command line), backends (cgi-bin programs
# with our config in their environment).
lj_our_pids() {
	local p cwd cmd
	for p in /proc/[0-9]*; do
		# Never the test itself (or the subshell running this).
		case "${p#/proc/}" in "$$"|"$BASHPID") continue ;; esac
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
		case "$cwd" in "$LJ_TMP"/*) echo "${p#/proc/}"; continue ;; esac
		case "$cmd" in
		*"$LJ_CONFIG"*) echo "${p#/proc/}" ;;
		*/cgi-bin/*) tr '\0' '\n' <"$p/environ" 2>/dev/null |
			grep -qxF -- "LONGJOB_CONFIG=$LJ_CONFIG" && echo "${p#/proc/}" ;;
		esac
	done
}

# 0 if any process of ours is still alive.
lj_ours_alive() {
	[ -n "$(lj_our_pids)" ]
}

# Kills, by pid, every process this test caused that is still there.
lj_kill_ours() {
	local pids
	pids=$(lj_our_pids)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	return 0
}

# The EXIT trap: stop lighttpd and everything we started, keep logs on failure.
lj_cleanup() {
	local rc=$?
	if [ -n "$LJ_PID" ]; then
		kill "$LJ_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$LJ_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$LJ_PID" 2>/dev/null
	fi
	# Give the programs that got SIGTERM a moment to exit (and report leaks).
	for _ in $(seq 30); do lj_ours_alive || break; sleep 0.1; done
	lj_kill_ours
	if ls "$LJ_TMP"/sanitizer.* >/dev/null 2>&1; then
		echo "not ok - a sanitizer reported errors:"
		cat "$LJ_TMP"/sanitizer.* | head -80 | sed 's/^/# /'
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$LJ_RUN/lighttpd-error.log" ]; then
		echo "# --- lighttpd error log ---"
		sed 's/^/# /' "$LJ_RUN/lighttpd-error.log" | tail -60
		echo "# --- backend stderr ---"
		sed 's/^/# /' "$LJ_RUN/lighttpd-stdout.log" | tail -60
	fi
	rm -rf "$LJ_TMP"
	exit "$rc"
}
trap lj_cleanup EXIT
trap 'exit 130' INT TERM

# Writes the job config from the shipped template, with this test's paths.
lj_write_config() {
	sed -e "s|@localstatedir@|$LJ_TMP/var|g" \
	    -e "s|@pkglibexecdir@|$top_builddir|g" \
	    -e "s|@jobsdir@|$top_builddir/jobs|g" \
	    "$top_srcdir/jobs/longjob.json.in" >"$LJ_CONFIG"
	grep -q '@' "$LJ_CONFIG" && lj_die "unreplaced @variables@ in the job config template"
	return 0
}

# lj_config_set KEY VALUE: changes a top-level number in the config.
lj_config_set() {
	sed -i -e "s|^  \"$1\": [^,]*,|  \"$1\": $2,|" "$LJ_CONFIG"
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
	local example=$top_builddir/lighttpd.conf.example
	[ "$LJ_FRONTEND" = lighttpd-cgi ] && example=$top_builddir/lighttpd-cgi.conf.example
	[ -f "$example" ] || lj_die "$example is missing (run make first)"
	sed -e "s|^var.longjob_www .*|var.longjob_www    = \"$top_srcdir/html\"|" \
	    -e "s|^var.longjob_cgibin .*|var.longjob_cgibin = \"$top_builddir/cgi-bin\"|" \
	    -e "s|^var.longjob_config .*|var.longjob_config = \"$LJ_CONFIG\"|" \
	    -e "s|^var.longjob_run .*|var.longjob_run    = \"$LJ_RUN\"|" \
	    -e "s|^server.port .*|server.port          = $LJ_PORT|" \
	    "$example" >"$LJ_TMP/lighttpd.conf"
	for v in "$top_srcdir/html" "$top_builddir/cgi-bin" "$LJ_CONFIG" "$LJ_RUN" "= $LJ_PORT"; do
		grep -qF -- "$v" "$LJ_TMP/lighttpd.conf" ||
			lj_die "the example $example no longer has the variable for $v"
	done
}

# lj_launch WRITER: starts lighttpd on a free port with the config that the
# function WRITER writes to $LJ_TMP/lighttpd.conf for $LJ_PORT; retries on
# another port if that one was taken meanwhile.  Sets LJ_PORT, LJ_URL, LJ_PID.
# A unique server.tag proves that what answers is our lighttpd.
lj_launch() {
	local tag
	for attempt in 1 2 3 4 5; do
		LJ_PORT=$(lj_free_port)
		tag="longjob-test-$$-$LJ_PORT"
		"$1"
		echo "server.tag = \"$tag\"" >>"$LJ_TMP/lighttpd.conf"
		lighttpd -tt -f "$LJ_TMP/lighttpd.conf" >"$LJ_TMP/lighttpd-check.log" 2>&1 ||
			lj_die "lighttpd rejects the generated config: $(cat "$LJ_TMP/lighttpd-check.log")"
		lighttpd -D -f "$LJ_TMP/lighttpd.conf" >>"$LJ_RUN/lighttpd-stdout.log" 2>&1 &
		LJ_PID=$!
		for _ in $(seq 100); do
			kill -0 "$LJ_PID" 2>/dev/null || break
			if curl -s -m 2 -o /dev/null -D - "http://127.0.0.1:$LJ_PORT/" 2>/dev/null |
				tr -d '\r' | grep -qx "Server: $tag"; then
				LJ_URL=http://127.0.0.1:$LJ_PORT
				return 0
			fi
			sleep 0.05
		done
		kill "$LJ_PID" 2>/dev/null; wait "$LJ_PID" 2>/dev/null; LJ_PID=
	done
	lj_die "lighttpd did not start"
}

# Starts lighttpd (and the job config) for this test; sets LJ_PORT and LJ_URL.
lj_start() {
	command -v lighttpd >/dev/null || lj_skip "lighttpd is not installed (apt-get install lighttpd)"
	[ -f "$LJ_CONFIG" ] || lj_write_config
	lj_launch lj_write_lighttpd_conf
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

# lj_add_type NAME JSON: adds a job type to the test config (before lj_start).
lj_add_type() {
	[ -f "$LJ_CONFIG" ] || lj_write_config
	sed -i -e "s|^  \"types\": {|  \"types\": {\n    \"$1\": $2,|" "$LJ_CONFIG"
	grep -q "\"$1\": " "$LJ_CONFIG" || lj_die "cannot add type $1"
}

# lj_test_handlers: the job types backed by tests/handlers.
lj_test_handlers() {
	local h=$top_srcdir/tests/handlers
	lj_add_type fail "{ \"argv\": [\"$h/fail\"] }"
	lj_add_type chatty "{ \"argv\": [\"$h/chatty\"] }"
	lj_add_type slow "{ \"argv\": [\"$h/slow\", \"3\"], \"steps\": [\"only\"] }"
}
