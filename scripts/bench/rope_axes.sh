#!/usr/bin/env bash
# make bench: multi-axis RoPE (M-RoPE, sections 16/24/24 over an 8×32×32 grid, 32 heads × 8192 × 128 float32)
# against one-axis RoPE on the same tensor in one process (alternating, best of 10), and against the reference
# PyTorch code (transformers' Qwen2-VL apply_rotary_pos_emb) when torch and transformers are installed.
# Rounds alternate; the ratios are per round, medians quoted. Usage: rope_axes.sh ROTARY_BINARY [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1 rounds=${2:-3}
value() { sed -nE "s/.*name=$1 (.* )?$2=([0-9.]+).*/\2/p"; }
lines=""
torch_ok=0
python3 -c "import torch, transformers" 2>/dev/null && torch_ok=1
for round in $(seq "$rounds"); do
  ours=$("$binary" bench rope-axes --heads 32 --grid 8,32,32 --dim 128 --sections 16,24,24 --runs 10)
  theirs=""
  [ $torch_ok = 1 ] && theirs=$(python3 scripts/bench/torch_mrope.py 32 8 32 32 128 5 2>/dev/null || true)
  line="$(echo "$ours" | value rope_one_axis seconds) $(echo "$ours" | value rope_multi_axis seconds)"
  line+=" $(echo "$ours" | value rope_one_axis table_seconds) $(echo "$ours" | value rope_multi_axis table_seconds)"
  line+=" $(echo "$theirs" | value torch_mrope seconds)"
  echo "round $round: one-axis s, multi-axis s, one-axis table s, multi-axis table s, torch s: $line"
  lines+="$line;"
done
python3 - "$lines" <<'PY'
import statistics, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
rounds = [[float(x) for x in line.split()] for line in sys.argv[1].strip(";").split(";")]
med = lambda i: statistics.median(r[i] for r in rounds)
ratio = statistics.median(r[0] / r[1] for r in rounds)
torch = [r[4] / r[1] for r in rounds if len(r) > 4]
gb = 2 * 32 * 8192 * 128 * 4 / 1e9
rows = [f"| one-axis RoPE (cached table) | {med(0) * 1e3:.1f} ms | {gb / med(0):.1f} GB/s | 1.00× |",
        f"| multi-axis RoPE (cached table) | {med(1) * 1e3:.1f} ms | {gb / med(1):.1f} GB/s | **{ratio:.2f}×** |"]
if torch:
    rows.append(f"| transformers Qwen2-VL `apply_rotary_pos_emb` (PyTorch, 2 threads) | {statistics.median(r[4] for r in rounds) * 1e3:.1f} ms "
                f"| {gb / statistics.median(r[4] for r in rounds):.1f} GB/s | Rotary **{statistics.median(torch):.2f}×** faster |")
section = f"""
## Multi-axis RoPE: 32 heads × 8192 × 128 float32, M-RoPE sections 16/24/24 over an 8×32×32 grid

`rotary bench rope-axes` (one process, the two rotations alternating, best of 10 per round; speed relative to the
one-axis kernel on the same tensor, median over {len(rounds)} rounds). Both use the same rotation kernel: the axes only
change how the cos/sin table is built (one-axis {med(2) * 1e3:.1f} ms, multi-axis {med(3) * 1e3:.1f} ms for 8192 × 64 pairs).
{"The reference is transformers' Qwen2-VL code with its cos/sin built once." if torch else "PyTorch was not installed: no reference row."}

| kernel | time | traffic (read + written) | speed vs one-axis |
| --- | --- | --- | --- |
""" + "\n".join(rows) + "\n"
publish("multi-axis-rope", section, {"multi-axis ≥ 0.9× the one-axis kernel": ratio >= 0.9})
PY
