#!/bin/sh
# Usage: check_plugin_includes.sh SOURCE_DIR
# In-tree plugins are built like third-party ones: against the public SDK
# header alone. Every quoted #include in plugins/<name>/ must name a file of
# that same plugin (no "..", nothing from core/), and the only <gyre/...>
# header is gyre/plugin.h.
set -eu
root=$1
status=0
for dir in "$root"/plugins/*/; do
  name=$(basename "$dir")
  files=$(find "$dir" -type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \))
  [ -n "$files" ] || continue
  for f in $files; do
    rel=${f#"$root"/}
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r hit; do
      line=${hit%%:*}
      inc=$(printf '%s\n' "$hit" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
      case "$inc" in
        *..*|/*) echo "$rel:$line: #include \"$inc\" leaves plugins/$name"; exit 1 ;;
      esac
      if [ ! -f "$(dirname "$f")/$inc" ] && [ ! -f "$dir/$inc" ]; then
        echo "$rel:$line: #include \"$inc\" is not a file of plugins/$name"
        exit 1
      fi
    done || status=1
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<gyre/' "$f" | grep -v '<gyre/plugin.h>' \
      | sed "s|^|$rel:|; s|\$| (only gyre/plugin.h is public)|" | grep . && status=1
  done
done
[ "$status" -eq 0 ] && echo "plugins include only their own files and gyre/plugin.h"
exit "$status"
