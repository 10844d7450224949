package foldconstants_test

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/foldconstants"
)

const (
	f32 = onnx.TensorProto_FLOAT
	i64 = onnx.TensorProto_INT64
	i32 = onnx.TensorProto_INT32
)

func ints(v ...int64) []int64 { return v }

func floatsRaw(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func int64sRaw(v ...int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func int32sRaw(v ...int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

func attrT(name string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) *onnx.AttributeProto {
	return modelgen.AttrTensor(name, &onnx.TensorProto{DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
}

// foldCase is a tiny model whose output "y" is computed from constants.
type foldCase struct {
	name  string
	opset int64
	// build adds the nodes; constants come from c (initializer) or k
	// (Constant node).
	build    func(b *modelgen.Builder, c func(name string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) string, k func(name string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) string)
	dt       onnx.TensorProto_DataType
	maxBytes string
	// wantDims and wantRaw are the folded "y"; wantSkip (instead) is part
	// of the reason the node producing y was left alone.
	wantDims []int64
	wantRaw  []byte
	wantSkip string
}

var foldCases = []foldCase{
	{name: "identity of a Constant node", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Identity", []string{k("a", f32, ints(2), floatsRaw(1, -2))}, []string{"y"})
	}, dt: f32, wantDims: ints(2), wantRaw: floatsRaw(1, -2)},
	{name: "reshape -1", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Reshape", []string{c("a", f32, ints(2, 3), floatsRaw(1, 2, 3, 4, 5, 6)), c("s", i64, ints(2), int64sRaw(3, -1))}, []string{"y"})
	}, dt: f32, wantDims: ints(3, 2), wantRaw: floatsRaw(1, 2, 3, 4, 5, 6)},
	{name: "reshape 0 copies", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Reshape", []string{c("a", i64, ints(2, 3, 1), int64sRaw(1, 2, 3, 4, 5, 6)), c("s", i64, ints(2), int64sRaw(0, -1))}, []string{"y"})
	}, dt: i64, wantDims: ints(2, 3), wantRaw: int64sRaw(1, 2, 3, 4, 5, 6)},
	{name: "transpose default", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Transpose", []string{c("a", f32, ints(2, 3), floatsRaw(1, 2, 3, 4, 5, 6))}, []string{"y"})
	}, dt: f32, wantDims: ints(3, 2), wantRaw: floatsRaw(1, 4, 2, 5, 3, 6)},
	{name: "transpose perm 3d", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Transpose", []string{c("a", i64, ints(2, 2, 2), int64sRaw(0, 1, 2, 3, 4, 5, 6, 7))}, []string{"y"}, modelgen.AttrInts("perm", 1, 2, 0))
	}, dt: i64, wantDims: ints(2, 2, 2), wantRaw: int64sRaw(0, 4, 1, 5, 2, 6, 3, 7)},
	{name: "unsqueeze input axes", opset: 13, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Unsqueeze", []string{c("a", i64, ints(3), int64sRaw(1, 2, 3)), c("ax", i64, ints(2), int64sRaw(0, -1))}, []string{"y"})
	}, dt: i64, wantDims: ints(1, 3, 1), wantRaw: int64sRaw(1, 2, 3)},
	{name: "unsqueeze attribute axes", opset: 11, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Unsqueeze", []string{c("a", i64, ints(3), int64sRaw(1, 2, 3))}, []string{"y"}, modelgen.AttrInts("axes", 1))
	}, dt: i64, wantDims: ints(3, 1), wantRaw: int64sRaw(1, 2, 3)},
	{name: "squeeze attribute axes", opset: 11, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Squeeze", []string{c("a", f32, ints(1, 2, 1), floatsRaw(7, 8))}, []string{"y"}, modelgen.AttrInts("axes", -1))
	}, dt: f32, wantDims: ints(1, 2), wantRaw: floatsRaw(7, 8)},
	{name: "squeeze all", opset: 13, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Squeeze", []string{c("a", f32, ints(1, 2, 1), floatsRaw(7, 8))}, []string{"y"})
	}, dt: f32, wantDims: ints(2), wantRaw: floatsRaw(7, 8)},
	{name: "shape of a static input", opset: 15, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		x := b.Input("x", f32, 2, 3, 4)
		b.Node("Shape", []string{x}, []string{"y"}, modelgen.AttrInt("start", 1))
	}, dt: i64, wantDims: ints(2), wantRaw: int64sRaw(3, 4)},
	{name: "concat axis 1", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Concat", []string{c("a", f32, ints(2, 1), floatsRaw(1, 2)), k("b", f32, ints(2, 2), floatsRaw(3, 4, 5, 6))}, []string{"y"}, modelgen.AttrInt("axis", -1))
	}, dt: f32, wantDims: ints(2, 3), wantRaw: floatsRaw(1, 3, 4, 2, 5, 6)},
	{name: "gather negative index", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Gather", []string{c("a", f32, ints(3, 2), floatsRaw(1, 2, 3, 4, 5, 6)), c("i", i64, ints(2), int64sRaw(-1, 0))}, []string{"y"})
	}, dt: f32, wantDims: ints(2, 2), wantRaw: floatsRaw(5, 6, 1, 2)},
	{name: "gather axis 1 scalar int32 index", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Gather", []string{c("a", i64, ints(2, 3), int64sRaw(1, 2, 3, 4, 5, 6)), c("i", i32, nil, int32sRaw(2))}, []string{"y"}, modelgen.AttrInt("axis", 1))
	}, dt: i64, wantDims: ints(2), wantRaw: int64sRaw(3, 6)},
	{name: "add broadcast float", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Add", []string{c("a", f32, ints(2, 3), floatsRaw(1, 2, 3, 4, 5, 6)), c("b", f32, ints(3), floatsRaw(0.1, 0.2, 0.3))}, []string{"y"})
	}, dt: f32, wantDims: ints(2, 3), wantRaw: floatsRaw(1+0.1, 2+0.2, 3+0.3, 4+0.1, 5+0.2, 6+0.3)},
	{name: "mul broadcast both", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Mul", []string{c("a", i64, ints(2, 1), int64sRaw(2, 3)), c("b", i64, ints(1, 3), int64sRaw(1, 10, 100))}, []string{"y"})
	}, dt: i64, wantDims: ints(2, 3), wantRaw: int64sRaw(2, 20, 200, 3, 30, 300)},
	{name: "sub float", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Sub", []string{c("a", f32, ints(2), floatsRaw(1, 0.3)), c("b", f32, nil, floatsRaw(0.1))}, []string{"y"})
	}, dt: f32, wantDims: ints(2), wantRaw: floatsRaw(1-float32(0.1), float32(0.3)-float32(0.1))},
	{name: "div int truncates", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Div", []string{c("a", i64, ints(2), int64sRaw(7, -7)), c("b", i64, ints(1), int64sRaw(2))}, []string{"y"})
	}, dt: i64, wantDims: ints(2), wantRaw: int64sRaw(3, -3)},
	{name: "div float", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Div", []string{c("a", f32, ints(2), floatsRaw(1, -2)), c("b", f32, ints(2), floatsRaw(3, 0))}, []string{"y"})
	}, dt: f32, wantDims: ints(2), wantRaw: floatsRaw(float32(1)/3, float32(math.Inf(-1)))},
	{name: "div int by zero", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Div", []string{c("a", i64, ints(2), int64sRaw(7, -7)), c("b", i64, ints(1), int64sRaw(0))}, []string{"y"})
	}, dt: i64, wantSkip: "division by zero"},
	{name: "slice negative step", opset: 13, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Slice", []string{c("a", i64, ints(10), int64sRaw(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)),
			c("st", i64, ints(1), int64sRaw(8)), c("en", i64, ints(1), int64sRaw(1)), c("ax", i64, ints(1), int64sRaw(0)), c("sp", i64, ints(1), int64sRaw(-3))}, []string{"y"})
	}, dt: i64, wantDims: ints(3), wantRaw: int64sRaw(8, 5, 2)},
	{name: "slice 2d clamped", opset: 13, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Slice", []string{c("a", f32, ints(2, 3), floatsRaw(1, 2, 3, 4, 5, 6)),
			c("st", i64, ints(2), int64sRaw(1, -2)), c("en", i64, ints(2), int64sRaw(100, math.MaxInt64))}, []string{"y"})
	}, dt: f32, wantDims: ints(1, 2), wantRaw: floatsRaw(5, 6)},
	{name: "slice attributes", opset: 9, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Slice", []string{c("a", f32, ints(2, 3), floatsRaw(1, 2, 3, 4, 5, 6))}, []string{"y"},
			modelgen.AttrInts("starts", 0), modelgen.AttrInts("ends", 2), modelgen.AttrInts("axes", 1))
	}, dt: f32, wantDims: ints(2, 2), wantRaw: floatsRaw(1, 2, 4, 5)},
	{name: "constant of shape int64", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("ConstantOfShape", []string{c("s", i64, ints(2), int64sRaw(2, 2))}, []string{"y"}, attrT("value", i64, ints(1), int64sRaw(7)))
	}, dt: i64, wantDims: ints(2, 2), wantRaw: int64sRaw(7, 7, 7, 7)},
	{name: "constant of shape default", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("ConstantOfShape", []string{c("s", i64, ints(1), int64sRaw(3))}, []string{"y"})
	}, dt: f32, wantDims: ints(3), wantRaw: floatsRaw(0, 0, 0)},
	{name: "constant of shape over max-bytes", maxBytes: "100", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("ConstantOfShape", []string{c("s", i64, ints(1), int64sRaw(1000))}, []string{"y"})
	}, dt: f32, wantSkip: "max-bytes=100"},
	{name: "range up", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Range", []string{c("s", i64, nil, int64sRaw(1)), c("l", i64, nil, int64sRaw(10)), c("d", i64, nil, int64sRaw(3))}, []string{"y"})
	}, dt: i64, wantDims: ints(3), wantRaw: int64sRaw(1, 4, 7)},
	{name: "range down int32", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Range", []string{c("s", i32, nil, int32sRaw(5)), c("l", i32, nil, int32sRaw(1)), c("d", i32, nil, int32sRaw(-2))}, []string{"y"})
	}, dt: i32, wantDims: ints(2), wantRaw: int32sRaw(5, 3)},
	{name: "cast int64 to float", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Cast", []string{c("a", i64, ints(2), int64sRaw(1, -16777216))}, []string{"y"}, modelgen.AttrInt("to", int64(f32)))
	}, dt: f32, wantDims: ints(2), wantRaw: floatsRaw(1, -16777216)},
	{name: "cast float to int32 truncates", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Cast", []string{c("a", f32, ints(3), floatsRaw(1.7, -1.7, 0))}, []string{"y"}, modelgen.AttrInt("to", int64(i32)))
	}, dt: i32, wantDims: ints(3), wantRaw: int32sRaw(1, -1, 0)},
	{name: "cast inexact", build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		b.Node("Cast", []string{c("a", i64, ints(1), int64sRaw(1<<25+1))}, []string{"y"}, modelgen.AttrInt("to", int64(f32)))
	}, dt: f32, wantSkip: "no exact float32"},
	{name: "shape chain", opset: 13, build: func(b *modelgen.Builder, c, k func(string, onnx.TensorProto_DataType, []int64, []byte) string) {
		// The usual export pattern: Shape -> Gather -> Unsqueeze -> Concat.
		x := b.Input("x", f32, 2, 3, 4)
		b.Node("Shape", []string{x}, []string{"s"})
		b.Node("Gather", []string{"s", c("i", i64, nil, int64sRaw(0))}, []string{"g"})
		b.Node("Unsqueeze", []string{"g", c("ax", i64, ints(1), int64sRaw(0))}, []string{"u"})
		b.Node("Concat", []string{"u", k("m1", i64, ints(1), int64sRaw(-1))}, []string{"y"}, modelgen.AttrInt("axis", 0))
	}, dt: i64, wantDims: ints(2), wantRaw: int64sRaw(2, -1)},
}

// build returns the case's model, unfolded.
func (tc foldCase) model() *onnx.ModelProto {
	b := modelgen.NewBuilder(strings.ReplaceAll(tc.name, " ", "_"))
	var inits []*onnx.TensorProto
	init := func(name string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) string {
		inits = append(inits, &onnx.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
		return name
	}
	konst := func(name string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) string {
		b.Node("Constant", nil, []string{name}, attrT("value", dt, dims, raw))
		return name
	}
	tc.build(b, init, konst)
	b.Output("y", tc.dt)
	opset := tc.opset
	if opset == 0 {
		opset = 17
	}
	m := b.Model(opset)
	m.Graph.Initializer = append(m.Graph.Initializer, inits...)
	m.Graph.Output[0].Type.GetTensorType().Shape = nil // let the runtime infer it
	return m
}

func fold(t *testing.T, mp *onnx.ModelProto, pipeline string) (*graph.Model, *passes.PassReport) {
	t.Helper()
	m, err := graph.FromProto(proto.Clone(mp).(*onnx.ModelProto), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := passes.Parse(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(p, m, passes.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m, rep.Passes[0]
}

func initializer(g *graph.Graph, name string) *graph.Value {
	for _, v := range g.Initializers {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func TestFoldConstants(t *testing.T) {
	for _, tc := range foldCases {
		t.Run(tc.name, func(t *testing.T) {
			pipeline := "fold-constants"
			if tc.maxBytes != "" {
				pipeline += "(max-bytes=" + tc.maxBytes + ")"
			}
			m, rep := fold(t, tc.model(), pipeline)
			g := m.Graph
			if len(g.Outputs) != 1 || g.Outputs[0].Name != "y" {
				t.Fatalf("graph outputs changed: %v", g.Outputs)
			}
			y := initializer(g, "y")
			if tc.wantSkip != "" {
				if y != nil {
					t.Fatalf("y was folded, want it left alone")
				}
				var reasons []string
				for _, s := range rep.Skipped {
					reasons = append(reasons, s.Reason)
				}
				if !strings.Contains(strings.Join(reasons, "; "), tc.wantSkip) {
					t.Errorf("skip reasons %q, want one containing %q", reasons, tc.wantSkip)
				}
				return
			}
			if y == nil {
				t.Fatalf("y was not folded (skipped: %+v)\n%s", rep.Skipped, g.DumpString())
			}
			if len(g.Nodes) != 0 {
				t.Errorf("%d nodes left after folding, want none:\n%s", len(g.Nodes), g.DumpString())
			}
			if len(g.Initializers) != 1 {
				t.Errorf("initializers %d, want only y (the inputs of folded nodes are dead)", len(g.Initializers))
			}
			if got := y.Tensor.DataType(); got != int32(tc.dt) {
				t.Errorf("y is %s, want %s", onnx.DataTypeName(got), onnx.DataTypeName(int32(tc.dt)))
			}
			if got := y.Tensor.Dims(); !slices.Equal(got, tc.wantDims) {
				t.Errorf("y dims %v, want %v", got, tc.wantDims)
			}
			raw, err := y.Tensor.Raw()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(raw, tc.wantRaw) {
				t.Errorf("y bytes %v, want %v", raw, tc.wantRaw)
			}
			if rep.Extra["nodes_folded"] == 0 {
				t.Errorf("report says no node folded")
			}
		})
	}
}

// TestFoldMatchesRuntime runs every foldable case's unfolded model through
// ONNX Runtime and requires the folded constant to hold the very bytes
// and shape the runtime computes.
func TestFoldMatchesRuntime(t *testing.T) {
	testenv.Runtime(t)
	for _, tc := range foldCases {
		if tc.wantSkip != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			mp := tc.model()
			m, _ := fold(t, mp, "fold-constants")
			y := initializer(m.Graph, "y")
			if y == nil {
				t.Fatal("y was not folded")
			}
			folded, err := y.Tensor.Raw()
			if err != nil {
				t.Fatal(err)
			}
			b, err := onnx.Encode(mp)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ort.OpenBytes(b, ort.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var in []ort.Value
			for _, info := range s.Inputs() {
				x, err := ort.NewTensor(info.DType, info.Shape)
				if err != nil {
					t.Fatal(err)
				}
				in = append(in, x)
			}
			out, err := s.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := out[0].(*ort.Tensor)
			if !ok {
				t.Fatalf("runtime output is %T", out[0])
			}
			if int32(got.DType) != y.Tensor.DataType() || !slices.Equal(got.Shape, y.Tensor.Dims()) {
				t.Errorf("runtime: %v%v, folded: %s%v", got.DType, got.Shape, onnx.DataTypeName(y.Tensor.DataType()), y.Tensor.Dims())
			}
			if !slices.Equal(got.Raw, folded) {
				t.Errorf("runtime bytes %v, folded %v", got.Raw, folded)
			}
		})
	}
}

// TestFoldSubgraphAndInputs folds inside an If branch (with an outer
// constant) and leaves alone an initializer that is also a graph input.
func TestFoldSubgraphAndInputs(t *testing.T) {
	b := modelgen.NewBuilder("sub")
	cond := b.Input("cond", onnx.TensorProto_BOOL)
	b.Input("fed", f32, 2)
	b.Init("fed", ints(2), []float32{1, 2})
	b.Init("outer", ints(2), []float32{10, 20})
	b.Node("Neg", []string{"fed"}, []string{"z"})
	then := modelgen.NewBuilder("then")
	then.Node("Constant", nil, []string{"inner"}, attrT("value", f32, ints(2), floatsRaw(1, 2)))
	then.Node("Add", []string{"outer", "inner"}, []string{"sum"})
	then.Output("sum", f32, 2)
	els := modelgen.NewBuilder("else")
	els.Node("Add", []string{"outer", "fed"}, []string{"sum2"})
	els.Output("sum2", f32, 2)
	b.Node("If", []string{cond}, []string{"y"}, modelgen.AttrGraph("then_branch", then.Graph()), modelgen.AttrGraph("else_branch", els.Graph()))
	b.Output("y", f32, 2)
	b.Output("z", f32, 2)
	m, _ := fold(t, b.Model(17), "fold-constants")

	var ifNode *graph.Node
	for _, n := range m.Graph.Nodes {
		if n.OpType() == "If" {
			ifNode = n
		}
	}
	if ifNode == nil || len(m.Graph.Nodes) != 2 {
		t.Fatalf("main graph should keep Neg(fed) and the If:\n%s", m.Graph.DumpString())
	}
	tg := ifNode.Subgraphs[0].Graph
	sum := initializer(tg, "sum")
	if sum == nil || len(tg.Nodes) != 0 {
		t.Fatalf("then branch not folded:\n%s", m.Graph.DumpString())
	}
	raw, _ := sum.Tensor.Raw()
	if !slices.Equal(raw, floatsRaw(11, 22)) {
		t.Errorf("sum = %v, want 11, 22", raw)
	}
	if tg.Outputs[0] != sum {
		t.Errorf("then branch output is not the folded sum")
	}
	if eg := ifNode.Subgraphs[1].Graph; len(eg.Nodes) != 1 {
		t.Errorf("else branch adds a graph input: it must stay (got %d nodes)", len(eg.Nodes))
	}
}
