#!/usr/bin/env python3
"""The YaRN paper's fine-tuning claim, tested on the shipped model: fine-tune it briefly at a longer context under
YaRN and under linear interpolation (`rotary train --resume` of the shipped file with `--rope`), and count the
steps each needs to recover the loss the model has at its trained context. Writes a results page and a plot.

Usage: finetune_extension.py ROTARY_BINARY [--steps 200] [--context 512] [--out docs/context-extension]
                             [--markdown docs/context-extension-finetune.md]

Every loss is the trainer's, on the same held-out tokens (the start of the last 5% of the corpus, never trained
on): `--validation-tokens` of them, scored in windows of the run's context, so a run at 128 and one at 512 read
the same tokens. The fine-tuned files are then scored by `POST /perplexity` under their own (recorded) RoPE.
"""
import argparse
import csv
import json
import pathlib
import subprocess
import sys
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent / "models"))
from rotary_server import served   # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "Sources/RotaryService/Resources/default-model.gguf"
TRAINED_CONTEXT = 128


def train(binary, args, context, steps, rope, out, log):
    command = [binary, "train", "--corpus", args.corpus, "--resume", str(SHIPPED), "--context", str(context),
               "--steps", str(steps), "--batch", str(args.batch), "--learning-rate", str(args.learning_rate),
               "--warmup", str(args.warmup), "--eval-interval", str(args.eval_interval),
               "--validation-tokens", str(args.validation_tokens), "--out", str(out), "--log", str(log)]
    if rope:
        command += ["--rope", json.dumps(rope)]
    print("$ " + " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    with open(log) as f:
        return [(int(row["step"]), float(row["validation_loss"])) for row in csv.DictReader(f) if row["validation_loss"]]


def perplexity(port, text, window):
    body = json.dumps({"text": text, "context": window}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/perplexity", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as response:
        return json.loads(response.read())["results"][0]["mean_nll"]


def first_step(curve, target):
    return next((step for step, loss in curve if loss <= target), None)


def plot(curves, baseline, path):
    """NLL against fine-tuning step, one line per scaling, the trained-context loss dashed."""
    width, height, left, right, top, bottom = 720, 420, 70, 170, 40, 50
    losses = [loss for curve in curves.values() for _, loss in curve] + [baseline]
    low, high = min(losses) - 0.05, max(losses) + 0.05
    last = max(step for curve in curves.values() for step, _ in curve)
    x = lambda step: left + (width - left - right) * step / last
    y = lambda loss: top + (height - top - bottom) * (high - loss) / (high - low)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">Fine-tuning the shipped model at 512 tokens: '
             'held-out NLL by step</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
             f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">fine-tuning step</text>',
             f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 16 {(top + height - bottom) / 2})">held-out NLL (nats/token)</text>']
    for i in range(6):
        loss = low + (high - low) * i / 5
        parts.append(f'<text x="{left - 6}" y="{y(loss) + 4:.1f}" text-anchor="end">{loss:.2f}</text>')
        step = round(last * i / 5)
        parts.append(f'<text x="{x(step):.1f}" y="{height - bottom + 16}" text-anchor="middle">{step}</text>')
    parts.append(f'<line x1="{left}" y1="{y(baseline):.1f}" x2="{width - right}" y2="{y(baseline):.1f}" stroke="gray" '
                 'stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{width - right + 6}" y="{y(baseline) + 4:.1f}" fill="gray">at 128, untuned</text>')
    for (name, curve), colour in zip(curves.items(), colours):
        points = " ".join(f"{x(step):.1f},{y(loss):.1f}" for step, loss in curve)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        step, loss = curve[-1]
        parts.append(f'<text x="{x(step) + 6:.1f}" y="{y(loss) + 4:.1f}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--corpus", default=str(ROOT / ".build-data/kjv.txt"))
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--eval-interval", type=int, default=20)
    parser.add_argument("--validation-tokens", type=int, default=32768)
    parser.add_argument("--chars", type=int, default=60_000, help="characters of the held-out end scored by /perplexity")
    parser.add_argument("--work", default=str(ROOT / ".build-data/finetune"))
    parser.add_argument("--out", default=str(ROOT / "docs/context-extension"))
    parser.add_argument("--markdown", default=str(ROOT / "docs/context-extension-finetune.md"))
    args = parser.parse_args()
    corpus = pathlib.Path(args.corpus)
    if not corpus.exists():
        subprocess.run(["bash", str(ROOT / "scripts/prepare_corpus.sh"), str(corpus)], check=True)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    factor = args.context / TRAINED_CONTEXT
    scalings = {f"linear ×{factor:g}": {"rope_type": "linear", "factor": factor},
                f"YaRN ×{factor:g}": {"rope_type": "yarn", "factor": factor, "original_max_position_embeddings": TRAINED_CONTEXT}}

    # The target: the untouched model at the context it was trained on, on the same held-out tokens.
    baseline = train(args.binary, args, TRAINED_CONTEXT, 0, None, work / "baseline.gguf", work / "baseline.csv")[0][1]
    curves, files = {}, {}
    for name, rope in scalings.items():
        slug = rope["rope_type"]
        files[name] = work / f"finetuned-{slug}.gguf"
        curves[name] = train(args.binary, args, args.context, args.steps, rope, files[name], work / f"finetune-{slug}.csv")

    text = corpus.read_text()
    text = text[int(len(text) * 0.95):][:args.chars]
    scored = {}
    for name, path in files.items():
        with served(args.binary, path, extra=["--max-eval-context", str(args.context)]) as port:
            scored[name] = (perplexity(port, text, TRAINED_CONTEXT), perplexity(port, text, args.context))
    with served(args.binary, None, extra=["--max-eval-context", str(args.context)]) as port:
        shipped_128 = perplexity(port, text, TRAINED_CONTEXT)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(curves, baseline, out / "finetune.svg")
    margins = [0.10, 0.05, 0.0]
    lines = [f"# Fine-tuning at {args.context} tokens: YaRN against linear interpolation\n",
             f"Made by `make context-extension-finetune` (`scripts/finetune_extension.py`): the shipped model fine-tuned for "
             f"{args.steps} steps of {args.batch}×{args.context} tokens (AdamW, peak learning rate {args.learning_rate:g}, "
             f"{args.warmup} warm-up steps, cosine decay), under each scaling with factor {factor:g}. Losses are the trainer's on "
             f"the first {args.validation_tokens:,} held-out tokens; the target is the untouched model at its trained "
             f"context of {TRAINED_CONTEXT} on the same tokens: **{baseline:.4f}** nats/token.\n",
             "![held-out NLL by fine-tuning step](context-extension/finetune.svg)\n",
             "| scaling | step 0 | " + " | ".join(f"steps to target + {m:.2f}" if m else "steps to target" for m in margins)
             + f" | after {args.steps} steps |",
             "| --- | --- | " + " | ".join("---" for _ in margins) + " | --- |"]
    for name, curve in curves.items():
        cells = [str(first_step(curve, baseline + m)) if first_step(curve, baseline + m) is not None else "not reached" for m in margins]
        lines.append(f"| {name} | {curve[0][1]:.4f} | " + " | ".join(cells) + f" | {curve[-1][1]:.4f} |")
    lines += ["", f"The validation curve (every {args.eval_interval} steps):", "",
              "| step | " + " | ".join(curves) + " |", "| --- | " + " | ".join("---" for _ in curves) + " |"]
    for i, (step, _) in enumerate(next(iter(curves.values()))):
        lines.append(f"| {step} | " + " | ".join(f"{curve[i][1]:.4f}" for curve in curves.values()) + " |")
    lines += ["", f"The fine-tuned files scored by `POST /perplexity` under the RoPE they record, on {len(text):,} characters "
              f"of the held-out end (the shipped model at {TRAINED_CONTEXT}: {shipped_128:.3f}):", "",
              f"| file | mean NLL, windows of {TRAINED_CONTEXT} | mean NLL, windows of {args.context} |", "| --- | --- | --- |"]
    for name, (short, long) in scored.items():
        lines.append(f"| fine-tuned under {name} | {short:.3f} | {long:.3f} |")
    pathlib.Path(args.markdown).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
