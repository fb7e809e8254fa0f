"""Tokenizer encode speed: Rotary (`rotary bench tokenizer`) against llama.cpp's llama_tokenize (the xllamacpp
wheel's build, in process through ctypes: scripts/models/llama_tokenizer.py) on the same text and vocabulary,
no BOS, written special tokens as text; best of RUNS each, and whether both give the same ids.
Default: the first 1 MB of the King James Bible (scripts/prepare_corpus.sh) with Llama 3's vocabulary.

Usage: tokenizer.py [--rotary .build/release/rotary] [--vocab .build-models/vocab/ggml-vocab-llama-bpe.gguf]
                    [--text .build-data/kjv.txt] [--megabytes 1] [--runs 5]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
from llama_tokenizer import LlamaVocabulary  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rotary", default=os.path.join(ROOT, ".build", "release", "rotary"))
    parser.add_argument("--vocab", default=os.path.join(ROOT, ".build-models", "vocab", "ggml-vocab-llama-bpe.gguf"))
    parser.add_argument("--text", default=os.path.join(ROOT, ".build-data", "kjv.txt"))
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.path.exists(args.text):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "prepare_corpus.sh"), args.text], check=True)
    data = open(args.text, "rb").read()[:int(args.megabytes * 1e6)]
    data = data.decode("utf-8", "ignore").encode("utf-8")   # whole characters only
    with tempfile.TemporaryDirectory() as folder:
        sample, rotary_ids = os.path.join(folder, "sample.txt"), os.path.join(folder, "ids.txt")
        open(sample, "wb").write(data)
        out = subprocess.run([args.rotary, "bench", "tokenizer", "--vocabulary", args.vocab, "--text", sample,
                              "--runs", str(args.runs), "--ids", rotary_ids], check=True, capture_output=True, text=True).stdout
        rotary = dict(field.split("=") for field in next(l for l in out.splitlines() if l.startswith("RESULT")).split()[1:])
        ours = [int(x) for x in open(rotary_ids).read().split()]
    vocab = LlamaVocabulary(args.vocab)
    best = float("inf")
    for _ in range(args.runs):
        start = time.perf_counter()
        ids = vocab.tokenize(data)
        best = min(best, time.perf_counter() - start)
    name = os.path.basename(args.vocab)
    print(f"RESULT name=llamacpp_tokenizer_encode vocab={name} bytes={len(data)} tokens={len(ids)} seconds={best:.4f} "
          f"mb_per_second={len(data) / best / 1e6:.2f}")
    print(f"RESULT name=rotary_tokenizer_encode vocab={name} bytes={rotary['bytes']} tokens={rotary['tokens']} "
          f"seconds={rotary['seconds']} mb_per_second={rotary['mb_per_second']} same_ids={str(ours == ids).lower()}")
    sys.stdout.flush()
    os._exit(0 if ours == ids else 1)


if __name__ == "__main__":
    main()
