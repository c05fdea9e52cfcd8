#!/bin/sh
# deps.sh: installs the Debian packages longjob needs to build, test and run
# its demo, if any is missing.  Needs root (or sudo) only when it installs.
# clang and libclang-rt-14-dev (libFuzzer) are for the fuzz targets only.
#
# The package scripts would start a system-wide lighttpd and Apache on port 80 on
# install; a temporary policy-rc.d stops that (the demo and the tests start
# their own lighttpd on 127.0.0.1 with their own config).
set -eu

# chromium, nodejs and npm: the browser test (tests/integration/browser.sh)
# drives Debian's chromium with playwright-core, which npm installs from
# tests/browser/package-lock.json; no browser is downloaded.
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev libjson-c-dev
libsqlite3-dev libpng-dev lighttpd apache2 libapache2-mod-fcgid sqlite3 curl
ca-certificates clang libclang-rt-14-dev valgrind chromium nodejs npm"

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
echo "deps.sh: done"
