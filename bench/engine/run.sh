#!/usr/bin/env bash
# Runs gyre-engine-bench against a redis-server of its own: started on a free
# loopback port in a temporary directory (no RDB, no AOF), stopped on exit.
# The bench's JSON goes to stdout, its table to stderr; the exit status is
# the bench's (1: failed ops or lost/misordered deliveries; timing never
# fails a run).
#
#   bench/engine/run.sh [PATH/TO/gyre-engine-bench] [bench options...]
#
# Environment: REDIS_SERVER (default redis-server), ENGINE_BENCH_REFERENCE=1
# to also run redis-benchmark's PUBLISH (-P 64 -n 1000000, the default 50
# clients) against the same server afterwards: a same-machine reference, on
# stderr. (`-t publish` selects nothing in redis-benchmark 7.0, which has no
# PUBLISH test: the command is given explicitly.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench="${here}/../../build/gyre-engine-bench"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  bench="$1"
  shift
fi
redis_server="${REDIS_SERVER:-redis-server}"
command -v "$redis_server" >/dev/null || { echo "run.sh: $redis_server not found" >&2; exit 2; }
[ -x "$bench" ] || { echo "run.sh: $bench not built (cmake --build build)" >&2; exit 2; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/gyre-engine-bench.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

ping_redis() (  # PING over bash's /dev/tcp (a subshell): no redis-cli needed
  exec 2>/dev/null
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'PING\r\n' >&3
  reply=""
  read -r -t 1 reply <&3 || true
  [ "${reply%$'\r'}" = "+PONG" ]
)

# A free port can be taken between the check and the bind: retry.
port=""
for attempt in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 40000))
  if ping_redis "$candidate"; then continue; fi  # something listens there
  "$redis_server" --port "$candidate" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir" --daemonize no --logfile "$dir/redis.log" &
  pid=$!
  for _ in $(seq 50); do
    if ping_redis "$candidate"; then port="$candidate"; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
if [ -z "$port" ]; then
  echo "run.sh: could not start $redis_server (log below)" >&2
  tail -20 "$dir/redis.log" >&2 || true
  exit 2
fi

version="$("$redis_server" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
echo "run.sh: redis-server $version on 127.0.0.1:$port (pid $pid)" >&2
rc=0
"$bench" --port "$port" --redis-pid "$pid" --redis-version "$version" "$@" || rc=$?

if [ "${ENGINE_BENCH_REFERENCE:-0}" = 1 ] && command -v redis-benchmark >/dev/null; then
  ref=(redis-benchmark -p "$port" -P 64 -n 1000000 -q publish bench-channel '{"bench":true,"i":123456}')
  echo "run.sh: ${ref[*]}" >&2
  "${ref[@]}" 2>&1 | tr '\r' '\n' | grep 'requests per second' >&2 || true
fi
exit "$rc"
