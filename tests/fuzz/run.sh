#!/bin/sh
# Usage: run.sh SOURCE_DIR WORK_DIR [SECONDS]
# Builds the auth-jwt token fuzzer with clang (libFuzzer + ASan + UBSan)
# and runs it for SECONDS (default 20) from the seed corpus in
# tests/fuzz/corpus (copied: the run's finds stay in WORK_DIR). A crash,
# leak or sanitizer report fails it, and the input that did it is kept in
# WORK_DIR/fuzz/ (crash-*) and printed.
set -eu
src=$1
work=$2
seconds=${3:-20}
out="$work/fuzz"
mkdir -p "$out/corpus"
cp "$src"/tests/fuzz/corpus/* "$out/corpus/"
jwt="$src/plugins/auth-jwt"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$jwt" -I"$src/sdk/include" "$src/tests/fuzz/jwt_token_fuzz.cc" \
  "$jwt/base64.cc" "$jwt/json_value.cc" "$jwt/token.cc" "$jwt/key.cc" "$jwt/verifier.cc" \
  "$jwt/claims.cc" -lssl -lcrypto -o "$out/jwt_token_fuzz"
cd "$out"
if ! ./jwt_token_fuzz -max_total_time="$seconds" -dict="$src/tests/fuzz/jwt.dict" \
    -max_len=4096 -print_final_stats=1 corpus >fuzz.log 2>&1; then
  tail -40 fuzz.log
  for f in crash-* leak-* timeout-*; do [ -e "$f" ] && { echo "=== $f"; od -c "$f" | head -20; }; done
  exit 1
fi
grep -E '^stat::number_of_executed_units|^Done' fuzz.log || true
