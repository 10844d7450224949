package passes_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// Test passes, registered under names no real pass uses.
func init() {
	passes.Register(&passes.Pass{
		Name: "test-opts",
		Doc:  "test pass with one option of every kind",
		Options: []passes.Option{
			{Name: "f", Kind: passes.Float, Default: "0.5"},
			{Name: "i", Kind: passes.Int},
			{Name: "b", Kind: passes.Bool, Default: "false"},
			{Name: "s", Kind: passes.String},
			{Name: "e", Kind: passes.Enum, Values: []string{"red", "green"}, Default: "red"},
			{Name: "l", Kind: passes.List},
		},
		Run: func(ctx *passes.Context, m *graph.Model, a passes.Args) error {
			ctx.Set("f", a.Float("f"))
			ctx.Set("i", a.Int("i"))
			ctx.Set("b", a.Bool("b"))
			ctx.Set("s", a.String("s"))
			ctx.Set("e", a.String("e"))
			ctx.Set("l", a.List("l"))
			return nil
		},
	})
	passes.Register(&passes.Pass{Name: "test-noop", Doc: "test pass that does nothing",
		Run: func(*passes.Context, *graph.Model, passes.Args) error { return nil }})
	passes.Register(&passes.Pass{Name: "test-break", Doc: "test pass that leaves an undefined graph output",
		Run: func(_ *passes.Context, m *graph.Model, _ passes.Args) error {
			m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "ghost"})
			return nil
		}})
	passes.Register(&passes.Pass{Name: "test-panic", Doc: "test pass that panics",
		Run: func(*passes.Context, *graph.Model, passes.Args) error {
			var m map[string]int
			m["boom"]++
			return nil
		}})
	passes.Register(&passes.Pass{Name: "test-fail", Doc: "test pass that returns an error",
		Run: func(*passes.Context, *graph.Model, passes.Args) error { return fmt.Errorf("tensor %q is odd", "w0") }})
	passes.Register(&passes.Pass{Name: "test-grow", Doc: "test pass that adds a Relu after the output and records statistics",
		Run: func(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
			time.Sleep(2 * time.Millisecond)
			g := m.Graph
			n := g.NewNode("Relu", "grow", []*graph.Value{g.Outputs[0]}, []string{"grown"})
			g.Outputs[0] = n.Output(0)
			ctx.Report.TensorsTouched = 3
			ctx.Skip("w1", "too small")
			ctx.Note("a note")
			ctx.Set("answer", 42)
			return nil
		}})
}

// tinyModel is x -> Relu -> y.
func tinyModel(t testing.TB) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("tiny")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	b.Output(b.Op("relu", "Relu", []string{x}), onnx.TensorProto_FLOAT, 1, 4)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParallelWithinKeepsToItsBudget(t *testing.T) {
	sizes := []int64{40, 10, 30, 120, 20, 50, 50, 5, 60}
	const budget = 100
	var mu sync.Mutex
	var inFlight, peak int64
	ran := make([]bool, len(sizes))
	passes.ParallelWithin(len(sizes), 4, budget, func(i int) int64 { return sizes[i] }, func(i int) {
		mu.Lock()
		inFlight += sizes[i]
		if inFlight > budget && inFlight != sizes[i] {
			t.Errorf("item %d (%d bytes) started with %d bytes in flight, over the budget of %d", i, sizes[i], inFlight-sizes[i], budget)
		}
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight -= sizes[i]
		ran[i] = true
		mu.Unlock()
	})
	for i, r := range ran {
		if !r {
			t.Errorf("item %d never ran", i)
		}
	}
	if peak <= 60 {
		t.Errorf("peak in flight %d: items never overlapped, the test tests nothing", peak)
	}
}
