package prune_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// BenchmarkPruneGlobal runs prune(sparsity=0.5,scope=global) over a
// ~100 MB MLP; the bytes are the model's weights. Each iteration starts
// from the original values (restored outside the timer).
func BenchmarkPruneGlobal(b *testing.B) { benchPrune(b, "prune(sparsity=0.5,scope=global)") }

// BenchmarkPruneTensor is BenchmarkPruneGlobal with per-tensor sparsity.
func BenchmarkPruneTensor(b *testing.B) { benchPrune(b, "prune(sparsity=0.5)") }

func benchPrune(b *testing.B, pipeline string) {
	opts := modelgen.MLPForBytes(100<<20, modelgen.MLPOptions{Seed: 1})
	m, err := graph.FromProto(modelgen.MLP(opts), nil)
	if err != nil {
		b.Fatal(err)
	}
	var tensors []*graph.Tensor
	var saved [][]float32
	for _, v := range m.Graph.Initializers {
		data, err := v.Tensor.MutableFloat32s()
		if err != nil {
			b.Fatal(err)
		}
		tensors = append(tensors, v.Tensor)
		saved = append(saved, append([]float32(nil), data...))
	}
	p, err := passes.Parse(pipeline)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(opts.WeightBytes())
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i, t := range tensors {
			data, _ := t.MutableFloat32s()
			copy(data, saved[i])
		}
		b.StartTimer()
		rep, err := passes.Run(p, m, passes.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Passes[0].WeightsZeroed == 0 {
			b.Fatal("nothing pruned")
		}
	}
}
