package dce_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/dce"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func sparse(name string, dims []int64, idx []int64, vals []float32) *onnx.SparseTensorProto {
	return &onnx.SparseTensorProto{
		Values:  modelgen.Tensor(name, []int64{int64(len(vals))}, vals),
		Indices: modelgen.TensorInt64("", []int64{int64(len(idx))}, idx),
		Dims:    dims,
	}
}

// deadModel builds a main graph with a dead chain, unused constants of
// every kind, and an If whose branches have dead nodes of their own, one
// branch returning an outer value directly and the other using an outer
// value only inside the branch.
func deadModel(t *testing.T) *graph.Model {
	t.Helper()
	b := modelgen.NewBuilder("dead")
	x := b.Input("x", onnx.TensorProto_FLOAT, 4)
	cond := b.Input("cond", onnx.TensorProto_BOOL)
	b.Input("unused_input", onnx.TensorProto_FLOAT, 4)
	b.Input("input_init", onnx.TensorProto_FLOAT, 4)
	b.Init("input_init", []int64{4}, []float32{1, 2, 3, 4})
	b.Init("unused_init", []int64{4}, []float32{1, 2, 3, 4})
	dw := b.Init("dead_weight", []int64{4}, []float32{5, 6, 7, 8})
	// Dead chain: x -> Mul(dead_weight) -> Relu -> (nothing).
	d := b.Op("dead_mul", "Mul", []string{x, dw})
	b.Op("dead_relu", "Relu", []string{d})
	b.Node("Constant", nil, []string{"dead_const"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{1}, []float32{1})))
	// Live: y = Relu(x); an outer value used only as the then-branch output.
	y := b.Op("relu", "Relu", []string{x})
	outer := b.Op("outer_neg", "Neg", []string{x})
	onlyInElse := b.Op("outer_abs", "Abs", []string{x})

	then := modelgen.NewBuilder("then")
	then.Op("then_dead", "Sigmoid", []string{y})
	then.Output(outer, onnx.TensorProto_FLOAT, 4)
	els := modelgen.NewBuilder("else")
	els.Op("else_dead", "Tanh", []string{onlyInElse})
	e := els.Op("else_live", "Exp", []string{y})
	els.Output(e, onnx.TensorProto_FLOAT, 4)
	b.Node("If", []string{cond}, []string{"z"}, modelgen.AttrGraph("then_branch", then.Graph()), modelgen.AttrGraph("else_branch", els.Graph())).Name = proto.String("live_if")
	b.Output("z", onnx.TensorProto_FLOAT, 4)
	// A dead If: its subgraph is the only user of outer_sqrt.
	sq := b.Op("outer_sqrt", "Sqrt", []string{x})
	dt := modelgen.NewBuilder("dead_then")
	dt.Output(dt.Op("inner", "Exp", []string{sq}), onnx.TensorProto_FLOAT, 4)
	de := modelgen.NewBuilder("dead_else")
	de.Output(sq, onnx.TensorProto_FLOAT, 4)
	b.Node("If", []string{cond}, []string{"dead_if"}, modelgen.AttrGraph("then_branch", dt.Graph()), modelgen.AttrGraph("else_branch", de.Graph())).Name = proto.String("dead_if")

	mp := b.Model(17)
	mp.Graph.SparseInitializer = []*onnx.SparseTensorProto{
		sparse("unused_sparse", []int64{4}, []int64{1}, []float32{3}),
		sparse("used_sparse", []int64{4}, []int64{2}, []float32{9}),
	}
	mp.Graph.Node = append(mp.Graph.Node, &onnx.NodeProto{OpType: proto.String("Add"), Name: proto.String("add_sparse"),
		Input: []string{"z", "used_sparse"}, Output: []string{"w"}})
	mp.Graph.Output = append(mp.Graph.Output, &onnx.ValueInfoProto{Name: proto.String("w")})
	m, err := graph.FromProto(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func names(vs []*graph.Value) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Name)
	}
	return strings.Join(s, ",")
}

func nodeNames(g *graph.Graph) string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.Name())
	}
	return strings.Join(s, ",")
}

func TestDCE(t *testing.T) {
	m := deadModel(t)
	p, err := passes.Parse("dce")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(p, m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if got, want := nodeNames(g), "relu,outer_neg,live_if,add_sparse"; got != want {
		t.Errorf("main graph nodes %s, want %s", got, want)
	}
	if got, want := names(g.Inputs), "x,cond,unused_input,input_init"; got != want {
		t.Errorf("inputs %s, want %s (inputs are never removed)", got, want)
	}
	if got, want := names(g.Initializers), "input_init"; got != want {
		t.Errorf("initializers %s, want %s", got, want)
	}
	if got, want := names(g.SparseInitializers), "used_sparse"; got != want {
		t.Errorf("sparse initializers %s, want %s", got, want)
	}
	var ifNode *graph.Node
	for _, n := range g.Nodes {
		if n.OpType() == "If" {
			ifNode = n
		}
	}
	if ifNode == nil || len(ifNode.Subgraphs) != 2 {
		t.Fatalf("the live If is gone")
	}
	if got := nodeNames(ifNode.Subgraphs[0].Graph); got != "" {
		t.Errorf("then branch nodes %q, want none", got)
	}
	if got := nodeNames(ifNode.Subgraphs[1].Graph); got != "else_live" {
		t.Errorf("else branch nodes %q, want else_live", got)
	}
	// dead_mul, dead_relu, dead_const, outer_sqrt, dead_if, then_dead,
	// else_dead, and outer_abs, dead once else_dead is gone; the runner
	// also counts "inner", inside dead_if.
	pr := rep.Passes[0]
	if pr.NodesRemoved != 9 || pr.Extra["nodes_removed"] != 8 {
		t.Errorf("removed %d nodes (pass reported %v), want 9 (8)", pr.NodesRemoved, pr.Extra["nodes_removed"])
	}
	if pr.Extra["initializers_removed"] != 2 || pr.Extra["sparse_initializers_removed"] != 1 {
		t.Errorf("removed %v initializers and %v sparse, want 2 and 1", pr.Extra["initializers_removed"], pr.Extra["sparse_initializers_removed"])
	}
	passtest.Golden(t, "dead.golden", g.DumpString(), *update)

	// A second sweep finds nothing.
	st, err := dce.Sweep(m)
	if err != nil {
		t.Fatal(err)
	}
	if st != (dce.Stats{}) {
		t.Errorf("second sweep removed %+v, want nothing", st)
	}
}

// TestDCEWrites checks that the swept model still encodes and decodes.
func TestDCEWrites(t *testing.T) {
	m := deadModel(t)
	if _, err := dce.Sweep(m); err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Encode(m.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Graph.Check(); err != nil {
		t.Fatal(err)
	}
	if back.Graph.DumpString() != m.Graph.DumpString() {
		t.Errorf("dump changed across a write and read")
	}
}
