#!/bin/bash
# test_store's backend-neutral suite on PostgreSQL: a server of our own
# (tests/pg.sh), an empty database, the same assertions as on SQLite.
set -u
grep -q '^#define HAVE_LIBPQ 1' "${top_builddir:-.}/config.h" || {
	echo "SKIP: this build has no PostgreSQL store (configure found no libpq-dev)"
	exit 77
}
. "$(dirname "$0")/../pg.sh"
trap lj_pg_stop EXIT
lj_pg_start || exit $?
db=$(lj_pg_database store) || exit 1
# Under make check-valgrind (LJ_VALGRIND=1) the backend runs under memcheck too.
if [ -n "${LJ_VALGRIND:-}" ]; then
	LJ_TEST_POSTGRESQL=$db sh "$(dirname "$0")/../memcheck" "${top_builddir:-.}/tests/unit/test_store"
else
	LJ_TEST_POSTGRESQL=$db "${top_builddir:-.}/tests/unit/test_store"
fi
