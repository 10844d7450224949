package structured

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
)

func mlpOptions() modelgen.MLPOptions {
	return modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 3, Seed: 5}
}

// plantDead makes neurons of the three kinds dead in the first two blocks
// of m: hidden 3 of block0 has zero incoming weights and zero bias; hidden
// 7 has zero incoming weights and bias 0.5, so it is the constant
// relu(0.5); hidden 11 has zero outgoing weights. Block1 gets a constant
// neuron too (hidden 20, bias 0.25), and a zero-incoming neuron with a
// negative bias (hidden 21, relu gives 0).
func plantDead(t *testing.T, m *graph.Model) {
	t.Helper()
	set := func(name string, fn func(d []int64, v []float32)) {
		c := m.Graph.Lookup(name).Const()
		v, err := c.MutableFloat32s()
		if err != nil {
			t.Fatal(err)
		}
		fn(c.Dims(), v)
	}
	zeroCol := func(j int64) func(d []int64, v []float32) {
		return func(d []int64, v []float32) {
			for i := int64(0); i < d[0]; i++ {
				v[i*d[1]+j] = 0
			}
		}
	}
	zeroRow := func(i int64) func(d []int64, v []float32) {
		return func(d []int64, v []float32) {
			for j := int64(0); j < d[1]; j++ {
				v[i*d[1]+j] = 0
			}
		}
	}
	setAt := func(i int, x float32) func(d []int64, v []float32) {
		return func(_ []int64, v []float32) { v[i] = x }
	}
	set("block0.fc1.weight", zeroCol(3))
	set("block0.fc1.bias", setAt(3, 0))
	set("block0.fc1.weight", zeroCol(7))
	set("block0.fc1.bias", setAt(7, 0.5))
	set("block0.fc2.weight", zeroRow(11))
	set("block1.fc1.weight", zeroCol(20))
	set("block1.fc1.bias", setAt(20, 0.25))
	set("block1.fc1.weight", zeroCol(21))
	set("block1.fc1.bias", setAt(21, -0.3))
}

func TestDeadNeuronsMLP(t *testing.T) {
	orig := modelgen.MLP(mlpOptions())
	ref := load(t, orig)
	plantDead(t, ref)
	refPath := write(t, ref, "planted.onnx")

	m := load(t, orig)
	plantDead(t, m)
	before := params(m)
	rep := runPipeline(t, m, "dead-neurons")
	pr := rep.Passes[0]
	for k, want := range map[string]int{"dead_zero_outgoing": 1, "dead_zero_incoming": 2, "dead_constant_folded": 2} {
		if got := pr.Extra[k]; got != want {
			t.Errorf("%s = %v, want %d", k, got, want)
		}
	}
	for name, want := range map[string]int64{"block0.fc1.weight": 253, "block1.fc1.weight": 254, "block2.fc1.weight": 256} {
		if d := dims(t, m, name); d[1] != want {
			t.Errorf("%s: %d hidden neurons, want %d", name, d[1], want)
		}
	}
	if d := dims(t, m, "block0.fc2.weight"); d[0] != 253 {
		t.Errorf("block0.fc2.weight: %d rows, want 253", d[0])
	}
	if after := params(m); after != before-5*(2*64+1) {
		t.Errorf("parameters %d -> %d, want %d removed", before, after, 5*(2*64+1))
	}
	var skipped []string
	for _, s := range pr.Skipped {
		skipped = append(skipped, s.Name+": "+s.Reason)
	}
	if !strings.Contains(strings.Join(skipped, "\n"), "graph input") {
		t.Errorf("the residual stream should be left alone as fed by the graph input; skipped: %v", skipped)
	}

	r := compareORT(t, refPath, write(t, m, "dead.onnx"), nil)
	for _, d := range r.Outputs {
		t.Logf("%s: max abs %.3g, cosine %.6f", d.Name, d.MaxAbsErr, d.Cosine)
		if d.MaxAbsErr > 1e-4 {
			t.Errorf("%s: max abs error %g after removing dead neurons, want <= 1e-4", d.Name, d.MaxAbsErr)
		}
	}
}

// TestDeadNeuronsNone checks that a model without dead neurons is left
// exactly as it was.
func TestDeadNeuronsNone(t *testing.T) {
	m := load(t, modelgen.MLP(mlpOptions()))
	before := m.Graph.DumpString()
	runPipeline(t, m, "dead-neurons")
	if after := m.Graph.DumpString(); after != before {
		t.Errorf("dead-neurons changed a model with no dead neurons:\n%s", after)
	}
}

func TestPruneChannelsMLP(t *testing.T) {
	for _, gemm := range []bool{false, true} {
		o := mlpOptions()
		o.TransB = gemm
		orig := modelgen.MLP(o)
		m := load(t, orig)
		before := params(m)
		runPipeline(t, m, "prune-channels(ratio=0.5)")
		after := params(m)
		t.Logf("gemm=%v: parameters %d -> %d (%.1f%%)", gemm, before, after, 100*float64(after)/float64(before))
		if float64(after) > 0.6*float64(before) {
			t.Errorf("gemm=%v: parameters %d -> %d, want at most 60%%", gemm, before, after)
		}
		if d := dims(t, m, "block0.fc1.bias"); d[0] != 128 {
			t.Errorf("gemm=%v: block0.fc1.bias has %d entries, want 128", gemm, d[0])
		}
		r := compareORT(t, write(t, load(t, orig), "ref.onnx"), write(t, m, "pruned.onnx"), nil)
		for _, d := range r.Outputs {
			t.Logf("gemm=%v: %s cosine %.4f", gemm, d.Name, d.Cosine)
		}
	}
}

func TestPruneChannelsOptions(t *testing.T) {
	for _, tc := range []struct {
		pipeline string
		want     map[string]int64 // group -> channels after
	}{
		{"prune-channels(ratio=0.25)", map[string]int64{"block0/fc1/MatMul": 192, "block1/fc1/MatMul": 192}},
		{"prune-channels(ratio=0.3,round-to=8)", map[string]int64{"block0/fc1/MatMul": 184}},
		{"prune-channels(ratio=0.9,min-channels=100)", map[string]int64{"block0/fc1/MatMul": 100}},
		{"prune-channels(ratio=0.5,include=block1*)", map[string]int64{"block0/fc1/MatMul": 256, "block1/fc1/MatMul": 128}},
		{"prune-channels(ratio=0.5,exclude=block1.*)", map[string]int64{"block0/fc1/MatMul": 128, "block1/fc1/MatMul": 256}},
		{"prune-channels(ratio=0.5,norm=l2)", map[string]int64{"block2/fc1/MatMul": 128}},
	} {
		m := load(t, modelgen.MLP(mlpOptions()))
		rep := runPipeline(t, m, tc.pipeline)
		got := map[string]int64{}
		for _, g := range rep.Passes[0].Extra["groups"].([]GroupReport) {
			got[g.Name] = g.After
		}
		for name, want := range tc.want {
			if got[name] != want {
				t.Errorf("%s: group %s has %d channels, want %d", tc.pipeline, name, got[name], want)
			}
		}
	}
	for _, bad := range []string{"prune-channels(ratio=1)", "prune-channels(ratio=-0.1)", "prune-channels(round-to=0)", "prune-channels(min-channels=0)"} {
		p, err := passesParse(bad)
		if err != nil {
			continue // rejected by the parser: fine
		}
		if _, err := runPasses(p, load(t, modelgen.MLP(mlpOptions()))); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestL1Ranking checks that the channels removed are those of smallest
// norm summed over the source and sink weights.
func TestL1Ranking(t *testing.T) {
	b := tiny["bias"]()
	m := load(t, b.Model(17))
	// Make hidden 5 and 9 tiny in w1 only, and hidden 2 tiny in w2 only.
	scale := func(name string, fn func(d []int64, v []float32)) {
		c := m.Graph.Lookup(name).Const()
		v, _ := c.MutableFloat32s()
		fn(c.Dims(), v)
	}
	scale("w1", func(d []int64, v []float32) {
		for i := int64(0); i < d[0]; i++ {
			v[i*d[1]+5] *= 1e-3
			v[i*d[1]+9] *= 1e-3
		}
	})
	scale("w2", func(d []int64, v []float32) {
		for j := int64(0); j < d[1]; j++ {
			v[2*d[1]+j] *= 1e-3
		}
	})
	an, err := Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := channelNorms(groupByName(t, an, "fc1"), false)
	if err != nil {
		t.Fatal(err)
	}
	w := weakest(scores, 3)
	if len(w) != 3 || w[0] != 2 || w[1] != 5 || w[2] != 9 {
		t.Errorf("weakest 3 channels %v, want [2 5 9] (scores %v)", w, scores)
	}
}
