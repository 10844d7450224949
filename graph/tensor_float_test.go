package graph_test

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

func halfTensor(bits []uint16) *graph.Tensor {
	raw := make([]byte, 2*len(bits))
	for i, h := range bits {
		raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
	}
	return graph.NewTensor(&onnx.TensorProto{Name: proto.String("h"), Dims: []int64{int64(len(bits))},
		DataType: proto.Int32(int32(onnx.TensorProto_FLOAT16)), RawData: raw})
}

// TestFloatsRoundTripBitIdentical: every float16 and bfloat16 bit pattern
// read with Floats and written back with SetFloats is unchanged.
func TestFloatsRoundTripBitIdentical(t *testing.T) {
	bits := make([]uint16, 1<<16)
	for i := range bits {
		bits[i] = uint16(i)
	}
	for _, dt := range []onnx.TensorProto_DataType{onnx.TensorProto_FLOAT16, onnx.TensorProto_BFLOAT16} {
		tn := halfTensor(bits)
		tn.Proto.DataType = proto.Int32(int32(dt))
		before := append([]byte(nil), tn.Proto.RawData...)
		v, err := tn.Floats()
		if err != nil {
			t.Fatal(err)
		}
		if err := tn.SetFloats(v); err != nil {
			t.Fatal(err)
		}
		if string(tn.Proto.RawData) != string(before) {
			t.Errorf("%v: values changed on a read/write round trip", dt)
		}
	}
}

func TestFloatsEachType(t *testing.T) {
	want := []float32{1, -0.5, 3}
	f16 := halfTensor([]uint16{0x3C00, 0xB800, 0x4200})
	bf16 := halfTensor([]uint16{0x3F80, 0xBF00, 0x4040})
	bf16.Proto.DataType = proto.Int32(int32(onnx.TensorProto_BFLOAT16))
	f64 := graph.NewTensor(&onnx.TensorProto{Name: proto.String("d"), Dims: []int64{3},
		DataType: proto.Int32(int32(onnx.TensorProto_DOUBLE)), DoubleData: []float64{1, -0.5, 3}})
	f32 := graph.NewTensor(modelgen.Tensor("f", []int64{3}, want))
	for _, tn := range []*graph.Tensor{f16, bf16, f64, f32} {
		if !tn.IsFloat() {
			t.Errorf("%s: IsFloat false", onnx.DataTypeName(tn.DataType()))
		}
		got, err := tn.Floats()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: Floats = %v, want %v", onnx.DataTypeName(tn.DataType()), got, want)
				break
			}
		}
		// Writing rounds once into the tensor's own type.
		if err := tn.SetFloats([]float32{1.0001, 2, 65536}); err != nil {
			t.Fatal(err)
		}
		back, _ := tn.Floats()
		if tn.DataType() == int32(onnx.TensorProto_FLOAT16) && (back[0] != 1 || !math.IsInf(float64(back[2]), 1)) {
			t.Errorf("float16 SetFloats stored %v, want 1 and +Inf", back)
		}
		if tn.DataType() == int32(onnx.TensorProto_FLOAT) && back[0] != 1.0001 {
			t.Errorf("float32 SetFloats stored %v", back)
		}
		if err := tn.SetFloats([]float32{1}); err == nil {
			t.Errorf("%s: SetFloats with the wrong count did not fail", onnx.DataTypeName(tn.DataType()))
		}
	}
	i8 := graph.NewTensor(&onnx.TensorProto{Name: proto.String("q"), Dims: []int64{1}, DataType: proto.Int32(int32(onnx.TensorProto_INT8)), RawData: []byte{1}})
	if i8.IsFloat() {
		t.Error("int8 tensor is float")
	}
	if _, err := i8.Floats(); err == nil {
		t.Error("Floats on int8 did not fail")
	}
	if err := i8.SetFloats([]float32{1}); err == nil {
		t.Error("SetFloats on int8 did not fail")
	}
}

// TestFloat32ViewNotCopied: Floats of a float32 tensor is the read-only
// view itself.
func TestFloat32ViewNotCopied(t *testing.T) {
	tn := graph.NewTensor(modelgen.Tensor("f", []int64{2}, []float32{1, 2}))
	a, _ := tn.Floats()
	b, _ := tn.Float32s()
	if &a[0] != &b[0] {
		t.Error("Floats copied a float32 tensor")
	}
}

func TestConvertFloatsKeepsCallerProto(t *testing.T) {
	b := modelgen.NewBuilder("c")
	x := b.Input("x", onnx.TensorProto_FLOAT, 2)
	w := b.Init("w", []int64{2}, []float32{0.1, 70000})
	b.Output(b.Op("add", "Add", []string{x, w}), onnx.TensorProto_FLOAT, 2)
	p := b.Model(17)
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := m.Graph.Lookup("w").Const()
	if err := tn.ConvertFloats(int32(onnx.TensorProto_FLOAT16)); err != nil {
		t.Fatal(err)
	}
	if tn.DataType() != int32(onnx.TensorProto_FLOAT16) || len(tn.Proto.RawData) != 4 {
		t.Fatalf("converted tensor is %s with %d bytes", onnx.DataTypeName(tn.DataType()), len(tn.Proto.RawData))
	}
	if p.Graph.Initializer[0].GetDataType() != int32(onnx.TensorProto_FLOAT) || len(p.Graph.Initializer[0].RawData) != 8 {
		t.Error("converting changed the caller's proto")
	}
	out := m.Graph.Outputs[0]
	out.SetElemType(int32(onnx.TensorProto_FLOAT16))
	if out.ElemType() != int32(onnx.TensorProto_FLOAT16) || p.Graph.Output[0].GetType().GetTensorType().GetElemType() != int32(onnx.TensorProto_FLOAT) {
		t.Error("SetElemType did not change the value's type only")
	}
	if err := tn.ConvertFloats(int32(onnx.TensorProto_INT8)); err == nil {
		t.Error("converting to int8 did not fail")
	}
}
