package passes_test

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// seen records what test-ref and test-noref found: the reference's first
// weight value, -1 for no reference, 1e9 for a reference given to a pass
// that did not ask for one.
var seen []float32

func init() {
	passes.Register(&passes.Pass{Name: "test-zero", Doc: "test pass that zeroes weight w",
		Run: func(_ *passes.Context, m *graph.Model, _ passes.Args) error {
			w, err := m.Graph.Lookup("w").Const().MutableFloat32s()
			clear(w)
			return err
		}})
	passes.Register(&passes.Pass{Name: "test-ref", Doc: "test pass that reads the reference", NeedsReference: true,
		Run: func(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
			ref := ctx.Reference()
			if ref == nil {
				seen = append(seen, -1)
				return nil
			}
			w, err := ref.Graph.Lookup("w").Const().Float32s()
			if err != nil {
				return err
			}
			seen = append(seen, w[0])
			return nil
		}})
	passes.Register(&passes.Pass{Name: "test-noref", Doc: "test pass that reads the reference without declaring it",
		Run: func(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
			if ctx.Reference() != nil {
				seen = append(seen, 1e9)
			}
			return nil
		}})
}

func weightModel(t *testing.T) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("w")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 2)
	w := b.Init("w", []int64{2, 2}, []float32{3, 4, 5, 6})
	b.Output(b.Op("mm", "MatMul", []string{x, w}), onnx.TensorProto_FLOAT, 1, 2)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReference checks that a pass declaring NeedsReference sees the model
// as it entered the pipeline, unchanged by the passes before it, and that
// the others see none.
func TestReference(t *testing.T) {
	seen = nil
	m := weightModel(t)
	if _, err := passes.Run(mustParse(t, "test-noref,test-zero,test-ref,test-noref"), m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != 3 {
		t.Errorf("test-ref saw reference weights starting %v, want [3] (the weight before test-zero)", seen)
	}
	if w, _ := m.Graph.Lookup("w").Const().Float32s(); w[0] != 0 {
		t.Errorf("the pipeline's model has w[0] = %v, want 0", w[0])
	}
}
