package graph_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// BenchmarkReadWrite100MB reads a ~100 MB model into the IR and writes it
// back (the lossless round trip `onnxopt run` does with no passes);
// MB/s counts the model's bytes.
func BenchmarkReadWrite100MB(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "in.onnx")
	opts := modelgen.MLPForBytes(100<<20, modelgen.MLPOptions{Seed: 1})
	if err := modelgen.WriteMLP(in, opts, false); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(in)
	b.SetBytes(st.Size())
	out := filepath.Join(dir, "out.onnx")
	b.ResetTimer()
	for range b.N {
		m, err := graph.ReadFile(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
