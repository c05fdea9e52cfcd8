#!/bin/bash
# The pages in a real browser: Debian's chromium, headless, driven by
# playwright-core (tests/browser/browser.js), against the real lighttpd
# serving html/ from the shipped example config.  The render form (the bar
# takes several values, then the image, a PNG of the requested size), the
# import form (queued with its declared steps, then the steps in order),
# Cancel, a reload and a second tab mid-job, a lost connection, the flow
# with JavaScript off, and the README's longjob.js example.
#
# playwright-core comes from tests/browser/package-lock.json, installed with
# npm ci into the build tree (no browser is downloaded: it drives
# /usr/bin/chromium).  Screenshots go to $top_builddir/tests/artifacts/browser/.
# Without node, npm or chromium the test is skipped, saying why.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${LJ_CHROMIUM:-/usr/bin/chromium}
NODE=$(command -v node || command -v nodejs) ||
	lj_skip "node is not installed (apt-get install nodejs npm; tools/deps.sh does)"
command -v npm >/dev/null ||
	lj_skip "npm is not installed (apt-get install npm; tools/deps.sh does)"
[ -x "$CHROMIUM" ] ||
	lj_skip "chromium is not installed at $CHROMIUM (apt-get install chromium; tools/deps.sh does)"
[ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -ge 18 ] ||
	lj_skip "node $("$NODE" --version) is too old: playwright-core needs 18 or later"

# npm ci once per build tree and lock file: node_modules is kept beside a
# copy of the lock file it was installed from.
mods=$top_builddir/tests/browser
src=$top_srcdir/tests/browser
if ! cmp -s "$src/package-lock.json" "$mods/.installed-lock" ||
	[ ! -d "$mods/node_modules/playwright-core" ]; then
	mkdir -p "$mods"
	if [ "$(cd "$src" && pwd)" != "$(cd "$mods" && pwd)" ]; then
		cp "$src/package.json" "$src/package-lock.json" "$mods/"
	fi
	rm -rf "$mods/node_modules" "$mods/.installed-lock"
	(cd "$mods" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) \
		>"$LJ_TMP/npm.log" 2>&1 ||
		lj_skip "npm ci of playwright-core failed (no registry?): $(tail -5 "$LJ_TMP/npm.log" | tr '\n' ' ')"
	cp "$src/package-lock.json" "$mods/.installed-lock"
fi

# A short stream lifetime and a quick retry: every job in the browser is
# seen across routine reconnects (which must not show "connection lost").
lj_write_config
lj_config_set stream_max_s 4
lj_config_set retry_ms 500
lj_config_set max_running 2
lj_add_type ticker "{ \"argv\": [\"$LJ_HANDLERS/ticker\", \"8\"] }"
lj_start

artifacts=$top_builddir/tests/artifacts/browser
rm -rf "$artifacts"
mkdir -p "$artifacts" "$LJ_TMP/browser/home"
# Chromium and its profile live in our temporary directory (its cwd there
# also lets the EXIT trap find and stop any it leaves behind).
(cd "$LJ_TMP/browser" &&
	HOME=$LJ_TMP/browser/home TMPDIR=$LJ_TMP/browser NODE_PATH=$mods/node_modules \
	LJ_URL=$LJ_URL LJ_ARTIFACTS=$artifacts LJ_CHROMIUM=$CHROMIUM \
	LJ_CSV=$top_srcdir/html/employees-sample.csv LJ_README=$top_srcdir/README.md \
	timeout 150 "$NODE" "$src/browser.js") >"$LJ_TMP/browser.out" 2>"$LJ_TMP/browser.err"
rc=$?

while IFS=$'\t' read -r verdict what; do
	case $verdict in
	PASS) lj_check 0 "$what" ;;
	FAIL) lj_check 1 "$what" ;;
	*) echo "$verdict${what:+ $what}" ;;
	esac
done <"$LJ_TMP/browser.out"
[ -s "$LJ_TMP/browser.err" ] && sed 's/^/# stderr: /' "$LJ_TMP/browser.err" | tail -30
lj_is "$rc" 0 "browser.js ran to its end and passed (exit $rc; 124 is its 150 s timeout)"
echo "# screenshots: $(cd "$artifacts" && ls | tr '\n' ' ')in $artifacts"
lj_done
