#!/usr/bin/env bash
# bench-sparsity.sh: output error (relative L2 on held-out inputs) of
# magnitude, Wanda and SparseGPT pruning at 50% unstructured and 2:4, on the
# planted MLP and the real models `make setup` installs. Calibration uses
# seed 1 (the default), evaluation seed 1000. Prints one markdown table row
# per model and method, with the pass's wall time.
#
#   scripts/bench-sparsity.sh [MODEL...]   (default: mlp ppocr-cls ppocr-det hello_deepa)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/onnxopt" ./cmd/onnxopt
o="$bin/onnxopt"
models_dir="${ONNXOPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxopt}/models"
"$o" gen mlp --dim 64 --hidden 256 --blocks 2 --seed 3 --outliers 4 -o "$bin/mlp.onnx" >/dev/null

# model -> "path|calibration shapes|verify shape flag|samples"
declare -A spec=(
  [mlp]="$bin/mlp.onnx|input:64x64|--shape input=64x64|8"
  [ppocr-cls]="$models_dir/ppocr-cls.onnx|x:1x3x48x192|--shape x=1x3x48x192|32"
  [ppocr-det]="$models_dir/ppocr-det.onnx|x:1x3x320x320|--shape x=1x3x320x320|8"
  [hello_deepa]="$models_dir/hello_deepa.onnx||--shape x=1|256"
)
echo "| model | pattern | method | rel L2 (held out) | ratio to magnitude | pass time |"
echo "|---|---|---|---|---|---|"
for name in "${@:-mlp ppocr-cls ppocr-det hello_deepa}"; do
  for name1 in $name; do
    IFS='|' read -r path cshape vshape samples <<<"${spec[$name1]}"
    cal="samples=$samples"
    [ -n "$cshape" ] && cal="$cal,shapes=$cshape"
    vflags=(--samples 4 --seed 1000 --json)
    [ "$name1" != hello_deepa ] && vflags+=($vshape)
    for pat in "50%" "2:4"; do
      base=""
      for method in magnitude wanda sparsegpt; do
        if [ "$pat" = "50%" ]; then
          p="prune(sparsity=0.5"; [ $method != magnitude ] && p="$p,method=$method,$cal"; p="$p)"
        else
          p="nm"; [ $method != magnitude ] && p="nm(method=$method,$cal)"
        fi
        start=$(date +%s.%N)
        "$o" run -p "$p" "$path" -o "$bin/out.onnx" >/dev/null
        took=$(echo "$(date +%s.%N) - $start" | bc)
        err=$("$o" verify "${vflags[@]}" "$path" "$bin/out.onnx" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["rel_l2"])' || true)
        [ $method = magnitude ] && base=$err
        ratio=$(python3 -c "print(f'{$err/$base:.2f}')")
        printf '| %s | %s | %s | %.4f | %s | %.1f s |\n' "$name1" "$pat" "$method" "$err" "$ratio" "$took"
      done
    done
  done
done
