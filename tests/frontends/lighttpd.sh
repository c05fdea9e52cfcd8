#!/bin/sh
# The web-facing tests behind lighttpd (see tests/integration/lib.sh).
LJ_FRONTEND=lighttpd exec bash "$(dirname "$0")/../integration/frontend.sh"
