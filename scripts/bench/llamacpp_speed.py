"""llama.cpp's prompt and decode speed and peak memory on a GGUF, as `rotary bench model` measures Rotary's:
the same prompt ids (100 + 7919·i mod (vocab − 100)), greedy decoding of a fixed number of tokens (EOS ignored),
the best of RUNS, through the xllamacpp wheel (llama.cpp's own server code, in process, CPU).
Usage: llamacpp_speed.py MODEL.gguf [--prompt-tokens 128] [--decode-tokens 128] [--runs 3] [--threads 2]"""
import argparse
import json
import os
import subprocess
import sys


def peak_rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def vocabulary_size(model):
    """The token count, read in a child process: gguf-py's reader touches the mapped file and builds arrays per
    field part; in this process it raised the high-water mark by ~180 MB on SmolLM2 (measured), more than llama.cpp
    then adds, so the baseline below was already the peak and the reported llama.cpp memory was 0."""
    script = ("import sys, gguf; "
              "print(len(gguf.GGUFReader(sys.argv[1]).fields['tokenizer.ggml.tokens'].data))")
    return int(subprocess.run([sys.executable, "-c", script, model], check=True, capture_output=True,
                              text=True).stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    vocab = vocabulary_size(args.model)
    import xllamacpp
    baseline = peak_rss_kb()   # the interpreter and the library, before the model file is touched
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_ctx = args.prompt_tokens + args.decode_tokens + 16
    params.n_batch = max(512, args.prompt_tokens)
    params.n_ubatch = max(512, args.prompt_tokens)
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.n_parallel = 1
    params.warmup = True
    server = xllamacpp.Server(params)
    prompt = [100 + (i * 7919) % (vocab - 100) for i in range(args.prompt_tokens)]
    best_prompt = best_decode = 0.0
    for _ in range(args.runs):
        answer = server.handle_completions({"prompt": prompt, "n_predict": args.decode_tokens, "temperature": 0,
                                            "ignore_eos": True, "cache_prompt": False, "samplers": ["top_k"], "top_k": 1})
        answer = json.loads(answer) if isinstance(answer, str) else answer
        timings = answer["timings"]
        if timings["prompt_n"] != args.prompt_tokens or timings["predicted_n"] != args.decode_tokens:
            sys.exit(f"llama.cpp ran {timings['prompt_n']} prompt and {timings['predicted_n']} decode tokens")
        best_prompt = max(best_prompt, timings["prompt_per_second"])
        best_decode = max(best_decode, timings["predicted_per_second"])
    print(f"RESULT name=llamacpp_prompt tokens={args.prompt_tokens} tokens_per_second={best_prompt:.1f}")
    print(f"RESULT name=llamacpp_decode tokens={args.decode_tokens} tokens_per_second={best_decode:.1f}")
    print(f"RESULT name=llamacpp_memory peak_rss_kb={peak_rss_kb() - baseline} process_peak_rss_kb={peak_rss_kb()} "
          f"baseline_kb={baseline}")
    sys.stdout.flush()
    os._exit(0)   # skip the server's slow teardown


if __name__ == "__main__":
    main()
