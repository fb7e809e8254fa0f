"""The reference M-RoPE on the tensor `rotary bench rope-axes` rotates: transformers' Qwen2-VL rotary embedding
(cos/sin built once, as Rotary's cached table) and its `apply_rotary_pos_emb`, float32, CPU, 2 threads.
Usage: torch_mrope.py HEADS T H W DIM RUNS   (prints RESULT name=torch_mrope seconds=… gbps=…)"""
import sys
import time

import torch
from transformers.models.qwen2_vl import modeling_qwen2_vl as qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLTextConfig


def main():
    heads, t, h, w, dim, runs = (int(x) for x in sys.argv[1:7])
    torch.set_num_threads(2)
    config = Qwen2VLTextConfig(hidden_size=dim * heads, num_attention_heads=heads, head_dim=dim,
                               rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]})
    rotary = qwen2_vl.Qwen2VLRotaryEmbedding(config)
    positions = qwen2_vl.Qwen2VLModel.get_vision_position_ids(None, 0, torch.tensor([t, h, w]), 1, 1)
    seq = t * h * w
    q = torch.arange(heads * seq * dim, dtype=torch.float32).remainder(1000).div(1000).view(1, heads, seq, dim)
    cos, sin = rotary(q, positions[:, None, :])
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        q_rot, _ = qwen2_vl.apply_rotary_pos_emb(q, q[:, :1], cos, sin)
        best = min(best, time.perf_counter() - start)
    print(f"RESULT name=torch_mrope seconds={best:.6f} gbps={2 * q.numel() * 4 / best / 1e9:.2f} checksum={float(q_rot[0, 0, 5, 7]):.6f}")


if __name__ == "__main__":
    main()
