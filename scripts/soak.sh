#!/usr/bin/env bash
# make soak: wrk for DURATION (default 60s) at 64 connections on a mix of /rotate, /attention and /generate
# against the release server with the embedded model. Passes only with zero socket errors, no 5xx, no 4xx
# but the deliberate 429s, resident memory within 10% of its level before, and open descriptors back to
# their baseline. Then SLOW_DURATION (default 60 s) of the same mix with 200 slow-header connections (a byte
# of a request head every 2 s from 127.0.0.3-6, reopened when the header deadline closes them): passes only
# with /health from 127.0.0.2 answering every time with p99 under 100 ms. Writes its sections of BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
DURATION=${DURATION:-60s}
SLOW_DURATION=${SLOW_DURATION:-60}
PORT=${SOAK_PORT:-18191}
OUT=.build-bench
mkdir -p "$OUT"
.build/release/rotary serve --port "$PORT" --log-level warning 2>"$OUT/soak-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true' EXIT
wait_up "$PORT"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
open_fds() { ls "/proc/$server/fd" | wc -l; }
mix() { wrk -t2 -c64 -d"$1" --timeout 10s -s scripts/bench/soak_mix.lua "http://127.0.0.1:$PORT" | grep RESULT; }

# Baseline after a short warm-up: buffers, caches and worker threads exist before it is taken.
mix 5s >/dev/null
sleep 1
rss_before=$(rss_kib); fds_before=$(open_fds)
result=$(mix "$DURATION")
sleep 2   # let the closing connections go
rss_after=$(rss_kib); fds_after=$(open_fds)
echo "$result"
echo "rss_before_kib=$rss_before rss_after_kib=$rss_after fds_before=$fds_before fds_after=$fds_after"

python3 - "$DURATION" "$result" "$rss_before" "$rss_after" "$fds_before" "$fds_after" <<'PY'
import re, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
duration, result, rss_before, rss_after, fds_before, fds_after = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
r = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", result)}
checks = {
    "zero socket errors": r["socket_errors"] == 0,
    "no 5xx": r["server_errors"] == 0,
    "no 4xx but 429": r["client_errors"] == 0,
    "resident memory within 10%": abs(rss_after - rss_before) <= 0.10 * rss_before,
    "descriptors back to baseline": fds_after <= fds_before,
}
section = f"""
## Soak (`make soak`)

wrk `-t2 -c64 -d{duration}` on a rotating mix of `/rotate` (YaRN, 2×8), `/attention` (3×4, causal) and
`/generate` (4 sampled tokens, top-3 logprobs) against the release server with the embedded model, after a 5 s warm-up:
{int(r['reqs']):,} requests ({r['rps']:.0f}/s; p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms):
{int(r['ok']):,} answered 2xx, {int(r['throttled']):,} deliberate 429s (model queue full), {int(r['client_errors'])} other 4xx,
{int(r['server_errors'])} 5xx, {int(r['socket_errors'])} socket errors. Resident memory {rss_before / 1024:.1f} MiB before,
{rss_after / 1024:.1f} MiB after ({(rss_after - rss_before) / rss_before:+.1%}); open descriptors {fds_before} before,
{fds_after} after.
"""
publish("soak", section, checks)
PY

# Slow headers plus the mix: /health from a second address stays fast.
mix "${SLOW_DURATION}s" > "$OUT/soak-slow-mix.txt" &
mix_pid=$!
slow=$(python3 scripts/bench/slow_headers.py --port "$PORT" --connections 200 --duration "$SLOW_DURATION" | grep RESULT)
wait $mix_pid
slow_mix=$(cat "$OUT/soak-slow-mix.txt")
echo "$slow"
echo "$slow_mix"
python3 - "$SLOW_DURATION" "$slow" "$slow_mix" <<'PY'
import re, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
duration, slow, mix = sys.argv[1], sys.argv[2], sys.argv[3]
s = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+|nan)", slow)}
m = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", mix)}
checks = {
    "/health from 127.0.0.2 never failed": s["health_failures"] == 0 and s["health_requests"] > 0,
    "/health p99 under 100 ms": s["health_p99_ms"] < 100,
    "mix: zero socket errors, no 5xx": m["socket_errors"] == 0 and m["server_errors"] == 0,
}
section = f"""
## Slow headers during the soak mix (`make soak`)

{duration} s of the soak mix (wrk `-t2 -c64`) with 200 slow-header connections from 127.0.0.3-6 (a byte of a
request head every 2 s each; the 10 s header deadline closed and the script reopened them {int(s['slow_reopened'])} times),
while 127.0.0.2 asked `GET /health` on a fresh connection every 50 ms: {int(s['health_requests'])} answers,
{int(s['health_failures'])} failures, p50 {s['health_p50_ms']:.1f} ms, p99 {s['health_p99_ms']:.1f} ms. The mix: {int(m['reqs']):,} requests,
{int(m['server_errors'])} 5xx, {int(m['socket_errors'])} socket errors.
"""
publish("slowloris", section, checks)
PY
