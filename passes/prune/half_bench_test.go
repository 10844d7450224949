package prune_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
)

// BenchmarkPruneDTypes measures, side by side on one generated MLP,
// prune(sparsity=0.5) on its float32 weights, convert-float(to=float16),
// and prune(sparsity=0.5) on the float16 conversion. The MLP holds
// ONNXOPT_BENCH_MB megabytes of float32 weights (default 100; BENCHMARKS.md
// uses 1024); SetBytes is the float32 size throughout, so MB/s compare
// like for like. Each iteration starts from a fresh copy-on-write model.
func BenchmarkPruneDTypes(b *testing.B) {
	mb := int64(100)
	if s := os.Getenv("ONNXOPT_BENCH_MB"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			b.Fatalf("ONNXOPT_BENCH_MB=%q is not a positive integer", s)
		}
		mb = v
	}
	opts := modelgen.MLPForBytes(mb<<20, modelgen.MLPOptions{Seed: 1})
	f32 := modelgen.MLP(opts)
	m, err := graph.FromProto(f32, nil)
	if err != nil {
		b.Fatal(err)
	}
	passtest.Run(b, m, "convert-float(to=float16)", 0)
	f16 := m.ToProto()
	for _, c := range []struct {
		name     string
		model    *onnx.ModelProto
		pipeline string
	}{
		{"prune-float32", f32, "prune(sparsity=0.5)"},
		{"convert-float16", f32, "convert-float(to=float16)"},
		{"prune-float16", f16, "prune(sparsity=0.5)"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(opts.WeightBytes())
			for b.Loop() {
				b.StopTimer()
				m, err := graph.FromProto(c.model, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep := passtest.Run(b, m, c.pipeline, 0)
				if rep.TensorsTouched == 0 {
					b.Fatal("nothing changed")
				}
			}
		})
	}
}
