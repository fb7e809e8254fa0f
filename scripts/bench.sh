#!/usr/bin/env bash
# make bench: every figure is measured in this run beside its reference, then written to BENCHMARKS.md.
# Settings: RUNS (timed wrk runs per server, default 5), DURATION (per run, default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
SHARED=${ROTARY_SHARED:-../shared}
OUT=.build-bench
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
mkdir -p "$OUT"
ROTARY=.build/release/rotary
C_PORT=18181
ROTARY_PORT=18182
LOG="$OUT/bench.log"
: > "$LOG"

cc -O2 $(pkg-config --cflags libmicrohttpd) -o "$OUT/mhd_echo" "$SHARED/bench/http/mhd_echo.c" $(pkg-config --libs libmicrohttpd)
cc -O3 -march=native -fno-tree-loop-distribute-patterns -fopenmp-simd -fopenmp -o "$OUT/stream_omp" "$SHARED/bench/mem/stream.c"
python3 scripts/bench/make_bodies.py "$OUT"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
median() { python3 "$SHARED/bench/stats.py" "$@" | cut -d' ' -f1; }
field() { grep -o "$1=[0-9.-]*" | cut -d= -f2; }

"$OUT/mhd_echo" "$C_PORT" 2 2>/dev/null & pids+=($!)
# Rotary exactly as `make run` starts it (info log level: one line per request), log to a file.
"$ROTARY" serve --port "$ROTARY_PORT" 2>"$OUT/rotary-serve.log" & pids+=($!)
# The same without the per-request log line, to show what logging costs.
QUIET_PORT=18183
"$ROTARY" serve --port "$QUIET_PORT" --log-level warning 2>/dev/null & pids+=($!)
wait_up "$C_PORT"; wait_up "$ROTARY_PORT"; wait_up "$QUIET_PORT"

# 1. GET /health, 64 connections: Rotary against the raw libmicrohttpd server, runs interleaved.
c_rps=(); r_rps=(); q_rps=()
for i in $(seq "$RUNS"); do
  for target in c rotary quiet; do
    port=$C_PORT; [ "$target" = rotary ] && port=$ROTARY_PORT; [ "$target" = quiet ] && port=$QUIET_PORT
    "$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
    wrk -t2 -c64 -d2s -s "$SHARED/bench/http/get_health.lua" "http://127.0.0.1:$port/health" >/dev/null
    line=$(wrk -t2 -c64 -d"$DURATION" --latency -s "$SHARED/bench/http/get_health.lua" "http://127.0.0.1:$port/health" | grep RESULT)
    echo "health $target run$i $line" | tee -a "$LOG"
    rps=$(echo "$line" | field rps)
    case "$target" in c) c_rps+=("$rps") ;; rotary) r_rps+=("$rps") ;; *) q_rps+=("$rps") ;; esac
  done
done
C_HEALTH=$(median "${c_rps[@]}"); R_HEALTH=$(median "${r_rps[@]}"); Q_HEALTH=$(median "${q_rps[@]}")
# Each round's Rotary run against the C run just before it: the machine's speed drifts between rounds
# (the same server measures ±15% minutes apart), and a pair shares its round's conditions.
PAIRED=""
for i in "${!c_rps[@]}"; do PAIRED+="$(python3 -c "print(f'{${r_rps[$i]} / ${c_rps[$i]}:.3f}')") "; done

# 2. POST /rotate of a 64x128 matrix, JSON and .npy, 2 connections (one per core): rps and server-side time.
rotate_run() {  # $1 label, $2 body file, $3 content type, $4 accept
  "$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
  wrk -t2 -c2 -d2s -s scripts/bench/post_body.lua "http://127.0.0.1:$ROTARY_PORT/rotate" -- "$2" "$3" "$4" >/dev/null
  line=$(wrk -t2 -c2 -d"$DURATION" --latency -s scripts/bench/post_body.lua "http://127.0.0.1:$ROTARY_PORT/rotate" -- "$2" "$3" "$4" | grep RESULT)
  echo "$1 $line" | tee -a "$LOG"
}
JSON_LINE=$(rotate_run rotate_json "$OUT/rotate_64x128.json" application/json application/json | tail -1)
NPY_LINE=$(rotate_run rotate_npy "$OUT/rotate_64x128.npy" application/x-npy application/x-npy | tail -1)
JSON_RESPONSE_BYTES=$(curl -s -H 'Content-Type: application/json' --data-binary @"$OUT/rotate_64x128.json" "http://127.0.0.1:$ROTARY_PORT/rotate" | wc -c)
JSON_REQUEST_BYTES=$(wc -c < "$OUT/rotate_64x128.json")
cleanup; pids=()

# 3. In process, one thread: the whole JSON path (parse, decode, rotate, encode).
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
INPROC=$("$ROTARY" bench rotate-json | tee -a "$LOG")

# 4. RoPE on 32 x 8192 x 128 float32 (128 MiB) with cached tables, against a copy of the same tensor,
#    stream.c's copy, NumPy (and PyTorch when installed).
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
# This VM's memory bandwidth drifts (stream.c's copy measured 38 to 70 GB/s minutes apart), so the
# reference that counts is the copy interleaved with the rotation in one process; stream.c runs
# right before and after for context.
STREAM_BEFORE=$(OMP_NUM_THREADS=2 "$OUT/stream_omp" 128 5 | grep "kernel=copy" | tee -a "$LOG")
KERNEL=$("$ROTARY" bench rope --heads 32 --seq 8192 --dim 128 --runs 10 | tee -a "$LOG")
STREAM_AFTER=$(OMP_NUM_THREADS=2 "$OUT/stream_omp" 128 5 | grep "kernel=copy" | tee -a "$LOG")
STREAM="$STREAM_BEFORE $STREAM_AFTER"
NUMPY=$(python3 scripts/bench/numpy_rope.py 32 8192 128 5 | tee -a "$LOG")

# 5. Attention (scores + softmax + output) for 8 heads x 2048 x 128 against sgemm alone on the same products.
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
ATTENTION=$("$ROTARY" bench attention --heads 8 --seq 2048 --dim 128 --runs 5 | tee -a "$LOG")

# 6. The model engine: the 15M `small` fixture model (f32) against llama.cpp on the same file, then the
#    ~110M `base100m` configuration for decode speed and weight bandwidth.
GEN="$SHARED/golden/llama/tools/make_tiny_gguf.py"
[ -f "$OUT/small-seed1234.gguf" ] || python3 "$GEN" --config small --seed 1234 --rope-theta 10000.0 --name test-llama-small-seed1234 -o "$OUT/small-seed1234.gguf" >>"$LOG"
[ -f "$OUT/base100m-seed1234.gguf" ] || python3 "$GEN" --config base100m --seed 1234 --name test-llama-base100m-seed1234 -o "$OUT/base100m-seed1234.gguf" >>"$LOG"
LLAMA_PY=$(bash scripts/llama_cpp_venv.sh "$OUT/venv" 2>>"$LOG") || { echo "llama-cpp-python could not be built: llama.cpp figures skipped" | tee -a "$LOG"; LLAMA_PY=false; }
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
MODEL_ROTARY=$("$ROTARY" bench model --model "$OUT/small-seed1234.gguf" --prompt-tokens 128 --decode-tokens 128 --runs 3 | tee -a "$LOG")
MODEL_LLAMA=$("$LLAMA_PY" scripts/bench/llama_cpp_speed.py "$OUT/small-seed1234.gguf" 128 128 3 2>>"$LOG" | tee -a "$LOG" || true)
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
MODEL_BASE=$("$ROTARY" bench model --model "$OUT/base100m-seed1234.gguf" --prompt-tokens 128 --decode-tokens 128 --runs 2 | tee -a "$LOG")

# 8. /generate: 32 greedy tokens on the small model, 50 requests over HTTP against the same job in process.
"$ROTARY" serve --port 18184 --model "$OUT/small-seed1234.gguf" --log-level warning 2>/dev/null & GEN_PID=$!
wait_up 18184
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
GEN_HTTP=$(python3 scripts/bench/generate_latency.py 18184 "In the beginning" 32 50 | tee -a "$LOG")
kill "$GEN_PID"; wait "$GEN_PID" 2>/dev/null || true
GEN_LOCAL=$("$ROTARY" bench generate --model "$OUT/small-seed1234.gguf" --tokens 32 --requests 50 | tee -a "$LOG")

# 7. Training throughput, dim 256, 6 layers, 8 heads, vocabulary 1024, context 256, batch 16.
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
TRAIN=$("$ROTARY" bench train --steps 3 | tee -a "$LOG")
# PyTorch's wheels carry gigabytes of CUDA libraries, so make bench does not install them; it uses a
# venv at .build-bench/torch-venv, or the system python, when either has torch.
TORCH_PY=""
for candidate in "$OUT/torch-venv/bin/python" python3; do
  if "$candidate" -c "import torch" 2>/dev/null; then TORCH_PY=$candidate; break; fi
done
if [ -n "$TORCH_PY" ]; then
  "$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
  TORCH_TRAIN=$("$TORCH_PY" scripts/bench/torch_train.py 3 | tee -a "$LOG")
else
  TORCH_TRAIN="not installed"
fi

COPY_GBS=$(echo "$KERNEL" | grep name=copy | field gbps)
ROPE_GBS=$(echo "$KERNEL" | grep name=rope_rotate | field gbps)
STREAM_GBS=$(echo "$STREAM_BEFORE" | field median_GBs)
STREAM_AFTER_GBS=$(echo "$STREAM_AFTER" | field median_GBs)
NUMPY_GBS=$(echo "$NUMPY" | grep name=numpy_rope | field gbps)
TORCH_GBS=$(echo "$NUMPY" | grep name=torch_rope | field gbps || true)

python3 - "$C_HEALTH" "$R_HEALTH/$Q_HEALTH" "$JSON_LINE" "$NPY_LINE" "$JSON_REQUEST_BYTES" "$JSON_RESPONSE_BYTES" "$INPROC" \
  "$COPY_GBS" "$ROPE_GBS" "$STREAM_GBS/$STREAM_AFTER_GBS" "$NUMPY_GBS" "${TORCH_GBS:-}" "$RUNS" "$DURATION" "$ATTENTION" \
  "$MODEL_ROTARY" "$MODEL_LLAMA" "$MODEL_BASE" "$TRAIN" "$TORCH_TRAIN" "$GEN_HTTP" "$GEN_LOCAL" "$PAIRED" "${c_rps[*]}|${r_rps[*]}" <<'PY'
import re, subprocess, sys, datetime
(c_health, r_health, json_line, npy_line, req_bytes, resp_bytes, inproc, copy_gbs, rope_gbs, stream_gbs,
 numpy_gbs, torch_gbs, runs, duration, attention, model_rotary, model_llama, model_base, train, torch_train,
 gen_http, gen_local, paired, health_runs) = sys.argv[1:]
paired = sorted(float(x) for x in paired.split())
c_runs, r_runs = ([float(x) for x in part.split()] for part in health_runs.split("|"))
def torch_summary(text, rotary_rate):
    if "name=torch_train" not in text:
        return "PyTorch " + text + " on this machine, so not measured in this run"
    rate = get(text, "tokens_per_second")
    return f"PyTorch **{rate:,.0f} tokens/s**, so Rotary is **{rotary_rate / rate:.2f}×** PyTorch"
def line_of(text, name):
    return next((line for line in text.splitlines() if f"name={name} " in line), "")
def result(name):
    return next(line for line in attention.splitlines() if f"name={name} " in line)
def get(line, key):
    m = re.search(key + r"=([0-9.\-]+)", line)
    return float(m.group(1)) if m else float("nan")
r_health, q_health = map(float, r_health.split("/"))
c_health = float(c_health)
stream_before, stream_after = map(float, stream_gbs.split("/"))
copy_gbs, rope_gbs, numpy_gbs = map(float, (copy_gbs, rope_gbs, numpy_gbs))
json_mb = (int(req_bytes) + int(resp_bytes)) / 1e6
json_server_us = get(json_line, "server_us")
cpu = subprocess.run("lscpu | grep 'Model name' | cut -d: -f2", shell=True, capture_output=True, text=True).stdout.strip()
torch_row = (f"| PyTorch `x*cos + rotate_half(x)*sin` (2 threads) | {float(torch_gbs):.1f} GB/s | {float(torch_gbs)/rope_gbs:.2f}× Rotary |"
             if torch_gbs else "| PyTorch | not installed on this machine: not measured | |")
torch_line = torch_summary(torch_train, get(train, "tokens_per_second"))
text = f"""# Benchmarks

Written by `make bench` ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC) on {cpu}, 2 cores.
Every figure is measured in the same run as its reference; the raw lines are in `.build-bench/bench.log`.
HTTP runs: `wrk -t2 -c64 -d{duration}` after a 2 s warm-up, {runs} runs per server, interleaved, median.

## HTTP: `GET /health`

| server | requests/s (median) | ratio |
| --- | --- | --- |
| `../shared/bench/http/mhd_echo.c` (raw libmicrohttpd, 2 threads, no logging) | {c_health:,.0f} | 1.00 |
| Rotary (`rotary serve`, defaults: 2 threads, one log line per request) | {r_health:,.0f} | **{r_health / c_health:.2f}×** (target ≥ 0.9×) |
| Rotary with `--log-level warning` (no per-request line) | {q_health:,.0f} | {q_health / c_health:.2f}× |

Round by round (each Rotary run against the C run just before it, sorted): {", ".join(f"{x:.2f}" for x in paired)}×;
median {paired[len(paired) // 2]:.2f}×. This machine's speed drifts between rounds (in this run the C server measured
{min(c_runs):,.0f} to {max(c_runs):,.0f} requests/s, Rotary {min(r_runs):,.0f} to {max(r_runs):,.0f}), so the two medians can come
from different conditions; the paired median is the steadier comparison.

## RoPE kernel: 32 heads × 8192 × 128 float32 (128 MiB), cached cos/sin tables, in place, 2 threads

Traffic counted as stream.c counts it: bytes read + bytes written, best of 10.

| what | GB/s | ratio |
| --- | --- | --- |
| copy of the same tensor into a second buffer (SIMD load/store loop as stream.c's, 2 threads, interleaved with the rotation runs) — the limit | {copy_gbs:.1f} | 1.00 |
| stream.c `copy` (2 threads, 128 MiB arrays, median) just before / just after | {stream_before:.1f} / {stream_after:.1f} | {stream_before / copy_gbs:.2f} / {stream_after / copy_gbs:.2f} |
| **Rotary RoPE** (in place) | {rope_gbs:.1f} | **{rope_gbs / copy_gbs:.2f}×** the copy (target ≥ 0.8×); {rope_gbs / max(stream_before, stream_after):.2f}× the faster stream.c run |
| NumPy `x*cos + rotate_half(x)*sin` (1 thread) | {numpy_gbs:.1f} | Rotary is {rope_gbs / numpy_gbs:.1f}× faster |
{torch_row}

## `POST /rotate`, 64 × 128 matrix, end to end

wrk with 2 connections; server-side time from the `Server-Timing` header (body received → response ready).

| body | requests/s | server-side µs (mean) | p50 latency µs |
| --- | --- | --- | --- |
| JSON in, JSON out ({int(req_bytes):,} B + {int(resp_bytes):,} B) | {get(json_line, 'rps'):,.0f} | {json_server_us:.0f} | {get(json_line, 'p50_us'):.0f} |
| `.npy` in, `.npy` out (32,896 B each way) | {get(npy_line, 'rps'):,.0f} | {get(npy_line, 'server_us'):.0f} | {get(npy_line, 'p50_us'):.0f} |

## Attention: 8 heads × 2048 × 128, scores + softmax + output (no mask, then causal)

Best of 5; GFLOP/s count the two products (2 · 2 · seq² · dim per head) for every row.

| what | ms | GFLOP/s | ratio |
| --- | --- | --- | --- |
| OpenBLAS `cblas_sgemm` alone on the same two products (2 threads) | {get(result('sgemm_only'), 'seconds') * 1e3:.1f} | {get(result('sgemm_only'), 'gflops'):.0f} | 1.00 |
| **Rotary attention** (kernel on preallocated buffers) | {get(result('attention'), 'seconds') * 1e3:.1f} | {get(result('attention'), 'gflops'):.0f} | **{get(result('attention'), 'ratio_to_sgemm'):.2f}×** (target ≥ 0.7×) |
| Rotary attention, causal | {get(result('attention_causal'), 'seconds') * 1e3:.1f} | {get(result('attention_causal'), 'gflops'):.0f} | {get(result('attention_causal'), 'ratio_to_sgemm'):.2f}× |
| Rotary attention, allocating its results (what `/attention` runs) | {get(result('attention_allocating'), 'seconds') * 1e3:.1f} | {get(result('attention_allocating'), 'gflops'):.0f} | {get(result('attention_allocating'), 'ratio_to_sgemm'):.2f}× |

## Model engine: the 15M `small` fixture model (f32, 32000-token vocabulary), 2 threads

Prompt processing of 128 tokens, then 128 greedy decode steps; best of 3. llama.cpp through
llama-cpp-python 0.3.36 built on this machine (`GGML_NATIVE=ON`), same file, same method.

| engine | prompt tokens/s | decode tokens/s |
| --- | --- | --- |
| llama.cpp | {get(line_of(model_llama, 'llama_cpp_prompt'), 'tokens_per_second'):,.0f} | {get(line_of(model_llama, 'llama_cpp_decode'), 'tokens_per_second'):,.0f} |
| **Rotary** | {get(line_of(model_rotary, 'rotary_prompt'), 'tokens_per_second'):,.0f} (**{get(line_of(model_rotary, 'rotary_prompt'), 'tokens_per_second') / get(line_of(model_llama, 'llama_cpp_prompt'), 'tokens_per_second'):.2f}×**, target ≥ 0.8×) | {get(line_of(model_rotary, 'rotary_decode'), 'tokens_per_second'):,.0f} (**{get(line_of(model_rotary, 'rotary_decode'), 'tokens_per_second') / get(line_of(model_llama, 'llama_cpp_decode'), 'tokens_per_second'):.2f}×**, target ≥ 1.0×) |

`base100m` (~110M parameters, f32, 441 MB of weights read per token): Rotary decodes
{get(line_of(model_base, 'rotary_decode'), 'tokens_per_second'):.1f} tokens/s = {get(line_of(model_base, 'rotary_decode'), 'weight_gbps'):.1f} GB/s of weights
(prompt {get(line_of(model_base, 'rotary_prompt'), 'tokens_per_second'):,.0f} tokens/s); the copy limit measured above is {copy_gbs:.1f} GB/s.

## `/generate`: 32 greedy tokens on the `small` model, 50 sequential requests

| path | p50 ms | p99 ms |
| --- | --- | --- |
| in process (`TextGenerator`, the same job) | {get(gen_local, 'p50_ms'):.2f} | {get(gen_local, 'p99_ms'):.2f} |
| over HTTP + JSON (`POST /generate`, keep-alive) | {get(gen_http, 'p50_ms'):.2f} | {get(gen_http, 'p99_ms'):.2f} |

HTTP + JSON overhead per request — each request's latency minus the model time it reports in `timings`:
median **{get(gen_http, 'overhead_p50_ms'):.2f} ms**, p99 {get(gen_http, 'overhead_p99_ms'):.2f} ms (target ≤ 2 ms). (The two runs above are
separate moments of a machine whose speed drifts; their medians differ by {get(gen_http, 'p50_ms') - get(gen_local, 'p50_ms'):.2f} ms.)

## Training: dim 256, 6 layers, 8 heads, vocabulary 1024, context 256, batch 16 ({int(get(train, 'parameters')):,} parameters)

One optimizer step (forward, backward, clipping, AdamW) on 4,096 random tokens, best of 3, float32, 2 cores:
**{get(train, 'tokens_per_second'):,.0f} tokens/s** for Rotary; {torch_line} (target ≥ 1.0× PyTorch CPU,
float32, 2 threads, the same model and step in `scripts/bench/torch_train.py`).

JSON parsed and written per core: **{json_mb / (json_server_us / 1e6):.0f} MB/s** from the server-side time over HTTP,
**{get(inproc, 'mbps'):.0f} MB/s** in process on one thread ({get(inproc, 'microseconds'):.0f} µs per request) — target ≥ 200 MB/s.
"""
# The soak section (`make soak`) is measured apart; keep it.
import os, re
previous = open("BENCHMARKS.md").read() if os.path.exists("BENCHMARKS.md") else ""
soak = re.search(r"<!-- soak:start -->.*?<!-- soak:end -->\n", previous, re.S)
if soak:
    text += "\n" + soak.group(0)
open("BENCHMARKS.md", "w").write(text)
print(text)
PY

# 9. Compute threads: the right count against twice the cores and a sysconf that reports 8 (its own section).
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
bash scripts/bench/compute_threads.sh "$ROTARY" "$OUT/small-seed1234.gguf" | tee -a "$LOG"

# 10. Real models against llama.cpp (SmolLM2 Q4_1 and its Q4_K_M requantization, both from fetch.sh), its own section.
bash scripts/models/fetch.sh
python3 -c "import xllamacpp" 2>/dev/null || python3 -m pip install -q xllamacpp
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
bash scripts/bench/real_model.sh "$ROTARY" | tee -a "$LOG"

# 11. Multi-axis RoPE against one-axis RoPE and transformers' Qwen2-VL code, its own section.
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
bash scripts/bench/rope_axes.sh "$ROTARY" | tee -a "$LOG"

# 12. The tokenizer against llama.cpp's on 1 MB of English (Llama 3's vocabulary), its own section.
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
bash scripts/bench/tokenizer_section.sh "$ROTARY" | tee -a "$LOG"

# 13. /perplexity against the same scoring through llama.cpp (llama-cpp-python eval with all logits), its own section.
[ -s .build-data/kjv.txt ] || bash scripts/prepare_corpus.sh .build-data/kjv.txt
if [ "$LLAMA_PY" != false ]; then
  "$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
  python3 scripts/bench/perplexity_speed.py "$ROTARY" "$LLAMA_PY" | tee -a "$LOG"
fi

# 14. Continuous batching: 8 concurrent streaming clients against one, and against llama.cpp's server with -np 8, its
#     own section. Last: it fails the bench when a target is missed, after every other section is written.
"$SHARED/bench/waitload.sh" >>"$LOG" 2>&1
python3 scripts/bench/batching.py "$ROTARY" Sources/RotaryService/Resources/default-model.gguf \
  .build-models/SmolLM2-135M-Instruct.Q4_1.gguf --publish | tee -a "$LOG"
