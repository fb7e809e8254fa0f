#!/usr/bin/env python3
"""Cross-checks the float64 reference (reference_forward.py) against llama.cpp (llamacpp_run.py, xllamacpp) on
every fixture of make_fixtures.py and on SmolLM2-135M-Instruct Q4_1, so the reference is known good before
Rotary is tested against it. Exits 1 on any failure.

Usage: check_references.py [--fixtures DIR] [--smollm GGUF] [--json OUT] [--thorough]

Four kinds of check:
1. every fixture and SmolLM2: max |log-softmax difference| over all positions and the whole vocabulary within the
   file's tolerance, the same argmax at every position, and each token of llama.cpp's 8-token greedy
   continuation the reference's argmax there (teacher-forced); a difference is excused only where the
   reference's logits are closer than the tolerance (a near tie);
2. format probes: llama-f32 with its output matrix and last ffn_down in one format; with ggml's activation
   rounding imitated (ggml_cpu_rounding.py) the reference must then equal llama.cpp to 1e-4 at most positions
   (a rounding tie that flips one int8 can move one position), which checks the dequantization of every format
   far below what the plain comparison can;
3. negative controls: deliberately wrong variants of the reference (RoPE pairing, window, layer pattern, rope
   bases, rope_freqs, biases, norm +1, query scale, soft-capping) must each fail check 1 on a fixture;
4. --thorough: SmolLM2 dequantized to F32 (a 540 MB temporary file): reference vs llama.cpp within 1e-3.

Tolerances (max |Δ log-softmax|), set from measurements: llama.cpp rounds a product's activations to the weight
format's dot-product type (fp16, bf16, or int8 blocks for quantized weights), which dominates the difference.
"""
import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as Q

import make_fixtures
import reference_forward as ref
from ggml_cpu_rounding import GgmlCpuRounding
from llamacpp_run import LlamaCpp

PROMPT = "Hello world! The model reads the file, and the window slides over 12345 tokens."
MAX_TOKENS = 16
GREEDY = 8
# By the least precise matrix format in the file. Measured maxima: F32 4e-6, F16 6e-3, BF16 6e-2, quantized
# fixtures 0.1-0.33; SmolLM2 Q4_1 1.2 (a trained model's outlier activations make int8 rounding coarse).
TOLERANCE = {Q.F32: 1e-4, Q.F16: 2e-2, Q.BF16: 0.15}
QUANTIZED_TOLERANCE = 0.5
REAL_MODEL_TOLERANCE = 2.0
PROBE_FORMATS = [Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K]
PROBE_EXACT = 1e-4


def tolerance_for(model: ref.Model) -> float:
    formats = {t.tensor_type for t in model.reader.tensors if len(t.shape) == 2}
    return max(TOLERANCE.get(f, QUANTIZED_TOLERANCE) for f in formats)


@dataclasses.dataclass
class Run:
    """llama.cpp's side of one model: tokens, [positions][vocab] log-probs (NaN = not returned), greedy ids."""
    tokens: list
    logprobs: np.ndarray
    greedy: list


# llama.cpp's results do not depend on its thread count (each dot product is one thread's), and on a busy
# 2-core machine two threads wait on each other at every graph node: 0.7 s for a 10-token prompt of a 1M model
# instead of 7 ms. --threads 2 runs as the brief's llamacpp_run.py default does.
THREADS = 1


def run_llamacpp(path: Path, top_k: int | None = None) -> Run:
    with LlamaCpp(str(path), threads=THREADS) as llm:
        tokens = llm.tokenize(PROMPT)[:MAX_TOKENS]
        lp = llm.logprobs(tokens, top_k=top_k)
        if top_k is not None:  # the whole vocabulary at the last position all the same
            lp[-1] = llm.next_logprobs(tokens)
        return Run(tokens, lp, llm.greedy(tokens, GREEDY))


def reference_logits(model: ref.Model, run: Run, rounding=None) -> np.ndarray:
    """[prompt + greedy tokens][vocab]: one pass gives the prompt's positions and, teacher-forced, the steps of
    llama.cpp's greedy continuation."""
    return ref.forward(model, run.tokens + run.greedy, rounding=rounding)


def compare(logits: np.ndarray, run: Run, tol: float) -> dict:
    """Reference vs llama.cpp over the prompt's positions: the figures and whether they pass."""
    logits = logits[:len(run.tokens)]
    mine = ref.log_softmax(logits)
    per_position = np.nanmax(np.abs(mine - run.logprobs), axis=1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    near_tie = top2[:, 1] - top2[:, 0] < tol
    agree = mine.argmax(axis=1) == np.nanargmax(run.logprobs, axis=1)
    return {"max_diff": float(per_position.max()), "median_position_diff": float(np.median(per_position)),
            "top1_agree": int(agree.sum()), "positions": len(run.tokens),
            "top1_ok": bool(np.all(agree | near_tie)), "diff_ok": bool(per_position.max() <= tol)}


def compare_greedy(logits: np.ndarray, run: Run, tol: float) -> dict:
    """Is each token of llama.cpp's greedy continuation the reference's argmax (or within tol of it)?"""
    steps = logits[len(run.tokens) - 1:len(run.tokens) - 1 + len(run.greedy)]
    gaps = [float(row.max() - row[t]) for row, t in zip(steps, run.greedy)]
    first = next((i for i, g in enumerate(gaps) if g > 0), None)
    return {"greedy_equal": first is None, "greedy_ok": all(g < tol for g in gaps), "greedy_first_difference": first,
            "greedy_llamacpp": run.greedy, "greedy_max_gap": max(gaps)}


# ---- negative controls -----------------------------------------------------------------------------------------

def _scale_tensors(model: ref.Model, suffix: str, fn) -> None:
    for name in model.tensors:
        if name.endswith(suffix):
            model._cache[name] = fn(model.tensor(name))


def _set(**changes):
    return lambda m: setattr(m, "hp", dataclasses.replace(m.hp, **changes))


MUTATIONS = [
    ("llama-f32", "NeoX pairing for llama", _set(neox=True)),
    ("llama3-tied-f16", "rope_freqs multiplied instead of divided", lambda m: _scale_tensors(
        m, "rope_freqs.weight", lambda f: 1.0 / f)),
    ("llama3-tied-f16", "rope_freqs ignored", lambda m: _scale_tensors(m, "rope_freqs.weight", np.ones_like)),
    ("qwen2-f16", "adjacent pairing for qwen2", _set(neox=False)),
    ("qwen2-f16", "attn_k.bias ignored", lambda m: _scale_tensors(m, "attn_k.bias", np.zeros_like)),
    ("gemma3-bf16", "window one wider", lambda m: _set(window=m.hp.window + 1)(m)),
    ("gemma3-bf16", "every layer global", lambda m: _set(local_layers=(False,) * m.hp.layers)(m)),
    ("gemma3-bf16", "local layers on the global rope base", lambda m: _set(rope_base_swa=m.hp.rope_base)(m)),
    ("gemma3-bf16", "query scale 1/sqrt(dim/heads)", lambda m: _set(
        query_scale=1.0 / math.sqrt(m.hp.dim // m.hp.heads))(m)),
    ("gemma3-bf16", "norm weights +1 again", lambda m: _scale_tensors(m, "norm.weight", lambda w: w + 1.0)),
    ("gemma3-q5_1", "sliding_window_pattern ignored", lambda m: _set(
        local_layers=tuple(i % 6 < 5 for i in range(m.hp.layers)))(m)),
    ("gemma3-q5_1", "rope.freq_base_swa ignored", _set(rope_base_swa=10000.0)),
    ("gemma3-q4_0", "linear rope scaling ignored", _set(rope_scale=1.0)),
    ("gemma3-q6_k", "final soft-capping ignored", _set(softcap=0.0)),
]


# ---- the run ---------------------------------------------------------------------------------------------------

def line(name: str, r: dict) -> str:
    ok = r["diff_ok"] and r["top1_ok"] and r.get("greedy_ok", True)
    greedy = "" if "greedy_ok" not in r else (
        " greedy =" if r["greedy_equal"] else f" greedy ≠ at step {r['greedy_first_difference']} "
                                              f"(gap {r['greedy_max_gap']:.2f})")
    return (f"{'ok  ' if ok else 'FAIL'} {name:26s} max|Δ| {r['max_diff']:.2e} (tol {r['tolerance']:.0e}) "
            f"median/pos {r['median_position_diff']:.1e} top-1 {r['top1_agree']}/{r['positions']}{greedy}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", type=Path, default=None, help="fixture folder (default: make_fixtures' default)")
    ap.add_argument("--smollm", type=Path, default=make_fixtures.REPO / ".build-models" /
                    "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    ap.add_argument("--thorough", action="store_true", help="also SmolLM2 dequantized to F32 (slow)")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (results do not depend on it)")
    args = ap.parse_args()
    global THREADS
    THREADS = args.threads
    started = time.time()
    fixtures = args.fixtures or make_fixtures.default_outdir()
    fixtures.mkdir(parents=True, exist_ok=True)
    report: dict = {"fixtures": {}, "probes": {}, "negative_controls": {}}
    failures = 0
    runs: dict[str, Run] = {}
    # A fixture older than the scripts that make it is rewritten (the writer is deterministic).
    generator_mtime = max(Path(m.__file__).stat().st_mtime for m in (make_fixtures, make_fixtures.fixture_vocab))

    print("1. reference vs llama.cpp (log-softmax over every position and token; 8 greedy tokens)")
    for spec in make_fixtures.FIXTURES:
        path = fixtures / f"{spec.name}.gguf"
        if not path.exists() or path.stat().st_mtime < generator_mtime:
            make_fixtures.write_fixture(spec, path)
        runs[spec.name] = run = run_llamacpp(path)
        model = ref.Model(str(path))
        tol = tolerance_for(model)
        logits = reference_logits(model, run)
        r = compare(logits, run, tol) | compare_greedy(logits, run, tol) | {"tolerance": tol}
        r["emulated_max_diff"] = compare(reference_logits(model, run, GgmlCpuRounding()), run, tol)["max_diff"]
        report["fixtures"][spec.name] = r
        failures += not (r["diff_ok"] and r["top1_ok"] and r["greedy_ok"])
        print(line(spec.name, r) + f"  [ggml rounding imitated: {r['emulated_max_diff']:.1e}]")
    if args.smollm.exists():
        run = run_llamacpp(args.smollm, top_k=1000)
        model = ref.Model(str(args.smollm))
        logits = reference_logits(model, run)
        r = compare(logits, run, REAL_MODEL_TOLERANCE) | compare_greedy(logits, run, REAL_MODEL_TOLERANCE)
        r["tolerance"] = REAL_MODEL_TOLERANCE
        report["fixtures"][args.smollm.name] = r
        failures += not (r["diff_ok"] and r["top1_ok"] and r["greedy_ok"])
        print(line(args.smollm.stem[:26], r) + "  [top 1000 per position, whole vocabulary at the last]")
    else:
        print(f"skip {args.smollm} (missing: scripts/models/fetch.sh fetches it)")

    print(f"2. format probes: ggml's rounding imitated, most positions within {PROBE_EXACT:.0e}")
    base = next(s for s in make_fixtures.FIXTURES if s.name == "llama-f32")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in PROBE_FORMATS:
            spec = dataclasses.replace(base, name=f"probe-{fmt.name}", output_type=fmt,
                                       overrides=(("ffn_down", base.layers - 1, fmt),))
            path = Path(tmp) / f"{spec.name}.gguf"
            make_fixtures.write_fixture(spec, path)
            run = run_llamacpp(path)
            model = ref.Model(str(path))
            plain = compare(reference_logits(model, run), run, TOLERANCE.get(fmt, QUANTIZED_TOLERANCE))
            emulated = compare(reference_logits(model, run, GgmlCpuRounding()), run, PROBE_EXACT)
            ok = plain["diff_ok"] and emulated["median_position_diff"] <= PROBE_EXACT and emulated["max_diff"] < 1e-2
            failures += not ok
            report["probes"][fmt.name] = {"plain_max_diff": plain["max_diff"], "emulated": emulated, "ok": ok}
            print(f"{'ok  ' if ok else 'FAIL'} {fmt.name:5s} plain max|Δ| {plain['max_diff']:.2e}; imitated: median/pos "
                  f"{emulated['median_position_diff']:.1e}, max {emulated['max_diff']:.1e}")

    print("3. negative controls: each wrong variant must fail")
    for fixture, what, mutate in MUTATIONS:
        path = fixtures / f"{fixture}.gguf"
        model = ref.Model(str(path))
        tol = tolerance_for(model)
        mutate(model)
        r = compare(reference_logits(model, runs[fixture]), runs[fixture], tol)
        caught = not (r["diff_ok"] and r["top1_ok"])
        failures += not caught
        report["negative_controls"][f"{fixture}: {what}"] = {"max_diff": r["max_diff"], "caught": caught}
        print(f"{'ok  ' if caught else 'FAIL'} {fixture:16s} {what:42s} max|Δ| {r['max_diff']:.2e} "
              f"{'caught' if caught else 'NOT CAUGHT'}")

    if args.thorough and args.smollm.exists():
        print("4. SmolLM2 dequantized to F32")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "smollm2-f32.gguf"
            dequantized_copy(args.smollm, path)
            run = run_llamacpp(path, top_k=1000)
            r = compare(reference_logits(ref.Model(str(path)), run), run, 1e-3) | {"tolerance": 1e-3}
            report["smollm2_f32"] = r
            failures += not (r["diff_ok"] and r["top1_ok"])
            print(line("SmolLM2 as F32", r))

    report["seconds"] = round(time.time() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(f"{'all passed' if not failures else f'{failures} FAILED'} in {report['seconds']} s")
    return 1 if failures else 0


def dequantized_copy(source: Path, target: Path) -> None:
    """The same model with every tensor as F32: llama.cpp then computes without int8 activations."""
    import gguf
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), reader.fields["general.architecture"].contents())
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key == "general.file_type":
            writer.add_file_type(gguf.LlamaFileType.ALL_F32)
            continue
        kind = f.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, f.contents(), kind, sub_type=f.types[-1])
        else:
            writer.add_key_value(key, f.contents(), kind)
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))
        writer.add_tensor(t.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    sys.exit(main())
