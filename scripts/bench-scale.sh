#!/usr/bin/env bash
# Performance at scale, measured side by side in one run: onnxopt against
# the script a user would write with Python's onnx package and numpy
# (scripts/prune_numpy.py), both doing "load, global magnitude prune to
# 50%, save" on generated float32 MLP models. Wall time and peak memory
# come from /usr/bin/time; throughput is compared with this machine's
# memory copy bandwidth. Results replace the "scale" section of
# BENCHMARKS.md.
#
#   scripts/bench-scale.sh [--sizes "100MB 1GB"] [--reps N] [--big]
#
# --big also runs a 2.5 GB model with external data through prune and
# quantize(type=int8,mode=dynamic) and loads both results in ONNX Runtime.
#
# --stream SIZE measures streaming (a model whose weights do not fit
# --max-memory) on a generated model of SIZE with external data: one plain
# read of the side file against streamed prune runs, with peak memory;
# results replace the "stream" section. --sizes "" skips the Python race.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes="100MB 1GB"
reps=2
big=0
stream=""
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) sizes="$2"; shift 2 ;;
	--reps) reps="$2"; shift 2 ;;
	--big) big=1; shift ;;
	--stream) stream="$2"; shift 2 ;;
	*) echo "usage: $0 [--sizes \"100MB 1GB\"] [--reps N] [--big] [--stream SIZE]" >&2; exit 2 ;;
	esac
done

PY=/usr/bin/python3
[ -z "$sizes" ] || "$PY" -c 'import onnx, numpy' 2>/dev/null || { echo "bench-scale: needs python3-onnx and python3-numpy (make bench-setup)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-scale: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/onnxopt-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/onnxopt" ./cmd/onnxopt
go build -o "$work/membw" ./internal/tools/membw
bw=$("$work/membw")
echo "memory copy bandwidth: $bw GB/s"

# timed CMD... : prints "seconds peak_kb" for one run.
timed() {
	/usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt" || { cat "$work/err.txt" >&2; return 1; }
	cat "$work/time.txt"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

rows=""
for size in $sizes; do
	model="$work/mlp-$size.onnx"
	"$work/onnxopt" gen mlp --size "$size" -o "$model" >/dev/null
	bytes=$(stat -c %s "$model")
	: >"$work/go.txt"
	: >"$work/py.txt"
	: >"$work/pass.txt"
	for r in $(seq "$reps"); do
		# Interleaved, so both see the same machine state.
		timed "$PY" scripts/prune_numpy.py "$model" "$work/py.onnx" 0.5 >>"$work/py.txt"
		timed "$work/onnxopt" run -q -p 'prune(sparsity=0.5,scope=global)' "$model" -o "$work/go.onnx" --report "$work/rep.json" >>"$work/go.txt"
		python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["passes"][0]["seconds"])' "$work/rep.json" >>"$work/pass.txt"
		rm -f "$work/py.onnx" "$work/go.onnx"
	done
	go_s=$(cut -d' ' -f1 "$work/go.txt" | median)
	py_s=$(cut -d' ' -f1 "$work/py.txt" | median)
	pass_s=$(median <"$work/pass.txt")
	go_kb=$(cut -d' ' -f2 "$work/go.txt" | sort -n | tail -1)
	py_kb=$(cut -d' ' -f2 "$work/py.txt" | sort -n | tail -1)
	row=$(awk -v s="$size" -v b="$bytes" -v gs="$go_s" -v ps="$py_s" -v gk="$go_kb" -v pk="$py_kb" -v bw="$bw" -v pass="$pass_s" 'BEGIN {
		mb = b / 1048576
		printf "| %s (%.0f MiB) | %.2f s | %.2f s | %.2fx | %.0f MiB (%.2fx model) | %.0f MiB (%.2fx model) | %.2f GB/s end to end; the pass alone %.2f s, %.2f GB/s (%.0f%% of copy bandwidth) |",
			s, mb, gs, ps, gs / ps, gk / 1024, gk * 1024 / b, pk / 1024, pk * 1024 / b, b / gs / 1e9, pass, b / pass / 1e9, 100 * b / pass / 1e9 / bw }')
	echo "$row"
	rows+="$row"$'\n'
done

bigrows=""
if [ "$big" = 1 ]; then
	model="$work/big/mlp-2.5GB.onnx"
	mkdir -p "$work/big"
	"$work/onnxopt" gen mlp --size 2.5GB --external -o "$model" >/dev/null
	for pipeline in 'prune(sparsity=0.5,scope=global)' 'quantize(type=int8,mode=dynamic)'; do
		# --external-threshold keeps every output under protobuf's 2 GB limit.
		out="$work/big/out.onnx"
		t=$(timed "$work/onnxopt" run -q -p "$pipeline" "$model" -o "$out" --external-threshold 1MB)
		session=$("$work/onnxopt" bench --json --runs 1 --warmup 0 "$out" | awk -F': ' '/session_ms/ {gsub(/,/, "", $2); printf "%.1f", $2 / 1000}')
		row="| \`$pipeline\` | $(echo "$t" | awk '{printf "%.1f s, peak %.0f MiB", $1, $2/1024}') | session created in ${session} s, one inference run |"
		echo "$row"
		bigrows+="$row"$'\n'
		rm -f "$out" "$out.data"
	done
fi

# replace_section NAME TEXT: puts TEXT between NAME's markers in
# BENCHMARKS.md, or appends it.
replace_section() {
	touch BENCHMARKS.md
	python3 - "$1" "$2" <<'PY'
import re, sys
name, section = sys.argv[1], sys.argv[2]
text = open("BENCHMARKS.md").read()
pat = re.compile(r"<!-- %s:begin.*?<!-- %s:end -->" % (name, name), re.S)
if pat.search(text):
    text = pat.sub(lambda _: section, text)
else:
    if not text.strip():
        text = "# Benchmarks\n\nFigures measured side by side in one run on the machine named in each section.\n"
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
	echo "updated BENCHMARKS.md ($1)"
}

if [ -n "$stream" ]; then
	sdir="$work/stream"
	mkdir -p "$sdir"
	model="$sdir/mlp.onnx"
	"$work/onnxopt" gen mlp --size "$stream" --external -o "$model" | tee "$work/gen.txt"
	data="$model.data"
	dbytes=$(stat -c %s "$data")
	# Half the weights: the model cannot be held, so run must stream.
	limit=$((dbytes / 2))
	srows=""
	# Each run starts with the side file out of the page cache (only this
	# file's pages are dropped), so every read comes from the disk.
	evict() { dd if="$data" iflag=nocache count=0 status=none; }
	evict
	t_read=$(timed cat "$data")
	read_s=$(echo "$t_read" | cut -d' ' -f1)
	evict
	t=$(timed dd if="$data" of="$sdir/copy" bs=4M conv=fsync status=none)
	copy_s=$(echo "$t" | cut -d' ' -f1)
	rm -f "$sdir/copy"
	row() { awk -v r="$read_s" -v c="$copy_s" '{printf "%.2f s | %.0f MiB | %.2fx | %.2fx", $1, $2/1024, $1/r, $1/c}'; }
	srows+="| plain read: \`cat side-file > /dev/null\` | $(echo "$t_read" | row) |"$'\n'
	srows+="| plain copy: \`dd bs=4M conv=fsync\` of the side file | $(echo "$t" | row) |"$'\n'
	mkdir -p "$sdir/out"
	for pipeline in 'prune(sparsity=0.5)' 'prune(sparsity=0.5,scope=global)' 'nm(n=2,m=4)'; do
		evict
		t=$(timed "$work/onnxopt" run -q -p "$pipeline" "$model" -o "$sdir/out/out.onnx" --max-memory "$limit")
		srows+="| streamed \`$pipeline\`, --max-memory $((limit >> 20)) MiB | $(echo "$t" | row) |"$'\n'
		rm -f "$sdir"/out/*
	done
	# The same pass with the model in memory, for comparison.
	evict
	t=$(timed "$work/onnxopt" run -q -p 'prune(sparsity=0.5)' "$model" -o "$sdir/out/out.onnx" --max-memory 0)
	srows+="| in memory \`prune(sparsity=0.5)\`, --max-memory 0 | $(echo "$t" | row) |"$'\n'
	rm -rf "$sdir/out"
	echo "$srows"
	ssection=$(cat <<MD
<!-- stream:begin (written by scripts/bench-scale.sh --stream; do not edit by hand) -->
## Streaming: weights larger than memory

\`scripts/bench-scale.sh --stream $stream\` on $(nproc) cores, $(date -u +%Y-%m-%d): $(sed 's/^wrote [^:]*: //; s/ (in [^)]*)//; s/, in [0-9.a-z]*$//' "$work/gen.txt").
Side file: $((dbytes >> 20)) MiB. Streamed runs get \`--max-memory\` of half the weights, so
\`onnxopt run\` streams them by itself: each weight is read (one positioned
read), changed, written to its place in the output's side file and released.
Global prune reads the weights three times (two histogram passes that keep
no weights, then the change). Peak memory is the process's maximum resident
set (\`/usr/bin/time\`); time is wall time, compared with one plain read of
the side file and with a plain synced copy of it (the least any tool that
writes the output must do). Every run starts with the side file dropped from
the page cache (\`dd iflag=nocache count=0\`), so reads come from the disk.

| run | wall time | peak memory | time / plain read | time / plain copy |
|---|---|---|---|---|
${srows}
<!-- stream:end -->
MD
)
	replace_section stream "$ssection"
	rm -rf "$sdir"
fi

[ -n "$sizes" ] || exit 0

section=$(cat <<MD
<!-- scale:begin (written by scripts/bench-scale.sh; do not edit by hand) -->
## Performance at scale: prune a big model

\`scripts/bench-scale.sh --sizes "$sizes" --reps $reps$( [ "$big" = 1 ] && echo " --big")\` on $(nproc) cores, $(date -u +%Y-%m-%d).
Both tools load a generated float32 MLP (\`onnxopt gen mlp --size S\`), prune
its MatMul weights to 50% zeros by global magnitude, and save it; runs are
interleaved and the median of $reps is shown, with the worst peak memory.
onnxopt: \`onnxopt run -p 'prune(sparsity=0.5,scope=global)' in.onnx -o out.onnx\`;
Python: \`python3 scripts/prune_numpy.py in.onnx out.onnx 0.5\` (onnx + numpy,
np.partition for the threshold). Memory copy bandwidth here: $bw GB/s
(\`go run ./internal/tools/membw\`), the ceiling for a pass over all weights.

| model | onnxopt | Python | time ratio | onnxopt peak | Python peak | onnxopt throughput |
|---|---|---|---|---|---|---|
${rows}
$( [ -n "$bigrows" ] && printf '\n| 2.5 GB model, external data | onnxopt run | ONNX Runtime |\n|---|---|---|\n%s' "$bigrows" )
<!-- scale:end -->
MD
)

replace_section scale "$section"
