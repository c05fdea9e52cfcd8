#!/bin/bash
# frontend.sh: the tests that go through the web server, run behind the
# setup named by LJ_FRONTEND (see lib.sh).  The tests are the same for
# every setup; only the generated server config differs.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
suite="render resume errors failing streaming disconnect queue many-streams reload limits cancel faults badinput artifacts lost noworker waiting fairness groups steps linkfiles headers spool slowreaders"
failed= skipped= on=
# On PostgreSQL (LJ_STORE=postgresql) the suite shares one server, started
# here (tests/pg.sh); each test makes a database of its own on it.
if [ "${LJ_STORE:-sqlite}" = postgresql ]; then
	. "$dir/../pg.sh"
	lj_pg_start || exit $?
	export LJ_PG_HOST LJ_PG_PORT LJ_PG_BIN LJ_PG_DIR
	on=" on PostgreSQL"
fi
# Each test's output is kept, so that its failures can be repeated last,
# where run-tests' tail of the log shows them.
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"; [ -n "${LJ_PG_DIR:-}" ] && lj_pg_stop' EXIT
for t in $suite; do
	echo "# ===== $t.sh behind $LJ_FRONTEND$on"
	bash "$dir/$t.sh" >"$out/$t" 2>&1
	rc=$?
	cat "$out/$t"
	case $rc in
	0) ;;
	77) skipped="$skipped $t" ;;
	*) failed="$failed $t" ;;
	esac
done
for t in $failed; do
	echo "# ----- what failed in $t.sh behind $LJ_FRONTEND$on"
	grep -E -A8 "^not ok" "$out/$t" | head -40
done
[ -n "$skipped" ] && echo "# SKIPPED behind $LJ_FRONTEND$on (see above for why):$skipped"
[ -z "$failed" ] || { echo "# FAILED behind $LJ_FRONTEND$on:$failed"; exit 1; }
echo "# all of it passed behind $LJ_FRONTEND$on"
