#!/bin/sh
# deps.sh demo|test: installs the Debian packages that are missing, for the
# demo (run-demo: build longjob and serve it with lighttpd and SQLite) or for
# the whole test suite (run-tests: also Apache, the sanitizer, valgrind,
# fuzzing and browser tooling, and the interpreters of the README's example
# handlers).  Needs root (or sudo) only when it installs.
#
# The package scripts would start a system-wide lighttpd and Apache on port 80
# on install, and enable them at boot: a temporary policy-rc.d stops the
# start, and the servers this run installed are disabled at boot (the demo
# and the tests start their own, on 127.0.0.1, with their own config).
set -eu

# The demo: a compiler, autotools, the three libraries and libpng (the
# render demo), lighttpd, and sqlite3 to look into the store.
DEMO="build-essential autoconf automake pkg-config libfcgi-dev libjson-c-dev
libsqlite3-dev libpng-dev lighttpd sqlite3"
# The tests, besides: Apache with mod_fcgid (three of the five setups); curl
# (the tests' HTTP client); clang and libclang-rt-14-dev (libFuzzer, the
# fuzz targets); valgrind (make check-valgrind); chromium, nodejs and npm
# (the browser test drives Debian's chromium with playwright-core, which npm
# installs from tests/browser/package-lock.json; no browser is downloaded);
# python3 and php-cli (the README's example handlers run as job types);
# postgresql and libpq-dev (the PostgreSQL store: the tests start a server
# of their own with initdb and pg_ctl).
TEST="$DEMO apache2 libapache2-mod-fcgid curl ca-certificates clang libclang-rt-14-dev
valgrind chromium nodejs npm python3 php-cli postgresql libpq-dev"

case ${1:-} in
demo) PACKAGES=$DEMO ;;
test) PACKAGES=$TEST ;;
*) echo "usage: tools/deps.sh demo|test" >&2; exit 2 ;;
esac

# node and npm may come from elsewhere (NodeSource's nodejs bundles npm, and
# Debian's npm would not install beside it): there, the command suffices.
provided() {
	case $1 in
	nodejs) command -v node >/dev/null ;;
	npm) command -v npm >/dev/null ;;
	*) return 1 ;;
	esac
}

missing=
for p in $PACKAGES; do
	provided "$p" && continue
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps.sh: these Debian packages are missing:$missing" >&2
		echo "deps.sh: install them as root: apt-get install$missing" >&2
		exit 1
	}
	SUDO=sudo
fi

policy=/usr/sbin/policy-rc.d
added_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	added_policy=1
fi
cleanup() { [ -n "$added_policy" ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
for server in lighttpd apache2 postgresql; do
	case " $(echo $missing) " in *" $server "*) ;; *) continue ;; esac
	# update-rc.d disables the SysV links and, under systemd, the unit too.
	$SUDO update-rc.d "$server" disable >/dev/null 2>&1 || true
	echo "deps.sh: $server is installed but not started, now or at boot" \
		"(systemctl enable --now $server to have it)"
done
echo "deps.sh: done"
