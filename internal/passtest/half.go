package passtest

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// Constant is a snapshot of one constant tensor: its type, shape and raw
// little-endian bytes (a copy).
type Constant struct {
	DType int32
	Dims  []int64
	Raw   []byte
}

// Elements is the constant's element count.
func (c Constant) Elements() int {
	if w := onnx.ElemBits(c.DType) / 8; w > 0 {
		return len(c.Raw) / w
	}
	return 0
}

// Zeros counts the elements whose bits are all zero.
func (c Constant) Zeros() int {
	w := onnx.ElemBits(c.DType) / 8
	n := 0
	for i := 0; i+w <= len(c.Raw); i += w {
		zero := true
		for _, b := range c.Raw[i : i+w] {
			zero = zero && b == 0
		}
		if zero {
			n++
		}
	}
	return n
}

// Constants snapshots every constant of m (initializers and Constant
// nodes, subgraphs included) by name.
func Constants(t testing.TB, m *graph.Model) map[string]Constant {
	t.Helper()
	out := map[string]Constant{}
	m.Graph.Walk(func(g *graph.Graph) {
		add := func(v *graph.Value) {
			c := v.Const()
			if c == nil {
				return
			}
			raw, err := c.Raw()
			if err != nil {
				t.Fatalf("constant %s: %v", v.Name, err)
			}
			out[v.Name] = Constant{DType: c.DataType(), Dims: append([]int64(nil), c.Dims()...), Raw: append([]byte(nil), raw...)}
		}
		for _, v := range g.Initializers {
			add(v)
		}
		for _, n := range g.Nodes {
			if n.OpType() == "Constant" {
				for _, v := range n.Outputs() {
					add(v)
				}
			}
		}
	})
	return out
}

// Floats returns the values of the constant called name, found in any
// graph of m, whatever its float type (decoded to float32).
func Floats(t testing.TB, m *graph.Model, name string) []float32 {
	t.Helper()
	var found *graph.Tensor
	m.Graph.Walk(func(g *graph.Graph) {
		if v := g.Lookup(name); v != nil && v.Graph() == g {
			found = v.Const()
		}
	})
	if found == nil {
		t.Fatalf("no constant %q", name)
	}
	v, err := found.Floats()
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), v...)
}

// CheckKeptBits fails t unless every element of after that is not zero
// has the same bits as in before (same type and element count): what a
// pass that only zeroes weights must leave.
func CheckKeptBits(t testing.TB, name string, before, after Constant) {
	t.Helper()
	if before.DType != after.DType {
		t.Errorf("%s: type changed from %s to %s", name, onnx.DataTypeName(before.DType), onnx.DataTypeName(after.DType))
		return
	}
	if len(before.Raw) != len(after.Raw) {
		t.Errorf("%s: %d bytes, was %d", name, len(after.Raw), len(before.Raw))
		return
	}
	w := onnx.ElemBits(after.DType) / 8
	for i := 0; i+w <= len(after.Raw); i += w {
		zero, same := true, true
		for j := i; j < i+w; j++ {
			zero = zero && after.Raw[j] == 0
			same = same && after.Raw[j] == before.Raw[j]
		}
		if !zero && !same {
			t.Errorf("%s: element %d changed bits: % x -> % x", name, i/w, before.Raw[i:i+w], after.Raw[i:i+w])
			return
		}
	}
}

// HalfMLP returns modelgen's MLP of opts after pipeline form (a
// convert-float that stores its weights in a 16-bit type), the model the
// float16 and bfloat16 tests of a weight pass start from.
func HalfMLP(t testing.TB, opts modelgen.MLPOptions, form string) *graph.Model {
	t.Helper()
	m, err := graph.FromProto(modelgen.MLP(opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	Run(t, m, form, 1)
	return m
}

// FloatsOf returns Floats of each named constant, by name.
func FloatsOf(t testing.TB, m *graph.Model, names []string) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, n := range names {
		out[n] = Floats(t, m, n)
	}
	return out
}
