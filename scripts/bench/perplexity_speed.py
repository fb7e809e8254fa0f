#!/usr/bin/env python3
"""make bench: `POST /perplexity` against the same scoring through llama.cpp (llama-cpp-python's `eval` with every
row's logits, then a log-softmax per scored row) on the same file, tokens and windows, 2 threads each. Rounds
alternate the two; the ratio is per round, the median is quoted. Also checks the two agree on the mean NLL.

Usage: perplexity_speed.py ROTARY_BINARY LLAMA_PYTHON [--rounds 3] [--chars 40000]   (writes its BENCHMARKS.md section)
The llama.cpp half runs in LLAMA_PYTHON (the venv of scripts/llama_cpp_venv.sh) as `perplexity_speed.py --llama`.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/models"))
sys.path.insert(0, str(ROOT / "scripts/bench"))
# (label, file or None for the embedded model, window length)
MODELS = [("shipped model (F32, 4.2M)", None, 128),
          ("SmolLM2-135M-Instruct Q4_1", ROOT / ".build-models/SmolLM2-135M-Instruct.Q4_1.gguf", 1024)]
SHIPPED = ROOT / "Sources/RotaryService/Resources/default-model.gguf"


def windows(count, context):
    """ScoringWindows with stride = context: (start, length, scored) — window k reads `context` tokens from
    k·context and scores the tokens after them that no earlier window scored."""
    out, scored_up_to, start = [], 0, 0
    while scored_up_to < count - 1:
        end = min(start + context, count - 1)
        out.append((start, end - start + 1, end - scored_up_to))
        scored_up_to, start = end, start + context
    return out


def llama_side(model, tokens_file, context):
    """In the llama-cpp-python venv: every window evaluated with all logits; prints seconds and the NLL sum."""
    import numpy as np
    from llama_cpp import Llama
    tokens = json.loads(pathlib.Path(tokens_file).read_text())
    llm = Llama(model_path=model, n_ctx=context, n_batch=context, n_ubatch=min(context, 512), n_threads=2,
                n_threads_batch=2, logits_all=True, verbose=False)
    started = time.perf_counter()
    total, count = 0.0, 0
    for start, length, scored in windows(len(tokens), context):
        llm.reset()
        llm.eval(tokens[start:start + length - 1])
        rows = np.asarray(llm.scores[length - 1 - scored:length - 1], dtype=np.float64)
        targets = np.asarray(tokens[start + length - scored:start + length])
        peak = rows.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(rows - peak).sum(axis=1)) + peak[:, 0]
        total -= float((rows[np.arange(scored), targets] - log_norm).sum())
        count += scored
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "nll_sum": total, "scored": count}))


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as response:
        return json.loads(response.read())


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--llama":
        return llama_side(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    from rotary_server import served
    from benchmarks_section import publish
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("llama_python")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chars", type=int, default=40_000)
    args = parser.parse_args()
    text = (ROOT / ".build-data/kjv.txt").read_text()
    text = text[int(len(text) * 0.95):][:args.chars]
    os.environ["ROTARY_COMPUTE_THREADS"] = "2"
    rows, checks = [], {}
    for label, model, context in MODELS:
        if model is not None and not model.exists():
            print(f"{model} missing: skipped")
            continue
        path = str(model or SHIPPED)
        with served(args.binary, model) as port:
            tokens = post(port, "/tokenize", {"prompt": text})["tokens"]
            tokens_file = ROOT / ".build-bench/perplexity-tokens.json"
            tokens_file.write_text(json.dumps(tokens))
            scored = sum(s for _, _, s in windows(len(tokens), context))
            ours, theirs, ratios = [], [], []
            for round in range(args.rounds):
                started = time.perf_counter()
                answer = post(port, "/perplexity", {"tokens": tokens, "context": context})
                rotary_rate = scored / (time.perf_counter() - started)
                result = json.loads(subprocess.run([args.llama_python, __file__, "--llama", path, str(tokens_file), str(context)],
                                                   check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
                llama_rate = result["scored"] / result["seconds"]
                ours.append(rotary_rate), theirs.append(llama_rate), ratios.append(rotary_rate / llama_rate)
                rotary_nll = answer["results"][0]["mean_nll"]
                llama_nll = result["nll_sum"] / result["scored"]
                print(f"{label} round {round + 1}: rotary {rotary_rate:.0f} tokens/s (NLL {rotary_nll:.4f}), "
                      f"llama.cpp {llama_rate:.0f} tokens/s (NLL {llama_nll:.4f})", flush=True)
        ratio = statistics.median(ratios)
        rows.append(f"| {label} | {context} | {scored:,} | {statistics.median(ours):,.0f} / {statistics.median(theirs):,.0f} | "
                    f"**{ratio:.2f}×** | {rotary_nll:.4f} / {llama_nll:.4f} |")
        checks[f"{label}: /perplexity ≥ 1.0× llama.cpp"] = ratio >= 1.0
        # Q4 activations are rounded to 8 bits by both engines in their own ways; the F32 model agrees closely.
        checks[f"{label}: mean NLL within {0.002 if model is None else 0.02} of llama.cpp's"] = \
            abs(rotary_nll - llama_nll) <= (0.002 if model is None else 0.02)
    section = f"""
## `/perplexity` against llama.cpp's scoring, 2 threads

`scripts/bench/perplexity_speed.py`: the held-out end of the corpus ({len(text):,} characters), the same token ids and
windows (stride = window) through `POST /perplexity` (client wall time, JSON included) and through llama-cpp-python 0.3.36
(`eval` of each window with `logits_all`, then a log-softmax per scored row in NumPy), rounds alternating the two, ratio per
round, median of {args.rounds}. Figures are tokens scored per second.

| model | window | tokens scored | tokens/s Rotary / llama.cpp | ratio (target ≥ 1.0) | mean NLL Rotary / llama.cpp |
| --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + "\n"
    publish("perplexity", section, checks)


if __name__ == "__main__":
    main()
