#!/bin/sh
# The web-facing tests behind apache-proxy-fcgi, on PostgreSQL (a server of the suite's
# own, tests/pg.sh) instead of SQLite: every guarantee holds on both stores.
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-apache-proxy-fcgi-pg} " in
*" apache-proxy-fcgi-pg "*) ;;
*) echo "SKIP: apache-proxy-fcgi-pg is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
grep -q '^#define HAVE_LIBPQ 1' "${top_builddir:-.}/config.h" || {
	echo "SKIP: this build has no PostgreSQL store (configure found no libpq-dev)"
	exit 77
}
LJ_FRONTEND=apache-proxy-fcgi LJ_STORE=postgresql exec bash "$(dirname "$0")/../integration/frontend.sh"
