#!/bin/bash
# When a library is missing, configure stops with a message that names the
# Debian package to install.  (The libraries are hidden from configure: an
# empty pkg-config search path, and a cached "no" for the libfcgi header.)
. "$(dirname "$0")/lib.sh"
mkdir -p "$LJ_TMP/b" && cd "$LJ_TMP/b" || lj_die "no build directory"

PKG_CONFIG_LIBDIR=$LJ_TMP/empty PKG_CONFIG_PATH= "$top_srcdir/configure" -q >out 2>&1
lj_is $? 1 "configure fails without the pkg-config libraries"
grep -q "install the Debian package libsqlite3-dev" out
lj_check $? "and names the package: $(grep -i error out | head -1)"

ac_cv_header_fcgiapp_h=no "$top_srcdir/configure" -q >out 2>&1
lj_is $? 1 "configure fails without fcgiapp.h"
grep -q "install the Debian package libfcgi-dev" out
lj_check $? "and names the package: $(grep -i error out | head -1)"

ac_cv_lib_fcgi_FCGX_Accept_r=no "$top_srcdir/configure" -q >out 2>&1
lj_is $? 1 "configure fails without libfcgi"
grep -q "install the Debian package libfcgi-dev" out
lj_check $? "and names the package"
lj_done
