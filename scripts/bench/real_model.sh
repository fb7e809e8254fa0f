#!/usr/bin/env bash
# make bench: Rotary against llama.cpp (the xllamacpp wheel) on the same real GGUF files, 2 threads each:
# prompt (128 tokens) and decode (128 greedy tokens) tokens/s and peak resident memory. Rounds alternate the two;
# ratios are per round, medians quoted. Files: SmolLM2-135M-Instruct Q4_1 (as published) and the same model
# requantized to Q4_K_M by llama.cpp's own quantizer logic (scripts/models/requantize.py), when present.
# Usage: real_model.sh ROTARY_BINARY [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1 rounds=${2:-3}
models=(.build-models/SmolLM2-135M-Instruct.Q4_1.gguf)
[ -s .build-models/SmolLM2-135M-Instruct.Q4_K_M.gguf ] && models+=(.build-models/SmolLM2-135M-Instruct.Q4_K_M.gguf)
value() { sed -nE "s/.*name=$1 (.* )?$2=([0-9.]+).*/\2/p"; }
report=""
for model in "${models[@]}"; do
  lines=""
  for round in $(seq "$rounds"); do
    ours=$(ROTARY_COMPUTE_THREADS=2 "$binary" bench model --model "$model" --prompt-tokens 128 --decode-tokens 128 --runs 3)
    theirs=$(python3 scripts/bench/llamacpp_speed.py "$model" --prompt-tokens 128 --decode-tokens 128 --runs 3 --threads 2 2>/dev/null)
    line="$(echo "$ours" | value rotary_prompt tokens_per_second) $(echo "$theirs" | value llamacpp_prompt tokens_per_second)"
    line+=" $(echo "$ours" | value rotary_decode tokens_per_second) $(echo "$theirs" | value llamacpp_decode tokens_per_second)"
    line+=" $(echo "$ours" | value rotary_memory peak_rss_kb) $(echo "$theirs" | value llamacpp_memory peak_rss_kb)"
    echo "$(basename "$model") round $round: prompt/s rotary llama.cpp, decode/s rotary llama.cpp, peak kB rotary llama.cpp: $line"
    lines+="$line;"
  done
  report+="$(basename "$model")|$lines#"
done
python3 - "$report" <<'PY'
import statistics, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
rows, checks = [], {}
for entry in sys.argv[1].strip("#").split("#"):
    name, lines = entry.split("|")
    rounds = [[float(x) for x in line.split()] for line in lines.strip(";").split(";")]
    med = lambda i: statistics.median(r[i] for r in rounds)
    ratio = lambda a, b: statistics.median(r[a] / r[b] for r in rounds)
    prompt, decode, memory = ratio(0, 1), ratio(2, 3), ratio(4, 5)
    rows.append(f"| {name} | {med(0):.0f} / {med(1):.0f} | **{prompt:.2f}×** | {med(2):.1f} / {med(3):.1f} | **{decode:.2f}×** "
                f"| {med(4) / 1024:.0f} / {med(5) / 1024:.0f} | **{memory:.2f}×** |")
    checks[f"{name}: decode ≥ 1.0× llama.cpp"] = decode >= 1.0
    checks[f"{name}: prompt ≥ 0.8× llama.cpp"] = prompt >= 0.8
    checks[f"{name}: peak memory ≤ 1.2× llama.cpp"] = memory <= 1.2
section = f"""
## Real models against llama.cpp: SmolLM2-135M-Instruct, 2 threads

`rotary bench model --prompt-tokens 128 --decode-tokens 128 --runs 3` against `scripts/bench/llamacpp_speed.py` (llama.cpp
through the xllamacpp wheel, the same prompt ids, greedy, EOS ignored, best of 3 per round), rounds alternating the two,
ratios per round, median over rounds. Memory: peak resident set of Rotary's process; llama.cpp's process peak less the
interpreter's before the model loaded.

| file | prompt tokens/s Rotary / llama.cpp | ratio (target ≥ 0.8) | decode tokens/s Rotary / llama.cpp | ratio (target ≥ 1.0) | peak MB Rotary / llama.cpp | ratio (target ≤ 1.2) |
| --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + "\n"
publish("real-models", section, checks)
PY
