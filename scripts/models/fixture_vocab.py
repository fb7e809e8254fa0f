"""Small, deterministic tokenizer vocabularies for the random-weight fixtures, in the two layouts llama.cpp reads:

* SentencePiece ("llama" model): <unk>/<s>/</s> (or Gemma's <pad>/<eos>/<bos>/<unk>), 256 byte-fallback tokens
  <0x00>..<0xFF>, the corpus's characters and the pieces of a BPE learned on a fixed corpus, scored so that
  earlier merges score higher (llama.cpp's SPM tokenizer merges the best-scoring adjacent pair first).
* GPT-2 byte-level BPE ("gpt2" model): the 256 byte symbols, one token per learned merge, the merge list, and
  special tokens after them.

Both learn their merges on CORPUS with the same simple BPE (most frequent adjacent pair, ties broken by first
occurrence), so every piece is reachable by merging pieces that exist.
"""
from collections import Counter

# Plain English on purpose: the fixtures' tokenizer tests need words that split into several pieces.
CORPUS = (
    "In the beginning there was a small model and the model was random. "
    "The server reads the file, the tokenizer splits the text, and the layers turn tokens into logits. "
    "Hello world! Hello again, world. A quick brown fox jumps over the lazy dog. "
    "Numbers such as 12345 and 2026 are split into digits; punctuation stays: (a, b), [c]; d? e! "
    "Rotary position embeddings rotate queries and keys; attention reads values; the window slides. "
    "Quantized weights: blocks of thirty-two or two hundred fifty-six numbers share one scale."
)

SPM_SPACE = "\u2581"  # SentencePiece's word-boundary mark


def _learn_merges(words: list[list[str]], count: int) -> list[tuple[str, str]]:
    """Classic BPE: repeatedly merge the most frequent adjacent pair (first seen wins ties)."""
    words = [list(w) for w in words]
    merges: list[tuple[str, str]] = []
    for _ in range(count):
        pairs: Counter = Counter()
        first_seen: dict[tuple[str, str], int] = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += 1
                first_seen.setdefault((a, b), len(first_seen))
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], -first_seen[p]))
        if pairs[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        for i, w in enumerate(words):
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(joined)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
    return merges


# llama.cpp token types (gguf.TokenType): 1 normal, 2 unknown, 3 control, 6 byte.
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6


def spm_vocab(merge_count: int = 140, gemma_specials: bool = False):
    """Tokens, scores, token types and the special ids {bos, eos, unk, pad} of a SentencePiece-style vocab."""
    if gemma_specials:  # Gemma's order: pad 0, eos 1, bos 2, unk 3
        specials = [("<pad>", CONTROL), ("<eos>", CONTROL), ("<bos>", CONTROL), ("<unk>", UNKNOWN)]
        ids = {"pad": 0, "eos": 1, "bos": 2, "unk": 3}
    else:  # Llama 2's order: unk 0, bos 1, eos 2
        specials = [("<unk>", UNKNOWN), ("<s>", CONTROL), ("</s>", CONTROL)]
        ids = {"unk": 0, "bos": 1, "eos": 2}
    tokens = [t for t, _ in specials]
    types = [k for _, k in specials]
    scores = [0.0] * len(tokens)
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(BYTE)
        scores.append(0.0)
    words = [list(SPM_SPACE + w) for w in CORPUS.split(" ")]
    merges = _learn_merges(words, merge_count)
    # Merged pieces first (higher score = merged earlier), then the single characters.
    for rank, (a, b) in enumerate(merges):
        piece = a + b
        if piece not in tokens:
            tokens.append(piece)
            types.append(NORMAL)
            scores.append(-float(rank))
    for ch in sorted(set(SPM_SPACE + CORPUS.replace(" ", ""))):
        if ch not in tokens:
            tokens.append(ch)
            types.append(NORMAL)
            scores.append(-1000.0)
    return tokens, scores, types, ids


def _byte_symbols() -> list[str]:
    """GPT-2's printable stand-in for each byte value (printable Latin-1 maps to itself, the rest to U+0100...)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def gpt2_vocab(merge_count: int = 150):
    """Tokens, token types, merges ("a b" strings) and special ids of a byte-level BPE vocab with Qwen's specials."""
    symbols = _byte_symbols()
    to_symbols = lambda text: [symbols[b] for b in text.encode("utf-8")]
    # Pre-tokenized like GPT-2: a word keeps the space before it.
    pieces = CORPUS.split(" ")
    words = [to_symbols(pieces[0])] + [to_symbols(" " + p) for p in pieces[1:]]
    merges = _learn_merges(words, merge_count)
    tokens = list(symbols)
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    types = [NORMAL] * len(tokens)
    ids = {}
    for name, text in (("bos", "<|endoftext|>"), ("im_start", "<|im_start|>"), ("eos", "<|im_end|>")):
        ids[name] = len(tokens)
        tokens.append(text)
        types.append(CONTROL)
    ids["pad"] = ids["bos"]
    return tokens, types, [f"{a} {b}" for a, b in merges], ids
