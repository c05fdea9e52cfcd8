#!/bin/sh
# The web-facing tests behind lighttpd-cgi (see tests/integration/lib.sh).
LJ_FRONTEND=lighttpd-cgi exec bash "$(dirname "$0")/../integration/frontend.sh"
