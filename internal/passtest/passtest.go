// Package passtest holds what pass tests share: building a tiny model,
// running a pipeline over it, and reading a constant's values back.
package passtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// Build converts a Builder's model (opset 17) to the IR.
func Build(t testing.TB, b *modelgen.Builder) *graph.Model {
	t.Helper()
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RunErr parses pipeline and runs it over m.
func RunErr(m *graph.Model, pipeline string, threads int) (*passes.Report, error) {
	p, err := passes.Parse(pipeline)
	if err != nil {
		return nil, err
	}
	return passes.Run(p, m, passes.RunOptions{Threads: threads})
}

// Run runs pipeline over m, failing the test on error, and returns the
// report of its last pass.
func Run(t testing.TB, m *graph.Model, pipeline string, threads int) *passes.PassReport {
	t.Helper()
	rep, err := RunErr(m, pipeline, threads)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Passes[len(rep.Passes)-1]
}

// Values returns the values of the constant called name, found in any
// graph of m (initializers and Constant nodes), as float32 (see Floats).
func Values(t testing.TB, m *graph.Model, name string) []float32 {
	t.Helper()
	return Floats(t, m, name)
}

// BenchMLP runs pipeline over a ~100 MB generated MLP b.N times, each
// iteration from the original weights (restored outside the timer); the
// bytes are the model's weights. It fails if the pass zeroed nothing.
func BenchMLP(b *testing.B, pipeline string) {
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
			b.Fatal("nothing zeroed")
		}
	}
}

// Golden compares got with testdata/name, or rewrites that file when
// update is set (each test package's -update flag).
func Golden(t testing.TB, name, got string, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
