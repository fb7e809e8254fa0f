#!/usr/bin/env python3
"""Writes small random-weight GGUF models of the architectures Rotary loads (llama, qwen2, gemma3), each in a
different spread of tensor formats, with the metadata llama.cpp's converter writes for that architecture and a
tokenizer llama.cpp accepts. Deterministic: the same seed gives the same bytes.

Usage: make_fixtures.py [OUTDIR] [--only NAME ...] [--list]
OUTDIR defaults to $ROTARY_MODELS/fixtures (ROTARY_MODELS defaults to the repository's .build-models).

Formats: F32/F16 by numpy; BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 by gguf-py's quantizers; Q4_K, Q5_K, Q6_K by the
libgguf wheel (ggml's reference quantizers). Norm weights, biases and rope_freqs stay F32, as the converter keeps
every 1-D tensor.
"""
import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

import fixture_vocab

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FixtureSpec:
    name: str
    arch: str  # "llama" | "qwen2" | "gemma3"
    weight_type: Q  # every 2-D matrix not overridden below
    layers: int
    dim: int = 256
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 64  # gemma3 writes it as attention.key_length/value_length; it need not be dim/heads
    ffn: int = 512
    tied: bool = False  # no output.weight: the output matrix is token_embd
    embedding_type: Q | None = None  # token_embd's format when not weight_type
    output_type: Q | None = None  # output.weight's format when not weight_type
    # (tensor role, layer) -> format, for mixed files like llama.cpp's Q4_K_M; layer None = every layer
    overrides: tuple = ()
    rope_base: float = 10000.0
    rope_freqs: bool = False  # Llama 3 style per-frequency divisors (rope_freqs.weight)
    rope_linear_factor: float = 0.0  # rope.scaling.type = linear, rope.scaling.factor
    eps: float = 1e-5
    context: int = 256
    # gemma3 only
    sliding_window: int = 4
    rope_base_swa: float | None = None  # written as rope.freq_base_swa when set
    swa_pattern: tuple | None = None  # written as attention.sliding_window_pattern (per-layer bools) when set
    final_softcap: float | None = None  # written as final_logit_softcapping when set
    seed: int = 1234
    file_type: gguf.LlamaFileType = gguf.LlamaFileType.ALL_F32


K = gguf.LlamaFileType
# Layers where llama.cpp's Q4_K_M / Q5_K_M recipes give attn_v and ffn_down more bits (Q6_K): a few first and
# last layers and every third in between. Exactness does not matter, only that the file mixes formats like one.
def _more_bits_layers(n: int) -> tuple:
    return tuple(i for i in range(n) if i < n // 8 + 1 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2)


def _mixed(n: int) -> tuple:
    return tuple((role, i, Q.Q6_K) for i in _more_bits_layers(n) for role in ("attn_v", "ffn_down"))


FIXTURES = [
    FixtureSpec("llama-f32", "llama", Q.F32, layers=2, file_type=K.ALL_F32),
    FixtureSpec("llama-q8_0", "llama", Q.Q8_0, layers=2, file_type=K.MOSTLY_Q8_0),
    FixtureSpec("llama-q4_1", "llama", Q.Q4_1, layers=2, output_type=Q.Q6_K, file_type=K.MOSTLY_Q4_1),
    FixtureSpec("llama-q4_k_m", "llama", Q.Q4_K, layers=4, output_type=Q.Q6_K, overrides=_mixed(4),
                file_type=K.MOSTLY_Q4_K_M),
    FixtureSpec("llama-q6_k", "llama", Q.Q6_K, layers=2, file_type=K.MOSTLY_Q6_K),
    # Llama 3 style: rope_freqs.weight divides the rotation frequencies, output tied to token_embd.
    FixtureSpec("llama3-tied-f16", "llama", Q.F16, layers=3, tied=True, rope_freqs=True, rope_base=500000.0,
                file_type=K.MOSTLY_F16),
    FixtureSpec("qwen2-f16", "qwen2", Q.F16, layers=2, ffn=768, tied=True, rope_base=1000000.0, eps=1e-6,
                file_type=K.MOSTLY_F16),
    FixtureSpec("qwen2-q5_0", "qwen2", Q.Q5_0, layers=2, ffn=768, output_type=Q.Q8_0, rope_base=1000000.0,
                eps=1e-6, file_type=K.MOSTLY_Q5_0),
    FixtureSpec("qwen2-q5_k_m", "qwen2", Q.Q5_K, layers=3, ffn=768, tied=True, embedding_type=Q.Q6_K,
                overrides=_mixed(3), rope_base=1000000.0, eps=1e-6, file_type=K.MOSTLY_Q5_K_M),
    # Gemma 3: 7 layers so layer 5 is the one global layer of the default pattern and layer 6 is local again;
    # key_length 128 with dim 256 and 4 heads (query width 512, not dim); a 4-token window short prompts cross.
    # gemma3-bf16 has only the keys Gemma 3 270M's conversion has; each other one adds an optional key.
    FixtureSpec("gemma3-bf16", "gemma3", Q.BF16, layers=7, kv_heads=1, head_dim=128, tied=True,
                rope_base=1000000.0, eps=1e-6, context=512, file_type=K.MOSTLY_BF16),
    FixtureSpec("gemma3-q4_0", "gemma3", Q.Q4_0, layers=7, kv_heads=1, head_dim=128, tied=True,
                embedding_type=Q.Q8_0, rope_base=1000000.0, rope_linear_factor=2.0, eps=1e-6, context=512,
                file_type=K.MOSTLY_Q4_0),
    FixtureSpec("gemma3-q5_1", "gemma3", Q.Q5_1, layers=7, kv_heads=2, head_dim=128, tied=True,
                rope_base=1000000.0, rope_base_swa=100.0, sliding_window=5,
                swa_pattern=(True, True, False, True, True, False, True), eps=1e-6, context=512,
                file_type=K.MOSTLY_Q5_1),
    FixtureSpec("gemma3-q6_k", "gemma3", Q.Q6_K, layers=7, kv_heads=1, head_dim=128, tied=True,
                rope_base=1000000.0, final_softcap=4.0, eps=1e-6, context=512, file_type=K.MOSTLY_Q6_K),
]


# ---- weights ---------------------------------------------------------------------------------------------------

class WeightSource:
    """Deterministic random tensors scaled so activations stay near unit size and logits spread a few nats."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def matrix(self, rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
        """[rows][cols], entries N(0, gain²/cols): unit-variance inputs give outputs of variance ~gain²."""
        return (self.rng.standard_normal((rows, cols)) * (gain / math.sqrt(cols))).astype(np.float32)

    def norm(self, n: int, center: float = 1.0) -> np.ndarray:
        """[n] RMSNorm weights near center (as stored: llama.cpp's converter already added Gemma's +1)."""
        return (center * (1.0 + 0.15 * self.rng.standard_normal(n))).astype(np.float32)

    def vector(self, n: int, scale: float) -> np.ndarray:
        return (scale * self.rng.standard_normal(n)).astype(np.float32)


def llama3_rope_factors(head_dim: int, base: float, factor: float = 4.0, low: float = 1.0, high: float = 4.0,
                        original_context: int = 16) -> np.ndarray:
    """[head_dim/2] divisors of each rotation frequency, by Llama 3.1's recipe (long wavelengths divided by
    factor, short ones kept, a smooth ramp between). A tiny original_context puts most of the ramp inside the
    wavelengths a short prompt can see, so the test notices a missing or misapplied factor."""
    out = []
    for i in range(0, head_dim, 2):
        wavelength = 2 * math.pi * base ** (i / head_dim)
        if wavelength < original_context / high:
            out.append(1.0)
        elif wavelength > original_context / low:
            out.append(factor)
        else:
            smooth = (original_context / wavelength - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def encode(array: np.ndarray, qtype: Q) -> np.ndarray:
    """The tensor's bytes in GGUF layout: float arrays for F32/F16, uint8 block rows otherwise."""
    if qtype == Q.F32:
        return array.astype(np.float32)
    if qtype == Q.F16:
        return array.astype(np.float16)
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q2_K, Q.Q3_K):
        import libgguf  # gguf-py dequantizes K-quants but cannot quantize them
        return libgguf.quantize_rows(array, int(qtype))
    return gguf.quants.quantize(array, qtype)


def _type_for(spec: FixtureSpec, role: str, layer: int | None) -> Q:
    for r, lay, qtype in spec.overrides:
        if r == role and (lay is None or lay == layer):
            return qtype
    if role == "token_embd" and spec.embedding_type is not None:
        return spec.embedding_type
    if role == "output" and spec.output_type is not None:
        return spec.output_type
    return spec.weight_type


# Gemma adds sqrt(dim)-scaled embeddings to the residual and reads logits off the same (tied) embeddings, so each
# token's own embedding would dominate its logits; post-norm gains well above 1 let the layers' updates outweigh it.
GEMMA_POST_NORM = 6.0


def build_tensors(spec: FixtureSpec) -> list[tuple[str, np.ndarray, Q]]:
    """(GGUF name, float32 [rows][cols] or [n], format) in the order the converter writes them."""
    w = WeightSource(spec.seed)
    vocab = len(tokenizer_for(spec)[0])
    q_width, kv_width = spec.heads * spec.head_dim, spec.kv_heads * spec.head_dim
    # Logits ~ N(0, 2²): output rows of norm ~2. Tied: the embedding rows are the output rows; Gemma multiplies
    # embeddings by sqrt(dim) on the way in, which then brings them to about unit size.
    embedding_gain = 2.0 if spec.tied else math.sqrt(spec.dim)
    out = [("token_embd.weight", w.matrix(vocab, spec.dim, embedding_gain), _type_for(spec, "token_embd", None))]
    if spec.rope_freqs:
        out.append(("rope_freqs.weight", llama3_rope_factors(spec.head_dim, spec.rope_base), Q.F32))
    for i in range(spec.layers):
        b = f"blk.{i}."
        out.append((b + "attn_norm.weight", w.norm(spec.dim), Q.F32))
        out.append((b + "attn_q.weight", w.matrix(q_width, spec.dim), _type_for(spec, "attn_q", i)))
        out.append((b + "attn_k.weight", w.matrix(kv_width, spec.dim), _type_for(spec, "attn_k", i)))
        out.append((b + "attn_v.weight", w.matrix(kv_width, spec.dim), _type_for(spec, "attn_v", i)))
        if spec.arch == "qwen2":  # Qwen2 has q/k/v biases (no output-projection bias)
            out.append((b + "attn_q.bias", w.vector(q_width, 0.3), Q.F32))
            out.append((b + "attn_k.bias", w.vector(kv_width, 0.6), Q.F32))
            out.append((b + "attn_v.bias", w.vector(kv_width, 0.3), Q.F32))
        if spec.arch == "gemma3":
            out.append((b + "attn_q_norm.weight", w.norm(spec.head_dim), Q.F32))
            out.append((b + "attn_k_norm.weight", w.norm(spec.head_dim), Q.F32))
        out.append((b + "attn_output.weight", w.matrix(spec.dim, q_width), _type_for(spec, "attn_output", i)))
        if spec.arch == "gemma3":
            out.append((b + "post_attention_norm.weight", w.norm(spec.dim, GEMMA_POST_NORM), Q.F32))
        out.append((b + "ffn_norm.weight", w.norm(spec.dim), Q.F32))
        out.append((b + "ffn_gate.weight", w.matrix(spec.ffn, spec.dim), _type_for(spec, "ffn_gate", i)))
        out.append((b + "ffn_up.weight", w.matrix(spec.ffn, spec.dim), _type_for(spec, "ffn_up", i)))
        out.append((b + "ffn_down.weight", w.matrix(spec.dim, spec.ffn), _type_for(spec, "ffn_down", i)))
        if spec.arch == "gemma3":
            out.append((b + "post_ffw_norm.weight", w.norm(spec.dim, GEMMA_POST_NORM), Q.F32))
    out.append(("output_norm.weight", w.norm(spec.dim), Q.F32))
    if not spec.tied:
        out.append(("output.weight", w.matrix(vocab, spec.dim, 2.0), _type_for(spec, "output", None)))
    return out


# ---- metadata --------------------------------------------------------------------------------------------------

def tokenizer_for(spec: FixtureSpec):
    if spec.arch == "qwen2":
        return fixture_vocab.gpt2_vocab()
    return fixture_vocab.spm_vocab(gemma_specials=spec.arch == "gemma3")


def write_metadata(writer: gguf.GGUFWriter, spec: FixtureSpec) -> None:
    """The keys llama.cpp's convert_hf_to_gguf.py writes for the architecture (same names, same types)."""
    writer.add_name(spec.name)
    writer.add_context_length(spec.context)
    writer.add_embedding_length(spec.dim)
    writer.add_block_count(spec.layers)
    writer.add_feed_forward_length(spec.ffn)
    writer.add_head_count(spec.heads)
    if spec.arch == "gemma3":
        writer.add_layer_norm_rms_eps(spec.eps)
        writer.add_key_length(spec.head_dim)
        writer.add_value_length(spec.head_dim)
        writer.add_file_type(spec.file_type)
        writer.add_rope_freq_base(spec.rope_base)  # global layers
        if spec.rope_base_swa is not None:
            writer.add_rope_freq_base_swa(spec.rope_base_swa)
        writer.add_sliding_window(spec.sliding_window)
        if spec.swa_pattern is not None:
            writer.add_sliding_window_pattern(list(spec.swa_pattern))
        writer.add_head_count_kv(spec.kv_heads)
        if spec.rope_linear_factor:
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(spec.rope_linear_factor)
        if spec.final_softcap is not None:
            writer.add_final_logit_softcapping(spec.final_softcap)
    else:
        writer.add_head_count_kv(spec.kv_heads)
        writer.add_rope_freq_base(spec.rope_base)
        writer.add_layer_norm_rms_eps(spec.eps)
        writer.add_file_type(spec.file_type)
        if spec.arch == "llama":
            writer.add_vocab_size(len(tokenizer_for(spec)[0]))
            writer.add_rope_dimension_count(spec.head_dim)
        if spec.rope_linear_factor:
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(spec.rope_linear_factor)
    if spec.file_type != K.ALL_F32:
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    if spec.arch == "qwen2":
        tokens, types, merges, ids = tokenizer_for(spec)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("qwen2")
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)
        writer.add_eos_token_id(ids["eos"])
        writer.add_pad_token_id(ids["pad"])
        writer.add_bos_token_id(ids["bos"])
        writer.add_add_bos_token(False)
    else:
        tokens, scores, types, ids = tokenizer_for(spec)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_bos_token_id(ids["bos"])
        writer.add_eos_token_id(ids["eos"])
        writer.add_unk_token_id(ids["unk"])
        if "pad" in ids:
            writer.add_pad_token_id(ids["pad"])
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        if spec.arch == "gemma3":
            writer.add_add_space_prefix(False)


def write_fixture(spec: FixtureSpec, path: Path) -> None:
    writer = gguf.GGUFWriter(str(path) + ".part", spec.arch)
    write_metadata(writer, spec)
    for name, array, qtype in build_tensors(spec):
        data = encode(array, qtype)
        if data.dtype == np.uint8:
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
        else:
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(str(path) + ".part", path)


def default_outdir() -> Path:
    return Path(os.environ.get("ROTARY_MODELS", REPO / ".build-models")) / "fixtures"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?", type=Path, default=None)
    ap.add_argument("--only", nargs="*", default=None, help="fixture names to write (default: all)")
    ap.add_argument("--list", action="store_true", help="print the fixture names and exit")
    args = ap.parse_args()
    if args.list:
        for spec in FIXTURES:
            print(spec.name)
        return 0
    outdir = args.outdir or default_outdir()
    outdir.mkdir(parents=True, exist_ok=True)
    names = {s.name for s in FIXTURES}
    for n in args.only or []:
        if n not in names:
            print(f"unknown fixture {n!r}; known: {', '.join(sorted(names))}", file=sys.stderr)
            return 2
    for spec in FIXTURES:
        if args.only and spec.name not in args.only:
            continue
        path = outdir / f"{spec.name}.gguf"
        write_fixture(spec, path)
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
