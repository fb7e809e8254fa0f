"""make crosscheck: llama.cpp and Rotary on the same GGUF — token ids equal, last-position logits within
1e-3. Usage: crosscheck.py ROTARY_BINARY MODEL.gguf  (run with the llama-cpp-python venv's python)"""
import json
import subprocess
import sys

import numpy as np
from llama_cpp import Llama

binary, model = sys.argv[1], sys.argv[2]
prompts = ["In the beginning God created the heaven and the earth.",
           "And the LORD said unto Moses,",
           "Blessed are the meek: for they shall inherit the earth.",
           "Jesus wept.",
           "Let there be light"]
# An f32 KV cache, as the golden fixtures were recorded (llama.cpp defaults to f16, which moves logits by ~1e-2).
llm = Llama(model_path=model, n_ctx=0, n_threads=2, logits_all=True, verbose=False, type_k=0, type_v=0, flash_attn=False)
failures = 0
for prompt in prompts:
    ours = json.loads(subprocess.run([binary, "logits", "--model", model, "--prompt", prompt],
                                     check=True, capture_output=True, text=True).stdout)
    tokens = llm.tokenize(prompt.encode(), add_bos=True)
    llm.reset()
    llm.eval(tokens)
    theirs = np.array(llm.scores[len(tokens) - 1], dtype=np.float64)
    same_tokens = tokens == ours["tokens"]
    diff = float(np.max(np.abs(theirs - np.array(ours["logits"])))) if same_tokens else float("inf")
    ok = same_tokens and diff <= 1e-3 and int(np.argmax(theirs)) == int(np.argmax(ours["logits"]))
    failures += 0 if ok else 1
    print(f"{'ok  ' if ok else 'FAIL'} {len(tokens):3d} tokens, max |logit diff| {diff:.2e}: {prompt!r}")
print(f"{len(prompts) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
