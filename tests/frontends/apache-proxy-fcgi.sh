#!/bin/sh
# The web-facing tests behind apache-proxy-fcgi (see tests/integration/lib.sh).
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-apache-proxy-fcgi} " in
*" apache-proxy-fcgi "*) ;;
*) echo "SKIP: apache-proxy-fcgi is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
LJ_FRONTEND=apache-proxy-fcgi exec bash "$(dirname "$0")/../integration/frontend.sh"
