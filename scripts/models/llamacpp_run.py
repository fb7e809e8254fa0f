#!/usr/bin/env python3
"""llama.cpp itself (the xllamacpp wheel: a prebuilt CPU llama.cpp with its HTTP server embedded in-process,
listening on a loopback port) on a GGUF file: per-position log-probabilities, a greedy continuation, tokenization.

Usage:
  llamacpp_run.py GGUF --tokens 1,2,3 [--positions all|last] [--top-k K] [--greedy N] [--json]
  llamacpp_run.py GGUF --tokenize "some text" [--no-special]

What xllamacpp gives and what it does not (measured with xllamacpp 2026.10.11549):
* No raw logits. The server's /completion returns, with n_probs = V and post_sampling_probs = false, the
  log-softmax of the raw logits over the whole vocabulary for the position it samples from — the logits up to one
  additive constant per position. Compare log-softmaxes (or logits minus their logsumexp).
* Only the next-token distribution of the *last* prompt position per request: the distribution at every position
  takes one request per prefix (by default each reuses the previous prefix's KV cache, so position t is a
  one-token decode step; --fresh evaluates every prefix as a new batch).
* Greedy continuation: temperature 0, top_k 1, ignore_eos, return_tokens.
* A position whose argmax token is an incomplete UTF-8 sequence gets no probabilities (the server waits for the
  rest of the character); a logit bias towards an ASCII token avoids that without changing the reported values.
* Tokenization: /tokenize with add_special (BOS as the file says) and parse_special.
The run uses 2 threads, an f32 KV cache and no flash attention by default (llama.cpp's defaults, an f16 cache and
flash attention, move logits by ~1e-2; --f16-cache restores them).
"""
import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import urllib.request

import numpy as np


@contextlib.contextmanager
def _quiet_stderr():
    """llama.cpp logs every step to fd 2; keep it in a file and show it only when something fails."""
    log = tempfile.TemporaryFile(mode="w+b")
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield log
    except BaseException:
        os.dup2(saved, 2)
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-4000:])
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class LlamaCpp:
    """One loaded model. Use as a context manager; the server stops when the object is dropped."""

    def __init__(self, model_path: str, threads: int = 2, context: int = 512, f16_cache: bool = False,
                 quiet: bool = True, rope: dict | None = None):
        """rope: CommonParams RoPE overrides (rope_freq_base, rope_freq_scale, rope_scaling_type as a
        llama_rope_scaling_type member name's tail: "linear", "yarn"; yarn_orig_ctx, yarn_beta_fast, ...)."""
        import xllamacpp as xlc
        params = xlc.CommonParams()
        params.model.path = model_path
        params.n_ctx = context
        params.n_batch = context
        params.n_ubatch = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cpuparams.poll = 0  # no busy-waiting between graph runs: many small requests otherwise spin
        params.cpuparams_batch.poll = 0
        params.warmup = False
        for key, value in (rope or {}).items():
            if key == "rope_scaling_type":
                value = getattr(xlc.llama_rope_scaling_type, "LLAMA_ROPE_SCALING_TYPE_" + value.upper())
            setattr(params, key, value)
        params.cache_prompt = False
        if not f16_cache:
            params.cache_type_k = xlc.ggml_type.GGML_TYPE_F32
            params.cache_type_v = xlc.ggml_type.GGML_TYPE_F32
            params.flash_attn_type = xlc.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._quiet = _quiet_stderr() if quiet else contextlib.nullcontext()
        self._quiet.__enter__()
        try:
            self._server = xlc.Server(params)
        except BaseException:
            self._quiet.__exit__(*sys.exc_info())
            raise
        self._base = self._server.listening_address
        self.vocab_size = self._vocab_size()
        # The server withholds a position's probabilities when the sampled token is an incomplete UTF-8 sequence
        # (it waits for the rest, and n_predict = 1 ends first). A logit bias makes it sample a plain ASCII
        # token instead; the reported log-probabilities are the raw logits' softmax, which no bias changes.
        self._ascii_token = self.tokenize("a", add_special=False, parse_special=False)[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if getattr(self, "_server", None) is not None:
            self._server = None
            gc.collect()  # the server logs its shutdown from its destructor: still into the quiet log
            self._quiet.__exit__(None, None, None)

    def _vocab_size(self) -> int:
        with urllib.request.urlopen(self._base + "/v1/models", timeout=60) as response:
            return int(json.loads(response.read())["data"][0]["meta"]["n_vocab"])

    def _post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self._base + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())

    def tokenize(self, text: str, add_special: bool = True, parse_special: bool = True) -> list[int]:
        out = self._post("/tokenize", {"content": text, "add_special": add_special,
                                       "parse_special": parse_special})
        return [t if isinstance(t, int) else t["id"] for t in out["tokens"]]

    def next_logprobs(self, tokens: list[int], top_k: int | None = None, reuse_cache: bool = False) -> np.ndarray:
        """[vocab] log-softmax of the logits after the last token (NaN where a top_k cut left a token out).
        reuse_cache: evaluate only what the KV cache of the previous request does not already hold."""
        n_probs = self.vocab_size if top_k is None else top_k
        out = self._post("/completion", {
            "prompt": list(tokens), "n_predict": 1, "n_probs": n_probs, "post_sampling_probs": False,
            "temperature": 0.0, "top_k": 1, "cache_prompt": reuse_cache, "ignore_eos": True,
            "logit_bias": [[self._ascii_token, 1000.0]]})
        entries = out["completion_probabilities"][0]["top_logprobs"]
        result = np.full(self.vocab_size, np.nan)
        for e in entries:
            result[e["id"]] = e["logprob"]
        if top_k is None and np.isnan(result).any():
            raise RuntimeError(f"llama.cpp returned {len(entries)} of {self.vocab_size} log-probabilities")
        return result

    def logprobs(self, tokens: list[int], positions: str = "all", top_k: int | None = None,
                 incremental: bool = True) -> np.ndarray:
        """[positions][vocab]: the next-token log-softmax after each prefix tokens[:t+1] (or only the last).
        incremental: each prefix reuses the previous one's KV cache, so position t is a one-token decode step
        (as in generation); otherwise every prefix is evaluated afresh as one batch."""
        ends = range(1, len(tokens) + 1) if positions == "all" else [len(tokens)]
        return np.stack([self.next_logprobs(tokens[:end], top_k, reuse_cache=incremental) for end in ends])

    def greedy(self, tokens: list[int], count: int) -> list[int]:
        """The next `count` tokens by argmax (EOS does not stop it)."""
        out = self._post("/completion", {
            "prompt": list(tokens), "n_predict": count, "temperature": 0.0, "top_k": 1, "cache_prompt": False,
            "ignore_eos": True, "return_tokens": True, "stop": [], "repeat_penalty": 1.0})
        return list(out["tokens"])


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf")
    ap.add_argument("--tokens", type=_ints, help="comma-separated token ids")
    ap.add_argument("--tokenize", metavar="TEXT", help="print llama.cpp's token ids for TEXT")
    ap.add_argument("--no-special", action="store_true", help="with --tokenize: no BOS, no special-token parsing")
    ap.add_argument("--positions", choices=["all", "last"], default="all")
    ap.add_argument("--top-k", type=int, default=None, help="only the K most likely tokens per position")
    ap.add_argument("--greedy", type=int, default=0, metavar="N", help="also a greedy continuation of N tokens")
    ap.add_argument("--fresh", action="store_true", help="evaluate every prefix afresh (no KV cache reuse)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--f16-cache", action="store_true", help="llama.cpp's default f16 KV cache and flash attention")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.tokens is None and args.tokenize is None:
        ap.error("give --tokens or --tokenize")
    if not os.path.isfile(args.gguf):
        ap.error(f"no such file: {args.gguf}")

    with LlamaCpp(args.gguf, threads=args.threads, f16_cache=args.f16_cache) as llm:
        result: dict = {"model": args.gguf}
        if args.tokenize is not None:
            special = not args.no_special
            result["text"] = args.tokenize
            result["tokens"] = llm.tokenize(args.tokenize, add_special=special, parse_special=special)
        if args.tokens is not None:
            lp = llm.logprobs(args.tokens, args.positions, args.top_k, incremental=not args.fresh)
            result["tokens"] = args.tokens
            result["positions"] = list(range(len(args.tokens))) if args.positions == "all" else [len(args.tokens) - 1]
            if args.top_k is None:
                result["logprobs"] = [[round(float(v), 7) for v in row] for row in lp]
            else:
                result["top_logprobs"] = [
                    [[int(i), round(float(row[i]), 7)] for i in np.argsort(-np.nan_to_num(row, nan=-np.inf))[:args.top_k]]
                    for row in lp]
            if args.greedy:
                result["greedy"] = llm.greedy(args.tokens, args.greedy)
    if args.json:
        print(json.dumps(result))
    else:
        if "text" in result and "logprobs" not in result and "top_logprobs" not in result:
            print(" ".join(map(str, result["tokens"])))
        for pos, row in zip(result.get("positions", []), result.get("logprobs", result.get("top_logprobs", []))):
            if "logprobs" in result:
                arr = np.array(row)
                top = np.argsort(-arr)[:5]
                print(f"pos {pos}: top5 " + ", ".join(f"{i}:{arr[i]:.4f}" for i in top))
            else:
                print(f"pos {pos}: " + ", ".join(f"{i}:{v:.4f}" for i, v in row))
        if "greedy" in result:
            print("greedy:", " ".join(map(str, result["greedy"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
