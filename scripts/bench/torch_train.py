"""Reference: the same training step as `rotary bench train` in PyTorch (CPU, float32, 2 threads) — a
Llama-architecture model (RMSNorm, RoPE on adjacent pairs, causal attention, SwiGLU, tied output), dim 256,
6 layers, 8 heads, FFN 688, vocabulary 1024, context 256, batch 16, AdamW with clipping.
Prints a RESULT line with tokens/s (best of STEPS steps after one warm-up)."""
import math
import sys
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(1)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
dim, layers, heads, ffn, vocab, context, batch = 256, 6, 8, 688, 1024, 256, 16
head_dim = dim // heads


class RMSNorm(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight


inv_freq = 10000.0 ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
angles = torch.arange(context, dtype=torch.float32)[:, None] * inv_freq[None, :]
cos, sin = angles.cos(), angles.sin()


def rope(x):  # x: [batch, heads, seq, head_dim], adjacent pairs
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm, self.ffn_norm = RMSNorm(dim), RMSNorm(dim)
        self.q, self.k, self.v, self.o = (torch.nn.Linear(dim, dim, bias=False) for _ in range(4))
        self.gate, self.up = torch.nn.Linear(dim, ffn, bias=False), torch.nn.Linear(dim, ffn, bias=False)
        self.down = torch.nn.Linear(ffn, dim, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        n = self.attn_norm(x)
        q, k, v = (p(n).view(b, t, heads, head_dim).transpose(1, 2) for p in (self.q, self.k, self.v))
        attention = torch.nn.functional.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
        x = x + self.o(attention.transpose(1, 2).reshape(b, t, dim))
        n = self.ffn_norm(x)
        return x + self.down(torch.nn.functional.silu(self.gate(n)) * self.up(n))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(layers))
        self.norm = RMSNorm(dim)

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.norm(x) @ self.embed.weight.T  # tied output


model = Model()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
parameters = sum(p.numel() for p in model.parameters())
best = math.inf
for step in range(steps + 1):
    tokens = torch.randint(0, vocab, (batch, context + 1))
    start = time.perf_counter()
    logits = model(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step > 0:
        best = min(best, time.perf_counter() - start)
print(f"RESULT name=torch_train parameters={parameters} tokens_per_second={batch * context / best:.1f} step_seconds={best:.3f}")
