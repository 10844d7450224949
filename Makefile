# onnxopt: `make demo` and `make test` are all a newcomer needs; both install
# what they use first (scripts/setup.sh), so they work from a fresh clone.

GO        ?= go
BIN       := bin/onnxopt
# Fuzz targets for `make fuzz`, each as PACKAGE:FuzzName, e.g. ./onnx:FuzzDecode.
FUZZ_TARGETS ?= ./onnx:FuzzDecode ./graph:FuzzFromProto ./passes/all:FuzzPasses ./passes:FuzzParsePipeline
FUZZTIME     ?= 60s
TEST_TIMEOUT ?= 14m

# Pass the cache folder on to scripts and tests only when the caller set it;
# otherwise both fall back to the same default (see internal/testenv).
ifdef ONNXOPT_CACHE
export ONNXOPT_CACHE
endif

.PHONY: all setup bench-setup build test demo fuzz bench clean

all: build

setup:
	bash scripts/setup.sh

bench-setup:
	bash scripts/setup.sh --bench

build:
	$(GO) build ./...
	$(GO) build -o $(BIN) ./cmd/onnxopt

# The whole suite, then the packages that run work on several goroutines
# (the passes, the copy-on-write IR, the numerical kernels and the worker
# pool) again under the race detector, with -short: the numerical
# acceptance runs through ONNX Runtime (testenv.Heavy) ran in the first pass.
test: setup
	$(GO) test ./... -count=1 -timeout $(TEST_TIMEOUT)
	$(GO) test -race -short ./onnx ./graph ./passes/... ./internal/obs ./internal/parallel -count=1 -timeout $(TEST_TIMEOUT)

demo: setup build
	bash scripts/demo.sh

fuzz:
	@if [ -z "$(strip $(FUZZ_TARGETS))" ]; then \
		echo "fuzz: no targets; run e.g. make fuzz FUZZ_TARGETS='./onnx:FuzzDecode' FUZZTIME=$(FUZZTIME)"; \
	fi
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

bench: bench-setup
	$(GO) test -run '^$$' -bench . ./...

clean:
	rm -rf bin
	find . -name '*.test' -type f -not -path './.git/*' -delete
