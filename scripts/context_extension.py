#!/usr/bin/env python3
"""The context-extension experiment over the API: a model scored by /perplexity on held-out text in windows
longer than it was trained on, under plain RoPE, linear interpolation, dynamic NTK and YaRN (factor =
window / trained context), writing docs/context-extension.md's tables and one SVG plot per window.

Usage: context_extension.py ROTARY_BINARY [--model GGUF] [--text FILE] [--chars N] [--windows 128,256,512,1024]
                            [--out docs/context-extension] [--markdown docs/context-extension.md]
Default: the shipped model on the held-out end (the last 5%) of .build-data/kjv.txt (scripts/prepare_corpus.sh).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent / "models"))
from rotary_server import served   # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def post(port, body, accept="application/json"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/perplexity", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": accept})
    with urllib.request.urlopen(request, timeout=3600) as response:
        data = response.read()
    return data if accept != "application/json" else json.loads(data)


def settings(factor, trained):
    if factor == 1:
        return [("plain RoPE", {})]
    return [("plain RoPE", {}),
            (f"linear ×{factor:g}", {"rope_type": "linear", "factor": factor}),
            (f"dynamic NTK ×{factor:g}", {"rope_type": "dynamic", "factor": factor}),
            (f"YaRN ×{factor:g}", {"rope_type": "yarn", "factor": factor, "original_max_position_embeddings": trained})]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--model")
    parser.add_argument("--text", default=str(ROOT / ".build-data/kjv.txt"))
    parser.add_argument("--held-out", type=float, default=0.05, help="score the last share of the text")
    parser.add_argument("--chars", type=int, default=60_000, help="score at most this many characters of it")
    parser.add_argument("--windows", default="128,256,512,1024")
    parser.add_argument("--buckets", type=int, default=8)
    parser.add_argument("--no-svg", action="store_true", help="skip the plots (each is a second scoring of the same windows)")
    parser.add_argument("--out", default=str(ROOT / "docs/context-extension"))
    parser.add_argument("--markdown", default=str(ROOT / "docs/context-extension-results.md"))
    args = parser.parse_args()
    path = pathlib.Path(args.text)
    if not path.exists() and path == ROOT / ".build-data/kjv.txt":
        subprocess.run(["bash", str(ROOT / "scripts/prepare_corpus.sh"), str(path)], check=True)
    text = path.read_text()
    text = text[int(len(text) * (1 - args.held_out)):][:args.chars]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    figures = os.path.relpath(out, pathlib.Path(args.markdown).resolve().parent)
    longest = max(int(w) for w in args.windows.split(","))
    with served(args.binary, args.model, extra=["--max-eval-context", str(longest)]) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/model") as response:
            info = json.loads(response.read())
        trained = info["context_length"]
        lines.append(f"Model `{info['id']}` ({info['summary']}), trained context {trained}; "
                     f"{len(text):,} characters of held-out text.\n")
        for window in [int(w) for w in args.windows.split(",")]:
            factor = window / trained
            named = settings(factor, trained)
            body = {"text": text, "context": window, "buckets": args.buckets, "rope": [rope for _, rope in named]}
            answer = post(port, body)
            if not args.no_svg:
                (out / f"window-{window}.svg").write_bytes(post(port, body, accept="image/svg+xml"))
            edges = [f"{b['start']}–{b['end'] - 1}" for b in answer["results"][0]["nll_by_position"]]
            lines.append(f"\n### Windows of {window} ({answer['windows']} windows, {answer['results'][0]['tokens_scored']:,} tokens "
                         f"scored, {answer['timings']['tokens_per_second']:,.0f} tokens/s)\n")
            if not args.no_svg:
                lines.append(f"![NLL by position, windows of {window}]({figures}/window-{window}.svg)\n")
            lines.append("| setting | mean NLL | bits/char | " + " | ".join(edges) + " |")
            lines.append("| --- | --- | --- | " + " | ".join("---" for _ in edges) + " |")
            for (name, _), result in zip(named, answer["results"]):
                curve = " | ".join("—" if b["mean_nll"] is None else f"{b['mean_nll']:.3f}" for b in result["nll_by_position"])
                lines.append(f"| {name} | {result['mean_nll']:.3f} | {result['bits_per_character']:.3f} | {curve} |")
            print(f"window {window}: " + ", ".join(f"{n} {r['mean_nll']:.3f}" for (n, _), r in zip(named, answer["results"])),
                  flush=True)
    pathlib.Path(args.markdown).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.markdown} and {out}/window-*.svg")


if __name__ == "__main__":
    main()
