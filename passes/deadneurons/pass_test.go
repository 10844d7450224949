package deadneurons

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

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
	orig := modelgen.MLP(channelstest.MLPOptions())
	ref := channelstest.Load(t, orig)
	plantDead(t, ref)
	refPath := channelstest.Write(t, ref, "planted.onnx")

	m := channelstest.Load(t, orig)
	plantDead(t, m)
	before := channelstest.Params(m)
	rep := channelstest.RunPipeline(t, m, "dead-neurons")
	pr := rep.Passes[0]
	for k, want := range map[string]int{"dead_zero_outgoing": 1, "dead_zero_incoming": 2, "dead_constant_folded": 2} {
		if got := pr.Extra[k]; got != want {
			t.Errorf("%s = %v, want %d", k, got, want)
		}
	}
	for name, want := range map[string]int64{"block0.fc1.weight": 253, "block1.fc1.weight": 254, "block2.fc1.weight": 256} {
		if d := channelstest.Dims(t, m, name); d[1] != want {
			t.Errorf("%s: %d hidden neurons, want %d", name, d[1], want)
		}
	}
	if d := channelstest.Dims(t, m, "block0.fc2.weight"); d[0] != 253 {
		t.Errorf("block0.fc2.weight: %d rows, want 253", d[0])
	}
	if after := channelstest.Params(m); after != before-5*(2*64+1) {
		t.Errorf("parameters %d -> %d, want %d removed", before, after, 5*(2*64+1))
	}
	var skipped []string
	for _, s := range pr.Skipped {
		skipped = append(skipped, s.Name+": "+s.Reason)
	}
	if !strings.Contains(strings.Join(skipped, "\n"), "graph input") {
		t.Errorf("the residual stream should be left alone as fed by the graph input; skipped: %v", skipped)
	}

	r := channelstest.CompareORT(t, refPath, channelstest.Write(t, m, "dead.onnx"), nil)
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
	m := channelstest.Load(t, modelgen.MLP(channelstest.MLPOptions()))
	before := m.Graph.DumpString()
	channelstest.RunPipeline(t, m, "dead-neurons")
	if after := m.Graph.DumpString(); after != before {
		t.Errorf("dead-neurons changed a model with no dead neurons:\n%s", after)
	}
}
