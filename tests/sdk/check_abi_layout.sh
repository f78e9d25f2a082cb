#!/bin/sh
# Usage: check_abi_layout.sh ABI_LAYOUT_BINARY GOLDEN_DIR
# The layout printed by the binary must equal sdk/abi/layout-MAJOR.MINOR.txt
# for the header's version, and every line of each earlier minor of the same
# major (except record sizes, which grow when fields are appended) must still
# be there: fields are only ever appended, never moved or renumbered.
set -eu
bin=$1
dir=$2
current=$(mktemp)
trap 'rm -f "$current"' EXIT
"$bin" >"$current"
version=$(sed -n 's/^abi //p' "$current")
major=${version%.*}
minor=${version#*.}
golden="$dir/layout-$version.txt"
if [ ! -f "$golden" ]; then
  echo "no golden layout for ABI $version: add $golden (copy of the output below) with the version bump"
  cat "$current"
  exit 1
fi
if ! diff -u "$golden" "$current"; then
  echo "the layout of gyre/plugin.h changed without an ABI version bump (golden: $golden)."
  echo "Appending fields: bump GYRE_ABI_MINOR and add sdk/abi/layout-$major.<new minor>.txt."
  echo "Changing or moving one: bump GYRE_ABI_MAJOR."
  exit 1
fi
m=0
while [ "$m" -lt "$minor" ]; do
  old="$dir/layout-$major.$m.txt"
  if [ -f "$old" ]; then
    grep -v '^sizeof \|^abi ' "$old" | while IFS= read -r line; do
      if ! grep -qxF "$line" "$current"; then
        echo "ABI $major.$m promised \"$line\"; ABI $version breaks it (a field moved or a constant changed)"
        exit 1
      fi
    done
  fi
  m=$((m + 1))
done
echo "ABI $version layout matches $golden"
