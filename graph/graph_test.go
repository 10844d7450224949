package graph_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

const f32 = onnx.TensorProto_FLOAT

// tiny builds x -> Relu -> Add(bias) -> y, with an If whose branches use
// outer values.
func tiny(t *testing.T) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("tiny")
	b.Input("x", f32, 2, 3)
	b.Input("cond", onnx.TensorProto_BOOL)
	b.Init("bias", []int64{3}, []float32{1, 2, 3})
	b.Node("Relu", []string{"x"}, []string{"r"})
	b.Node("Add", []string{"r", "bias"}, []string{"a"})

	then := modelgen.NewBuilder("then")
	then.Node("Neg", []string{"a"}, []string{"t_out"}) // uses the outer value a
	then.Output("t_out", f32, 2, 3)
	els := modelgen.NewBuilder("else")
	els.Node("Identity", []string{"bias"}, []string{"e_out"}) // outer initializer
	els.Output("e_out", f32, 3)
	b.Node("If", []string{"cond"}, []string{"y"},
		modelgen.AttrGraph("then_branch", then.Graph()), modelgen.AttrGraph("else_branch", els.Graph()))
	b.Output("y", f32)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildLinksUsesAndSubgraphScopes(t *testing.T) {
	m := tiny(t)
	g := m.Graph
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	a := g.Lookup("a")
	if p, _ := a.Producer(); p == nil || p.OpType() != "Add" {
		t.Fatalf("producer of a = %v", p)
	}
	// a is used by the Neg inside the then-branch: outer values are seen.
	if len(a.Uses()) != 1 || a.Uses()[0].Node.OpType() != "Neg" {
		t.Fatalf("uses of a = %v", a.Uses())
	}
	ifNode := g.Nodes[2]
	if len(ifNode.Subgraphs) != 2 || ifNode.Subgraphs[0].Graph.Parent != g || ifNode.Subgraphs[0].Graph.Owner != ifNode {
		t.Fatalf("subgraphs not linked: %+v", ifNode.Subgraphs)
	}
	bias := g.Lookup("bias")
	if bias.Const() == nil || len(bias.Uses()) != 2 {
		t.Fatalf("bias: const %v, %d uses", bias.Const(), len(bias.Uses()))
	}
	// A name defined only in a subgraph is not visible outside it.
	if g.Lookup("t_out") != nil {
		t.Fatal("subgraph value visible in the outer graph")
	}
}

func TestEditingKeepsUseListsConsistent(t *testing.T) {
	m := tiny(t)
	g := m.Graph
	x, r, a := g.Lookup("x"), g.Lookup("r"), g.Lookup("a")
	add := g.Nodes[1]
	// Bypass the Relu: Add reads x directly.
	add.SetInput(0, x)
	if len(r.Uses()) != 0 {
		t.Fatalf("r still has uses %v", r.Uses())
	}
	if len(x.Uses()) != 2 {
		t.Fatalf("x uses = %v", x.Uses())
	}
	relu := g.Nodes[0]
	if err := g.RemoveNode(relu); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	// Removing a node whose output is used fails and changes nothing.
	if err := g.RemoveNode(add); err == nil {
		t.Fatal("removed a node whose output is used")
	}
	if p, _ := a.Producer(); p != add || add.Graph() != g {
		t.Fatal("failed removal changed the graph")
	}
	// New nodes get unique names; a node inserted out of order is sorted.
	sig := g.NewNode("Sigmoid", "a", []*graph.Value{x}, []string{"a"})
	if sig.Output(0).Name == "a" || sig.Name() == "" {
		t.Fatalf("new output name %q not made unique", sig.Output(0).Name)
	}
	add.SetInput(0, sig.Output(0))
	if err := g.Sort(); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0] != sig {
		t.Fatalf("Sort did not put Sigmoid first: %s", g.DumpString())
	}
	// ReplaceAllUsesWith reaches subgraph uses and graph outputs.
	a.ReplaceAllUsesWith(sig.Output(0))
	if len(a.Uses()) != 0 || len(sig.Output(0).Uses()) != 2 {
		t.Fatalf("RAUW: a uses %v, sig uses %v", a.Uses(), sig.Output(0).Uses())
	}
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	// The edits survive the trip through protobuf.
	back, err := graph.FromProto(m.ToProto(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Graph.DumpString(), g.DumpString(); got != want {
		t.Fatalf("dump after round trip:\n%s\nwant:\n%s", got, want)
	}
}

func TestToposortOrderAndCycles(t *testing.T) {
	b := modelgen.NewBuilder("order")
	b.Input("x", f32, 1)
	// Listed out of order: c needs b, b needs a.
	b.Node("Neg", []string{"b"}, []string{"c"})
	b.Node("Neg", []string{"a"}, []string{"b"})
	b.Node("Neg", []string{"x"}, []string{"a"})
	b.Node("Neg", []string{"x"}, []string{"d"}) // independent: keeps its place among the ready
	b.Output("c", f32)
	b.Output("d", f32)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	order, err := m.Graph.Toposort()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range order {
		names = append(names, n.Output(0).Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c,d" {
		t.Fatalf("order %s, want a,b,c,d", got)
	}

	cyc := modelgen.NewBuilder("cycle")
	cyc.Input("x", f32, 1)
	cyc.Node("Add", []string{"x", "q"}, []string{"p"})
	cyc.Node("Neg", []string{"p"}, []string{"q"})
	cyc.Output("q", f32)
	m, err = graph.FromProto(cyc.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Graph.Check(); !errors.Is(err, graph.ErrCycle) {
		t.Fatalf("Check on a cycle: %v", err)
	}
}

func TestFromProtoRejectsStructuralFaults(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *modelgen.Builder)
		want  string
	}{
		{"dangling input", func(b *modelgen.Builder) {
			b.Node("Neg", []string{"nowhere"}, []string{"y"})
		}, `input "nowhere"`},
		{"two producers", func(b *modelgen.Builder) {
			b.Node("Neg", []string{"x"}, []string{"y"})
			b.Node("Abs", []string{"x"}, []string{"y"})
		}, "two producers"},
		{"undefined output", func(b *modelgen.Builder) {
			b.Node("Neg", []string{"x"}, []string{"z"})
		}, "never computed"},
		{"subgraph uses undefined outer value", func(b *modelgen.Builder) {
			sub := modelgen.NewBuilder("body")
			sub.Node("Neg", []string{"ghost"}, []string{"s"})
			sub.Output("s", f32)
			b.Input("c", onnx.TensorProto_BOOL)
			b.Node("If", []string{"c"}, []string{"y"}, modelgen.AttrGraph("then_branch", sub.Graph()), modelgen.AttrGraph("else_branch", sub.Graph()))
		}, `"ghost"`},
		{"short raw data", func(b *modelgen.Builder) {
			b.Init("w", []int64{4}, []float32{1, 2, 3, 4})
			b.Node("Add", []string{"x", "w"}, []string{"y"})
		}, "raw_data has 8 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := modelgen.NewBuilder("bad")
			b.Input("x", f32, 4)
			c.build(b)
			b.Output("y", f32)
			p := b.Model(17)
			if c.name == "short raw data" {
				p.Graph.Initializer[0].RawData = p.Graph.Initializer[0].RawData[:8]
			}
			_, err := graph.FromProto(p, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %s", err, c.want)
			}
		})
	}
}

func TestConstantNodeIsAConstant(t *testing.T) {
	b := modelgen.NewBuilder("const")
	b.Input("x", f32, 2)
	b.Node("Constant", nil, []string{"w"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{2}, []float32{5, 6})))
	b.Node("Mul", []string{"x", "w"}, []string{"y"})
	b.Output("y", f32)
	m, err := graph.FromProto(b.Model(17), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Graph.Lookup("w").Const()
	if c == nil {
		t.Fatal("Constant node's output is not seen as a constant")
	}
	v, err := c.MutableFloat32s()
	if err != nil {
		t.Fatal(err)
	}
	v[0] = 0
	out := m.ToProto()
	got, _ := onnx.Float32s(out.Graph.Node[0].Attribute[0].T, nil)
	if got[0] != 0 || got[1] != 6 {
		t.Fatalf("written Constant value %v, want [0 6]", got)
	}
}
