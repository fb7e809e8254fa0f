"""Reference: NumPy (and PyTorch when installed) applying RoPE as x*cos + rotate_half(x)*sin to the
same [heads][seq][dim] float32 tensor `rotary bench rope` rotates. Prints RESULT lines."""
import sys
import time

import numpy as np

heads, seq, dim, runs = (int(a) for a in sys.argv[1:5])
half = dim // 2
inv_freq = 1.0 / (10000.0 ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
angles = np.arange(seq, dtype=np.float32)[:, None] * inv_freq[None, :]
cos = np.concatenate([np.cos(angles)] * 2, axis=-1).astype(np.float32)
sin = np.concatenate([np.sin(angles)] * 2, axis=-1).astype(np.float32)
x = (np.arange(heads * seq * dim, dtype=np.float32) % 1000 / 1000).reshape(heads, seq, dim)
traffic = 2 * x.nbytes


def rotate_half(t):
    return np.concatenate([-t[..., half:], t[..., :half]], axis=-1)


def best(fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


seconds = best(lambda: x * cos + rotate_half(x) * sin)
print(f"RESULT name=numpy_rope seconds={seconds:.6f} gbps={traffic / seconds / 1e9:.2f}")
try:
    import torch

    torch.set_num_threads(2)
    tx, tc, ts = torch.from_numpy(x), torch.from_numpy(cos), torch.from_numpy(sin)

    def torch_rope():
        return tx * tc + torch.cat((-tx[..., half:], tx[..., :half]), dim=-1) * ts

    seconds = best(torch_rope)
    print(f"RESULT name=torch_rope seconds={seconds:.6f} gbps={traffic / seconds / 1e9:.2f}")
except ImportError:
    print("RESULT name=torch_rope skipped=torch_not_installed")
