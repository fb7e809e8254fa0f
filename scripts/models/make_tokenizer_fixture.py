"""Writes Tests/RotaryModelTests/Fixtures/tokenizer-llamacpp.json: what llama.cpp itself (the xllamacpp wheel's
build, through llama_tokenizer.py) answers on the cached vocabularies, for Rotary's tokenizer tests:

- suites: for each llama.cpp tokenizer suite (ggml-vocab-NAME.gguf with .inp/.out), the cases whose ids
  llama.cpp's detokenize does not turn back into the input, with the text it gives instead;
- special: per suite vocabulary, texts that write its control and user-defined tokens, encoded with every
  add_special / parse_special combination, and decoded back;
- smollm2: a few strings on SmolLM2-135M-Instruct (gpt2 tokenizer, pre-tokenizer smollm), likewise.

Usage: python3 scripts/models/make_tokenizer_fixture.py [MODELS=.build-models]   (run scripts/models/fetch.sh first)
"""
import json
import os
import sys

import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_tokenizer import LlamaVocabulary  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUITES = ["llama-bpe", "qwen2", "gpt-2", "starcoder", "refact", "deepseek-llm", "deepseek-coder", "falcon", "mpt",
          "command-r", "llama-spm", "phi-3"]
SEPARATOR = "\n__ggml_vocab_test__\n"
SMOLLM2_TEXTS = [
    "Hello world",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user",
    "  two leading spaces, 12345 digits and   three spaces",
    "Café naïve señor — 東京 😀 ٣٤٥",
    "<|endoftext|><|endoftext|> after",
    "def add(a, b):\n\treturn a + b\n\n\n",
    "It's, isn't it? They'll say ' quoted ' and we've won .",
    # Words longer than the merger's scan limit (48 bytes): they merge through its heap.
    "Antidisestablishmentarianism" * 3,
    "a" * 120 + " " + "ab" * 40,
    "\U0001F600" * 20 + "!?" * 30,
]


# Text that tells byte-exact tokenizers from ones that compare strings loosely or classify characters by another
# Unicode version: canonically equivalent characters (U+037E is `;`, U+0387 is `·`, U+2000 is U+2002), scalars
# assigned after Unicode 15.1 (U+2FFC, U+31E4, U+1CC00), combining marks with nothing before them, NEL, the
# ideographic space and other non-ASCII whitespace, Arabic-Indic and full-width digits.
EXTRA_TEXTS = [
    "a\u037eb \u0387 x\u2000y\u2001z \u0340\u0341 caf\u0065\u0301 caf\u00e9",
    "\u0301\u0302start \u2ffc\u31e4\U0001cc00 \u0897end",
    "one\u0085two\u3000three\u00a0four\u2028five \u1680 six\u202f",
    "\u0663\u0664\u0665 \uff11\uff12\uff13\uff14 \u00b2\u00b3 12345678",
    "\u3001\u3002\u300c\u300d\uff01\uff1f \u2018\u201cquoted\u201d\u2019 \u00ab\u00bb",
]


def combinations(vocab, text, flags=((False, False), (False, True), (True, False), (True, True))):
    out = []
    for add_special, parse_special in flags:
        ids = vocab.tokenize(text, add_special, parse_special)
        out.append({"text": text, "add_special": add_special, "parse_special": parse_special, "ids": ids,
                    "decoded": vocab.detokenize(ids).decode("utf-8")})
    return out


def special_texts(path):
    # The vocabulary's first control and user-defined tokens (by id), written into text with spaces and
    # newlines around them.
    reader = gguf.GGUFReader(path)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    control = [tokens[i] for i in range(len(tokens)) if types[i] == 3 and tokens[i]][:2]
    user = [tokens[i] for i in range(len(tokens)) if types[i] == 4 and tokens[i] and tokens[i].strip()][:2]
    chosen = control + user
    texts = []
    for token in chosen:
        texts.append(f"{token}Hello world")
        texts.append(f"a {token} b {token}\n  c")
    if len(chosen) >= 2:
        texts.append(f"{chosen[0]}{chosen[-1]} x{chosen[1]}")
    return texts


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ROTARY_MODELS", os.path.join(ROOT, ".build-models"))
    fixture = {"generator": "scripts/models/make_tokenizer_fixture.py (llama.cpp through the xllamacpp wheel)",
               "suites": {}, "special": {}, "smollm2": []}
    for name in SUITES:
        path = os.path.join(models, "vocab", f"ggml-vocab-{name}.gguf")
        vocab = LlamaVocabulary(path)
        raw = open(path + ".inp", encoding="utf-8", newline="").read()
        inputs = raw.split(SEPARATOR)
        if inputs and inputs[-1] == "":
            inputs.pop()
        outputs = open(path + ".out", encoding="utf-8").read().split("\n")[:len(inputs)]
        not_round_tripping = {}
        for index, (text, line) in enumerate(zip(inputs, outputs)):
            ids = [int(x) for x in line.split()]
            if vocab.tokenize(text) != ids:
                sys.exit(f"{name} case {index}: this llama.cpp does not reproduce the suite's ids")
            decoded = vocab.detokenize(ids).decode("utf-8")
            if decoded != text:
                not_round_tripping[str(index)] = decoded
        fixture["suites"][name] = {"cases": len(inputs), "decoded_otherwise": not_round_tripping}
        fixture["special"][name] = [case for text in special_texts(path) for case in combinations(vocab, text)] + \
            [case for text in EXTRA_TEXTS for case in combinations(vocab, text, ((False, False),))]
    smollm2 = LlamaVocabulary(os.path.join(models, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    fixture["smollm2"] = [case for text in SMOLLM2_TEXTS for case in combinations(smollm2, text)]
    out = os.path.join(ROOT, "Tests", "RotaryModelTests", "Fixtures", "tokenizer-llamacpp.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{out}: {os.path.getsize(out)} bytes")
    sys.stdout.flush()
    os._exit(0)   # skip llama.cpp's teardown


if __name__ == "__main__":
    main()
