#!/bin/sh
# The web-facing tests behind apache-cgi (see tests/integration/lib.sh).
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-apache-cgi} " in
*" apache-cgi "*) ;;
*) echo "SKIP: apache-cgi is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
LJ_FRONTEND=apache-cgi exec bash "$(dirname "$0")/../integration/frontend.sh"
