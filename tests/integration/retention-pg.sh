#!/bin/sh
# retention.sh on PostgreSQL (a server of the test's own, tests/pg.sh):
# ended jobs go with their events, files and artifacts there too, by the
# worker and by `longjob gc`.
grep -q '^#define HAVE_LIBPQ 1' "${top_builddir:-.}/config.h" || {
	echo "SKIP: this build has no PostgreSQL store (configure found no libpq-dev)"
	exit 77
}
LJ_STORE=postgresql exec bash "$(dirname "$0")/retention.sh"
