package modelgen

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"
)

func TestMLP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    MLPOptions
		ops     map[string]int
		w1      []int64 // dims of block0.fc1.weight
		input   []any
		output  []any
		inits   int
		classes int64
	}{
		{
			name:   "2-D",
			opts:   MLPOptions{Dim: 32, Hidden: 64, Blocks: 3, Seed: 1},
			ops:    map[string]int{"MatMul": 7, "Add": 9, "Relu": 3},
			w1:     []int64{32, 64},
			input:  []any{"batch", int64(32)},
			output: []any{"batch", int64(10)},
			inits:  3*4 + 1,
		},
		{
			name:   "rank-3 with LayerNorm",
			opts:   MLPOptions{Dim: 16, Hidden: 48, Blocks: 2, Classes: 5, Rank3: true, LayerNorm: true},
			ops:    map[string]int{"LayerNormalization": 2, "MatMul": 5, "Add": 6, "Relu": 2},
			w1:     []int64{16, 48},
			input:  []any{"batch", "seq", int64(16)},
			output: []any{"batch", "seq", int64(5)},
			inits:  2*6 + 1,
		},
		{
			name:   "Gemm",
			opts:   MLPOptions{Dim: 16, Hidden: 32, Blocks: 2, TransB: true},
			ops:    map[string]int{"Gemm": 5, "Add": 2, "Relu": 2},
			w1:     []int64{32, 16},
			input:  []any{"batch", int64(16)},
			output: []any{"batch", int64(10)},
			inits:  2*4 + 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := roundTrip(t, MLP(tc.opts))
			g := m.GetGraph()
			checkWellFormed(t, g)
			if got := countOps(g); !reflect.DeepEqual(got, tc.ops) {
				t.Errorf("ops = %v, want %v", got, tc.ops)
			}
			inits := initializers(t, g)
			if len(inits) != tc.inits {
				t.Errorf("%d initializers, want %d", len(inits), tc.inits)
			}
			if w1 := inits["block0.fc1.weight"]; w1 == nil || !reflect.DeepEqual(w1.Dims, tc.w1) {
				t.Errorf("block0.fc1.weight = %v, want dims %v", w1, tc.w1)
			}
			if got := checkRawSizes(t, g); got != tc.opts.WeightBytes() {
				t.Errorf("weights are %d bytes, WeightBytes says %d", got, tc.opts.WeightBytes())
			}
			if len(g.Input) != 1 || g.Input[0].GetName() != "input" || !reflect.DeepEqual(shapeOf(g.Input[0]), tc.input) {
				t.Errorf("inputs = %v, want input %v", g.Input, tc.input)
			}
			if len(g.Output) != 1 || g.Output[0].GetName() != "logits" || !reflect.DeepEqual(shapeOf(g.Output[0]), tc.output) {
				t.Errorf("outputs = %v, want logits %v", g.Output, tc.output)
			}
			if m.GetIrVersion() != 8 || m.GetProducerName() != "onnxopt-modelgen" || m.OpsetImport[0].GetVersion() != 17 {
				t.Errorf("ir_version %d, producer %q, opsets %v", m.GetIrVersion(), m.GetProducerName(), m.OpsetImport)
			}
		})
	}
}

func TestMLPNames(t *testing.T) {
	g := MLP(MLPOptions{Dim: 8, Hidden: 16, Blocks: 1}).Graph
	var names []string
	for _, n := range g.Node {
		names = append(names, n.GetName())
	}
	want := []string{"block0/fc1/MatMul", "block0/fc1/Add", "block0/act/Relu", "block0/fc2/MatMul", "block0/fc2/Add", "block0/Add", "head/MatMul"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("node names = %q, want %q", names, want)
	}
	if in := g.Node[1].Input; !reflect.DeepEqual(in, []string{"block0/fc1/MatMul_output_0", "block0.fc1.bias"}) {
		t.Errorf("block0/fc1/Add reads %q", in)
	}
}

func TestMLPDeterministic(t *testing.T) {
	opts := MLPOptions{Dim: 64, Hidden: 128, Blocks: 2, Seed: 7, LayerNorm: true}
	a, b := marshal(t, MLP(opts)), marshal(t, MLP(opts))
	if !sameBytes(a, b) {
		t.Fatal("two models with the same seed differ")
	}
	opts.Seed = 8
	if sameBytes(a, marshal(t, MLP(opts))) {
		t.Fatal("models with different seeds are identical")
	}
}

// TestMLPWeightScale checks the Kaiming spread of a large weight, and that
// its values do not depend on how many blocks follow it.
func TestMLPWeightScale(t *testing.T) {
	w := initializers(t, MLP(MLPOptions{Dim: 512, Hidden: 1024, Blocks: 1}).Graph)["block0.fc1.weight"]
	mean, std := stats(t, w.RawData)
	want := math.Sqrt(2.0 / 512)
	if math.Abs(mean) > 0.01*want || math.Abs(std-want) > 0.01*want {
		t.Errorf("block0.fc1.weight: mean %g, std %g, want 0 and %g", mean, std, want)
	}
	w3 := initializers(t, MLP(MLPOptions{Dim: 512, Hidden: 1024, Blocks: 3}).Graph)["block0.fc1.weight"]
	if !sameBytes(w.RawData, w3.RawData) {
		t.Error("block0.fc1.weight changes with the number of blocks")
	}
}

func stats(t testing.TB, raw []byte) (mean, std float64) {
	t.Helper()
	n := len(raw) / 4
	var sum, sq float64
	for i := range n {
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("value %d is %g", i, v)
		}
		sum += v
		sq += v * v
	}
	mean = sum / float64(n)
	return mean, math.Sqrt(sq/float64(n) - mean*mean)
}

func TestMLPBadOptions(t *testing.T) {
	for _, o := range []MLPOptions{
		{Rank3: true, TransB: true},
		{LayerNorm: true, Opset: 13},
		{Dim: -1},
	} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
