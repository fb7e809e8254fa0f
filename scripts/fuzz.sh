#!/usr/bin/env bash
# libFuzzer (swiftc -sanitize=fuzzer,address) over the JSON parser (objects of many keys among the seeds), the
# typed request decoding of /rotate and /attention (then the numerics they feed, and their answers against the
# max_response_bytes bound), the GGUF reader, and the HTTP framing rules.
# FUZZ_SECONDS per harness (default 300 for `make fuzz`; .ci/run uses a short seeded while via make test).
# Each harness is compiled together with the module sources it exercises; findings land in .build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_HARNESS=${FUZZ_SECONDS:-300}
SEED=${FUZZ_SEED:-1}
OUT=.build-fuzz
mkdir -p "$OUT"
python3 scripts/fuzz/make_seeds.py "$OUT"

build() {   # name, sources...
  local name=$1; shift
  rm -f "$OUT/$name"   # a stale binary must not pass for a fresh build
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$name" "$@" -o "$OUT/$name" 2>&1 \
    | grep -v "Cannot export local symbol" || true
  [ -x "$OUT/$name" ] || { echo "building $name failed" >&2; exit 1; }
}
build JSONParserFuzz Sources/RotaryJSON/*.swift scripts/fuzz/JSONParserFuzz.swift
# The decoding harness is one module made of sources from several: empty stand-ins for those modules
# satisfy the files' imports.
mkdir -p "$OUT/stubs"
: > "$OUT/stubs/empty.swift"
for module in RotaryHTTP RotaryJSON RotaryNumerics RotaryLocking; do
  swiftc -emit-module -parse-as-library -module-name "$module" "$OUT/stubs/empty.swift" -o "$OUT/stubs/$module.swiftmodule"
done
build RequestDecodingFuzz -I "$OUT/stubs" -I Sources/CMicroHTTPD -I Sources/COpenBLAS $(pkg-config --cflags-only-I libmicrohttpd) \
  Sources/RotaryJSON/*.swift Sources/RotaryHTTP/{HTTPError,Request,Response,ResponseStream}.swift Sources/RotaryLocking/*.swift $(find Sources/RotaryNumerics -name '*.swift') \
  Sources/RotaryService/{ObjectReader,FloatTensor,RoPEDecoding,AxesDecoding,RotateRequest,AttentionRequest,NPY,JSONBody,ServiceConfiguration}.swift \
  Sources/RotaryService/{ResponseSize,RotateAnswer,AttentionAnswer,AttentionHeatmap,SVG,LinePlot}.swift \
  scripts/fuzz/RequestDecodingFuzz.swift -lmicrohttpd -lopenblas
# The GGUF harness: the reader, every tensor format's dequantization and the architecture and weight checks a
# model load runs, compiled with the numerics they use.
build GGUFFuzz -I "$OUT/stubs" -I Sources/COpenBLAS Sources/RotaryLocking/*.swift $(find Sources/RotaryNumerics -name '*.swift') Sources/RotaryModel/GGUF/*.swift \
  Sources/RotaryModel/Architectures/*.swift Sources/RotaryModel/Generation/KVCache.swift scripts/fuzz/GGUFFuzz.swift -lopenblas
build RequestFramingFuzz -I "$OUT/stubs" -I Sources/CMicroHTTPD $(pkg-config --cflags-only-I libmicrohttpd) \
  Sources/RotaryLocking/*.swift Sources/RotaryHTTP/{HTTPError,Request,Response,ResponseStream,RequestFraming}.swift scripts/fuzz/RequestFramingFuzz.swift -lmicrohttpd
mkdir -p "$OUT/seeds-framing"
printf 'host:x\ncontent-length:23\n' > "$OUT/seeds-framing/length"
printf 'host:x\ntransfer-encoding: chunked\n' > "$OUT/seeds-framing/chunked"
printf 'content-length:2\ncontent-length: 2\ntransfer-encoding:gzip\n' > "$OUT/seeds-framing/mixed"

run() {   # name, seed corpus, max input length
  local corpus="$OUT/corpus-$1"
  mkdir -p "$corpus"
  echo "fuzzing $1 for ${SECONDS_PER_HARNESS}s (seed $SEED)"
  "$OUT/$1" -seed="$SEED" -max_total_time="$SECONDS_PER_HARNESS" -max_len="$3" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/$1-" -print_final_stats=1 "$corpus" "$2" 2>"$OUT/$1.log" \
    || { tail -40 "$OUT/$1.log" >&2; echo "$1 found a failure: see $OUT/$1.log" >&2; exit 1; }
  grep -E "stat::number_of_executed_units|Done" "$OUT/$1.log" | tail -2
}
run JSONParserFuzz "$OUT/seeds-json" 4096
run RequestDecodingFuzz "$OUT/seeds-request" 4096
run GGUFFuzz "$OUT/seeds-gguf" 20000   # room for the micro models among the seeds
run RequestFramingFuzz "$OUT/seeds-framing" 1024
