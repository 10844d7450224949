package nm_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/passtest"
)

// BenchmarkNM runs nm(n=2,m=4) over a ~100 MB MLP; the bytes are the
// model's weights.
func BenchmarkNM(b *testing.B) { passtest.BenchMLP(b, "nm(n=2,m=4)") }
