package convertfloat_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// BenchmarkFloat16MLP converts a ~100 MB generated float32 MLP to float16;
// the bytes are the model's weights.
func BenchmarkFloat16MLP(b *testing.B) {
	opts := modelgen.MLPForBytes(100<<20, modelgen.MLPOptions{Seed: 1})
	p := modelgen.MLP(opts)
	pipe, err := passes.Parse("convert-float")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(opts.WeightBytes())
	for b.Loop() {
		b.StopTimer()
		m, err := graph.FromProto(p, nil) // the caller's proto stays float32
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := passes.Run(pipe, m, passes.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Passes[0].TensorsTouched == 0 {
			b.Fatal("nothing converted")
		}
	}
}
