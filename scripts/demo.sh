#!/usr/bin/env bash
# Runs onnxopt on an example model shipped in the repository (`make demo`
# builds bin/onnxopt and installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."

bin/onnxopt --help
