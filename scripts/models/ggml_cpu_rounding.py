"""The low-precision steps of ggml's CPU backend, imitated in numpy for check_references.py's diagnostics: they
explain the reference-vs-llama.cpp differences of quantized files, so what remains measures the reference's
dequantization and formulas alone. Written from ggml's documented behaviour (facts, not code):

* a matrix product rounds its activations to the weight type's "vec_dot" type first: F16 weights -> fp16,
  BF16 -> bf16, Q4_0/Q5_0/Q8_0 -> Q8_0 (32-value blocks, int8 with scale max|x|/127 stored as fp16),
  Q4_1/Q5_1 -> Q8_1 (the same values, plus s = d·Σq rounded to fp16, which the dot product multiplies by the
  weight block's minimum instead of summing the values), K-quants -> Q8_K (256-value blocks, scale max/127 kept in float32);
  F32 weights keep F32 activations;
* GELU on the CPU is a lookup table indexed by the fp16 input, holding fp16 outputs (inputs beyond ±10 pass
  through or give 0).
"""
import math

import numpy as np
from gguf import GGMLQuantizationType as Q

_TO_Q8_0 = {Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.Q4_1, Q.Q5_1}
_TO_Q8_K = {Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K}


def _bf16(x: np.ndarray) -> np.ndarray:
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


def _q8_blocks(x: np.ndarray, block: int, fp16_scale: bool, with_parts: bool = False):
    shape = x.shape
    b = x.astype(np.float32).reshape(-1, block)
    if fp16_scale:  # Q8_0 / Q8_1: d = max|x| / 127
        d = (np.abs(b).max(axis=1, keepdims=True) / 127.0).astype(np.float32)
        inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0).astype(np.float32)
        q = np.round(b * inv)
        s = (d * q.sum(axis=1, keepdims=True)).astype(np.float16).astype(np.float64)
        d = d.astype(np.float16).astype(np.float32)
        if with_parts:  # [rows][blocks] each: fp16 s and the exact d16·Σq it stands for
            n = shape[-1] // block
            return ((q * d).astype(np.float64).reshape(shape), s.reshape(-1, n),
                    (d.astype(np.float64) * q.sum(axis=1, keepdims=True)).reshape(-1, n))
    else:  # Q8_K: the signed value of largest magnitude maps to -127
        idx = np.abs(b).argmax(axis=1)
        mx = b[np.arange(b.shape[0]), idx][:, None]
        iscale = np.where(mx != 0, -127.0 / np.where(mx != 0, mx, 1), 0).astype(np.float32)
        q = np.minimum(np.round(b * iscale), 127)
        d = np.where(iscale != 0, 1.0 / np.where(iscale != 0, iscale, 1), 0).astype(np.float32)
    return (q * d).astype(np.float64).reshape(shape)


def _block_minimums(tensor) -> np.ndarray:
    """[rows][blocks] the fp16 minimum m of each Q4_1/Q5_1 block (stored right after the block's scale d)."""
    raw = np.asarray(tensor.data, dtype=np.uint8)
    block_bytes = 20 if tensor.tensor_type == Q.Q4_1 else 24
    blocks = raw.reshape(raw.shape[0], -1, block_bytes)
    return blocks[:, :, 2:4].copy().view(np.float16)[..., 0].astype(np.float64)


class GgmlCpuRounding:
    def matmul(self, x: np.ndarray, weights: np.ndarray, tensor) -> np.ndarray:
        """x [rows][k] @ weights [out][k]ᵀ as the CPU backend computes it for the GGUF tensor's format."""
        if tensor.tensor_type in (Q.Q4_1, Q.Q5_1):
            xq, s, exact = _q8_blocks(x, 32, fp16_scale=True, with_parts=True)
            rows = x.shape[0]
            y = xq @ weights.astype(np.float64).T
            return y + (s - exact).reshape(rows, -1) @ _block_minimums(tensor).T
        return self.matmul_input(x, tensor.tensor_type) @ weights.astype(np.float64).T

    def matmul_input(self, x: np.ndarray, weight_type: Q) -> np.ndarray:
        """x [rows][k] as the CPU backend hands it to the dot products for weights of weight_type."""
        if weight_type == Q.F32:
            return x.astype(np.float32).astype(np.float64)
        if weight_type == Q.F16:
            return x.astype(np.float16).astype(np.float64)
        if weight_type == Q.BF16:
            return _bf16(x)
        if weight_type in _TO_Q8_0:
            return _q8_blocks(x, 32, fp16_scale=True)
        if weight_type in _TO_Q8_K:
            return _q8_blocks(x, 256, fp16_scale=False)
        return x

    def gelu(self, x: np.ndarray) -> np.ndarray:
        h = x.astype(np.float16).astype(np.float64)
        y = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)))
        y = y.astype(np.float16).astype(np.float64)
        return np.where(x <= -10.0, 0.0, np.where(x >= 10.0, x, y))
