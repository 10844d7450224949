package oneshot_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/nm"
)

var mlpWeights = []string{"block0.fc1.weight", "block0.fc2.weight", "block1.fc1.weight", "block1.fc2.weight", "head.weight"}

// TestExactPatterns: Wanda and SparseGPT give every output row exactly
// half zeros at sparsity=0.5 and every group of 4 input features at least
// 2 zeros for nm, on MatMul and on Gemm(transB=1) weights; nm records the
// tensors in the model's metadata as its magnitude path does.
func TestExactPatterns(t *testing.T) {
	runtime(t)
	for _, transB := range []bool{false, true} {
		for _, method := range []string{"wanda", "sparsegpt"} {
			t.Run(fmt.Sprintf("transB=%v/%s", transB, method), func(t *testing.T) {
				p := modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Classes: 8, Outliers: 2, TransB: transB})
				m, err := graph.FromProto(p, nil)
				if err != nil {
					t.Fatal(err)
				}
				rep := passtest.Run(t, m, "prune(sparsity=0.5,method="+method+",shapes=input:32x32,samples=4)", 0)
				if rep.TensorsTouched != len(mlpWeights) || rep.Extra["levels"] != 5 {
					t.Errorf("touched %d tensors in %v levels, want %d in 5", rep.TensorsTouched, rep.Extra["levels"], len(mlpWeights))
				}
				for _, name := range mlpWeights {
					checkRows(t, m, name, 0.5)
				}
				m, _ = graph.FromProto(p, nil)
				passtest.Run(t, m, "nm(method="+method+",shapes=input:32x32,samples=4)", 0)
				for _, name := range mlpWeights {
					checkNM(t, m, name, 2, 4)
				}
				ann, _ := m.Metadata(nm.MetadataKey)
				got := map[string]string{}
				if err := json.Unmarshal([]byte(ann), &got); err != nil {
					t.Fatalf("metadata %q: %v", ann, err)
				}
				for _, name := range mlpWeights {
					if got[name] != "2:4" {
						t.Errorf("metadata %s: %s is %q, want 2:4", nm.MetadataKey, name, got[name])
					}
				}
			})
		}
	}
}

// checkRows checks that every row of name's layout Matrix has exactly
// round(s·Cols) zeros and only finite values.
func checkRows(t *testing.T, m *graph.Model, name string, s float64) {
	t.Helper()
	v := m.Graph.Lookup(name)
	vals := passtest.Values(t, m, name)
	n := v.Uses()[0].Node
	l, _ := passes.LayoutOf(n)
	mat, err := l.Matrix(n, v.Const().Dims())
	if err != nil {
		t.Fatal(err)
	}
	want := int(math.Round(s * float64(mat.Cols)))
	for r := range mat.Rows {
		zeros := 0
		for c := range mat.Cols {
			x := vals[mat.Index(r, c)]
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s: row %d has %v", name, r, x)
			}
			if x == 0 {
				zeros++
			}
		}
		if zeros != want {
			t.Fatalf("%s: row %d has %d zeros of %d, want %d", name, r, zeros, mat.Cols, want)
		}
	}
}
