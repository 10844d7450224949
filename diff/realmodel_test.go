package diff

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestConstantNodeWeightsOfARealModel diffs PP-OCR's classifier, whose
// weights are all Constant nodes, with itself and with a copy whose
// Constant-node convolution weights are pruned in place.
func TestConstantNodeWeightsOfARealModel(t *testing.T) {
	path := testenv.Model(t, "ppocr-cls.onnx")
	read := func() *graph.Model {
		m, err := graph.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := read(), read()
	if r := mustCompare(t, a, read()); !r.Empty() {
		t.Fatalf("a model differs from itself: %+v", r.Summary)
	}
	pruned := map[string]bool{}
	for _, n := range b.Graph.Nodes {
		if n.OpType() != "Conv" || n.Input(1) == nil {
			continue
		}
		c := n.Input(1).Const()
		if c == nil || c.DataType() != int32(onnx.TensorProto_FLOAT) || n.Input(1).Tensor != nil {
			continue
		}
		v, err := c.MutableFloat32s()
		if err != nil {
			t.Fatal(err)
		}
		for i := range v {
			if i%4 != 0 {
				v[i] = 0
			}
		}
		pruned[n.Input(1).Name] = true
	}
	if len(pruned) < 10 {
		t.Fatalf("only %d Constant-node Conv weights found", len(pruned))
	}
	r := mustCompare(t, a, b)
	if len(r.Nodes.Added)+len(r.Nodes.Removed)+len(r.Nodes.Changed) != 0 {
		t.Errorf("pruning changed nodes: %d added, %d removed, %d changed", len(r.Nodes.Added), len(r.Nodes.Removed), len(r.Nodes.Changed))
	}
	for _, td := range r.Tensors {
		switch {
		case pruned[td.Name]:
			if td.Status != "changed" || td.Before.Kind != "constant" || td.After.Sparsity < 0.74 || td.After.Sparsity <= td.Before.Sparsity {
				t.Errorf("%s: status %s, kind %s, sparsity %.3f → %.3f", td.Name, td.Status, td.Before.Kind, td.Before.Sparsity, td.After.Sparsity)
			}
		case td.Status != "same":
			t.Errorf("untouched %s: status %s", td.Name, td.Status)
		}
	}
	if r.Summary.TensorsChanged != len(pruned) {
		t.Errorf("%d tensors changed, want %d", r.Summary.TensorsChanged, len(pruned))
	}
}
