package prune_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/passtest"
)

// BenchmarkPruneGlobal runs prune(sparsity=0.5,scope=global) over a
// ~100 MB MLP; the bytes are the model's weights.
func BenchmarkPruneGlobal(b *testing.B) {
	passtest.BenchMLP(b, "prune(sparsity=0.5,scope=global)")
}

// BenchmarkPruneTensor is BenchmarkPruneGlobal with per-tensor sparsity.
func BenchmarkPruneTensor(b *testing.B) { passtest.BenchMLP(b, "prune(sparsity=0.5)") }
