#!/usr/bin/env bash
# test-default-config.sh CHATD CONFIG: the configuration meson installs for
# the service (chatd/chatd.json) starts chatd: it loads without a warning
# and chatd listens; SIGTERM then stops it with status 0 (chatd.8, SIGNALS).
# The database and key file go to a temporary directory (--database,
# --key-file) instead of /var/lib/chatd, and --port 0 picks a free port.
set -uo pipefail
chatd=$1
config=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

coproc CHATD { exec "$chatd" --config "$config" --database "$dir/chatd.db" \
  --key-file "$dir/server.key" --port 0 2>&1; }
pid=$CHATD_PID
# bash closes and forgets CHATD when chatd exits: read from a copy.
exec {output}<&"${CHATD[0]}"
listening=
log=
# Each line within 30 s, until "listening on" or the end of the output.
while IFS= read -r -t 30 line <&"$output"; do
  log+="$line"$'\n'
  if [[ $line == *"listening on 127.0.0.1:"* ]]; then
    listening=yes
    break
  fi
done
if [ -z "$listening" ]; then
  kill -KILL "$pid" 2>/dev/null
  echo "FAIL: chatd with $config did not start listening on 127.0.0.1:"
  echo "$log"
  exit 1
fi
kill -TERM "$pid"
# The rest of its output, until it exits.
while IFS= read -r -t 30 line <&"$output"; do
  log+="$line"$'\n'
done
wait "$pid"
status=$?
echo "$log"
if [ "$status" -ne 0 ]; then
  echo "FAIL: chatd exited with status $status after SIGTERM"
  exit 1
fi
if grep -qi 'warning' <<<"$log"; then
  echo "FAIL: chatd warned with $config"
  exit 1
fi
echo "the installed configuration starts chatd, and SIGTERM stops it cleanly"
