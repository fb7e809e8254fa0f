"""Seed corpora for scripts/fuzz.sh: request bodies from the README's shapes; the same, behind the
request-decoding harness's selector byte (0 .npy, 1 /rotate, 2 /attention); and a small GGUF file with
every metadata value kind and one tensor of each supported type (written by the `gguf` package)."""
import os, sys
import numpy as np
import gguf

out = sys.argv[1]
json_dir, gguf_dir = os.path.join(out, "seeds-json"), os.path.join(out, "seeds-gguf")
request_dir = os.path.join(out, "seeds-request")
os.makedirs(json_dir, exist_ok=True)
os.makedirs(request_dir, exist_ok=True)
os.makedirs(gguf_dir, exist_ok=True)
bodies = [
    '{"vectors": [[1, 0, 0, 1], [1, 0, 0, 1]]}',
    '{"vectors": [[0.5, -0.25, 1.0, 2.0]], "positions": [100000], "rope": {"rope_type": "llama3", "factor": 8}}',
    '{"queries": [[1, 0], [0, 1]], "keys": [[1, 0], [0, 1]], "causal": true, "return": ["weights"]}',
    '{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0.8, "seed": 42, "stop": ["\\n\\n", "\\u00e9"]}',
    '[null, true, false, -0.0, 1e-7, 12345678901234567890, "a\\"b\\\\c", {"": []}]',
]
# Objects of many keys (past the parser's hashed-set threshold), one with a duplicate at the end, one nested.
many = ",".join(f'"k{i}":{i}' for i in range(300))
bodies += ["{" + many + "}", "{" + many + ',"k7":0}', '{"a":{' + many + '},"b":[{' + many + '}]}']
for i, body in enumerate(bodies):
    open(os.path.join(json_dir, f"seed{i}.json"), "w").write(body)

requests = [
    (1, '{"vectors": [[1, 0, 0, 1], [1, 0, 0, 1]]}'),
    (1, '{"vectors": [[[0.5, -0.25, 1, 2]], [[1, 2, 3, 4]]], "positions": [7], "inverse": true}'),
    (1, '{"vectors": [[0.5, -0.25, 1.0, 2.0]], "positions": [100000], "rope": {"rope_type": "llama3", "factor": 8, '
        '"low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192}}'),
    (1, '{"vectors": [[1, 2, 3, 4, 5, 6]], "rope": {"rope_type": "yarn", "factor": 4, "rotary_dim": 4, '
        '"original_max_position_embeddings": 64, "layout": "interleaved"}, "return": ["cos", "sin"]}'),
    (1, '{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "longrope", "short_factor": [1, 1], "long_factor": [2, 3], '
        '"original_max_position_embeddings": 4, "max_position_embeddings": 16}, "positions": [9]}'),
    (1, '{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "xpos", "scale_base": 64}, "role": "key"}'),
    # Multi-axis RoPE: sections over a grid, axes_dim with explicit positions, pixel grids, mixed per-head frequencies.
    (1, '{"vectors": [[1,0,0,1],[0,1,1,0],[1,1,0,0]], "positions": {"grid": [1, 1, 2], "text_before": 1}, '
        '"rope": {"axes": {"sections": [1, 0, 1], "interleaved": false}}}'),
    (1, '{"vectors": [[1,2,3,4],[4,3,2,1]], "positions": [[0, 1], [2, -3.5]], "rope": {"axes": {"axes_dim": [2, 2]}}}'),
    (1, '{"vectors": [[1,2,3,4],[4,3,2,1]], "positions": {"grid": [1, 2], "pixel": true}, '
        '"rope": {"layout": "interleaved", "axes": {"axes_dim": [2, 2], "frequencies": "pixel", "max_freq": 8}}}'),
    (1, '{"vectors": [[[1,2,3,4]],[[4,3,2,1]]], "positions": [[[0, 1]], [[5, 2]]], '
        '"rope": {"axes": {"mixed": [[[0.5, 1], [0.25, 2]], [[1, 1], [3, 0]]]}}}'),
    (2, '{"queries": [[1,0,0,1],[0,1,1,0]], "keys": [[1,0,0,1],[0,1,1,0]], "positions_q": [[0,0],[1,2]], '
        '"positions_k": [[0,0],[1,2]], "causal": true, "position_encoding": {"type": "rope", "axes": {"sections": [1, 1]}}}'),
    (2, '{"queries": [[1, 0, 0, 1], [0, 1, 1, 0]], "keys": [[1, 0, 0, 1], [0, 1, 1, 0]], "values": [[1, 2], [3, 4]], '
        '"causal": true, "return": ["scores", "weights", "output"]}'),
    (2, '{"queries": [[[0.5, 1, -1, 0]], [[1, 0, 0, 1]]], "keys": [[[1, 0, 0, 1], [0, 1, 1, 0]]], '
        '"positions_q": [100], "positions_k": [98, 99], "position_encoding": {"type": "sinusoidal"}}'),
    (2, '{"queries": [[1, 2]], "keys": [[3, 4]], "position_encoding": {"type": "none"}, "scale": 0.5}'),
    # Answers near their size bound: long numbers, every output, many heads, large positions.
    (2, '{"queries": [[[-1.1754944e-38, 3.4028235e+38]], [[1e-45, -0.33333334]], [[1, 2]]], "keys": [[[-1.2345678e-30, 1]]], '
        '"values": [[[-1.1754944e-38, -0.33333334]]], "positions_q": [16777215], "positions_k": [16777214], '
        '"return": ["scores", "weights", "output"]}'),
    (1, '{"vectors": [[-1.1754944e-38, -0.33333334, 3e30, -2.7182817]], "positions": [16777215], '
        '"rope": {"rope_type": "linear", "factor": 3}, "return": ["cos", "sin", "inv_freq", "attention_scaling"]}'),
    (1, '{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64, '
        '"attention_factor": 1e300}}'),
    (1, '{"vectors": [[1, 2, 3, 4]], "rope": {"rope_type": "xpos", "scale_base": 1e-300}, "positions": [9]}'),
]
for i, (selector, body) in enumerate(requests):
    open(os.path.join(request_dir, f"seed{i}"), "wb").write(bytes([selector]) + body.encode())
npy = np.arange(8, dtype="<f4").reshape(2, 4)
with open(os.path.join(request_dir, "seed-npy"), "wb") as f:
    f.write(bytes([0]))
    np.save(f, npy)

path = os.path.join(gguf_dir, "seed.gguf")
writer = gguf.GGUFWriter(path, "llama")
writer.add_uint32("llama.context_length", 16)
writer.add_float32("llama.rope.freq_base", 10000.0)
writer.add_bool("fuzz.flag", True)
writer.add_string("fuzz.name", "seed")
writer.add_array("fuzz.tokens", ["a", "b", "c"])
writer.add_array("fuzz.scores", [0.5, -1.0])
writer.add_int64("fuzz.big", -5)
writer.add_tensor("f32", np.arange(8, dtype=np.float32).reshape(2, 4))
writer.add_tensor("f16", np.arange(4, dtype=np.float16))
# One row of every quantized format Rotary reads: gguf-py quantizes the 32-blocks; K-quant blocks are random bytes.
from gguf import GGMLQuantizationType as Q
rng = np.random.default_rng(1)
row32 = rng.standard_normal((1, 32)).astype(np.float32)
for kind in (Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0):
    writer.add_tensor(kind.name.lower(), gguf.quants.quantize(row32, kind), raw_dtype=kind)
for kind in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
    block_bytes = gguf.GGML_QUANT_SIZES[kind][1]
    writer.add_tensor(kind.name.lower(), rng.integers(0, 256, (1, block_bytes), dtype=np.uint8), raw_dtype=kind)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

# Whole (micro) models of each architecture, so the fuzzer starts from files that reach the architecture and
# weight checks: 4 tokens, dim 32, one or two layers.
def micro_model(arch, name, extra):
    path = os.path.join(gguf_dir, name)
    w = gguf.GGUFWriter(path, arch)
    dim, ffn, heads, layers = 32, 32, 2, 2
    for key, value in [("context_length", 16), ("embedding_length", dim), ("block_count", layers),
                       ("feed_forward_length", ffn), ("attention.head_count", heads), ("attention.head_count_kv", 1)]:
        w.add_uint32(f"{arch}.{key}", value)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)
    for key, value in extra.get("uint32", []):
        w.add_uint32(f"{arch}.{key}", value)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "\u2581a"])
    w.add_array("tokenizer.ggml.scores", [0.0, 0.0, 0.0, -1.0])
    w.add_array("tokenizer.ggml.token_type", [2, 3, 3, 1])
    hd = dim // heads
    def t(n, *shape):
        w.add_tensor(n, gguf.quants.quantize(rng.standard_normal(shape).astype(np.float32) * 0.1, Q.Q8_0)
                     if len(shape) == 2 else np.ones(shape, dtype=np.float32), raw_dtype=Q.Q8_0 if len(shape) == 2 else None)
    t("token_embd.weight", 4, dim)
    for l in range(layers):
        t(f"blk.{l}.attn_norm.weight", dim)
        t(f"blk.{l}.attn_q.weight", heads * hd, dim)
        t(f"blk.{l}.attn_k.weight", hd, dim)
        t(f"blk.{l}.attn_v.weight", hd, dim)
        for extra_vector, size in extra.get("vectors", []):
            t(f"blk.{l}.{extra_vector}", size)
        t(f"blk.{l}.attn_output.weight", dim, heads * hd)
        t(f"blk.{l}.ffn_norm.weight", dim)
        t(f"blk.{l}.ffn_gate.weight", ffn, dim)
        t(f"blk.{l}.ffn_up.weight", ffn, dim)
        t(f"blk.{l}.ffn_down.weight", dim, ffn)
    t("output_norm.weight", dim)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

micro_model("llama", "llama.gguf", {})
micro_model("qwen2", "qwen2.gguf", {"vectors": [("attn_q.bias", 32), ("attn_k.bias", 16), ("attn_v.bias", 16)]})
micro_model("gemma3", "gemma3.gguf", {"uint32": [("attention.sliding_window", 4)],
                                      "vectors": [("attn_q_norm.weight", 16), ("attn_k_norm.weight", 16),
                                                  ("post_attention_norm.weight", 32), ("post_ffw_norm.weight", 32)]})
