#!/usr/bin/env python3
"""A float64 numpy forward pass of the GGUF architectures Rotary loads (llama, qwen2, gemma3), written from the
formulas: it dequantizes every tensor with gguf-py (gguf.quants.dequantize) and shares no code with llama.cpp or
Rotary. It prints the logits of every position.

Usage: reference_forward.py GGUF --tokens 1,2,3 [--json] [--softcap file|off]

The formulas (x [tokens][dim] is the residual stream, rows of a GGUF matrix are its outputs):
  RMSNorm(x, w)   = x / sqrt(mean(x²) + eps) * w            (weights as stored; Gemma's +1 is already in the file)
  RoPE            = rotate pairs by pos·θ_i·s/f_i, θ_i = base^(-2i/n_rot); pairs (2i, 2i+1) for llama ("normal"),
                    (i, i + n_rot/2) for qwen2 and gemma3 ("NeoX"); s = 1/linear factor; f_i = rope_freqs[i] (llama)
  attention       = softmax(q·k · scale + mask) v per head, query head h reads KV head h / (n_head / n_kv)
  llama / qwen2   : x += Wo·attn(RoPE(Wq h + bq), RoPE(Wk h + bk), Wv h + bv), h = RMSNorm(x, attn_norm)
                    x += Wdown(silu(Wgate h) * Wup h), h = RMSNorm(x, ffn_norm); scale 1/sqrt(head_dim)
  gemma3          : x = embedding * sqrt(dim); q, k RMS-normed per head (attn_q_norm/attn_k_norm) before RoPE;
                    x += RMSNorm(Wo·attn(...), post_attention_norm); x += RMSNorm(Wdown(gelu_tanh(Wgate h) * Wup h),
                    post_ffw_norm); local (sliding-window) layers see keys with pos_q - pos_k < window and use
                    rope.freq_base_swa (default 10000, no linear scaling); every sixth layer (i % 6 == 5) is global
                    unless attention.sliding_window_pattern says otherwise; scale 1/sqrt(key_length) (the 62-layer
                    27B: 1/sqrt(dim/heads)); logits soft-capped c·tanh(z/c) when final_logit_softcapping is set
  logits          = RMSNorm(x, output_norm) · output (or token_embd when tied) [+ output.bias]
"""
import argparse
import json
import math
import sys
from dataclasses import dataclass

import numpy as np
import gguf

SUPPORTED = ("llama", "qwen2", "gemma3")


@dataclass
class Hyper:
    arch: str
    dim: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    value_dim: int
    ffn: int
    eps: float
    rope_dims: int
    rope_base: float
    rope_scale: float  # 1 / linear factor
    neox: bool
    window: int  # 0: no sliding-window layers
    local_layers: tuple  # per layer: True = sliding-window
    rope_base_swa: float
    softcap: float  # 0: none
    query_scale: float


class Model:
    """A GGUF file's hyperparameters and tensors; tensors are dequantized to float32 on first use."""

    def __init__(self, path: str):
        self.reader = gguf.GGUFReader(path)
        self.fields = self.reader.fields
        self.tensors = {t.name: t for t in self.reader.tensors}
        self._cache: dict[str, np.ndarray] = {}
        self.hp = self._hyper()

    def field(self, key: str, default=None):
        f = self.fields.get(key)
        if f is None:
            return default
        return f.contents()

    def has(self, name: str) -> bool:
        return name in self.tensors

    def tensor(self, name: str) -> np.ndarray:
        """float32, numpy order ([rows][cols] = [out][in] for matrices)."""
        if name not in self._cache:
            t = self.tensors.get(name)
            if t is None:
                raise KeyError(f"tensor {name!r} missing")
            data = gguf.quants.dequantize(t.data, t.tensor_type)
            shape = tuple(int(d) for d in reversed(t.shape))
            self._cache[name] = np.ascontiguousarray(data, dtype=np.float32).reshape(shape)
        return self._cache[name]

    def _hyper(self) -> Hyper:
        arch = self.field("general.architecture")
        if arch not in SUPPORTED:
            raise ValueError(f"architecture {arch!r} not supported (only {', '.join(SUPPORTED)})")
        a = lambda key, default=None: self.field(f"{arch}.{key}", default)
        dim, layers, heads = int(a("embedding_length")), int(a("block_count")), int(a("attention.head_count"))
        kv_heads = int(a("attention.head_count_kv", heads))
        head_dim = int(a("attention.key_length", dim // heads))
        scaling = a("rope.scaling.type", "none")
        factor = float(a("rope.scaling.factor", a("rope.scale_linear", 0.0)) or 0.0)
        if scaling not in ("none", "linear") and factor not in (0.0, 1.0):
            raise ValueError(f"rope scaling {scaling!r} not supported")
        window, local = 0, (False,) * layers
        if arch == "gemma3":
            window = int(a("attention.sliding_window", 0))
            if window > 0:
                pattern = a("attention.sliding_window_pattern", 6)
                if isinstance(pattern, list):
                    local = tuple(bool(p) for p in pattern)
                else:
                    local = tuple(int(pattern) == 0 or i % int(pattern) < int(pattern) - 1 for i in range(layers))
        query_scale = 1.0 / math.sqrt(head_dim)
        if arch == "gemma3" and layers == 62:  # llama.cpp picks Gemma 3 27B's scale by its layer count
            query_scale = 1.0 / math.sqrt(dim // heads)
        return Hyper(
            arch=arch, dim=dim, layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
            value_dim=int(a("attention.value_length", head_dim)), ffn=int(a("feed_forward_length")),
            eps=float(a("attention.layer_norm_rms_epsilon")), rope_dims=int(a("rope.dimension_count", head_dim)),
            rope_base=float(a("rope.freq_base", 10000.0)),
            rope_scale=1.0 / factor if scaling == "linear" and factor else 1.0,
            neox=arch in ("qwen2", "gemma3"), window=window, local_layers=local,
            rope_base_swa=float(a("rope.freq_base_swa", 10000.0)),
            softcap=float(a("final_logit_softcapping", 0.0) or 0.0), query_scale=query_scale)


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """x [n][d] (or [n][heads][d]) normalized over the last axis, times w [d]."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x: np.ndarray, positions: np.ndarray, n_rot: int, base: float, scale: float, neox: bool,
         factors: np.ndarray | None) -> np.ndarray:
    """x [tokens][heads][head_dim] rotated in its first n_rot dimensions."""
    half = n_rot // 2
    theta = base ** (-2.0 * np.arange(half) / n_rot) * scale
    if factors is not None:
        theta = theta / factors[:half]
    angle = positions[:, None, None] * theta[None, None, :]  # [tokens][1][half]
    cos, sin = np.cos(angle), np.sin(angle)
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float, window: int) -> np.ndarray:
    """q [t][heads][d], k [t][kv][d], v [t][kv][dv] -> [t][heads*dv]; causal, and pos_q - pos_k < window if set."""
    t, heads, _ = q.shape
    group = heads // k.shape[1]
    pos = np.arange(t)
    visible = pos[None, :] <= pos[:, None]
    if window > 0:
        visible &= (pos[:, None] - pos[None, :]) < window
    out = np.empty((t, heads, v.shape[2]))
    for h in range(heads):
        scores = q[:, h, :] @ k[:, h // group, :].T * scale
        scores = np.where(visible, scores, -np.inf)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v[:, h // group, :]
    return out.reshape(t, -1)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def forward(model: Model, tokens: list[int], softcap: str = "file", rounding=None) -> np.ndarray:
    """[tokens][vocab] float64 logits.

    rounding (diagnostics only, default none): an object with matmul(x, weights, gguf_tensor) and gelu(x) that
    imitates an engine's low-precision steps, to tell its rounding apart from a real disagreement."""
    hp = model.hp
    m = model.tensor
    embedding = m("token_embd.weight")
    vocab = embedding.shape[0]
    if any(t < 0 or t >= vocab for t in tokens):
        raise ValueError(f"token ids must be in 0..{vocab - 1}")
    def lin(x: np.ndarray, name: str) -> np.ndarray:
        if rounding is not None:
            return rounding.matmul(x, m(name), model.tensors[name])
        return x @ m(name).astype(np.float64).T

    x = embedding[tokens].astype(np.float64)
    if hp.arch == "gemma3":
        x *= math.sqrt(hp.dim)
    positions = np.arange(len(tokens), dtype=np.float64)
    factors = m("rope_freqs.weight").astype(np.float64) if hp.arch == "llama" and model.has("rope_freqs.weight") else None
    t = len(tokens)
    for i in range(hp.layers):
        b = f"blk.{i}."
        local = hp.local_layers[i]
        h = rms_norm(x, m(b + "attn_norm.weight"), hp.eps)
        q, k, v = lin(h, b + "attn_q.weight"), lin(h, b + "attn_k.weight"), lin(h, b + "attn_v.weight")
        for name, part in (("attn_q.bias", "q"), ("attn_k.bias", "k"), ("attn_v.bias", "v")):
            if model.has(b + name):
                bias = m(b + name)
                q, k, v = (q + bias, k, v) if part == "q" else (q, k + bias, v) if part == "k" else (q, k, v + bias)
        q = q.reshape(t, hp.heads, hp.head_dim)
        k = k.reshape(t, hp.kv_heads, hp.head_dim)
        v = v.reshape(t, hp.kv_heads, hp.value_dim)
        if hp.arch == "gemma3":
            q = rms_norm(q, m(b + "attn_q_norm.weight"), hp.eps)
            k = rms_norm(k, m(b + "attn_k_norm.weight"), hp.eps)
        base, scale = (hp.rope_base_swa, 1.0) if local else (hp.rope_base, hp.rope_scale)
        q = rope(q, positions, hp.rope_dims, base, scale, hp.neox, factors)
        k = rope(k, positions, hp.rope_dims, base, scale, hp.neox, factors)
        a = lin(attention(q, k, v, hp.query_scale, hp.window if local else 0), b + "attn_output.weight")
        if model.has(b + "attn_output.bias"):
            a = a + m(b + "attn_output.bias")
        if hp.arch == "gemma3":
            a = rms_norm(a, m(b + "post_attention_norm.weight"), hp.eps)
        x = x + a
        h = rms_norm(x, m(b + "ffn_norm.weight"), hp.eps)
        act = silu if hp.arch != "gemma3" else gelu_tanh if rounding is None else rounding.gelu
        f = lin(act(lin(h, b + "ffn_gate.weight")) * lin(h, b + "ffn_up.weight"), b + "ffn_down.weight")
        if hp.arch == "gemma3":
            f = rms_norm(f, m(b + "post_ffw_norm.weight"), hp.eps)
        x = x + f
    x = rms_norm(x, m("output_norm.weight"), hp.eps)
    logits = lin(x, "output.weight" if model.has("output.weight") else "token_embd.weight")
    if model.has("output.bias"):
        logits = logits + m("output.bias")
    if softcap == "file" and hp.softcap > 0:
        logits = hp.softcap * np.tanh(logits / hp.softcap)
    return logits


def greedy(model: Model, tokens: list[int], count: int, softcap: str = "file") -> tuple[list[int], list[float]]:
    """The next `count` argmax tokens, and at each step the margin (top logit minus the runner-up)."""
    seq, out, margins = list(tokens), [], []
    for _ in range(count):
        last = forward(model, seq, softcap)[-1]
        top2 = np.sort(last)[-2:]
        out.append(int(np.argmax(last)))
        margins.append(float(top2[1] - top2[0]))
        seq.append(out[-1])
    return out, margins


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--json", action="store_true", help="print {tokens, logits [positions][vocab]} as JSON")
    ap.add_argument("--softcap", choices=["file", "off"], default="file",
                    help="file: apply final_logit_softcapping when the file sets it; off: never")
    args = ap.parse_args()
    try:
        tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
        if not tokens:
            raise ValueError("no tokens")
        model = Model(args.gguf)
        logits = forward(model, tokens, args.softcap)
    except (ValueError, KeyError, OSError) as e:
        print(f"reference_forward: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"model": args.gguf, "architecture": model.hp.arch, "tokens": tokens,
                          "logits": [[float(v) for v in row] for row in logits]}))
    else:
        for pos, row in enumerate(logits):
            top = np.argsort(-row)[:5]
            print(f"pos {pos}: top5 " + ", ".join(f"{i}:{row[i]:.5f}" for i in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
