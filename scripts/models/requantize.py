#!/usr/bin/env python3
"""Requantizes a GGUF to the Q4_K_M mixture with llama.cpp's per-tensor type choice (issue 14's second real file).

Usage: requantize.py SRC.gguf DST.gguf

Every tensor is dequantized by gguf-py, then quantized to the type llama.cpp's `llama-quantize … Q4_K_M` would pick
for it (the rules of src/llama-quant.cpp, restated here as facts; no imatrix):
* only tensors of 2+ dimensions whose name ends in "weight" and not in "_norm.weight" are quantized; the rest are
  copied as they are;
* the output matrix (`output.weight`, or `token_embd.weight` when the embeddings are tied: no `output.weight`) is
  Q8_0 when its rows are not a whole number of 256-wide super-blocks, else Q6_K;
* `attn_v` (and `attn_qkv`) of the i-th such tensor of n is Q6_K where "more bits" holds, else Q4_K;
* `ffn_down` of layer i of n is Q6_K where "more bits" holds, else Q4_K;
* everything else (q, k, attention output, gate, up, an untied token_embd) is Q4_K;
* "more bits": i < n/8, or i >= 7n/8, or (i - n/8) mod 3 == 2 (integer division);
* a row length (ne[0]) that is not a multiple of the chosen type's block falls back: Q4_K → Q5_0, Q5_K → Q5_1,
  Q6_K → Q8_0, and to F16 if even 32 does not divide it;
* a tensor whose chosen type is its current type is copied byte for byte (no second rounding).
Falcon and mixture-of-experts models have rules of their own: refused.

K-quants come from the libgguf wheel (ggml's C quantizers, which gguf-py lacks), the legacy types and F16 from
gguf-py's `gguf.quants.quantize`. Metadata is copied (tokenizer, chat template, hyper-parameters),
general.file_type becomes 15 (MOSTLY_Q4_K_M), general.quantization_version 2. Tensors keep the source's order
(llama.cpp sorts them by layer, then name); gguf-py's GGUFWriter lays them out (32-byte alignment unless the source
names another).
Prints a per-type tensor count."""
import collections
import os
import re
import sys
import time

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q

SUPER_BLOCK = 256
FALLBACK = {Q.Q4_K: Q.Q5_0, Q.Q5_K: Q.Q5_1, Q.Q6_K: Q.Q8_0}
K_QUANTS = {Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K}
SKIPPED_KEYS = {gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.ALIGNMENT, gguf.Keys.General.FILE_TYPE,
                gguf.Keys.General.QUANTIZATION_VERSION}


def use_more_bits(index: int, count: int) -> bool:
    return index < count // 8 or index >= 7 * count // 8 or (index - count // 8) % 3 == 2


def layer_of(name: str) -> int:
    match = re.match(r"blk\.(\d+)\.", name)
    return int(match.group(1)) if match else -1


def quantizable(tensor) -> bool:
    name = tensor.name
    return len(tensor.shape) >= 2 and name.endswith("weight") and not name.endswith("_norm.weight")


def fallback(qtype: Q, row: int) -> Q:
    if row % gguf.GGML_QUANT_SIZES[qtype][0] == 0:
        return qtype
    qtype = FALLBACK[qtype]
    return qtype if row % gguf.GGML_QUANT_SIZES[qtype][0] == 0 else Q.F16


def q4_k_m_types(tensors, layers: int) -> dict[str, Q]:
    """Target type per tensor name. The attn_v counter runs in llama.cpp's order (by layer, then by name)."""
    names = {t.name for t in tensors}
    tied = "output.weight" not in names
    attn_v = sorted((t for t in tensors if re.search(r"attn_(v|qkv)\.weight", t.name)),
                    key=lambda t: (layer_of(t.name), t.name))
    attn_v_index = {t.name: i for i, t in enumerate(attn_v)}
    types = {}
    for t in tensors:
        row = int(t.shape[0])
        if not quantizable(t):
            types[t.name] = t.tensor_type
            continue
        if t.name == "output.weight" or (tied and t.name == "token_embd.weight"):
            types[t.name] = Q.Q8_0 if row % SUPER_BLOCK else Q.Q6_K   # no fallback step: chosen to fit
            continue
        qtype = Q.Q4_K
        if t.name in attn_v_index and use_more_bits(attn_v_index[t.name], len(attn_v)):
            qtype = Q.Q6_K
        elif "ffn_down" in t.name and use_more_bits(layer_of(t.name), layers):
            qtype = Q.Q6_K
        types[t.name] = fallback(qtype, row)
    return types


def quantize(values: np.ndarray, qtype: Q) -> np.ndarray:
    """values `[rows][row]` float32 → `[rows][bytes per row]` uint8 (F32/F16: their own dtype)."""
    if qtype in K_QUANTS:
        import libgguf
        return libgguf.quantize_rows(values, int(qtype))
    return gguf.quants.quantize(values, qtype)


def copy_metadata(reader: gguf.GGUFReader, writer: gguf.GGUFWriter) -> None:
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in SKIPPED_KEYS:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        if sub == gguf.GGUFValueType.ARRAY:
            sys.exit(f"{key}: nested arrays are not copied")
        writer.add_key_value(key, field.contents(), kind, sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    source, destination = sys.argv[1], sys.argv[2]
    started = time.monotonic()
    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    experts = reader.fields.get(gguf.Keys.LLM.EXPERT_COUNT.format(arch=arch))
    if arch == "falcon" or (experts is not None and experts.contents() > 1):
        sys.exit(f"{arch}: llama.cpp's Q4_K_M has special rules for Falcon and mixture-of-experts; not restated here")
    layers = int(reader.fields[gguf.Keys.LLM.BLOCK_COUNT.format(arch=arch)].contents())
    types = q4_k_m_types(reader.tensors, layers)

    writer = gguf.GGUFWriter(destination + ".part", arch)
    alignment = reader.fields.get(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = int(alignment.contents())
        writer.add_custom_alignment(writer.data_alignment)
    copy_metadata(reader, writer)
    counts = collections.Counter()
    for t in reader.tensors:
        target = types[t.name]
        counts[target.name] += 1
        if target == t.tensor_type:
            data = np.array(t.data)                                    # as stored: no second rounding
        else:
            values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            data = quantize(values.reshape(-1, int(t.shape[0])), target)
        shape = list(reversed([int(n) for n in t.shape]))              # numpy order: [rows…][row]
        if data.dtype == np.uint8:
            shape = shape[:-1] + [data.shape[-1]]                      # the writer takes the byte shape
        writer.add_tensor(t.name, data.reshape(shape), raw_shape=shape, raw_dtype=target)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(destination + ".part", destination)
    summary = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    print(f"{destination}: {sum(counts.values())} tensors: {summary} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
