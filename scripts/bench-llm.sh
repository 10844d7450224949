#!/usr/bin/env bash
# Streaming at LLM scale, measured in one run: a 7B-shaped Llama with
# float32 weights in external data (about 27 GB; `onnxopt gen llama
# --preset 7b --external`) through streamed passes under --max-memory, each
# against one plain read of its side file. Wall time and peak memory come
# from /usr/bin/time -v; each run starts with the side file dropped from the
# page cache (dd iflag=nocache count=0), so reads come from the disk. Each
# output is checked (quantize: ONNX Runtime loads it and runs one token),
# measured and deleted at once, so the disk needs room for the model and one
# output.
#
#   scripts/bench-llm.sh DIR [STEP...]
#
# DIR holds llama7b.onnx (generated there when missing). STEPs (default:
# all) are read, prune, quantize, convert; outputs go to DIR/out. Results
# are printed as the rows of BENCHMARKS.md's LLM streaming table.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:?usage: $0 DIR [read|prune|quantize|convert ...]}
shift
steps=${*:-read prune quantize convert}
max=${MAX_MEMORY:-3GB}
[ -x /usr/bin/time ] || { echo "bench-llm: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/onnxopt-llm.XXXXXX")
trap 'rm -rf "$work" "$dir/out"' EXIT
go build -o "$work/onnxopt" ./cmd/onnxopt
bin=$work/onnxopt
model=$dir/llama7b.onnx
data=$model.data
if [ ! -f "$model" ]; then
	echo "generating $model (about 27 GB)" >&2
	"$bin" gen llama --preset 7b --external -o "$model"
fi
size=$(stat -c %s "$data")
drop() { dd if="$data" iflag=nocache count=0 status=none; sync; }

# timed NAME CMD...: runs CMD under /usr/bin/time -v; sets wall (s) and rss (MiB).
timed() {
	local name=$1
	shift
	drop
	/usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>&1 || { cat "$work/$name.out" "$work/$name.time" >&2; return 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2 / 1024}' "$work/$name.time")
}

read_s=""
row() { # NAME OUTBYTES
	local ratio="-"
	[ -n "$read_s" ] && ratio=$(awk -v a="$wall" -v b="$read_s" 'BEGIN {printf "%.2fx", a / b}')
	local out="-"
	[ "$2" != "-" ] && out=$(awk -v o="$2" -v i="$size" 'BEGIN {printf "%.2f GB (%.3fx)", o / 1e9, o / i}')
	printf '| %s | %.1f s | %d MiB | %s | %s |\n' "$1" "$wall" "$rss" "$ratio" "$out"
}
outsize() { du -cb --apparent-size "$dir/out" | tail -1 | cut -f1; }

printf 'model: %s, side file %.2f GB, --max-memory %s, %s cores, %s\n' "$model" "$(awk -v s="$size" 'BEGIN {print s / 1e9}')" "$max" "$(nproc)" "$(date -u +%F)"
echo '| run | wall time | peak memory | time / plain read | output |'
echo '|---|---|---|---|---|'
for step in $steps; do
	rm -rf "$dir/out"
	mkdir -p "$dir/out"
	case $step in
	read)
		timed read cat "$data"
		read_s=$wall
		row 'plain read: `cat side-file > /dev/null`' -
		;;
	prune)
		timed prune "$bin" run "$model" -o "$dir/out/pruned.onnx" -q --max-memory "$max" -p 'prune(sparsity=0.5)'
		row "streamed \`prune(sparsity=0.5)\`" "$(outsize)"
		;;
	quantize)
		timed quantize "$bin" run "$model" -o "$dir/out/q4.onnx" -q --max-memory "$max" -p 'quantize(type=int4,block=32,gather=true)'
		row "streamed \`quantize(type=int4,block=32,gather=true)\`" "$(outsize)"
		/usr/bin/time -v -o "$work/ort.time" "$bin" bench "$dir/out/q4.onnx" --shape batch=1 --shape seq=1 --runs 1 --warmup 0 >"$work/ort.out" 2>&1 ||
			{ cat "$work/ort.out" >&2; exit 1; }
		echo "ONNX Runtime ran one token of the int4 model: $(grep -v '^$' "$work/ort.out" | tail -1) (peak $(awk -F': ' '/Maximum resident/ {printf "%d", $2 / 1024}' "$work/ort.time") MiB)"
		;;
	convert)
		timed convert "$bin" run "$model" -o "$dir/out/f16.onnx" -q --max-memory "$max" -p 'convert-float(to=float16)'
		row "streamed \`convert-float(to=float16)\`" "$(outsize)"
		;;
	*) echo "bench-llm: unknown step $step" >&2; exit 2 ;;
	esac
	rm -rf "$dir/out"
done
