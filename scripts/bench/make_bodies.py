"""Writes the /rotate benchmark bodies: a 64x128 float32 matrix as JSON (shortest float32 digits)
and as .npy."""
import sys

import numpy as np

out = sys.argv[1]
matrix = np.random.default_rng(0).standard_normal((64, 128), dtype=np.float32)
rows = ",".join("[" + ",".join(str(v) for v in row) + "]" for row in matrix)
with open(f"{out}/rotate_64x128.json", "w") as f:
    f.write('{"vectors":[' + rows + "]}")
np.save(f"{out}/rotate_64x128.npy", matrix)
