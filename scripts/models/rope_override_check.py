#!/usr/bin/env python3
"""Per-request RoPE on a loaded model against llama.cpp under the same override at load time.

For each setting where llama.cpp has the override (`rope_freq_base`; linear `rope_freq_scale`; YaRN with its
original context), the log-probability of every token of a text that runs past the model's context, echoed by
Rotary's /v1/completions with `rope`, equals llama.cpp's (the xllamacpp wheel, f32 KV cache) within the exact
tolerance of agreement_check.py — on the F32 tiny fixture, so that quantization does not blur the comparison.
llama.cpp's server caps a slot at the file's training context, so both read a copy whose `llama.context_length`
says 1024 (the weights and the RoPE are the file's; YaRN is told the original 256). The settings must differ
from one another.

Usage: rope_override_check.py ROTARY_BINARY [MODEL.gguf]
"""
import json
import pathlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.request

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from llamacpp_run import LlamaCpp            # noqa: E402
from rotary_server import served             # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOLERANCE = 1e-3   # agreement_check.py's EXACT_TOLERANCE (nats)
MODEL_CONTEXT = 256   # the tiny fixture's context_length

# (name, llama.cpp CommonParams overrides, Rotary `rope`)
SETTINGS = [
    ("rope_freq_base 50000", {"rope_freq_base": 50000.0}, {"rope_theta": 50000}),
    ("linear ×4", {"rope_scaling_type": "linear", "rope_freq_scale": 0.25}, {"rope_type": "linear", "factor": 4}),
    ("yarn ×4 from 256", {"rope_scaling_type": "yarn", "rope_freq_scale": 0.25, "yarn_orig_ctx": MODEL_CONTEXT},
     {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": MODEL_CONTEXT}),
]


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def with_context(source, context, directory):
    """A copy of the GGUF whose `<arch>.context_length` says `context` (a uint32 changed in place)."""
    import gguf
    target = pathlib.Path(directory) / "model.gguf"
    shutil.copy(source, target)
    reader = gguf.GGUFReader(target, "r+")
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    field = reader.fields[f"{arch}.context_length"]
    field.parts[field.data[0]][0] = context
    del reader
    return str(target)


def main():
    binary = sys.argv[1]
    source = sys.argv[2] if len(sys.argv) > 2 else str(ROOT.parent / "shared/golden/llama/tiny-seed1234.gguf")
    directory = tempfile.mkdtemp()
    model = with_context(source, 1024, directory)
    text = (ROOT / "Tests/RotaryServiceTests/Fixtures/revelation-21-22.txt").read_text()[:1000]
    failures = 0
    answers = []
    with served(binary, model) as port:
        status, tokenized = post(port, "/tokenize", {"prompt": text})
        tokens = tokenized["tokens"]
        assert len(tokens) > MODEL_CONTEXT + 32, f"the text has {len(tokens)} tokens: it must pass the context"
        for name, llama_params, rope in SETTINGS:
            status, body = post(port, "/v1/completions", {"prompt": tokens, "max_tokens": 0, "echo": True, "logprobs": 0,
                                                          "rope": rope})
            assert status == 200, body
            rotary = np.array(body["choices"][0]["logprobs"]["token_logprobs"][1:], dtype=np.float64)
            with LlamaCpp(model, context=1024, rope=llama_params) as llama:
                distributions = llama.logprobs(tokens[:-1], positions="all")
            reference = distributions[np.arange(len(tokens) - 1), tokens[1:]]
            diff = np.abs(rotary - reference)
            past = diff[MODEL_CONTEXT:]
            ok = diff.max() <= TOLERANCE
            failures += not ok
            answers.append(rotary)
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(tokens)} tokens, max |Rotary − llama.cpp| {diff.max():.2e} "
                  f"(past position {MODEL_CONTEXT}: {past.max():.2e}), mean NLL {-rotary.mean():.4f} vs {-reference.mean():.4f}")
    for i in range(len(answers)):
        for j in range(i + 1, len(answers)):
            if np.abs(answers[i] - answers[j]).max() < 1e-2:
                print(f"FAIL: {SETTINGS[i][0]} and {SETTINGS[j][0]} give the same answer")
                failures += 1
    shutil.rmtree(directory)
    print("rope overrides agree with llama.cpp" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
