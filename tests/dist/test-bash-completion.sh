#!/usr/bin/env bash
# test-bash-completion.sh COMPLETION CHATCTL: sources chatctl's bash
# completion in this bash and completes command lines as bash would
# (COMP_WORDS, COMP_CWORD, then the function `complete -p chatctl` names):
# every command `chatctl --help` lists, every option `chatctl COMMAND --help`
# lists, the verbs of friends and rooms, the dialects, and file names.
set -uo pipefail
completion=$1
chatctl=$2
failures=0

# shellcheck source=/dev/null
source "$completion"
spec=$(complete -p chatctl 2>/dev/null) || {
  echo "FAIL: sourcing $completion registers no completion for chatctl"
  exit 1
}
function=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
[ -n "$function" ] || {
  echo "FAIL: complete -p chatctl: no -F function: $spec"
  exit 1
}

# completions LINE: the completions of LINE (its last word, maybe empty),
# one per line, sorted.
completions() {
  read -r -a COMP_WORDS <<<"$1"
  [[ $1 == *' ' ]] && COMP_WORDS+=('')
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$1
  COMP_POINT=${#1}
  COMPREPLY=()
  "$function" chatctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WORD...: LINE completes to exactly WORD... (in any order).
expect() {
  local line=$1
  shift
  local got want
  got=$(completions "$line")
  want=$(printf '%s\n' "$@" | sort)
  if [ "$got" != "$want" ]; then
    echo "FAIL: '$line' completes to [$(echo $got)], expected [$(echo $want)]"
    failures=$((failures + 1))
  fi
}

# expect_among LINE WORD...: LINE's completions include every WORD.
expect_among() {
  local line=$1
  shift
  local got word
  got=$(completions "$line")
  for word in "$@"; do
    if ! grep -qxF -- "$word" <<<"$got"; then
      echo "FAIL: '$line' does not complete to $word (got [$(echo $got)])"
      failures=$((failures + 1))
    fi
  done
}

# A few prefixes, as a user types them.
expect 'chatctl fr' friends
expect 'chatctl se' send send-image search
expect 'chatctl friends ' list requests add accept reject
expect 'chatctl --user alice rooms j' join
expect 'chatctl rooms join ' 
expect 'chatctl --dialect ' seed v2
expect 'chatctl decode --dialect s' seed
expect 'chatctl history --wi' --with-user --with-data
expect 'chatctl --user alice search --j' --json
expect 'chatctl --config config.json --user alice send --to-' --to-user --to-room
expect 'chatctl --ver' --version

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
touch "$dir/cat.png" "$dir/capture.pcap"
expect "chatctl send-image --to-user bob $dir/ca" "$dir/cat.png" "$dir/capture.pcap"
expect "chatctl --config $dir/cap" "$dir/capture.pcap"

# Every command chatctl lists, and every option of each.
commands=$("$chatctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || {
  echo "FAIL: no commands in chatctl --help"
  exit 1
}
expect_among 'chatctl ' $commands
expect_among 'chatctl --' $("$chatctl" --help | sed -n '/^Global options/,/^$/p' |
  grep -o -- '--[a-z][a-z-]*' | sort -u)
for command in $commands; do
  options=$("$chatctl" "$command" --help | sed -n '/^Options:/,/^[A-Z]/p' |
    grep -o -- '^  *--[a-z][a-z-]*' | tr -d ' ' | sort -u)
  [ -n "$options" ] && expect_among "chatctl $command --" $options
done

if [ "$failures" -gt 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "every command and option completes"
