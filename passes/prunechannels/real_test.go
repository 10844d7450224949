package prunechannels

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

// pruneAndRun prunes a quarter of the channels of m, checks that the model
// is smaller, runs it next to the original and logs the cosine.
func pruneAndRun(t *testing.T, refPath string, m *graph.Model, shapes ort.Shapes) {
	t.Helper()
	before := channelstest.Params(m)
	rep := channelstest.RunPipeline(t, m, "prune-channels(ratio=0.25)")
	after := channelstest.Params(m)
	pr := rep.Passes[0]
	t.Logf("parameters %d -> %d (%.1f%%); %v groups pruned, %d left alone", before, after, 100*float64(after)/float64(before), pr.Extra["groups_pruned"], len(pr.Skipped))
	for _, s := range pr.Skipped {
		t.Logf("  left alone: %s: %s", s.Name, s.Reason)
	}
	if after >= before {
		t.Errorf("parameters %d -> %d: the model did not shrink", before, after)
	}
	r := channelstest.CompareORT(t, refPath, channelstest.Write(t, m, "pruned.onnx"), shapes)
	for _, d := range r.Outputs {
		t.Logf("output %s %v: cosine %.4f, max abs %.3g", d.Name, d.Shape, d.Cosine, d.MaxAbsErr)
	}
}

func TestPruneChannelsCNN(t *testing.T) {
	orig := modelgen.CNN(modelgen.CNNOptions{Channels: 16, Stages: 3, Depthwise: true, Concat: true, Seed: 2})
	m := channelstest.Load(t, orig)
	an, err := channels.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	// The stem and the first two residual blocks share one group (the
	// residual stream); it must be prunable as a whole.
	g := channelstest.GroupByName(t, an, "stem/conv/Conv")
	if g.Reason != "" || g.Size != 16 {
		t.Fatalf("stem group: size %d, reason %q; want 16 prunable channels", g.Size, g.Reason)
	}
	var sources int
	for _, mb := range g.Members {
		if mb.Role == channels.Source {
			sources++
		}
	}
	if sources != 3 {
		t.Errorf("stem group has %d producing convs, want 3 (stem and the second conv of blocks 0 and 1)", sources)
	}
	pruneAndRun(t, channelstest.Write(t, channelstest.Load(t, orig), "ref.onnx"), m, nil)
	if d := channelstest.Dims(t, m, "block0.conv2.weight"); d[0] != 12 || d[1] != 12 {
		t.Errorf("block0.conv2.weight: %v, want 12 output and 12 input channels", d)
	}
}

func TestPruneChannelsPPOCRClassifier(t *testing.T) {
	path := testenv.Model(t, "ppocr-cls.onnx")
	m, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pruneAndRun(t, path, m, ort.Shapes{"x": {1, 3, 48, 192}})
}
