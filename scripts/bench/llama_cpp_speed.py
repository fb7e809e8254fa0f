"""Reference: llama.cpp (through llama-cpp-python) on the same GGUF, the same way `rotary bench model`
measures Rotary: prompt processing of N tokens, then N greedy decode steps, 2 threads, best of runs.
Usage: llama_cpp_speed.py MODEL PROMPT_TOKENS DECODE_TOKENS RUNS  (prints RESULT lines)"""
import sys
import time

import numpy as np
from llama_cpp import Llama

path, prompt_tokens, decode_tokens, runs = sys.argv[1], *map(int, sys.argv[2:5])
llm = Llama(model_path=path, n_ctx=prompt_tokens + decode_tokens, n_threads=2, n_threads_batch=2, n_batch=512,
            logits_all=False, verbose=False)
text = "Once upon a time, there was a little robot who loved to read. " * 64
prompt = llm.tokenize(text.encode(), add_bos=True)[:prompt_tokens]
best_prompt = best_decode = float("inf")
for _ in range(runs):
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    best_prompt = min(best_prompt, time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(decode_tokens):
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        llm.eval([int(np.argmax(logits))])
    best_decode = min(best_decode, time.perf_counter() - start)
print(f"RESULT name=llama_cpp_prompt tokens={len(prompt)} tokens_per_second={len(prompt) / best_prompt:.1f}")
print(f"RESULT name=llama_cpp_decode tokens={decode_tokens} tokens_per_second={decode_tokens / best_decode:.1f}")
