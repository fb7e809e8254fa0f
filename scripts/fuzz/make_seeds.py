"""Seed corpora for scripts/fuzz.sh: request bodies from the README's shapes, and a small GGUF file with
every metadata value kind and one tensor of each supported type (written by the `gguf` package)."""
import os, sys
import numpy as np
import gguf

out = sys.argv[1]
json_dir, gguf_dir = os.path.join(out, "seeds-json"), os.path.join(out, "seeds-gguf")
os.makedirs(json_dir, exist_ok=True)
os.makedirs(gguf_dir, exist_ok=True)
bodies = [
    '{"vectors": [[1, 0, 0, 1], [1, 0, 0, 1]]}',
    '{"vectors": [[0.5, -0.25, 1.0, 2.0]], "positions": [100000], "rope": {"rope_type": "llama3", "factor": 8}}',
    '{"queries": [[1, 0], [0, 1]], "keys": [[1, 0], [0, 1]], "causal": true, "return": ["weights"]}',
    '{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0.8, "seed": 42, "stop": ["\\n\\n", "\\u00e9"]}',
    '[null, true, false, -0.0, 1e-7, 12345678901234567890, "a\\"b\\\\c", {"": []}]',
]
for i, body in enumerate(bodies):
    open(os.path.join(json_dir, f"seed{i}.json"), "w").write(body)

path = os.path.join(gguf_dir, "seed.gguf")
writer = gguf.GGUFWriter(path, "llama")
writer.add_uint32("llama.context_length", 16)
writer.add_float32("llama.rope.freq_base", 10000.0)
writer.add_bool("fuzz.flag", True)
writer.add_string("fuzz.name", "seed")
writer.add_array("fuzz.tokens", ["a", "b", "c"])
writer.add_array("fuzz.scores", [0.5, -1.0])
writer.add_int64("fuzz.big", -5)
writer.add_tensor("f32", np.arange(8, dtype=np.float32).reshape(2, 4))
writer.add_tensor("f16", np.arange(4, dtype=np.float16))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
