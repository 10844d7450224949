package graph_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestMutableRawCopyOnWrite: MutableRaw changes the tensor's own raw_data
// in place, copies bytes it shares with the caller's proto or a clone, and
// turns typed fields into raw_data once.
func TestMutableRawCopyOnWrite(t *testing.T) {
	// Own bytes: changed in place.
	own := halfTensor([]uint16{0x3C00, 0x4000})
	raw, err := own.MutableRaw()
	if err != nil {
		t.Fatal(err)
	}
	if &raw[0] != &own.Proto.RawData[0] {
		t.Error("MutableRaw copied bytes the tensor owns")
	}

	// Bytes of the caller's proto, and of a clone: copied on first write.
	p := &onnx.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnx.GraphProto{Name: proto.String("g"), Initializer: []*onnx.TensorProto{halfTensor([]uint16{0x3C00, 0x4000}).Proto}}}
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), p.Graph.Initializer[0].RawData...)
	for _, mm := range []*graph.Model{m, c} {
		tn := mm.Graph.Initializers[0].Const()
		raw, err := tn.MutableRaw()
		if err != nil {
			t.Fatal(err)
		}
		clear(raw)
		again, _ := tn.MutableRaw()
		if &again[0] != &raw[0] {
			t.Error("the second MutableRaw copied again")
		}
		if got, _ := tn.Raw(); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
			t.Errorf("change not visible: %v", got)
		}
	}
	if !bytes.Equal(p.Graph.Initializer[0].RawData, want) {
		t.Error("MutableRaw changed the caller's proto")
	}

	// A float16 tensor in int32_data becomes raw_data.
	typed := graph.NewTensor(&onnx.TensorProto{Name: proto.String("i"), Dims: []int64{2},
		DataType: proto.Int32(int32(onnx.TensorProto_FLOAT16)), Int32Data: []int32{0x3C00, 0xC000}})
	raw, err = typed.MutableRaw()
	if err != nil {
		t.Fatal(err)
	}
	raw[0], raw[1] = 0, 0
	if typed.Proto.Int32Data != nil {
		t.Error("typed field kept")
	}
	if v, _ := typed.Floats(); v[0] != 0 || v[1] != -2 {
		t.Errorf("values %v, want [0 -2]", v)
	}
}
