#!/bin/sh
# The web-facing tests behind apache-fcgid (see tests/integration/lib.sh).
# LJ_FRONTENDS, if set, lists the setups to run (make distcheck runs one).
case " ${LJ_FRONTENDS:-apache-fcgid} " in
*" apache-fcgid "*) ;;
*) echo "SKIP: apache-fcgid is not in LJ_FRONTENDS ($LJ_FRONTENDS)"; exit 77 ;;
esac
LJ_FRONTEND=apache-fcgid exec bash "$(dirname "$0")/../integration/frontend.sh"
