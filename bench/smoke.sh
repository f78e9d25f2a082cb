#!/usr/bin/env bash
# bench_smoke (CTest): gyre-loadgen end to end against a gyre it starts
# itself: a few hundred connections for a few seconds of idle, broadcast and
# churn. Fails on any loss, duplicate, unexpected disconnect, error reply or
# tool error (gyre-loadgen --check). It never judges timing or CPU figures.
#
#   bench/smoke.sh PATH/TO/gyre PATH/TO/gyre-loadgen
set -euo pipefail
gyre="${1:?usage: smoke.sh GYRE LOADGEN}"
loadgen="${2:?usage: smoke.sh GYRE LOADGEN}"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
dir="$(mktemp -d "${TMPDIR:-/tmp}/gyre-bench-smoke.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "bench_smoke: FAIL: $*" >&2
  echo "--- gyre log:" >&2
  tail -20 "$dir/gyre.log" >&2 || true
  exit 1
}

# A free port can be taken by someone else before gyre binds it: retry.
for attempt in 1 2 3; do
  port="$("$loadgen" --free-port)"
  cat >"$dir/config.json" <<EOF
{"http_server": {"address": "127.0.0.1", "port": $port},
 "http_api": {"key": "smoke"},
 "log": {"level": "error"},
 "client": {"insecure": true, "queue_max_size": 10485760},
 "http_stream": {"enabled": true}}
EOF
  "$gyre" -c "$dir/config.json" 2>"$dir/gyre.log" &
  pid=$!
  up=0
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ $up = 1 ] && break
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  [ $attempt = 3 ] && fail "gyre did not start"
done

common=(--port "$port" --server-pid "$pid" --api-key smoke --check --quiet --settle 0.2)
run() { # name, loadgen flags...
  local name=$1
  shift
  if ! "$loadgen" "${common[@]}" "$@" >"$dir/$name.json" 2>"$dir/$name.err"; then
    cat "$dir/$name.json" "$dir/$name.err" >&2
    fail "$name"
  fi
  kill -0 "$pid" 2>/dev/null || fail "gyre exited during $name"
  echo "bench_smoke: $name ok: $(grep -o '"delivered":[0-9]*' "$dir/$name.json" || echo "$(grep -o '"connected":[0-9]*' "$dir/$name.json")")"
}

run idle --scenario idle --conns 300
run broadcast --scenario broadcast --conns 300 --rate 20 --duration 3
run groups-http_stream --scenario groups --conns 300 --rate 100 --duration 3 --transport http_stream
run groups-churn --scenario churn --conns 300 --group-size 10 --rate 100 --reconnect-rate 30 --duration 3

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ $status = 0 ] || fail "gyre exited with status $status after SIGTERM"
echo "bench_smoke: ok"
