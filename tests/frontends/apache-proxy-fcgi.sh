#!/bin/sh
# The web-facing tests behind apache-proxy-fcgi (see tests/integration/lib.sh).
LJ_FRONTEND=apache-proxy-fcgi exec bash "$(dirname "$0")/../integration/frontend.sh"
