# tests/pg.sh: a PostgreSQL server of a test's own, sourced by the tests
# that need one.  Debian's postgresql package gives initdb and pg_ctl; the
# server runs as the postgres user (it refuses root) from a temporary
# directory, listens on a Unix socket there only (no TCP port to collide
# with), trusts local connections, and is stopped by lj_pg_stop.  fsync is
# off: a test's data need not survive a power cut, and its speed matters
# (LJ_PG_OPTS: other server settings, "-c name=value ...").
#
#   lj_pg_start      starts it; sets LJ_PG_DIR and LJ_PG_HOST (the socket
#                    directory), LJ_PG_PORT; 77 (skip) without PostgreSQL
#   lj_pg_database N creates database N, prints its conninfo string
#   lj_pg_psql N SQL runs SQL in database N (as the superuser)
#   lj_pg_restart    stops the server (fast) and starts it again
#   lj_pg_stop       stops it and removes its directory

# The tests' settings; LJ_PG_OPTS replaces them (bench/run keeps fsync).
LJ_PG_FAST="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"

lj_pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# Runs a PostgreSQL program as the user the server runs as.
lj_pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

lj_pg_start() {
	local bin
	bin=$(lj_pg_bin)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "# SKIP: PostgreSQL is not installed (apt-get install postgresql libpq-dev)"
		return 77
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "# SKIP: there is no postgres user to run PostgreSQL as"
		return 77
	fi
	LJ_PG_BIN=$bin
	LJ_PG_DIR=$(mktemp -d /tmp/longjob-pg.XXXXXX) || return 1
	# Others (the web server's user) reach the socket in it.
	chmod 755 "$LJ_PG_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$LJ_PG_DIR"
	LJ_PG_HOST=$LJ_PG_DIR
	LJ_PG_PORT=$((20000 + $$ % 20000))
	if ! lj_pg_as "$bin/initdb" -D "$LJ_PG_DIR/data" -U longjob --auth=trust -E UTF8 \
		--no-sync >"$LJ_PG_DIR/initdb.log" 2>&1; then
		echo "# initdb failed:"; sed 's/^/# /' "$LJ_PG_DIR/initdb.log"
		return 1
	fi
	lj_pg_up
}

# Starts the server of LJ_PG_DIR; 0 once it takes connections.
lj_pg_up() {
	if ! lj_pg_as "$LJ_PG_BIN/pg_ctl" -D "$LJ_PG_DIR/data" -l "$LJ_PG_DIR/server.log" -w -t 60 \
		-o "-k $LJ_PG_DIR -p $LJ_PG_PORT -c listen_addresses= ${LJ_PG_OPTS:-$LJ_PG_FAST}" \
		start >"$LJ_PG_DIR/pg_ctl.log" 2>&1; then
		echo "# PostgreSQL did not start:"; tail -20 "$LJ_PG_DIR/server.log" | sed 's/^/# /'
		return 1
	fi
}

lj_pg_database() {
	lj_pg_psql postgres "CREATE DATABASE $1" >/dev/null || return 1
	echo "host=$LJ_PG_HOST port=$LJ_PG_PORT user=longjob dbname=$1"
}

lj_pg_psql() {
	"$LJ_PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$LJ_PG_HOST" -p "$LJ_PG_PORT" \
		-U longjob -d "$1" -c "$2"
}

lj_pg_restart() {
	lj_pg_as "$LJ_PG_BIN/pg_ctl" -D "$LJ_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
	lj_pg_up
}

lj_pg_stop() {
	[ -n "${LJ_PG_DIR:-}" ] || return 0
	lj_pg_as "$LJ_PG_BIN/pg_ctl" -D "$LJ_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$LJ_PG_DIR"
	LJ_PG_DIR=
}
