package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

func TestDecodeInt64s(t *testing.T) {
	for _, c := range []struct {
		dt   onnx.TensorProto_DataType
		raw  []byte
		n    int64
		want []int64
	}{
		{onnx.TensorProto_INT8, []byte{0xff, 0x7f}, 2, []int64{-1, 127}},
		{onnx.TensorProto_UINT8, []byte{0xff}, 1, []int64{255}},
		{onnx.TensorProto_BOOL, []byte{1, 0}, 2, []int64{1, 0}},
		{onnx.TensorProto_INT16, []byte{0xfe, 0xff}, 1, []int64{-2}},
		{onnx.TensorProto_UINT16, []byte{0xfe, 0xff}, 1, []int64{65534}},
		{onnx.TensorProto_INT32, []byte{0xfd, 0xff, 0xff, 0xff}, 1, []int64{-3}},
		{onnx.TensorProto_UINT32, []byte{0xff, 0xff, 0xff, 0xff}, 1, []int64{1<<32 - 1}},
		{onnx.TensorProto_INT64, []byte{0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1, []int64{-4}},
		{onnx.TensorProto_INT4, []byte{0x8f, 0x07}, 3, []int64{-1, -8, 7}},
		{onnx.TensorProto_UINT4, []byte{0x8f, 0x07}, 3, []int64{15, 8, 7}},
		{onnx.TensorProto_INT2, []byte{0b11100100}, 4, []int64{0, 1, -2, -1}},
		{onnx.TensorProto_UINT2, []byte{0b11100100}, 4, []int64{0, 1, 2, 3}},
	} {
		got, err := graph.DecodeInt64s(int32(c.dt), c.raw, c.n)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s % x: got %v, %v; want %v", c.dt, c.raw, got, err, c.want)
		}
		// IntReader reads the whole-byte types one element at a time.
		at := onnx.IntReader(int32(c.dt))
		if packed := onnx.ElemBits(int32(c.dt)) < 8; packed != (at == nil) {
			t.Errorf("%s: IntReader is nil: %v, want %v", c.dt, at == nil, packed)
			continue
		}
		for i := 0; at != nil && i < len(c.want); i++ {
			if v := at(c.raw, i); v != c.want[i] {
				t.Errorf("%s % x: IntReader element %d = %d, want %d", c.dt, c.raw, i, v, c.want[i])
			}
		}
	}
	if onnx.IntReader(int32(onnx.TensorProto_FLOAT)) != nil {
		t.Error("IntReader reads float32")
	}
	if _, err := graph.DecodeInt64s(int32(onnx.TensorProto_FLOAT), make([]byte, 4), 1); err == nil || !strings.Contains(err.Error(), "not an integer type") {
		t.Errorf("float32 read as integers: %v", err)
	}
	if _, err := graph.DecodeInt64s(int32(onnx.TensorProto_INT64), make([]byte, 12), 2); err == nil {
		t.Error("12 bytes read as 2 int64s")
	}
}

func TestTensorInt64s(t *testing.T) {
	p := &onnx.TensorProto{Name: proto.String("shape"), DataType: proto.Int32(int32(onnx.TensorProto_INT64)), Dims: []int64{3}, Int64Data: []int64{2, -1, 5}}
	got, err := graph.NewTensor(p).Int64s()
	if err != nil || !slices.Equal(got, []int64{2, -1, 5}) {
		t.Errorf("int64_data tensor: %v, %v", got, err)
	}
	p = &onnx.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)), Dims: []int64{1}, FloatData: []float32{1}}
	if _, err := graph.NewTensor(p).Int64s(); err == nil || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("float tensor: %v, want an error naming it", err)
	}
}
