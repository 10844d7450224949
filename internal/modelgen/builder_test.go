package modelgen

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
)

func TestBuilder(t *testing.T) {
	b := NewBuilder("g")
	x := b.Input("x", onnx.TensorProto_FLOAT, "batch", 4, int64(2), "")
	w := b.Init("w", []int64{2}, []float32{1.5, -2})
	shape := b.InitInt64("shape", []int64{2}, []int64{-1, 8})
	y := b.Op("mul", "Mul", []string{x, w})
	b.Node("Reshape", []string{y, shape}, []string{"z"}, AttrInt("allowzero", 0))
	b.Output("z", onnx.TensorProto_FLOAT, "batch", 8)
	b.Import("com.microsoft", 1)
	m := roundTrip(t, b.Model(21))

	if m.GetIrVersion() != 10 || len(m.OpsetImport) != 2 || m.OpsetImport[1].GetDomain() != "com.microsoft" {
		t.Errorf("ir_version %d, opsets %v", m.GetIrVersion(), m.OpsetImport)
	}
	g := m.Graph
	checkWellFormed(t, g)
	if got, want := shapeOf(g.Input[0]), []any{"batch", int64(4), int64(2), int64(0)}; !reflect.DeepEqual(got, want) {
		t.Errorf("input shape %v, want %v", got, want)
	}
	if d := g.Input[0].Type.GetTensorType().Shape.Dim[3]; d.Value != nil {
		t.Errorf("unknown dim has value %v", d.Value)
	}
	if got := []string{g.Node[0].GetName(), g.Node[0].Output[0], g.Node[1].GetName()}; !reflect.DeepEqual(got, []string{"mul", "mul_output_0", "Reshape_1"}) {
		t.Errorf("names %q", got)
	}
	raw := g.Initializer[0].RawData
	if math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != -2 {
		t.Errorf("w raw_data %v", raw)
	}
	if g.Initializer[1].GetDataType() != int32(onnx.TensorProto_INT64) || int64(binary.LittleEndian.Uint64(g.Initializer[1].RawData)) != -1 {
		t.Errorf("shape initializer %v", g.Initializer[1])
	}
}

func TestBuilderInitNormal(t *testing.T) {
	build := func(seed int64, names ...string) map[string]*onnx.TensorProto {
		b := NewBuilder("g")
		b.Seed = seed
		for _, n := range names {
			b.InitNormal(n, []int64{3, chunkLen + 5}, 2, 0.5)
		}
		return initializers(t, b.Graph())
	}
	a, b := build(1, "p", "q"), build(1, "q")
	if !sameBytes(a["q"].RawData, b["q"].RawData) {
		t.Error("a drawn tensor depends on the tensors drawn before it")
	}
	if sameBytes(a["p"].RawData, a["q"].RawData) {
		t.Error("two tensors drew the same values")
	}
	if sameBytes(a["q"].RawData, build(2, "q")["q"].RawData) {
		t.Error("the seed does not change the values")
	}
	if mean, std := stats(t, a["p"].RawData); math.Abs(mean-2) > 0.01 || math.Abs(std-0.5) > 0.01 {
		t.Errorf("mean %g std %g, want 2 and 0.5", mean, std)
	}
}

// TestFillChunks checks that drawing a tensor in pieces, as streaming does,
// gives the values drawn all at once.
func TestFillChunks(t *testing.T) {
	d := newNormal(9, "t", 0, 1)
	whole := make([]float32, 5*chunkLen+3)
	d.fill(whole, 0)
	for _, at := range []int{chunkLen, 2 * chunkLen, 5 * chunkLen} {
		part := make([]float32, len(whole)-at)
		d.fill(part, int64(at))
		if !reflect.DeepEqual(part, whole[at:]) {
			t.Errorf("values from %d differ", at)
		}
	}
}

func TestAttrs(t *testing.T) {
	sub := NewBuilder("body")
	sub.Output(sub.Input("x", onnx.TensorProto_FLOAT), onnx.TensorProto_FLOAT)
	for _, tc := range []struct {
		a    *onnx.AttributeProto
		want onnx.AttributeProto_AttributeType
	}{
		{AttrInt("i", 3), onnx.AttributeProto_INT},
		{AttrInts("is", 1, 2), onnx.AttributeProto_INTS},
		{AttrFloat("f", 0.5), onnx.AttributeProto_FLOAT},
		{AttrString("s", "x"), onnx.AttributeProto_STRING},
		{AttrGraph("g", sub.Graph()), onnx.AttributeProto_GRAPH},
		{AttrTensor("t", Tensor("v", nil, []float32{1})), onnx.AttributeProto_TENSOR},
	} {
		if tc.a.GetType() != tc.want || tc.a.GetName() == "" {
			t.Errorf("%v: type %v, want %v", tc.a, tc.a.GetType(), tc.want)
		}
	}
}

func TestTensorPanicsOnBadLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Tensor("w", []int64{2, 2}, []float32{1})
}

func BenchmarkFill(b *testing.B) {
	d := newNormal(1, "w", 0, 1)
	buf := make([]float32, streamFloats)
	b.SetBytes(4 * int64(len(buf)))
	for b.Loop() {
		d.fill(buf, 0)
	}
}
