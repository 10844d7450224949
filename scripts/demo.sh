#!/usr/bin/env bash
# `make demo`: onnxopt on an example model, start to finish. The example is
# generated (a transformer-like float32 MLP stack, deterministic), so the
# repository ships no binaries. Everything lands in demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."

onnxopt=bin/onnxopt
out=demo-out
mkdir -p "$out"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step $onnxopt gen mlp --dim 512 --hidden 2048 --blocks 4 --rank3 -o $out/mlp.onnx
step $onnxopt inspect --tensors 5 $out/mlp.onnx

# Prune to 50% by global magnitude, enforce 2:4 sparsity, drop dead code.
step $onnxopt run -p 'prune(sparsity=0.5,scope=global),nm(n=2,m=4),dce' $out/mlp.onnx -o $out/mlp-sparse.onnx --report $out/mlp-sparse.report.json
step $onnxopt inspect --tensors 5 $out/mlp-sparse.onnx
# How far did the outputs move? A build pipeline gates on the exit code:
# 0 within tolerance, 3 beyond it. Pruning half of an untrained network's
# weights moves its outputs a lot, so this gate says no:
printf '\n# Gate: may the sparse model ship? (0 = yes, 3 = outputs moved beyond tolerance;\n# an untrained network loses a lot to 50%% pruning, so expect 3 here)\n'
set +e
step $onnxopt verify --shape batch=4 --shape seq=16 --min-cosine 0.99 $out/mlp.onnx $out/mlp-sparse.onnx
echo "(exit code $?)"
set -e

# The calibrated path: the same pruning, then `repair` fits each pruned
# layer back to the original's outputs on calibration inputs (random here,
# seed 1; the gate below evaluates on its own seed). Least squares over
# 2:4 masks needs one factorization per row, too slow for a demo on this
# size, so the demo uses bias correction; see BENCHMARKS.md for lsq.
# TODO(prune method=sparsegpt): once it lands, calibrate the pruning itself:
#   prune(sparsity=0.5,scope=global,method=sparsegpt),nm(n=2,m=4),repair(...)
step $onnxopt run -p 'prune(sparsity=0.5,scope=global),nm(n=2,m=4),repair(mode=bias,shapes=batch:4|seq:16),dce' $out/mlp.onnx -o $out/mlp-repaired.onnx
printf '\n# Gate again, on evaluation inputs of another seed: bias correction alone\n# takes cosine from 0.79 to about 0.88 on this untrained network, still below the gate\n'
set +e
step $onnxopt verify --shape batch=4 --shape seq=16 --seed 1234 --min-cosine 0.99 $out/mlp.onnx $out/mlp-repaired.onnx
echo "(exit code $?)"
set -e

# INT8 dynamic quantization and INT4 weight-only (ONNX Runtime's MatMulNBits).
step $onnxopt run -p 'quantize(type=int8,mode=dynamic)' $out/mlp.onnx -o $out/mlp-int8.onnx
step $onnxopt run -p 'quantize(type=int4,block=32)' $out/mlp.onnx -o $out/mlp-int4.onnx
step $onnxopt verify --shape batch=4 --shape seq=16 --min-cosine 0.98 $out/mlp.onnx $out/mlp-int8.onnx
step $onnxopt bench --runs 20 --shape batch=4 --shape seq=16 $out/mlp.onnx $out/mlp-int8.onnx $out/mlp-int4.onnx

# Structured pruning really shrinks the layers.
step $onnxopt run -p 'prune-channels(ratio=0.5)' $out/mlp.onnx -o $out/mlp-narrow.onnx

# What changed, as text and as an HTML page with plots.
step $onnxopt diff $out/mlp.onnx $out/mlp-int8.onnx
step $onnxopt diff --html $out/diff-sparse.html $out/mlp.onnx $out/mlp-sparse.onnx
ls -la $out
printf '\nOpen %s/diff-sparse.html in a browser for the plots.\n' "$out"
