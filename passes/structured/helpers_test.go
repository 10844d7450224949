package structured

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/verify"
)

// load converts a built model into IR form.
func load(t *testing.T, p *onnx.ModelProto) *graph.Model {
	t.Helper()
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// runPipeline runs a pipeline text over m and returns the pass reports.
func runPipeline(t *testing.T, m *graph.Model, text string) *passes.Report {
	t.Helper()
	p, err := passes.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(p, m, passes.RunOptions{})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return rep
}

// write saves m to a temporary file and returns the path.
func write(t *testing.T, m *graph.Model, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := m.WriteFile(path, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// compareORT runs both models in ONNX Runtime on the same random inputs
// and returns the comparison of each output; it ends the test when the
// runtime is not installed.
func compareORT(t *testing.T, ref, cand string, shapes ort.Shapes) *verify.Report {
	t.Helper()
	testenv.Runtime(t)
	rep, err := verify.Verify(ref, cand, verify.Config{
		Options:   ort.Options{Threads: 1},
		Tolerance: verify.Tolerance{ATol: 1e-4},
		Shapes:    shapes,
		Samples:   2,
		Seed:      7,
	})
	if err != nil {
		t.Fatalf("running %s against %s in ONNX Runtime: %v", filepath.Base(cand), filepath.Base(ref), err)
	}
	for _, d := range rep.Outputs {
		if len(d.Problems) > 0 {
			t.Errorf("output %s: %v", d.Name, d.Problems)
		}
	}
	return rep
}

// dims returns the shape of constant name in m.
func dims(t *testing.T, m *graph.Model, name string) []int64 {
	t.Helper()
	v := m.Graph.Lookup(name)
	if v == nil || v.Const() == nil {
		t.Fatalf("no constant %s", name)
	}
	return v.Const().Dims()
}

// params counts the float32 constant elements of m.
func params(m *graph.Model) int64 {
	var n int64
	m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			if e, err := v.Tensor.Elements(); err == nil && v.Tensor.DataType() == int32(onnx.TensorProto_FLOAT) {
				n += e
			}
		}
		for _, node := range g.Nodes {
			if c := node.Output(0).Const(); node.OpType() == "Constant" && c != nil && c.DataType() == int32(onnx.TensorProto_FLOAT) {
				e, _ := c.Elements()
				n += e
			}
		}
	})
	return n
}

// seq returns n deterministic values in [-1, 1) with no zeros.
func seq(n int64, seed int) []float32 {
	out := make([]float32, n)
	x := uint32(seed*7919 + 17)
	for i := range out {
		x = x*1664525 + 1013904223
		f := float32(x>>8)/float32(1<<24)*2 - 1
		if math.Abs(float64(f)) < 1e-3 {
			f = 0.5
		}
		out[i] = f
	}
	return out
}

func groupByName(t *testing.T, an *Analysis, name string) *Group {
	t.Helper()
	for _, g := range an.Groups {
		if g.Name == name {
			return g
		}
	}
	var names []string
	for _, g := range an.Groups {
		names = append(names, g.Name)
	}
	t.Fatalf("no group %s (groups: %v)", name, names)
	return nil
}

func passesParse(s string) (passes.Pipeline, error) { return passes.Parse(s) }

func runPasses(p passes.Pipeline, m *graph.Model) (*passes.Report, error) {
	return passes.Run(p, m, passes.RunOptions{})
}
