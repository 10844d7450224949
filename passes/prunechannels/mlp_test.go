package prunechannels

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

func TestPruneChannelsMLP(t *testing.T) {
	for _, gemm := range []bool{false, true} {
		o := channelstest.MLPOptions()
		o.TransB = gemm
		orig := modelgen.MLP(o)
		m := channelstest.Load(t, orig)
		before := channelstest.Params(m)
		channelstest.RunPipeline(t, m, "prune-channels(ratio=0.5)")
		after := channelstest.Params(m)
		t.Logf("gemm=%v: parameters %d -> %d (%.1f%%)", gemm, before, after, 100*float64(after)/float64(before))
		if float64(after) > 0.6*float64(before) {
			t.Errorf("gemm=%v: parameters %d -> %d, want at most 60%%", gemm, before, after)
		}
		if d := channelstest.Dims(t, m, "block0.fc1.bias"); d[0] != 128 {
			t.Errorf("gemm=%v: block0.fc1.bias has %d entries, want 128", gemm, d[0])
		}
		r := channelstest.CompareORT(t, channelstest.Write(t, channelstest.Load(t, orig), "ref.onnx"), channelstest.Write(t, m, "pruned.onnx"), nil)
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
		m := channelstest.Load(t, modelgen.MLP(channelstest.MLPOptions()))
		rep := channelstest.RunPipeline(t, m, tc.pipeline)
		got := map[string]int64{}
		for _, g := range rep.Passes[0].Extra["groups"].([]channels.GroupReport) {
			got[g.Name] = g.After
		}
		for name, want := range tc.want {
			if got[name] != want {
				t.Errorf("%s: group %s has %d channels, want %d", tc.pipeline, name, got[name], want)
			}
		}
	}
	for _, bad := range []string{"prune-channels(ratio=1)", "prune-channels(ratio=-0.1)", "prune-channels(round-to=0)", "prune-channels(min-channels=0)"} {
		p, err := passes.Parse(bad)
		if err != nil {
			continue // rejected by the parser: fine
		}
		if _, err := passes.Run(p, channelstest.Load(t, modelgen.MLP(channelstest.MLPOptions())), passes.RunOptions{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestL1Ranking checks that the channels removed are those of smallest
// norm summed over the source and sink weights.
func TestL1Ranking(t *testing.T) {
	b := tiny["bias"]()
	m := channelstest.Load(t, b.Model(17))
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
	an, err := channels.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := channelNorms(channelstest.GroupByName(t, an, "fc1"), false)
	if err != nil {
		t.Fatal(err)
	}
	w := weakest(scores, 3)
	if len(w) != 3 || w[0] != 2 || w[1] != 5 || w[2] != 9 {
		t.Errorf("weakest 3 channels %v, want [2 5 9] (scores %v)", w, scores)
	}
}
