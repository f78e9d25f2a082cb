#!/usr/bin/env bash
# The benchmark suite: every scenario against Gyre and against the Go
# Centrifuge anchor (../shared/anchors/centrifuge-go), each server started
# fresh for each scenario, driven by build/gyre-loadgen. Writes
# bench/results/latest.json and bench/results/latest.md; a full-size run of
# everything also refreshes the table in docs/performance.md.
#
#   bench/run_suite.sh                  # or: make bench
#   BENCH_SCALE=0.1 bench/run_suite.sh  # every scenario at a tenth of the connections and rates
#
# Environment:
#   BENCH_SCALE         multiplies connections and publish/reconnect rates (1)
#   BENCH_SECONDS       seconds of publishing per scenario (10)
#   BENCH_SCENARIOS     subset of "idle broadcast groups churn"
#   BENCH_SERVERS       subset of "gyre anchor"
#   BENCH_ANCHOR_PROCS  GOMAXPROCS for the anchor (default: the number of cores,
#                       like Gyre's default node.workers)
#   BENCH_ANCHOR_SRC    the anchor's folder (../shared/anchors/centrifuge-go)
#   BENCH_OUT           where latest.json / latest.md go (bench/results)
#   BENCH_LOADGEN_ARGS  extra gyre-loadgen flags for every run
#   BUILD_DIR           build tree (build)
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
BUILD_DIR="${BUILD_DIR:-build}"
SCALE="${BENCH_SCALE:-1}"
DURATION="${BENCH_SECONDS:-10}"
SCENARIOS="${BENCH_SCENARIOS:-idle broadcast groups churn}"
SERVERS="${BENCH_SERVERS:-gyre anchor}"
ANCHOR_PROCS="${BENCH_ANCHOR_PROCS:-$(nproc)}"
ANCHOR_SRC="${BENCH_ANCHOR_SRC:-$root/../shared/anchors/centrifuge-go}"
OUT="${BENCH_OUT:-$here/results}"
EXTRA_ARGS="${BENCH_LOADGEN_ARGS:-}"
API_KEY=bench
GYRE="$BUILD_DIR/gyre"
LOADGEN="$BUILD_DIR/gyre-loadgen"
ANCHOR="$BUILD_DIR/anchor/centrifuge-anchor"
RUNS="$BUILD_DIR/bench-runs/$(date +%Y%m%d-%H%M%S)"
COMMAND="${BENCH_COMMAND:-BENCH_SCALE=$SCALE BENCH_SECONDS=$DURATION $0${*:+ $*}}"
[ -n "${BENCH_SCENARIOS:-}" ] && COMMAND="BENCH_SCENARIOS='$SCENARIOS' $COMMAND"
[ -n "${BENCH_SERVERS:-}" ] && COMMAND="BENCH_SERVERS='$SERVERS' $COMMAND"

log() { echo "bench: $*" >&2; }

# Servers and load generator inherit this: 20000 descriptors per process is
# the machine's hard limit, and Gyre does not raise its own soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || log "cannot raise the descriptor limit (ulimit -n $(ulimit -n))"
log "descriptor limit: $(ulimit -n)"

mkdir -p "$RUNS" "$OUT"
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  make --no-print-directory build BUILD_DIR="$BUILD_DIR" >"$RUNS/build.log" 2>&1 || { tail -20 "$RUNS/build.log"; log "make build failed"; exit 1; }
fi
[ -x "$GYRE" ] && [ -x "$LOADGEN" ] || { log "missing $GYRE or $LOADGEN"; exit 1; }

# The anchor: built from Debian's Go packages; the suite goes on without it.
anchor_status="not requested"
if [[ " $SERVERS " == *" anchor "* ]]; then
  log "building the Go anchor into $BUILD_DIR/anchor (log: $RUNS/anchor-build.log)"
  if bash "$ANCHOR_SRC/build.sh" "$BUILD_DIR/anchor" >"$RUNS/anchor-build.log" 2>&1 && [ -x "$ANCHOR" ]; then
    anchor_status="$(tail -1 "$RUNS/anchor-build.log")"
  else
    anchor_status="build failed: $(tail -3 "$RUNS/anchor-build.log" | tr '\n' ' ')"
    log "$anchor_status; continuing with Gyre only"
    SERVERS="${SERVERS//anchor/}"
  fi
fi

server_pid=""
wait_port() { # until something accepts on 127.0.0.1:$1 (10 s)
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

start_server() { # name port logfile
  local name=$1 port=$2 logf=$3
  if [ "$name" = gyre ]; then
    # Bench config: anonymous clients, a queue as big as the anchor's 10 MB,
    # errors only in the log (a line per connect would cost CPU).
    cat >"$RUNS/gyre-$port.json" <<EOF
{"http_server": {"address": "127.0.0.1", "port": $port},
 "http_api": {"key": "$API_KEY"},
 "log": {"level": "error"},
 "client": {"insecure": true, "queue_max_size": 10485760}}
EOF
    "$GYRE" -c "$RUNS/gyre-$port.json" 2>"$logf" >&2 &
  else
    "$ANCHOR" -addr "127.0.0.1:$port" -procs "$ANCHOR_PROCS" -log-level error 2>"$logf" >&2 &
  fi
  server_pid=$!
}

stop_info=""
stop_server() { # SIGTERM, then SIGKILL after 10 s; sets stop_info="exit=N stop_ms=N"
  local t0 st
  t0=$(date +%s%N)
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid"; log "server did not stop within 10 s: killed"; fi
  wait "$server_pid" 2>/dev/null
  st=$?
  stop_info="exit=$st stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
}

for scenario in $SCENARIOS; do
  for server in $SERVERS; do
    tag="$scenario-$server"
    port="$("$LOADGEN" --free-port)"
    proto=v2
    [ "$server" = anchor ] && proto=v1
    log "$tag: starting $server on port $port"
    start_server "$server" "$port" "$RUNS/$tag.server.log"
    if ! wait_port "$port"; then
      log "$tag: $server did not start (see $RUNS/$tag.server.log)"
      echo "alive=0 start_failed=1" >"$RUNS/$tag.meta"
      continue
    fi
    # shellcheck disable=SC2086
    "$LOADGEN" --scenario "$scenario" --scale "$SCALE" --duration "$DURATION" --port "$port" \
      --proto "$proto" --api-key "$API_KEY" --server-pid "$server_pid" --label "$server" \
      $EXTRA_ARGS >"$RUNS/$tag.json" 2>"$RUNS/$tag.err"
    rc=$?
    alive=1
    kill -0 "$server_pid" 2>/dev/null || alive=0
    [ $alive = 1 ] || log "$tag: $server died during the run"
    # Let the server see the load generator's connections go before stopping it.
    sleep 1
    stop_server
    echo "loadgen_rc=$rc alive=$alive $stop_info" >"$RUNS/$tag.meta"
    log "$tag: loadgen exit $rc, server $stop_info; $(grep -o '"ok":[a-z]*' "$RUNS/$tag.json" 2>/dev/null)"
    # TIME_WAIT sockets and freed memory settle before the next server starts.
    sleep 2
  done
done

node "$here/report.mjs" --runs "$RUNS" --out "$OUT" --scale "$SCALE" --seconds "$DURATION" \
  --anchor-procs "$ANCHOR_PROCS" --anchor-status "$anchor_status" --command "$COMMAND" \
  --servers "$SERVERS" --scenarios "$SCENARIOS" --docs "$root/docs/performance.md"
