#!/usr/bin/env python3
"""Writes the tensor-format fixtures of Tests/RotaryNumericsTests/Fixtures/quant/: for each case raw ggml blocks
(<case>.blocks) and gguf-py's `gguf.quants.dequantize` of them as little-endian float32 (<case>.f32), listed in
manifest.json. The Swift tests compare their dequantization with these floats bit for bit.

Cases per format:
  quantized  random Gaussian rows quantized by gguf-py (F16, BF16, Q4_0…Q8_0) or by libgguf, ggml's C quantizer
             (Q4_K, Q5_K, Q6_K, which gguf-py cannot quantize)
  raw        random bytes with sane f16 scales (every bit pattern of the quants, negative and tiny scales)
  special    F16/BF16 only: zeros, infinities, subnormals, extremes, a quiet NaN
  smollm2    rows sliced out of SmolLM2-135M-Instruct.Q4_1.gguf (Q4_1 and Q8_0 tensors), when it is in .build-models/

Also checks that gguf-py and libgguf dequantize every case alike, and says where they do not.

Regenerate: pip install gguf libgguf numpy; bash scripts/models/fetch.sh; python3 scripts/models/make_quant_fixtures.py
"""
import json
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

try:
    import libgguf
except ImportError:
    sys.exit("needs libgguf (pip install libgguf) for the K-quant fixtures")

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/RotaryNumericsTests/Fixtures/quant"
MODEL = ROOT / ".build-models/SmolLM2-135M-Instruct.Q4_1.gguf"
rng = np.random.default_rng(20250214)

# Byte offsets of each format's f16 fields (scale, minimum) inside a block, to overwrite random bytes with sane ones.
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
manifest = []


def sane_f16(n):
    """f16 scales of either sign across five decades, a few zero or subnormal."""
    magnitude = 10.0 ** rng.uniform(-5, 0, n)
    values = (magnitude * rng.choice([-1.0, 1.0], n)).astype(np.float16)
    values[rng.random(n) < 0.03] = 0
    return values


def write(name, qtype, blocks, source):
    blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
    floats = gguf.quants.dequantize(blocks, qtype).astype("<f4", copy=False).reshape(-1)
    if qtype not in (T.F32, T.F16, T.BF16):
        ggml = libgguf.dequantize_rows(blocks.reshape(1, -1), qtype).reshape(-1)
        same = np.array_equal(ggml.view(np.uint32), floats.view(np.uint32))
        if not same:
            print(f"  note: {name}: libgguf's dequantization differs from gguf-py's in "
                  f"{np.count_nonzero(ggml.view(np.uint32) != floats.view(np.uint32))} of {floats.size} values")
    (OUT / f"{name}.blocks").write_bytes(blocks.tobytes())
    (OUT / f"{name}.f32").write_bytes(floats.tobytes())
    manifest.append({"name": name, "format": qtype.name, "type": int(qtype), "values": int(floats.size),
                     "source": source})


def quantized(qtype, values):
    x = rng.standard_normal(values).astype(np.float32) * np.float32(rng.uniform(0.01, 2))
    x[rng.random(values) < 0.02] *= 8  # outliers, as real weights have
    if qtype == T.F16:
        return gguf.quants.quantize(x, T.F16).view(np.uint8), "gguf-py quantize"
    if qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
        return libgguf.quantize_rows(x.reshape(1, -1), qtype).reshape(-1), "libgguf quantize_rows"
    return gguf.quants.quantize(x, qtype).reshape(-1), "gguf-py quantize"


def raw(qtype, blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    data = rng.integers(0, 256, (blocks, type_size), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        data[:, offset:offset + 2] = sane_f16(blocks).view(np.uint8).reshape(blocks, 2)
    return data.reshape(-1)


def special_halves():
    bits = [0x0000, 0x8000, 0x7C00, 0xFC00, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0x3555, 0x7E00]
    return np.array(bits, dtype=np.uint16)


def special_bfloats():
    bits = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x0001, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x3F80, 0x3EAB, 0x7FC0]
    return np.array(bits, dtype=np.uint16)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()

    write("f32-random", T.F32, rng.standard_normal(64).astype("<f4").view(np.uint8), "random float32")
    blocks, source = quantized(T.F16, 256)
    write("f16-quantized", T.F16, blocks, source)
    write("f16-special", T.F16, special_halves().view(np.uint8), "hand-picked half bit patterns")
    write("f16-raw", T.F16, rng.integers(0, 1 << 16, 256, dtype=np.uint16).view(np.uint8),
          "random 16-bit patterns (NaNs included)")
    bf16 = gguf.quants.quantize(rng.standard_normal(256).astype(np.float32), T.BF16).reshape(-1)
    write("bf16-quantized", T.BF16, bf16, "gguf-py quantize")
    write("bf16-special", T.BF16, special_bfloats().view(np.uint8), "hand-picked bfloat16 bit patterns")

    for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K):
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        blocks, source = quantized(qtype, 1024)
        write(f"{qtype.name.lower()}-quantized", qtype, blocks, source)
        write(f"{qtype.name.lower()}-raw", qtype, raw(qtype, 2048 // block_size),
              "random bytes, sane f16 scales")

    if MODEL.exists():
        reader = gguf.GGUFReader(MODEL)
        picks = {"blk.0.ffn_down.weight": [0, 321], "blk.29.attn_q.weight": [5], "token_embd.weight": [0, 1, 49151]}
        for tensor in reader.tensors:
            if tensor.name in picks:
                rows = np.asarray(tensor.data)
                for row in picks[tensor.name]:
                    write(f"smollm2-{tensor.name.replace('.weight', '').replace('.', '-')}-row{row}",
                          tensor.tensor_type, rows[row], f"{MODEL.name} {tensor.name} row {row}")
    else:
        print(f"  note: {MODEL} is missing (bash scripts/models/fetch.sh); no smollm2 cases")

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(manifest)} cases, {total // 1024} KiB, to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
