# bash completion for chatctl(1): commands, their options and verbs, the
# dialects, and file names where a command reads a file. Installed into
# bash-completion's completions directory (loaded on first use); it needs
# only bash itself, not the bash-completion package's helpers.
# Keep in step with `chatctl --help` and `chatctl COMMAND --help`
# (tests/dist/test-bash-completion.sh checks every command and option).

# The global options (before or after the command).
_chatctl_global_options='--config --host --port --dialect --user --password-file --json
  --help --version'

# _chatctl_command_options COMMAND: prints the options of COMMAND.
_chatctl_command_options() {
  case $1 in
    decode) echo '--dialect --pretty --lenient' ;;
    encode) echo '--dialect --lenient' ;;
    dump) echo '--keylog --port --json --with-data' ;;
    register) echo '--password-file --json' ;;
    passwd) echo '--password-file --new-password-file --json' ;;
    send) echo '--to-user --to-room --font-size --font-color --json' ;;
    send-image) echo '--to-user --to-room --json' ;;
    history) echo '--with-user --room --limit --before --with-data --json' ;;
    search) echo '--friend --room --limit --before --json' ;;
    watch) echo '--count --timeout --with-data --json' ;;
    echo) echo '--with-data' ;;
    whoami | nick | logout | friends | rooms | unread | keygen | fingerprint | forget-host)
      echo '--json' ;;
  esac
}

_chatctl_commands='decode encode dump register whoami passwd nick logout send send-image
  friends rooms history search unread watch echo keygen fingerprint forget-host'

# _chatctl_takes_value OPTION: true when OPTION is followed by its value.
_chatctl_takes_value() {
  case $1 in
    --config | --host | --port | --dialect | --user | --password-file | --new-password-file | \
      --keylog | --to-user | --to-room | --font-size | --font-color | --with-user | --room | \
      --friend | --limit | --before | --count | --timeout)
      return 0 ;;
  esac
  return 1
}

_chatctl() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  # The command and, for friends and rooms, the verb: the first words that
  # are neither options nor an option's value.
  local command= verb= i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      _chatctl_takes_value "$word" && ((i++))
    elif [[ -z $command ]]; then
      command=$word
    elif [[ -z $verb ]]; then
      verb=$word
    fi
  done

  if _chatctl_takes_value "$prev"; then
    case $prev in
      --dialect)
        mapfile -t COMPREPLY < <(compgen -W 'seed v2' -- "$cur") ;;
      --config | --password-file | --new-password-file | --keylog)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
    return 0
  fi

  if [[ $cur == -* ]]; then
    local options="$_chatctl_global_options $(_chatctl_command_options "$command")"
    mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur" | sort -u)
    return 0
  fi

  if [[ -z $command ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$_chatctl_commands" -- "$cur")
    return 0
  fi

  case $command in
    friends)
      [[ -z $verb ]] && mapfile -t COMPREPLY < <(compgen -W 'list requests add accept reject' -- "$cur") ;;
    rooms)
      [[ -z $verb ]] && mapfile -t COMPREPLY < <(compgen -W 'list create join leave members' -- "$cur") ;;
    dump | send-image | keygen | fingerprint)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
  esac
  return 0
}

complete -F _chatctl chatctl
