#!/bin/sh
# The web-facing tests behind apache-fcgid (see tests/integration/lib.sh).
LJ_FRONTEND=apache-fcgid exec bash "$(dirname "$0")/../integration/frontend.sh"
