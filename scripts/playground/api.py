"""The test's own calls to the server (the answers the page is checked against), and float64 references."""
import json
import math
import urllib.request

import numpy as np


class Api:
    def __init__(self, port, key=None):
        self.base = f"http://127.0.0.1:{port}"
        self.key = key

    def call(self, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.base + path, data=None if body is None else json.dumps(body).encode(),
                                         headers=headers, method="GET" if body is None else "POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())


def page_normals(seed, count):
    """The page's seeded normal draws (relative.js: mulberry32, then Box-Muller), reproduced bit for bit."""
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def uniform():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return (((t ^ (t >> 14)) & 0xFFFFFFFF) + 0.5) / 4294967296

    out = []
    while len(out) < count:
        r = math.sqrt(-2 * math.log(uniform()))
        phi = 2 * math.pi * uniform()
        out += [r * math.cos(phi), r * math.sin(phi)]
    return out[:count]


def rope_half(vector, position, theta):
    """Plain RoPE in float64, half layout (i pairs with i + d/2)."""
    x = np.asarray(vector, dtype=np.float64)
    half = len(x) // 2
    angles = position * theta ** (-2.0 * np.arange(half) / len(x))
    a, b = x[:half], x[half:]
    return np.concatenate([a * np.cos(angles) - b * np.sin(angles), b * np.cos(angles) + a * np.sin(angles)])


def yarn_bands(head_dim, theta, factor, original, beta_fast=32.0, beta_slow=1.0):
    """Per pair: kept / between / interpolated under YaRN (transformers' correction range, truncated), from the
    formula, not from any answer."""
    def correction_dim(rotations):
        return head_dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(theta))
    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), head_dim - 1)
    if low == high:
        high += 0.001
    bands = []
    for i in range(head_dim // 2):
        ramp = min(1.0, max(0.0, (i - low) / (high - low)))
        bands.append("kept" if ramp == 0 else "interpolated" if ramp == 1 else "between")
    return bands


def llama3_bands(head_dim, theta, factor, low_freq_factor, high_freq_factor, original):
    bands = []
    for i in range(head_dim // 2):
        wavelength = 2 * math.pi * theta ** (2 * i / head_dim)
        if wavelength < original / high_freq_factor:
            bands.append("kept")
        elif wavelength > original / low_freq_factor:
            bands.append("interpolated")
        else:
            bands.append("between")
    return bands
