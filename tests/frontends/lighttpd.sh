#!/bin/sh
# The web-facing tests behind lighttpd (see tests/integration/lib.sh).
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-lighttpd} " in
*" lighttpd "*) ;;
*) echo "SKIP: lighttpd is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
LJ_FRONTEND=lighttpd exec bash "$(dirname "$0")/../integration/frontend.sh"
