package convertfloat_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

const (
	f32 = int32(onnx.TensorProto_FLOAT)
	f16 = int32(onnx.TensorProto_FLOAT16)
	bf  = int32(onnx.TensorProto_BFLOAT16)
)

// tiny: x -> MatMul(w) -> Resize(scales) -> Add(b) -> y, where w holds a
// value beyond the float16 range.
func tiny(t *testing.T) *graph.Model {
	b := modelgen.NewBuilder("tiny")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 1, 2, 2)
	w := b.Init("w", []int64{2, 2}, []float32{1, 0.5, 2, -0.25})
	sc := b.Init("scales", []int64{4}, []float32{1, 1, 2, 2})
	bias := b.Init("b", []int64{1}, []float32{0.1})
	mm := b.Op("mm", "MatMul", []string{x, w})
	rs := b.Op("resize", "Resize", []string{mm, "", sc})
	lo := b.Init("lo", nil, []float32{-1e6})
	hi := b.Init("hi", nil, []float32{1e6})
	add := b.Op("add", "Add", []string{rs, bias})
	b.Output(b.Op("clip", "Clip", []string{add, lo, hi}), onnx.TensorProto_FLOAT, 1, 1, 4, 4)
	return passtest.Build(t, b)
}

func constType(t *testing.T, m *graph.Model, name string) int32 {
	t.Helper()
	v := m.Graph.Lookup(name)
	if v == nil || v.Const() == nil {
		t.Fatalf("no constant %q", name)
	}
	return v.Const().DataType()
}

func TestFloat16Tiny(t *testing.T) {
	m := tiny(t)
	rep := passtest.Run(t, m, "convert-float", 1)
	for name, want := range map[string]int32{"w": f16, "b": f16, "scales": f32} {
		if got := constType(t, m, name); got != want {
			t.Errorf("%s is %s, want %s", name, onnx.DataTypeName(got), onnx.DataTypeName(want))
		}
	}
	if rep.Extra["values_clamped"] != int64(2) {
		t.Errorf("clamped %v values, want the 2 Clip bounds", rep.Extra["values_clamped"])
	}
	if hi, _ := m.Graph.Lookup("hi").Const().Floats(); hi[0] != onnx.MaxFloat16 {
		t.Errorf("Clip bound = %v, want 1e6 clamped to 65504", hi)
	}
	// Resize stays float32: a Cast to float32 before it, to float16 after;
	// the output is cast back and keeps its name and type; the input is
	// cast to float16.
	if rep.Extra["casts_inserted"] != 4 {
		t.Errorf("%v casts, want 4 (x, Resize in, Resize out, y)", rep.Extra["casts_inserted"])
	}
	out := m.Graph.Outputs[0]
	if out.Name != "clip_output_0" || out.ElemType() != f32 {
		t.Errorf("output is %s %s, want clip_output_0 float32", out.Name, onnx.DataTypeName(out.ElemType()))
	}
	if p, _ := out.Producer(); p == nil || p.OpType() != "Cast" {
		t.Errorf("output is not produced by a Cast")
	}
	if in := m.Graph.Inputs[0]; in.ElemType() != f32 {
		t.Errorf("input became %s", onnx.DataTypeName(in.ElemType()))
	}
	for _, n := range m.Graph.Nodes {
		if n.OpType() == "Resize" && n.Input(0).Const() == nil {
			if p, _ := n.Input(0).Producer(); p.OpType() != "Cast" || p.AttrInt("to", 0) != int64(f32) {
				t.Errorf("Resize's input is not cast to float32")
			}
		}
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "Resize") {
		t.Errorf("the report does not say Resize stayed float32: %v", rep.Notes)
	}
	if err := m.Graph.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestBackToFloat32 converts to float16 and back: the weights come back as
// float32 holding exactly the float16 values, and no Cast is left without
// purpose at the inputs.
func TestBackToFloat32(t *testing.T) {
	m := tiny(t)
	passtest.Run(t, m, "convert-float(keep-io=false)", 1)
	if in := m.Graph.Inputs[0]; in.ElemType() != f16 {
		t.Fatalf("keep-io=false left the input %s", onnx.DataTypeName(in.ElemType()))
	}
	half, _ := m.Graph.Lookup("w").Const().Floats()
	passtest.Run(t, m, "convert-float(to=float32,keep-io=false)", 1)
	if got := constType(t, m, "w"); got != f32 {
		t.Fatalf("w is %s after to=float32", onnx.DataTypeName(got))
	}
	back := passtest.Values(t, m, "w")
	for i := range half {
		if back[i] != half[i] {
			t.Errorf("w[%d] = %g, want the float16 value %g", i, back[i], half[i])
		}
	}
	if in := m.Graph.Inputs[0]; in.ElemType() != f32 {
		t.Errorf("input is %s after to=float32", onnx.DataTypeName(in.ElemType()))
	}
}

func TestWeightsOnly(t *testing.T) {
	b := modelgen.NewBuilder("w")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 8)
	w := b.InitNormal("w", []int64{8, 8}, 0, 1)
	bias := b.Init("b", []int64{8}, make([]float32, 8))
	b.Output(b.Op("add", "Add", []string{b.Op("mm", "MatMul", []string{x, w}), bias}), onnx.TensorProto_FLOAT, 1, 8)
	m := passtest.Build(t, b)
	rep := passtest.Run(t, m, "convert-float(to=bfloat16,compute=float32)", 1)
	if got := constType(t, m, "w"); got != bf {
		t.Errorf("w is %s, want bfloat16", onnx.DataTypeName(got))
	}
	if got := constType(t, m, "b"); got != f32 {
		t.Errorf("b (8 elements) is %s, want float32", onnx.DataTypeName(got))
	}
	if rep.Extra["casts_inserted"] != 1 || rep.Extra["nodes_converted"] != 0 {
		t.Errorf("extra %v, want one Cast and no converted node", rep.Extra)
	}
	for _, n := range m.Graph.Nodes {
		if n.OpType() == "MatMul" {
			if p, _ := n.Input(1).Producer(); p == nil || p.OpType() != "Cast" || p.AttrInt("to", 0) != int64(f32) {
				t.Errorf("MatMul's weight is not cast back to float32")
			}
		}
	}
}

// TestSubgraphConstant: a constant inside an If branch is converted and
// the branch output cast back, so the If keeps its type.
func TestSubgraphConstant(t *testing.T) {
	br := func(name string) *onnx.GraphProto {
		b := modelgen.NewBuilder(name)
		c := b.Init(name+"_c", []int64{4}, []float32{1, 2, 3, 4})
		b.Output(b.Op(name+"_mul", "Mul", []string{"x", c}), onnx.TensorProto_FLOAT, 4)
		return b.Graph()
	}
	b := modelgen.NewBuilder("if")
	b.Input("x", onnx.TensorProto_FLOAT, 4)
	cond := b.Input("cond", onnx.TensorProto_BOOL)
	b.Node("If", []string{cond}, []string{"y"}, modelgen.AttrGraph("then_branch", br("then")), modelgen.AttrGraph("else_branch", br("else")))
	b.Output("y", onnx.TensorProto_FLOAT, 4)
	m := passtest.Build(t, b)
	rep := passtest.Run(t, m, "convert-float", 1)
	if rep.Extra["constants_converted"] != 2 {
		t.Errorf("%v constants converted, want the 2 in the branches", rep.Extra["constants_converted"])
	}
	m.Graph.Walk(func(g *graph.Graph) {
		if g.Parent == nil {
			return
		}
		o := g.Outputs[0]
		if p, _ := o.Producer(); p == nil || p.OpType() != "Cast" || p.AttrInt("to", 0) != int64(f32) {
			t.Errorf("branch %q output is not cast back to float32", g.Proto.GetName())
		}
	})
	if err := m.Graph.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestWeightBeyondFloat16: an op whose weight lies beyond ±65504 stays
// float32 rather than compute with a clamped weight.
func TestWeightBeyondFloat16(t *testing.T) {
	b := modelgen.NewBuilder("big")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 2)
	w := b.Init("w", []int64{2, 2}, []float32{1, 1e7, 2, 3})
	b.Output(b.Op("mm", "MatMul", []string{b.Op("r", "Relu", []string{x}), w}), onnx.TensorProto_FLOAT, 1, 2)
	m := passtest.Build(t, b)
	rep := passtest.Run(t, m, "convert-float", 1)
	if got := constType(t, m, "w"); got != f32 {
		t.Errorf("w is %s, want float32", onnx.DataTypeName(got))
	}
	if rep.Extra["nodes_converted"] != 1 || !strings.Contains(strings.Join(rep.Notes, " "), "float16 range") {
		t.Errorf("extra %v notes %v: want Relu converted and MatMul kept for its range", rep.Extra, rep.Notes)
	}
}

func TestRefusals(t *testing.T) {
	m := tiny(t)
	if _, err := passtest.RunErr(m, "convert-float(to=float32,compute=float32)", 1); err == nil {
		t.Error("to=float32 with compute=float32 was accepted")
	}
	b := modelgen.NewBuilder("old")
	x := b.Input("x", onnx.TensorProto_FLOAT, 2)
	b.Output(b.Op("r", "Relu", []string{x}), onnx.TensorProto_FLOAT, 2)
	old, err := graph.FromProto(b.Model(11), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passtest.RunErr(old, "convert-float(to=bfloat16)", 1); err == nil || !strings.Contains(err.Error(), "opset 13") {
		t.Errorf("bfloat16 on an opset-11 model: %v, want a refusal naming opset 13", err)
	}
}
