#!/usr/bin/env bash
# make bench: tokenizer encode MB/s, Rotary against llama.cpp's llama_tokenize on 1 MB of the King James Bible with
# Llama 3's vocabulary (scripts/bench/tokenizer.py, which also checks both give the same ids); ROUNDS rounds
# alternating the two inside each run, ratio per round, median. Usage: tokenizer_section.sh ROTARY_BINARY [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$1 rounds=${2:-3}
value() { sed -nE "s/.*name=$1 (.* )?$2=([0-9.]+).*/\2/p"; }
lines=""
for round in $(seq "$rounds"); do
  out=$(python3 scripts/bench/tokenizer.py --rotary "$binary" --runs 5)
  echo "$out"
  lines+="$(echo "$out" | value rotary_tokenizer_encode mb_per_second) $(echo "$out" | value llamacpp_tokenizer_encode mb_per_second);"
done
python3 - "$lines" <<'PY'
import statistics, sys
sys.path.insert(0, "scripts/bench")
from benchmarks_section import publish
rounds = [[float(x) for x in line.split()] for line in sys.argv[1].strip(";").split(";")]
ours, theirs = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
ratio = statistics.median(r[0] / r[1] for r in rounds)
section = f"""
## Tokenizer: encode 1 MB of English with Llama 3's vocabulary

`scripts/bench/tokenizer.py`: Rotary's byte-level BPE (`rotary bench tokenizer`, pre-tokenizer `llama-bpe`) against
llama.cpp's `llama_tokenize` (the xllamacpp wheel's library) on the first 1 MB of the King James Bible, no BOS, best of
5 each; both give the same ids (the script fails otherwise). Median over {len(rounds)} rounds.

| | Rotary | llama.cpp | ratio (target ≥ 1.0) |
| --- | --- | --- | --- |
| encode MB/s | {ours:.1f} | {theirs:.2f} | **{ratio:.1f}×** |
"""
publish("tokenizer", section, {"encode ≥ 1.0× llama.cpp": ratio >= 1.0})
PY
