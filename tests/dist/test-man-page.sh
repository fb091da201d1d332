#!/usr/bin/env bash
# test-man-page.sh PROGRAM MANPAGE [CONFIG_C]: MANPAGE documents every option
# `PROGRAM --help` lists and, with CONFIG_C (chatd/config.c), every
# configuration key that file reads; and groff formats it without a warning
# (when groff is installed).
set -uo pipefail
program=$1
manpage=$2
config_c=${3:-}
failures=0

# The page's text with roff's escaped hyphens plain.
text=$(sed 's/\\-/-/g' "$manpage")

options=$("$program" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ -n "$options" ] || {
  echo "FAIL: no options in $program --help"
  exit 1
}
for option in $options; do
  if ! grep -qF -- "$option" <<<"$text"; then
    echo "FAIL: $manpage does not document $option"
    failures=$((failures + 1))
  fi
done

if [ -n "$config_c" ]; then
  # The key tables of config.c: {"bind_port", FIELD_U16, ...}
  keys=$(grep -o '{"[a-z_]*", FIELD_' "$config_c" | sed 's/{"\([a-z_]*\)".*/\1/' | sort -u)
  [ -n "$keys" ] || {
    echo "FAIL: no configuration keys found in $config_c"
    exit 1
  }
  for key in $keys; do
    if ! grep -qw -- "$key" <<<"$text"; then
      echo "FAIL: $manpage does not document the configuration key $key"
      failures=$((failures + 1))
    fi
  done
fi

if command -v groff >/dev/null 2>&1; then
  warnings=$(groff -man -Tutf8 -ww -z "$manpage" 2>&1)
  if [ -n "$warnings" ]; then
    echo "FAIL: groff warns about $manpage:"
    echo "$warnings"
    failures=$((failures + 1))
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "$manpage documents every option${config_c:+ and configuration key}"
