#!/usr/bin/env python3
"""The script a user would write with the onnx package and numpy: load a
model, prune the MatMul/Gemm/Conv weights to a global magnitude sparsity,
save it. `scripts/bench-scale.sh` times it against `onnxopt run`."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(src, dst, sparsity):
    model = onnx.load(src)
    weight_names = set()
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm", "Conv", "ConvTranspose") and len(node.input) > 1:
            weight_names.add(node.input[1])
    inits = [t for t in model.graph.initializer
             if t.name in weight_names and t.data_type == onnx.TensorProto.FLOAT]
    arrays = [numpy_helper.to_array(t) for t in inits]
    magnitudes = np.concatenate([np.abs(a).ravel() for a in arrays])
    k = int(round(sparsity * magnitudes.size))
    threshold = np.partition(magnitudes, k)[k] if k < magnitudes.size else np.inf
    del magnitudes
    for t, a in zip(inits, arrays):
        pruned = np.where(np.abs(a) < threshold, np.float32(0), a)
        t.CopyFrom(numpy_helper.from_array(pruned, t.name))
    onnx.save(model, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.5)
