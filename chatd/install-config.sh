#!/bin/sh
# install-config.sh FILE DIR: meson's install step for chatd's default
# configuration. Copies FILE into DIR (under $DESTDIR) only when DIR holds no
# file of that name, so a reinstall never overwrites what the administrator
# changed. DIR is absolute.
set -eu
file=$1
dir=${DESTDIR:-}$2
target=$dir/$(basename "$file")
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
  echo "Would install $file to $dir unless it exists"
  exit 0
fi
if [ -e "$target" ]; then
  echo "Keeping $target (it exists)"
  exit 0
fi
mkdir -p "$dir"
cp "$file" "$target"
chmod 0644 "$target"
echo "Installing $file to $dir"
