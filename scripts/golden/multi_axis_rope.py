"""Golden cases for multi-axis RoPE, made with the reference implementations themselves (PyTorch on CPU, float32):
transformers' Qwen2-VL (M-RoPE sections, `get_vision_position_ids` + `get_rope_index`'s text rule) and Qwen3-VL
(interleaved sections) rotary embeddings with `apply_rotary_pos_emb`, diffusers' FLUX `FluxPosEmbed` (axes_dim)
with `apply_rotary_emb`, rotary-embedding-torch's axial pixel frequencies (`get_axial_freqs`) and timm's RoPE-Mixed
(`RotaryEmbeddingMixed`, learned frequencies per head). Writes Tests/RotaryNumericsTests/Fixtures/multi-axis-rope.json.
Needs: pip install torch transformers diffusers rotary-embedding-torch timm (not part of make test; the JSON is committed).
Usage: python3 scripts/golden/multi_axis_rope.py"""
import json
import os

import torch
import transformers
import diffusers
from transformers.models.qwen2_vl import modeling_qwen2_vl as qwen2_vl
from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLTextConfig
from transformers.models.qwen3_vl import modeling_qwen3_vl as qwen3_vl
from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLTextConfig
from diffusers.models.transformers.transformer_flux import FluxPosEmbed
from diffusers.models.embeddings import apply_rotary_emb
import rotary_embedding_torch
import timm
from timm.layers.pos_embed_sincos import RotaryEmbeddingCat, RotaryEmbeddingMixed, apply_rot_embed_cat

SEED = 20261202
OUT = os.path.join(os.path.dirname(__file__), "../../Tests/RotaryNumericsTests/Fixtures/multi-axis-rope.json")


def qwen_positions(text_before, grid, text_after):
    """[3][rows] as transformers' Qwen2-VL get_rope_index assigns them (spatial merge 1)."""
    parts, pos = [], 0
    if text_before:
        parts.append(torch.arange(text_before).view(1, -1).expand(3, -1) + pos)
        pos += text_before
    vision = qwen2_vl.Qwen2VLModel.get_vision_position_ids(None, pos, torch.tensor(grid), 1, 1)
    parts.append(vision)
    pos += max(grid[1], grid[2])
    if text_after:
        parts.append(torch.arange(text_after).view(1, -1).expand(3, -1) + pos)
    return torch.cat(parts, dim=1)


def rounded(t):
    return [[float("%.8g" % float(v)) for v in row] for row in t.tolist()]


def qwen_case(case_id, description, module, config_class, head_dim, theta, sections, grid, text, rope_extra=None):
    heads = 1
    params = {"rope_type": "default", "rope_theta": theta, "mrope_section": sections}
    params.update(rope_extra or {})
    config = config_class(hidden_size=head_dim * heads, num_attention_heads=heads, head_dim=head_dim,
                          max_position_embeddings=4096, rope_parameters=params)
    rotary_class = getattr(module, [n for n in dir(module) if n.endswith("TextRotaryEmbedding") or n == "Qwen2VLRotaryEmbedding"][0])
    rotary = rotary_class(config)
    positions = qwen_positions(text[0], grid, text[1])            # [3][rows]
    rows = positions.shape[1]
    q = torch.rand(1, heads, rows, head_dim) * 2 - 1
    k = torch.rand(1, heads, rows, head_dim) * 2 - 1
    cos, sin = rotary(q, positions[:, None, :])                      # [1][rows][head_dim]
    q_rot, k_rot = module.apply_rotary_pos_emb(q, k, cos, sin)
    return {
        "id": case_id, "description": description, "layout": "half", "head_dim": head_dim,
        "rope": {"rope_type": params["rope_type"], "rope_theta": theta, **{k: v for k, v in (rope_extra or {}).items()}},
        "axes": {"sections": sections, "interleaved": module is qwen3_vl},
        "grid": {"grid": grid, "text_before": text[0], "text_after": text[1]},
        "positions": positions.t().tolist(),
        "q": [rounded(q[0, h]) for h in range(heads)], "k": [rounded(k[0, h]) for h in range(heads)],
        "cos": rounded(cos[0]), "sin": rounded(sin[0]),
        "q_rot": [rounded(q_rot[0, h]) for h in range(heads)], "k_rot": [rounded(k_rot[0, h]) for h in range(heads)],
    }


def flux_case(case_id, description, theta, axes_dim, grid, text):
    heads = 1
    head_dim = sum(axes_dim)
    ids = [[0, 0, 0]] * text + [[0, r, c] for r in range(grid[1]) for c in range(grid[2])]
    ids = torch.tensor(ids, dtype=torch.float32)                    # [rows][3]
    rows = ids.shape[0]
    cos, sin = FluxPosEmbed(theta=theta, axes_dim=axes_dim)(ids)     # [rows][head_dim]
    q = torch.rand(1, heads, rows, head_dim) * 2 - 1
    k = torch.rand(1, heads, rows, head_dim) * 2 - 1
    q_rot = apply_rotary_emb(q, (cos, sin), use_real=True, use_real_unbind_dim=-1)
    k_rot = apply_rotary_emb(k, (cos, sin), use_real=True, use_real_unbind_dim=-1)
    return {
        "id": case_id, "description": description, "layout": "interleaved", "head_dim": head_dim,
        "rope": {"rope_type": "default", "rope_theta": theta},
        "axes": {"axes_dim": axes_dim},
        "positions": ids.long().tolist(),
        "q": [rounded(q[0, h]) for h in range(heads)], "k": [rounded(k[0, h]) for h in range(heads)],
        "cos": rounded(cos), "sin": rounded(sin),
        "q_rot": [rounded(q_rot[0, h]) for h in range(heads)], "k_rot": [rounded(k_rot[0, h]) for h in range(heads)],
    }


def pixel_case(case_id, description, dim_per_axis, max_freq, grid):
    rope = rotary_embedding_torch.RotaryEmbedding(dim=dim_per_axis, freqs_for="pixel", max_freq=max_freq)
    freqs = rope.get_axial_freqs(*grid)                              # [h][w][axes · dim_per_axis]
    head_dim = freqs.shape[-1]
    axes = [torch.linspace(-1, 1, steps=n) for n in grid]
    positions = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(grid))
    q = torch.rand(1, *grid, head_dim) * 2 - 1
    k = torch.rand(1, *grid, head_dim) * 2 - 1
    q_rot = rotary_embedding_torch.apply_rotary_emb(freqs, q)
    k_rot = rotary_embedding_torch.apply_rotary_emb(freqs, k)
    flat = lambda t: t.reshape(-1, head_dim)
    return {
        "id": case_id, "description": description, "layout": "interleaved", "head_dim": head_dim,
        "rope": {"rope_type": "default"},
        "axes": {"axes_dim": [dim_per_axis] * len(grid), "frequencies": "pixel", "max_freq": max_freq},
        "grid": {"grid": grid, "pixel": True},
        "positions": positions.tolist(),
        "q": [rounded(flat(q))], "k": [rounded(flat(k))],
        "cos": rounded(flat(freqs.cos())), "sin": rounded(flat(freqs.sin())),
        "q_rot": [rounded(flat(q_rot))], "k_rot": [rounded(flat(k_rot))],
    }


def timm_cat_case(case_id, description, head_dim, max_res, grid):
    """timm's axial RotaryEmbeddingCat with linear pixel bands: rotary-embedding-torch's pixel layout by another hand."""
    rope = RotaryEmbeddingCat(dim=head_dim, max_res=max_res, in_pixels=True, linear_bands=True, feat_shape=grid)
    embed = rope.get_embed(grid)                                      # [rows][2 · head_dim]: sin, then cos
    sin, cos = embed.chunk(2, -1)
    axes = [torch.linspace(-1, 1, steps=n) for n in grid]
    positions = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(grid))
    rows = embed.shape[0]
    q = torch.rand(rows, head_dim) * 2 - 1
    k = torch.rand(rows, head_dim) * 2 - 1
    return {
        "id": case_id, "description": description, "layout": "interleaved", "head_dim": head_dim,
        "rope": {"rope_type": "default"},
        "axes": {"axes_dim": [head_dim // len(grid)] * len(grid), "frequencies": "pixel", "max_freq": max_res},
        "grid": {"grid": grid, "pixel": True},
        "positions": positions.tolist(),
        "q": [rounded(q)], "k": [rounded(k)], "cos": rounded(cos), "sin": rounded(sin),
        "q_rot": [rounded(apply_rot_embed_cat(q, embed))], "k_rot": [rounded(apply_rot_embed_cat(k, embed))],
    }


def mixed_case(case_id, description, head_dim, heads, grid, layer):
    rope = RotaryEmbeddingMixed(dim=head_dim * heads, depth=layer + 1, num_heads=heads, temperature=10.0,
                                feat_shape=grid, grid_indexing="xy")
    embed = rope.get_embed(grid)[layer]                               # [heads][rows][2 · head_dim]: sin, then cos
    sin, cos = embed.chunk(2, -1)
    rows = embed.shape[1]
    q = torch.rand(1, heads, rows, head_dim) * 2 - 1
    k = torch.rand(1, heads, rows, head_dim) * 2 - 1
    q_rot = apply_rot_embed_cat(q, embed)
    k_rot = apply_rot_embed_cat(k, embed)
    frequencies = rope.freqs.detach()[:, layer]                       # [2 axes][heads][pairs]
    return {
        "id": case_id, "description": description, "layout": "interleaved", "head_dim": head_dim,
        "rope": {"rope_type": "default"},
        "axes": {"mixed": frequencies.permute(1, 2, 0).tolist()},      # [heads][pairs][axes]
        "positions": torch.stack([rope.t_x, rope.t_y], dim=-1).tolist(),
        "q": [rounded(q[0, h]) for h in range(heads)], "k": [rounded(k[0, h]) for h in range(heads)],
        "cos": [rounded(cos[h]) for h in range(heads)], "sin": [rounded(sin[h]) for h in range(heads)],
        "q_rot": [rounded(q_rot[0, h]) for h in range(heads)], "k_rot": [rounded(k_rot[0, h]) for h in range(heads)],
    }


def main():
    torch.manual_seed(SEED)
    cases = [
        qwen_case("qwen2vl_mrope", "Qwen2-VL M-RoPE: head_dim 128, theta 1e6, sections [16, 24, 24]; 3 text tokens, "
                  "a 2x3x4 grid, 2 text tokens", qwen2_vl, Qwen2VLTextConfig, 128, 1_000_000.0, [16, 24, 24], [2, 3, 4], (3, 2)),
        qwen_case("qwen2vl_mrope_video_long_time", "Qwen2-VL M-RoPE with more frames than rows or columns (the text after "
                  "starts past the spatial extent only): head_dim 16, sections [2, 3, 3]", qwen2_vl, Qwen2VLTextConfig, 16,
                  10_000.0, [2, 3, 3], [5, 2, 3], (1, 3)),
        qwen_case("qwen2vl_mrope_linear", "Qwen2-VL M-RoPE under linear scaling (factor 2): head_dim 32, sections [4, 6, 6]",
                  qwen2_vl, Qwen2VLTextConfig, 32, 10_000.0, [4, 6, 6], [1, 4, 4], (2, 0), {"rope_type": "linear", "factor": 2.0}),
        qwen_case("qwen3vl_interleaved", "Qwen3-VL interleaved M-RoPE: head_dim 128, theta 5e6, sections [24, 20, 20]",
                  qwen3_vl, Qwen3VLTextConfig, 128, 5_000_000.0, [24, 20, 20], [1, 3, 4], (4, 3)),
        qwen_case("qwen3vl_interleaved_small", "Qwen3-VL interleaved M-RoPE, uneven sections: head_dim 24, sections [6, 3, 3]",
                  qwen3_vl, Qwen3VLTextConfig, 24, 10_000.0, [6, 3, 3], [3, 2, 2], (2, 2)),
        flux_case("flux_axes_dim", "FLUX FluxPosEmbed: theta 1e4, axes_dim [16, 56, 56]; 4 text ids (zeros), then a 3x4 "
                  "image grid [0, row, col]", 10_000, [16, 56, 56], [1, 3, 4], 4),
        flux_case("flux_axes_dim_small", "FluxPosEmbed with small axes: theta 256, axes_dim [4, 6, 6]", 256, [4, 6, 6], [1, 3, 7], 1),
        pixel_case("pixel_axial_2d", "rotary-embedding-torch axial pixel frequencies: 16 dims per axis, max_freq 256, "
                   "a 4x5 grid in [-1, 1]", 16, 256, [4, 5]),
        pixel_case("pixel_axial_3d", "rotary-embedding-torch axial pixel frequencies on three axes: 8 dims per axis, "
                   "max_freq 10, a 2x3x3 grid", 8, 10, [2, 3, 3]),
        timm_cat_case("timm_axial_cat", "timm RotaryEmbeddingCat (axial, linear pixel bands): head_dim 32, max_res 64, "
                      "a 3x4 grid in [-1, 1]", 32, 64, [3, 4]),
        mixed_case("rope_mixed_timm", "timm RotaryEmbeddingMixed (RoPE-Mixed): head_dim 16, 3 heads, a 3x4 grid ('xy'), "
                   "the frequencies of block 1", 16, 3, [3, 4], 1),
    ]
    document = {
        "schema_version": 1, "seed": SEED,
        "generator": {"script": "scripts/golden/multi_axis_rope.py", "device": "cpu", "dtype": "float32",
                      "torch_version": torch.__version__, "transformers_version": transformers.__version__,
                      "diffusers_version": diffusers.__version__},
        "tolerance": "cos, sin, q_rot, k_rot: abs(got - expected) <= 1e-5 + 4e-7 * largest |angle| of the row "
                     "(the largest position for sections and axes_dim)",
        "shapes": "positions [rows][axes]; q, k, q_rot, k_rot [heads][rows][head_dim]; cos, sin [rows][head_dim] "
                  "([heads][rows][head_dim] for mixed) as the reference lays them out (half: pairs then pairs again; "
                  "interleaved: each pair's value twice)",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(document, f, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)} ({os.path.getsize(OUT) // 1024} KB)")


if __name__ == "__main__":
    main()
