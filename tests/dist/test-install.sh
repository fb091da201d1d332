#!/usr/bin/env bash
# test-install.sh SOURCE_ROOT BUILD_DIR SANITIZE NAME=PATH...: runs
# `meson install --destdir` of the build into a temporary directory and
# checks that everything a distribution expects is there: the programs, the
# man pages, chatd's systemd unit and default configuration, chatctl's bash
# completion, libchat-protocol (the .so, its symlinks and soname, the public
# headers, chat-protocol.pc), the client's desktop file, metainfo, icons,
# translations and (once its source exists) GSettings schema. Then it builds
# tests/dist/protocol-example.c against the installed headers and library
# only (pkg-config with the destdir as sysroot) and runs it: it encodes and
# decodes a message. A second install keeps a changed configuration.
#
# NAME=PATH: the absolute install directories meson was configured with
# (bindir, libdir, includedir, datadir, mandir, sysconfdir, unitdir,
# completiondir). SANITIZE: the build's b_sanitize (the example is linked
# with the same sanitizers).
set -uo pipefail
source_root=$1
build_dir=$2
sanitize=$3
shift 3
declare -A dir
for arg in "$@"; do
  dir[${arg%%=*}]=${arg#*=}
done
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

destdir=$(mktemp -d)
trap 'rm -rf "$destdir"' EXIT
# --no-rebuild: meson test has just built everything.
if ! meson install -C "$build_dir" --destdir "$destdir" --no-rebuild --quiet >"$destdir.log" 2>&1; then
  cat "$destdir.log"
  rm -f "$destdir.log"
  echo "FAIL: meson install --destdir"
  exit 1
fi
rm -f "$destdir.log"

# expect_file PATH [WHAT]: PATH (absolute, without the destdir) was installed.
expect_file() {
  if [ -f "$destdir$1" ]; then
    echo "ok: $1"
  else
    fail "not installed: $1${2:+ ($2)}"
  fi
}

app_id=io.github.chatd.Chat
for program in chatd chatctl chat-client; do
  expect_file "${dir[bindir]}/$program"
  [ -x "$destdir${dir[bindir]}/$program" ] || fail "${dir[bindir]}/$program is not executable"
done
expect_file "${dir[mandir]}/man8/chatd.8"
expect_file "${dir[mandir]}/man1/chatctl.1"
expect_file "${dir[unitdir]}/chatd.service"
expect_file "${dir[sysconfdir]}/chatd/chatd.json"
expect_file "${dir[completiondir]}/chatctl" "bash completion"
expect_file "${dir[datadir]}/applications/$app_id.desktop"
expect_file "${dir[datadir]}/metainfo/$app_id.metainfo.xml"
expect_file "${dir[datadir]}/icons/hicolor/scalable/apps/$app_id.svg"
expect_file "${dir[datadir]}/icons/hicolor/symbolic/apps/$app_id-symbolic.svg"
expect_file "${dir[datadir]}/locale/zh_CN/LC_MESSAGES/chat-client.mo"
if [ -f "$source_root/gtk-client/data/$app_id.gschema.xml" ]; then
  expect_file "${dir[datadir]}/glib-2.0/schemas/$app_id.gschema.xml"
fi

# The unit runs the installed chatd with the installed configuration.
unit=$destdir${dir[unitdir]}/chatd.service
exec_start="ExecStart=${dir[bindir]}/chatd --config ${dir[sysconfdir]}/chatd/chatd.json"
[ -f "$unit" ] && ! grep -qxF "$exec_start" "$unit" && fail "chatd.service lacks $exec_start"
# The desktop file names the installed icon.
grep -qx "Icon=$app_id" "$destdir${dir[datadir]}/applications/$app_id.desktop" 2>/dev/null ||
  fail "the desktop file does not name the icon $app_id"

# The installed tree as a software centre reads it: the metainfo with the
# desktop file it launches.
if command -v appstreamcli >/dev/null 2>&1; then
  appstreamcli validate-tree --no-net --strict "$destdir${dir[datadir]%/share}" ||
    fail "appstreamcli validate-tree of the installed files"
fi

# The library: the real file, the soname link, the development link.
lib=$destdir${dir[libdir]}
expect_file "${dir[libdir]}/libchat-protocol.so.0"
[ -L "$lib/libchat-protocol.so.0" ] || fail "libchat-protocol.so.0 is not a symlink"
[ -L "$lib/libchat-protocol.so" ] || fail "libchat-protocol.so is not a symlink"
real=$(readlink -f "$lib/libchat-protocol.so")
case $real in
  "$lib"/libchat-protocol.so.0.*) echo "ok: libchat-protocol.so -> ${real##*/}" ;;
  *) fail "libchat-protocol.so resolves to $real" ;;
esac
if command -v readelf >/dev/null 2>&1; then
  dynamic=$(readelf -d "$lib/libchat-protocol.so.0" 2>&1)
  grep -q 'SONAME.*\[libchat-protocol\.so\.0\]' <<<"$dynamic" ||
    fail "the soname of libchat-protocol is not libchat-protocol.so.0"
fi
expect_file "${dir[libdir]}/pkgconfig/chat-protocol.pc"
headers=$destdir${dir[includedir]}/chat-protocol/protocol
for header in messages.h message.h catalogue.h value.h error.h channel.h v2-channel.h; do
  expect_file "${dir[includedir]}/chat-protocol/protocol/$header"
done
for private in "$headers"/*-internal.h "$headers"/*-private.h; do
  [ -e "$private" ] && fail "a private header is installed: ${private#"$destdir"}"
done

# Reinstalling keeps a changed configuration.
config=$destdir${dir[sysconfdir]}/chatd/chatd.json
if [ -f "$config" ]; then
  echo '{"server": {"bind_port": 9000}}' >"$config"
  meson install -C "$build_dir" --destdir "$destdir" --no-rebuild --quiet >/dev/null 2>&1 ||
    fail "the second meson install --destdir failed"
  grep -q 9000 "$config" || fail "a reinstall overwrote ${dir[sysconfdir]}/chatd/chatd.json"
fi

# Another program, built against the installed files only.
export PKG_CONFIG_PATH=$lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$destdir
if ! flags=$(pkg-config --cflags --libs chat-protocol); then
  fail "pkg-config does not find chat-protocol"
else
  cc=${CC:-cc}
  san=()
  [ "$sanitize" != none ] && san=("-fsanitize=$sanitize")
  # Every public header compiles on its own.
  for header in "$headers"/*.h; do
    printf '#include <protocol/%s>\n' "${header##*/}" |
      $cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -x c - $flags ||
      fail "protocol/${header##*/} does not compile on its own"
  done
  example=$destdir/protocol-example
  if $cc -std=c11 -Wall -Wextra -Werror "${san[@]}" -o "$example" \
    "$source_root/tests/dist/protocol-example.c" $flags; then
    libraries=$(LD_LIBRARY_PATH=$lib ldd "$example" 2>&1)
    if ! grep -qF "$lib/libchat-protocol.so.0" <<<"$libraries"; then
      fail "the example does not load the installed libchat-protocol.so.0"
    fi
    LD_LIBRARY_PATH=$lib "$example" || fail "the example program failed"
  else
    fail "the example program does not build against the installed library"
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "everything is installed"
