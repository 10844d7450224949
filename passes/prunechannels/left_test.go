package prunechannels

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

// TestLeftAlone checks that groups meeting what the analysis cannot follow
// are left alone, with a reason, and that pruning leaves them unchanged.
func TestLeftAlone(t *testing.T) {
	b := modelgen.NewBuilder("left")
	x := b.Input("x", channelstest.F32, "batch", 3, 6, 6)
	h := channelstest.Conv(b, "conv_soft", x, 3, 8, 1, 0, 1, 1)
	h = b.Op("soft", "Softmax", []string{h}, modelgen.AttrInt("axis", 1))
	h = channelstest.Conv(b, "conv_grouped_in", h, 8, 8, 1, 0, 1, 2)
	h = channelstest.Conv(b, "grouped", h, 8, 8, 3, 1, 2, 3)
	y := channelstest.Conv(b, "conv_out", h, 8, 4, 1, 0, 1, 4)
	b.Output(y, channelstest.F32, "batch", 4, 6, 6)
	m := channelstest.Load(t, b.Model(17))
	an, err := channels.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, why := range map[string]string{
		"conv_soft":       "Softmax",
		"conv_grouped_in": "grouped convolution",
		"conv_out":        "graph output",
	} {
		if g := channelstest.GroupByName(t, an, name); !strings.Contains(g.Reason, why) {
			t.Errorf("group %s: reason %q, want it to mention %q", name, g.Reason, why)
		}
	}
	before := m.Graph.DumpString()
	rep := channelstest.RunPipeline(t, m, "prune-channels(ratio=0.5)")
	if len(rep.Passes[0].Skipped) < 3 {
		t.Errorf("skipped %v, want the three groups", rep.Passes[0].Skipped)
	}
	if after := m.Graph.DumpString(); after != before {
		t.Errorf("groups left alone were changed:\n%s", after)
	}
}
