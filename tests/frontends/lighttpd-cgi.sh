#!/bin/sh
# The web-facing tests behind lighttpd-cgi (see tests/integration/lib.sh).
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-lighttpd-cgi} " in
*" lighttpd-cgi "*) ;;
*) echo "SKIP: lighttpd-cgi is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
LJ_FRONTEND=lighttpd-cgi exec bash "$(dirname "$0")/../integration/frontend.sh"
