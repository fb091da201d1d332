#!/usr/bin/env bash
# test-systemd-unit.sh UNIT CHATD: checks chatd's systemd unit as configured
# for installation (UNIT): it has the sandboxing settings chatd.8 promises,
# `systemd-analyze verify` finds nothing to say
# about it (it only warns about an unknown or bad setting, so any output
# fails), and `systemd-analyze security --offline` rates its exposure at
# most 2.0 ("OK"). ExecStart names the installed chatd, which need not
# exist yet: the copy checked here runs CHATD (the built one) instead.
# Exit 77 (skipped) without systemd-analyze.
set -euo pipefail
unit=$1
chatd=$(realpath "$2")
missing=0
for setting in 'DynamicUser=yes' 'StateDirectory=chatd' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
  'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
  'ProtectControlGroups=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
  'RestrictNamespaces=yes' 'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' \
  'SystemCallFilter=@system-service' 'CapabilityBoundingSet='; do
  if ! grep -qxF -- "$setting" "$unit"; then
    echo "FAIL: $unit lacks $setting"
    missing=$((missing + 1))
  fi
done
[ "$missing" -eq 0 ] || exit 1

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze is not installed: skipped"
  exit 77
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
grep -q '^ExecStart=/.*/chatd --config /' "$unit" || {
  echo "FAIL: $unit: ExecStart is not an absolute chatd with --config"
  exit 1
}
sed "s|^ExecStart=[^ ]*/chatd |ExecStart=$chatd |" "$unit" > "$dir/chatd.service"

# --man=no: chatd(8) is not installed yet.
if ! output=$(systemd-analyze verify --man=no "$dir/chatd.service" 2>&1) || [ -n "$output" ]; then
  echo "FAIL: systemd-analyze verify:"
  echo "$output"
  exit 1
fi
echo "systemd-analyze verify: no remarks"

if ! grep -q -- '--threshold' <<<"$(systemd-analyze security --help 2>&1)"; then
  echo "systemd-analyze security has no --threshold here: exposure not rated"
  exit 0
fi
if ! rating=$(systemd-analyze security --offline=yes --threshold=20 "$dir/chatd.service" 2>&1); then
  echo "$rating"
  echo "FAIL: the unit's exposure is above 2.0"
  exit 1
fi
grep 'Overall exposure' <<<"$rating"
