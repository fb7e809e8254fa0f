#!/usr/bin/env bash
# make bench: the same 64-token greedy generation on the `small` model with the right compute-thread count, with
# twice the cores (--compute-threads), with sysconf made to report 8 cores (an LD_PRELOAD shim; the count must come
# from the affinity mask), and on one thread. Rounds interleave the four; ratios are per round, medians quoted.
# Usage: compute_threads.sh ROTARY_BINARY MODEL.gguf [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1 model=$2 rounds=${3:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -shared -fPIC -O2 -o "$work/sysconf_cores.so" scripts/threads/sysconf_cores.c -ldl
cores=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
p50() { "$@" bench generate --model "$model" --tokens 64 --requests 10 | sed -E 's/.*p50_ms=([0-9.]+).*/\1/'; }
lines=""
for round in $(seq "$rounds"); do
  right=$(ROTARY_COMPUTE_THREADS=$cores p50 "$binary")
  double=$(ROTARY_COMPUTE_THREADS=$((2 * cores)) p50 "$binary")
  shimmed=$(LD_PRELOAD="$work/sysconf_cores.so" SYSCONF_CORES=8 p50 "$binary")
  serial=$(ROTARY_COMPUTE_THREADS=1 p50 "$binary")
  echo "round $round: right $right ms, 2x cores $double ms, sysconf 8 $shimmed ms, serial $serial ms"
  lines+="$right $double $shimmed $serial;"
done
python3 - "$cores" "$lines" <<'PY'
import statistics, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
cores, lines = int(sys.argv[1]), sys.argv[2]
rounds = [[float(x) for x in line.split()] for line in lines.strip(";").split(";")]
right, double, shimmed, serial = (statistics.median(r[i] for r in rounds) for i in range(4))
ratio = lambda i: statistics.median(r[i] / r[0] for r in rounds)
checks = {
    f"--compute-threads {2 * cores} within 1.15x of the right count": ratio(1) <= 1.15,
    "sysconf reporting 8 cores within 1.15x of the right count": ratio(2) <= 1.15,
}
section = f"""
## Compute threads: 64 greedy tokens on the `small` model, in process

`rotary bench generate --tokens 64 --requests 10` (p50 of ten generations per run), {len(rounds)} rounds, each running
the four settings in turn; ratios are to the right count in the same round, median over rounds.

| compute threads | p50 ms (median of rounds) | ratio |
| --- | --- | --- |
| {cores} (the CPUs this process may use: the right count) | {right:.1f} | 1.00 |
| {2 * cores} (`--compute-threads`, twice the cores) | {double:.1f} | **{ratio(1):.2f}×** (target ≤ 1.15×) |
| automatic, with `sysconf` reporting 8 cores (LD_PRELOAD shim) | {shimmed:.1f} | **{ratio(2):.2f}×** (target ≤ 1.15×) |
| 1 | {serial:.1f} | {ratio(3):.2f}× |
"""
publish("compute-threads", section, checks)
PY
