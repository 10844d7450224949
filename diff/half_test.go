package diff_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/diff"
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	_ "github.com/onnxopt/onnxopt/passes/all"
)

// TestHalfSparsityAndBytes: inspect and diff report the sparsity and the
// bytes of float16 and bfloat16 weights, dense and sparse, and diff
// compares their values.
func TestHalfSparsityAndBytes(t *testing.T) {
	for _, tc := range []struct {
		convert string
		dtype   string
	}{
		{"convert-float(to=float16)", "float16"},
		{"convert-float(to=bfloat16,compute=float32)", "bfloat16"},
	} {
		t.Run(tc.dtype, func(t *testing.T) {
			load := func() *graph.Model {
				m, err := graph.FromProto(modelgen.MLP(modelgen.MLPOptions{Dim: 32, Blocks: 1, Seed: 4}), nil)
				if err != nil {
					t.Fatal(err)
				}
				passtest.Run(t, m, tc.convert, 1)
				return m
			}
			a, b := load(), load()
			passtest.Run(t, b, "prune(sparsity=0.9,include=block0.fc1.weight),prune(sparsity=0.5,include=block0.fc2.weight),sparse-storage(min-sparsity=0.8)", 1)
			s, err := inspect.Model(b)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]inspect.Tensor{}
			for _, x := range s.Tensors {
				got[x.Name] = x
			}
			fc1, fc2 := got["block0.fc1.weight"], got["block0.fc2.weight"]
			// fc1 [32,128] is sparse: 410 float16 values and int64 indices.
			if fc1.Kind != "sparse" || fc1.DType != tc.dtype || fc1.Sparsity < 0.899 || fc1.Sparsity > 0.901 || fc1.Bytes != 410*(2+8) {
				t.Errorf("fc1: %+v, want sparse %s, sparsity 0.9, %d bytes", fc1, tc.dtype, 410*10)
			}
			if fc2.Kind != "initializer" || fc2.DType != tc.dtype || fc2.Sparsity != 0.5 || fc2.Bytes != 128*32*2 {
				t.Errorf("fc2: %+v, want dense %s, sparsity 0.5, %d bytes", fc2, tc.dtype, 128*32*2)
			}
			if s.Bytes[tc.dtype] == 0 {
				t.Errorf("no %s bytes in %v", tc.dtype, s.Bytes)
			}
			r, err := diff.Compare(a, b, "a", "b")
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, td := range r.Tensors {
				if td.Name != "block0.fc1.weight" && td.Name != "block0.fc2.weight" {
					continue
				}
				seen++
				if td.Status != "changed" || td.MaxAbsDiff == nil || *td.MaxAbsDiff == 0 || td.RelChange == nil || *td.RelChange <= 0 || *td.RelChange >= 1 {
					t.Errorf("%s: status %s, max abs %v, rel %v", td.Name, td.Status, td.MaxAbsDiff, td.RelChange)
				}
				if td.After == nil || td.After.DType != tc.dtype || td.After.Sparsity < 0.49 {
					t.Errorf("%s after: %+v", td.Name, td.After)
				}
			}
			if seen != 2 {
				t.Errorf("%d of the pruned tensors in the diff", seen)
			}
		})
	}
}
