#!/usr/bin/env bash
# run-tool.sh TOOL ARGS...: runs a validator (desktop-file-validate,
# appstreamcli, systemd-analyze) and exits with its status; 77 (skipped) when
# TOOL is not installed (ci/setup installs them).
set -u
tool=$1
shift
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "$tool is not installed (ci/setup installs it): skipped"
  exit 77
fi
exec "$tool" "$@"
