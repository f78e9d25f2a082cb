#!/bin/sh
# Usage: run.sh SOURCE_DIR WORK_DIR
# The integration tests that exercise the worker threads, against a gyre
# built with ThreadSanitizer: any data race or lock-order problem TSan sees
# in the server fails this test (its report is printed).
set -eu
src=$1
work=$2
build="$work/build-tsan"
reports="$work/tsan-reports"
flags="-fsanitize=thread -g -O1"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGYRE_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
  -DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=thread >"$work/tsan-configure.log" 2>&1 \
  || { cat "$work/tsan-configure.log"; exit 1; }
cmake --build "$build" -j2 --target gyre engine-memory auth-jwt transport-sse >"$work/tsan-build.log" 2>&1 \
  || { tail -30 "$work/tsan-build.log"; exit 1; }
rm -rf "$reports"
mkdir -p "$reports"
cd "$src/tests/node"
status=0
# The test plugins come from the main build (not instrumented: races inside
# them go unseen, the host's side of every hook call is checked). Transport
# hooks run on the workers, auth hooks are relayed to the node loop; proxy
# calls go out from each worker's own HTTP client (over TLS too: the workers
# share each TlsClient's SSL_CTX).
GYRE_BIN="$build/gyre" GYRE_TEST_PLUGIN_DIR="$work/test-plugins" \
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 log_path=$reports/report" \
  node --test --test-reporter=spec --test-concurrency=1 \
  workers.test.js sdk_basics.test.js sdk_server_actions.test.js sdk_recovery.test.js \
  api.test.js lifecycle.test.js transport_hooks.test.js auth_hooks.test.js \
  sse_emulation.test.js uni_streams.test.js proxy_connect_rpc.test.js \
  proxy_subscribe_publish.test.js proxy_https.test.js proxy_meta.test.js store_runtime.test.js || status=1
for r in "$reports"/report*; do
  [ -e "$r" ] || continue
  echo "=== ThreadSanitizer report $r"
  cat "$r"
  status=1
done
exit $status
