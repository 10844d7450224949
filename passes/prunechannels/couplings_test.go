package prunechannels

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

// tiny builds the small graphs of the coupling table tests.
var tiny = map[string]func() *modelgen.Builder{
	"bias": func() *modelgen.Builder {
		b := modelgen.NewBuilder("bias")
		x := b.Input("x", channelstest.F32, "batch", 8)
		h := b.Op("fc1", "MatMul", []string{x, b.Init("w1", []int64{8, 16}, channelstest.Seq(128, 1))})
		h = b.Op("fc1_bias", "Add", []string{h, b.Init("b1", []int64{16}, channelstest.Seq(16, 2))})
		h = b.Op("act", "Clip", []string{h, b.Init("lo", nil, []float32{0}), b.Init("hi", nil, []float32{6})})
		h = b.Op("scale", "Mul", []string{h, b.Init("s1", []int64{1, 16}, channelstest.Seq(16, 3))})
		h = b.Op("fc2", "MatMul", []string{h, b.Init("w2", []int64{16, 4}, channelstest.Seq(64, 4))})
		b.Output(h, channelstest.F32, "batch", 4)
		return b
	},
	"bn": func() *modelgen.Builder {
		b := modelgen.NewBuilder("bn")
		x := b.Input("x", channelstest.F32, "batch", 3, 6, 6)
		h := channelstest.BN(b, "bn1", channelstest.Conv(b, "conv1", x, 3, 8, 3, 1, 1, 1), 8, 10)
		h = b.Op("act", "HardSigmoid", []string{h})
		h = channelstest.Conv(b, "conv2", h, 8, 4, 1, 0, 1, 2)
		b.Output(h, channelstest.F32, "batch", 4, 6, 6)
		return b
	},
	"residual": func() *modelgen.Builder {
		b := modelgen.NewBuilder("residual")
		x := b.Input("x", channelstest.F32, "batch", 3, 6, 6)
		a := b.Op("relu_a", "Relu", []string{channelstest.BN(b, "bn_a", channelstest.Conv(b, "conv_a", x, 3, 8, 3, 1, 1, 1), 8, 10)})
		h := b.Op("relu_b", "Relu", []string{channelstest.BN(b, "bn_b", channelstest.Conv(b, "conv_b", a, 8, 8, 3, 1, 1, 2), 8, 20)})
		h = channelstest.BN(b, "bn_c", channelstest.Conv(b, "conv_c", h, 8, 8, 3, 1, 1, 3), 8, 30)
		s := b.Op("add", "Add", []string{a, h})
		y := channelstest.Conv(b, "conv_d", s, 8, 4, 1, 0, 1, 4)
		b.Output(y, channelstest.F32, "batch", 4, 6, 6)
		return b
	},
	"concat": func() *modelgen.Builder {
		b := modelgen.NewBuilder("concat")
		x := b.Input("x", channelstest.F32, "batch", 3, 5, 5)
		l := b.Op("relu_l", "Relu", []string{channelstest.Conv(b, "conv_l", x, 3, 4, 1, 0, 1, 1)})
		r := b.Op("relu_r", "Relu", []string{channelstest.Conv(b, "conv_r", x, 3, 6, 3, 1, 1, 2)})
		h := b.Op("cat", "Concat", []string{l, r}, modelgen.AttrInt("axis", 1))
		h = b.Op("relu_cat", "Relu", []string{h})
		y := channelstest.Conv(b, "conv_out", h, 10, 2, 1, 0, 1, 3)
		b.Output(y, channelstest.F32, "batch", 2, 5, 5)
		return b
	},
	"depthwise": func() *modelgen.Builder {
		b := modelgen.NewBuilder("depthwise")
		x := b.Input("x", channelstest.F32, "batch", 3, 6, 6)
		h := b.Op("relu1", "Relu", []string{channelstest.BN(b, "bn1", channelstest.Conv(b, "conv1", x, 3, 8, 1, 0, 1, 1), 8, 10)})
		h = b.Op("relu2", "Relu", []string{channelstest.BN(b, "bn2", channelstest.Conv(b, "dw", h, 8, 8, 3, 1, 8, 2), 8, 20)})
		h = b.Op("gap", "GlobalAveragePool", []string{h})
		se := b.Op("se_act", "HardSigmoid", []string{channelstest.Conv(b, "se", h, 8, 8, 1, 0, 1, 5)})
		h = b.Op("se_mul", "Mul", []string{h, se})
		y := channelstest.Conv(b, "conv_out", h, 8, 4, 1, 0, 1, 3)
		b.Output(y, channelstest.F32, "batch", 4, 1, 1)
		return b
	},
	"flatten": func() *modelgen.Builder {
		b := modelgen.NewBuilder("flatten")
		x := b.Input("x", channelstest.F32, "batch", 3, 4, 4)
		h := b.Op("relu", "Relu", []string{channelstest.Conv(b, "conv", x, 3, 8, 3, 1, 1, 1)})
		h = b.Op("flat", "Flatten", []string{h}, modelgen.AttrInt("axis", 1))
		y := b.Op("fc", "Gemm", []string{h, b.Init("fc.weight", []int64{5, 128}, channelstest.Seq(640, 2)), b.Init("fc.bias", []int64{5}, channelstest.Seq(5, 3))}, modelgen.AttrInt("transB", 1))
		b.Output(y, channelstest.F32, "batch", 5)
		return b
	},
	"reshape": func() *modelgen.Builder {
		b := modelgen.NewBuilder("reshape")
		x := b.Input("x", channelstest.F32, "batch", 3, 4, 4)
		h := b.Op("relu", "Relu", []string{channelstest.Conv(b, "conv", x, 3, 8, 3, 1, 1, 1)})
		h = b.Op("tr", "Transpose", []string{h}, modelgen.AttrInts("perm", 0, 2, 3, 1))
		h = b.Op("transposed_back", "Transpose", []string{h}, modelgen.AttrInts("perm", 0, 3, 1, 2))
		h = b.Op("rs", "Reshape", []string{h, b.InitInt64("shape", []int64{2}, []int64{-1, 128})})
		y := b.Op("fc", "MatMul", []string{h, b.Init("fc.weight", []int64{128, 5}, channelstest.Seq(640, 2))})
		b.Output(y, channelstest.F32, "batch", 5)
		return b
	},
}

// TestCouplings prunes each tiny graph by half and checks the coupled
// shapes, then runs the result in ONNX Runtime next to the original.
func TestCouplings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups map[string][2]int64 // group -> size before, after
		shapes map[string][]int64  // constant -> shape after
		left   map[string]string   // group -> part of the reason it is left alone
		attr   map[string]int64    // node -> group attribute after
	}{
		{name: "bias",
			groups: map[string][2]int64{"fc1": {16, 8}},
			shapes: map[string][]int64{"w1": {8, 8}, "b1": {8}, "s1": {1, 8}, "w2": {8, 4}},
			left:   map[string]string{"fc2": "graph output"}},
		{name: "bn",
			groups: map[string][2]int64{"conv1": {8, 4}},
			shapes: map[string][]int64{"conv1.weight": {4, 3, 3, 3}, "bn1.scale": {4}, "bn1.var": {4}, "conv2.weight": {4, 4, 1, 1}}},
		{name: "residual",
			groups: map[string][2]int64{"conv_a": {8, 4}, "conv_b": {8, 4}},
			shapes: map[string][]int64{"conv_a.weight": {4, 3, 3, 3}, "conv_b.weight": {4, 4, 3, 3}, "conv_c.weight": {4, 4, 3, 3}, "bn_c.shift": {4}, "conv_d.weight": {4, 4, 1, 1}}},
		{name: "concat",
			groups: map[string][2]int64{"conv_l": {4, 2}, "conv_r": {6, 3}},
			shapes: map[string][]int64{"conv_l.weight": {2, 3, 1, 1}, "conv_r.weight": {3, 3, 3, 3}, "conv_out.weight": {2, 5, 1, 1}}},
		{name: "depthwise",
			groups: map[string][2]int64{"conv1": {8, 4}},
			shapes: map[string][]int64{"dw.weight": {4, 1, 3, 3}, "bn2.mean": {4}, "se.weight": {4, 4, 1, 1}, "conv_out.weight": {4, 4, 1, 1}},
			attr:   map[string]int64{"dw": 4}},
		{name: "flatten",
			groups: map[string][2]int64{"conv": {8, 4}},
			shapes: map[string][]int64{"conv.weight": {4, 3, 3, 3}, "fc.weight": {5, 64}}},
		{name: "reshape",
			groups: map[string][2]int64{"conv": {8, 4}},
			shapes: map[string][]int64{"conv.weight": {4, 3, 3, 3}, "fc.weight": {64, 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := tiny[tc.name]().Model(17)
			m := channelstest.Load(t, orig)
			an, err := channels.Analyze(m)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.groups {
				g := channelstest.GroupByName(t, an, name)
				if g.Reason != "" || g.Size != want[0] {
					t.Errorf("group %s: size %d, reason %q; want %d channels, prunable", name, g.Size, g.Reason, want[0])
				}
			}
			for name, why := range tc.left {
				if g := channelstest.GroupByName(t, an, name); !strings.Contains(g.Reason, why) {
					t.Errorf("group %s: reason %q, want it to mention %q", name, g.Reason, why)
				}
			}
			rep := channelstest.RunPipeline(t, m, "prune-channels(ratio=0.5)")
			got := map[string]channels.GroupReport{}
			for _, r := range rep.Passes[0].Extra["groups"].([]channels.GroupReport) {
				got[r.Name] = r
			}
			for name, want := range tc.groups {
				if r := got[name]; r.Before != want[0] || r.After != want[1] {
					t.Errorf("group %s: %d -> %d, want %d -> %d", name, r.Before, r.After, want[0], want[1])
				}
			}
			for name, want := range tc.shapes {
				if d := channelstest.Dims(t, m, name); !slices.Equal(d, want) {
					t.Errorf("%s: shape %v, want %v", name, d, want)
				}
			}
			for node, want := range tc.attr {
				for _, n := range m.Graph.Nodes {
					if n.Name() == node && n.AttrInt("group", 1) != want {
						t.Errorf("%s: group=%d, want %d", node, n.AttrInt("group", 1), want)
					}
				}
			}
			ref := channelstest.Write(t, channelstest.Load(t, orig), "ref.onnx")
			cand := channelstest.Write(t, m, "pruned.onnx")
			r := channelstest.CompareORT(t, ref, cand, nil)
			for _, d := range r.Outputs {
				if len(d.Shape) == 0 {
					t.Errorf("output %s: no shape", d.Name)
				}
				t.Logf("output %s %v: cosine %.4f after pruning half the channels", d.Name, d.Shape, d.Cosine)
			}
		})
	}
}
