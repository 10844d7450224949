package modelgen

import (
	"bytes"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// marshal returns m's deterministic encoding.
func marshal(t testing.TB, m *onnx.ModelProto) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip marshals and unmarshals m, as a reader of the file would see it.
func roundTrip(t testing.TB, m *onnx.ModelProto) *onnx.ModelProto {
	t.Helper()
	var out onnx.ModelProto
	if err := proto.Unmarshal(marshal(t, m), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// initializers maps each initializer's name to it, checking that names are
// unique.
func initializers(t testing.TB, g *onnx.GraphProto) map[string]*onnx.TensorProto {
	t.Helper()
	m := map[string]*onnx.TensorProto{}
	for _, x := range g.GetInitializer() {
		if m[x.GetName()] != nil {
			t.Errorf("initializer %s appears twice", x.GetName())
		}
		m[x.GetName()] = x
	}
	return m
}

// checkRawSizes checks that every float initializer holds 4 bytes per
// element, and returns their total size.
func checkRawSizes(t testing.TB, g *onnx.GraphProto) int64 {
	t.Helper()
	var total int64
	for _, x := range g.GetInitializer() {
		if want := 4 * numElements(x.Dims); int64(len(x.RawData)) != want {
			t.Errorf("%s: %d bytes of raw_data, want %d for dims %v", x.GetName(), len(x.RawData), want, x.Dims)
		}
		total += int64(len(x.RawData))
	}
	return total
}

// countOps counts nodes by op type.
func countOps(g *onnx.GraphProto) map[string]int {
	n := map[string]int{}
	for _, x := range g.GetNode() {
		n[x.GetOpType()]++
	}
	return n
}

// shapeOf returns a value's dims as ints (fixed) and strings (symbolic).
func shapeOf(v *onnx.ValueInfoProto) []any {
	var s []any
	for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			s = append(s, p)
		} else {
			s = append(s, d.GetDimValue())
		}
	}
	return s
}

// checkWellFormed checks that every node input is a graph input, an
// initializer or an earlier node's output, that value and node names are
// unique, and that every graph output is produced.
func checkWellFormed(t testing.TB, g *onnx.GraphProto) {
	t.Helper()
	known := map[string]bool{"": true}
	for _, v := range g.GetInput() {
		known[v.GetName()] = true
	}
	for _, x := range g.GetInitializer() {
		known[x.GetName()] = true
	}
	var names []string
	for _, n := range g.GetNode() {
		names = append(names, n.GetName())
		for _, in := range n.Input {
			if !known[in] {
				t.Errorf("node %s reads %s before it is defined", n.GetName(), in)
			}
		}
		for _, out := range n.Output {
			if known[out] {
				t.Errorf("node %s redefines %s", n.GetName(), out)
			}
			known[out] = true
		}
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != len(g.GetNode()) {
		t.Errorf("node names are not unique")
	}
	for _, v := range g.GetOutput() {
		if !known[v.GetName()] {
			t.Errorf("output %s is never produced", v.GetName())
		}
	}
}

func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) }
