#!/bin/sh
# The web-facing tests behind apache-cgi (see tests/integration/lib.sh).
LJ_FRONTEND=apache-cgi exec bash "$(dirname "$0")/../integration/frontend.sh"
