"""llama.cpp's own tokenizer, called in process: the C API (llama_tokenize, llama_detokenize) of the llama.cpp
that the xllamacpp wheel bundles, through ctypes, on a vocabulary loaded with vocab_only (no weights needed).
The reference for Rotary's tokenizer fixtures and for its encode-speed comparison.

    vocab = LlamaVocabulary("model.gguf")
    vocab.tokenize("Hello", add_special=False, parse_special=False) -> [ids]
    vocab.detokenize([ids], remove_special=False, unparse_special=False) -> bytes
"""
import ctypes
import os


def _library():
    import xllamacpp
    return ctypes.CDLL(os.path.join(os.path.dirname(xllamacpp.__file__), "xllamacpp.abi3.so"))


class _ModelParams(ctypes.Structure):
    # llama_model_params is returned and passed by value (in memory on x86-64 SysV, being over 16 bytes):
    # a buffer larger than the struct is safe both ways. Only vocab_only is set, at its offset in llama.h
    # (after two pointers, four enums/ints, an int, and four pointers: byte 72); _check_layout verifies it.
    _fields_ = [("bytes", ctypes.c_uint8 * 512)]


VOCAB_ONLY_OFFSET = 72


class LlamaVocabulary:
    _lib = None

    def __init__(self, path):
        if LlamaVocabulary._lib is None:
            lib = _library()
            lib.llama_backend_init.restype = None
            lib.llama_model_default_params.restype = _ModelParams
            lib.llama_model_load_from_file.argtypes = [ctypes.c_char_p, _ModelParams]
            lib.llama_model_load_from_file.restype = ctypes.c_void_p
            lib.llama_model_get_vocab.argtypes = [ctypes.c_void_p]
            lib.llama_model_get_vocab.restype = ctypes.c_void_p
            lib.llama_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                           ctypes.POINTER(ctypes.c_int32), ctypes.c_int32, ctypes.c_bool, ctypes.c_bool]
            lib.llama_tokenize.restype = ctypes.c_int32
            lib.llama_detokenize.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_int32,
                                             ctypes.c_char_p, ctypes.c_int32, ctypes.c_bool, ctypes.c_bool]
            lib.llama_detokenize.restype = ctypes.c_int32
            lib.llama_vocab_n_tokens.argtypes = [ctypes.c_void_p]
            lib.llama_vocab_n_tokens.restype = ctypes.c_int32
            _silence(lib)
            lib.llama_backend_init()
            LlamaVocabulary._lib = lib
        lib = LlamaVocabulary._lib
        params = lib.llama_model_default_params()
        _check_layout(params)
        params.bytes[VOCAB_ONLY_OFFSET] = 1
        self.model = lib.llama_model_load_from_file(os.fsencode(path), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.size = lib.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, text, add_special=False, parse_special=False):
        data = text.encode("utf-8") if isinstance(text, str) else text
        capacity = len(data) + 16
        while True:
            out = (ctypes.c_int32 * capacity)()
            n = self._lib.llama_tokenize(self.vocab, data, len(data), out, capacity, add_special, parse_special)
            if n >= 0:
                return list(out[:n])
            capacity = -n

    def detokenize(self, ids, remove_special=False, unparse_special=False):
        array = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        capacity = 16 * len(ids) + 16
        while True:
            out = ctypes.create_string_buffer(capacity)
            n = self._lib.llama_detokenize(self.vocab, array, len(ids), out, capacity, remove_special, unparse_special)
            if n >= 0:
                return out.raw[:n]
            capacity = -n


def _check_layout(params):
    # Defaults per llama.h: devices, buffer overrides NULL; n_gpu_layers -1; the bool block starts with
    # vocab_only = false, check_tensors = false, use_extra_bufts = true.
    b = bytes(params.bytes[:80])
    if b[:16] != bytes(16) or b[16:20] != b"\xff\xff\xff\xff" or b[72:75] != b"\x00\x00\x01":
        raise RuntimeError("llama_model_params layout is not the one this script knows: " + b.hex())


_LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def _silence(lib):
    lib.llama_log_set.argtypes = [_LOG_CALLBACK, ctypes.c_void_p]
    lib.llama_log_set.restype = None
    _silence.callback = _LOG_CALLBACK(lambda level, text, data: None)   # kept alive for the process
    lib.llama_log_set(_silence.callback, None)
