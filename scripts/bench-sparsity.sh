#!/usr/bin/env bash
# bench-sparsity.sh: output error (relative L2 on held-out inputs) of
# magnitude, Wanda and SparseGPT pruning at 50% unstructured (every layer
# to 50%, and spread over the layers: scope=global, layers=error) and 2:4, and
# of prune-channels(ratio=0.25) with and without repair, on the planted MLP
# and the real models `make setup` installs. Real models are calibrated on
# realistic inputs from `onnxopt gen inputs` drawn with seed 1 (calib=DIR)
# and evaluated on a set drawn with seed 2 (verify --inputs DIR); the MLP
# uses random inputs, calibration seed 1, evaluation seed 1000. Prints
# markdown table rows with the pass's wall time.
#
#   scripts/bench-sparsity.sh [MODEL...]   (default: mlp ppocr-cls ppocr-det hello_deepa)
#   SPARSITY=0 scripts/bench-sparsity.sh ...   only the repair rows
#   REPAIR=0 scripts/bench-sparsity.sh ...     only the sparsity rows
#   QUANT=1 SPARSITY=0 REPAIR=0 scripts/bench-sparsity.sh ...
#       only GPTQ against RTN at INT4 block 32 (MLP evaluated on seed 2;
#       Convs in format=qdq; DAMP=0.1 sets GPTQ's damp=; DAMPS=0.001|0.01|0.1|1
#       adds a row with the damp cross-validated per weight among those)
# Calibrated methods run with their default target (original for SparseGPT
# and GPTQ: each layer fitted to the original model's layer outputs; layer
# for Wanda) and with the other one, marked (target=layer: each layer keeps
# its own output on the inputs it now gets, the papers' objective).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/onnxopt" ./cmd/onnxopt
o="$bin/onnxopt"
models_dir="${ONNXOPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxopt}/models"
"$o" gen mlp --dim 64 --hidden 256 --blocks 2 --seed 3 --outliers 4 -o "$bin/mlp.onnx" >/dev/null

# model -> "path|input kind|input shape|calibration samples|evaluation samples"
# Evaluation sets are large enough that a ratio does not move with the set
# (4 det pages or 64 wake-word windows moved ratios by +-20%); det calibrates
# on 16 pages (its deep 1x1 convs see 6x6 maps: 4 pages give fewer im2col
# rows than features), hello_deepa on 2048 windows (its first Gemm has 2400
# inputs).
declare -A spec=(
  [mlp]="$bin/mlp.onnx|random|64x64|8|4"
  [ppocr-cls]="$models_dir/ppocr-cls.onnx|ppocr-cls|1x3x48x192|32|128"
  [ppocr-det]="$models_dir/ppocr-det.onnx|ppocr-det|1x3x192x192|16|16"
  [hello_deepa]="$models_dir/hello_deepa.onnx|wakeword|1x25x96|2048|1024"
)

# flags NAME: sets cal (pass options) and vflags (verify flags) for NAME.
flags() {
  IFS='|' read -r path kind shape ncal neval <<<"${spec[$1]}"
  if [ "$kind" = random ]; then
    cal="samples=$ncal,shapes=input:$shape"
    vflags=(--samples "$neval" --seed 1000 --shape "input=$shape")
  elif [ ! -d "$bin/$1-cal" ]; then
    "$o" gen inputs "$kind" --shape "$shape" --samples "$ncal" --seed 1 -o "$bin/$1-cal" >/dev/null
    "$o" gen inputs "$kind" --shape "$shape" --samples "$neval" --seed 2 -o "$bin/$1-eval" >/dev/null
  fi
  if [ "$kind" != random ]; then
    cal="calib=$bin/$1-cal,samples=$ncal"
    vflags=(--inputs "$bin/$1-eval")
  fi
}

# measure PIPELINE: runs it on $path, prints "rel_l2 seconds".
measure() {
  local start took err
  start=$(date +%s.%N)
  rm -f "$bin/out.onnx"
  if ! "$o" run -p "$1" "$path" -o "$bin/out.onnx" >/dev/null 2>"$bin/run.err"; then
    echo "bench-sparsity: $1 failed: $(tail -1 "$bin/run.err")" >&2
    echo "nan 0"
    return
  fi
  took=$(echo "$(date +%s.%N) - $start" | bc)
  err=$("$o" verify --json "${vflags[@]}" "$path" "$bin/out.onnx" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["rel_l2"])' || true)
  echo "$err $took"
}

models="${*:-mlp ppocr-cls ppocr-det hello_deepa}"
if [ "${SPARSITY:-1}" != 0 ]; then
  # Uniform rows (every layer to the sparsity) are compared with magnitude
  # per tensor; rows that spread the sparsity over the layers (scope=global,
  # layers=error|owl) with the better of magnitude per tensor and global.
  echo "| model | pattern | method | rel L2 (held out) | ratio to magnitude | pass time |"
  echo "|---|---|---|---|---|---|"
  for name in $models; do
    flags "$name"
    for pat in "50%" "2:4"; do
      base=""
      methods="magnitude wanda sparsegpt,target=layer wanda,target=original sparsegpt"
      [ "$pat" = "50%" ] && methods="$methods magnitude,scope=global wanda,layers=error sparsegpt,layers=error,target=layer wanda,layers=error,target=original sparsegpt,layers=error"
      for method in $methods; do
        m=${method%%,*}
        extra=""; [ "$m" != "$method" ] && extra=",${method#*,}"
        if [ "$pat" = "50%" ]; then
          p="prune(sparsity=0.5$extra"; [ "$m" != magnitude ] && p="$p,method=$m,$cal"; p="$p)"
        else
          p="nm"; [ "$m" != magnitude ] && p="nm(method=$m$extra,$cal)"
        fi
        read -r err took <<<"$(measure "$p")"
        [ "$method" = magnitude ] && base=$err
        ratio=$(python3 -c "e, b = float('$err'), float('$base'); print(f'{e/b:.2f}')")
        # the global row's ratio is to magnitude per tensor; later rows' to the better
        [ "$method" = magnitude,scope=global ] && base=$(python3 -c "import math; e, b = float('$err'), float('$base'); print(b if math.isnan(e) else min(b, e))")
        printf '| %s | %s | %s | %.4f | %s | %.1f s |\n' "$name" "$pat" "$method" "$err" "$ratio" "$took"
      done
    done
  done
fi
if [ "${REPAIR:-1}" != 0 ]; then
  echo
  echo "| model | lossy pipeline | rel L2 without | with repair | factor | pass time with repair |"
  echo "|---|---|---|---|---|---|"
  for name in $models; do
    [ "$name" = mlp ] && continue
    flags "$name"
    read -r before _ <<<"$(measure "prune-channels(ratio=0.25)")"
    read -r after took <<<"$(measure "prune-channels(ratio=0.25),repair($cal)")"
    factor=$(python3 -c "print(f'{$before/$after:.1f}' if $after > 0 else 'n/a')")
    printf '| %s | prune-channels(ratio=0.25) | %.4f | %.4f | %sx | %.1f s |\n' "$name" "$before" "$after" "$factor" "$took"
  done
fi
if [ "${QUANT:-0}" != 0 ]; then
  echo
  echo "| model | format | method | rel L2 (held out) | ratio to RTN | pass time |"
  echo "|---|---|---|---|---|---|"
  for name in $models; do
    flags "$name"
    [ "$name" = mlp ] && vflags=(--samples 4 --seed 2 --shape "input=64x64")
    format=matmulnbits
    case $name in ppocr-*) format=qdq ;; esac
    base=""
    methods="rtn gptq-layer gptq"
    [ -n "${DAMPS:-}" ] && methods="$methods gptq-damps"
    for method in $methods; do
      p="quantize(type=int4,block=32,format=$format,method=${method%-*}"
      [ $method = gptq ] && p="$p,damp=${DAMP:-0.01},$cal"
      [ $method = gptq-layer ] && p="$p,damp=${DAMP:-0.01},target=layer,$cal"
      [ $method = gptq-damps ] && p="$p,damps=$DAMPS,$cal"
      read -r err took <<<"$(measure "$p)")"
      [ $method = rtn ] && base=$err
      ratio=$(python3 -c "e, b = float('$err'), float('$base'); print(f'{e/b:.2f}')")
      printf '| %s | %s | %s | %.4f | %s | %.1f s |\n' "$name" "$format" "$method" "$err" "$ratio" "$took"
    done
  done
fi
