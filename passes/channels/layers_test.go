package channels_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

// member returns the member of g that is constant name, failing when there
// is none.
func member(t *testing.T, g *channels.Group, name string) channels.Member {
	t.Helper()
	for _, m := range g.Members {
		if m.Value.Name == name {
			return m
		}
	}
	t.Fatalf("group %s has no member %s", g.Name, name)
	return channels.Member{}
}

// TestGemmAxes checks that the weight axes of Gemm come from its transB:
// with transB=1 the rows of B produce the channels, the next Gemm's rows
// read them, and a bias broadcast along the channels shrinks with them
// while one of size 1 does not; transA stops the group.
func TestGemmAxes(t *testing.T) {
	b := modelgen.NewBuilder("gemm")
	x := b.Input("x", channelstest.F32, 2, 4)
	w1 := b.Init("w1", []int64{6, 4}, channelstest.Seq(24, 1))
	b1 := b.Init("b1", []int64{1, 6}, channelstest.Seq(6, 2))
	h := b.Op("g1", "Gemm", []string{x, w1, b1}, modelgen.AttrInt("transB", 1))
	h = b.Op("r1", "Relu", []string{h})
	w2 := b.Init("w2", []int64{6, 5}, channelstest.Seq(30, 3))
	b2 := b.Init("b2", []int64{1}, channelstest.Seq(1, 4))
	h = b.Op("g2", "Gemm", []string{h, w2, b2})
	h = b.Op("r2", "Relu", []string{h})
	w3 := b.Init("w3", []int64{2, 3}, channelstest.Seq(6, 5))
	y := b.Op("g3", "Gemm", []string{h, w3}, modelgen.AttrInt("transA", 1))
	b.Output(y, channelstest.F32, 5, 3)
	an, err := channels.Analyze(channelstest.Load(t, b.Model(17)))
	if err != nil {
		t.Fatal(err)
	}
	g := channelstest.GroupByName(t, an, "g1")
	if g.Reason != "" || g.Size != 6 {
		t.Fatalf("group g1: size %d, reason %q; want 6 prunable channels", g.Size, g.Reason)
	}
	for _, c := range []struct {
		name string
		role channels.Role
		axis int
	}{{"w1", channels.Source, 0}, {"b1", channels.Param, 1}, {"w2", channels.Sink, 0}} {
		if m := member(t, g, c.name); m.Role != c.role || m.Axis != c.axis {
			t.Errorf("%s: %s on axis %d, want %s on axis %d", c.name, m.Role, m.Axis, c.role, c.axis)
		}
	}
	g = channelstest.GroupByName(t, an, "g2")
	if !strings.Contains(g.Reason, "transA") {
		t.Errorf("group g2: reason %q, want it to mention transA", g.Reason)
	}
	for _, m := range g.Members {
		if m.Value.Name == "b2" {
			t.Errorf("group g2: the size-1 bias b2 is a member")
		}
	}
}

// TestDepthwiseAndGrouped checks Conv's limits: a depthwise Conv
// (multiplier 1) carries its input's channels with its filter and bias,
// a Conv with group 2 stops them.
func TestDepthwiseAndGrouped(t *testing.T) {
	b := modelgen.NewBuilder("dw")
	x := b.Input("x", channelstest.F32, "batch", 3, 4, 4)
	h := channelstest.Conv(b, "c1", x, 3, 8, 1, 0, 1, 1)
	bias := b.Init("dw.bias", []int64{8}, channelstest.Seq(8, 2))
	w := b.Init("dw.weight", []int64{8, 1, 3, 3}, channelstest.Seq(72, 3))
	h = b.Op("dw", "Conv", []string{h, w, bias}, modelgen.AttrInt("group", 8), modelgen.AttrInts("pads", 1, 1, 1, 1))
	h = channelstest.Conv(b, "c2", h, 8, 8, 1, 0, 1, 4)
	y := channelstest.Conv(b, "c3", h, 8, 4, 1, 0, 2, 5)
	b.Output(y, channelstest.F32, "batch", 4, 4, 4)
	an, err := channels.Analyze(channelstest.Load(t, b.Model(17)))
	if err != nil {
		t.Fatal(err)
	}
	g := channelstest.GroupByName(t, an, "c1")
	if g.Reason != "" || len(g.Depthwise) != 1 || g.Depthwise[0].Name() != "dw" {
		t.Fatalf("group c1: reason %q, depthwise %v; want prunable through dw", g.Reason, g.Depthwise)
	}
	for _, c := range []struct {
		name string
		role channels.Role
	}{{"c1.weight", channels.Source}, {"dw.weight", channels.Through}, {"dw.bias", channels.Param}} {
		if m := member(t, g, c.name); m.Role != c.role || m.Axis != 0 {
			t.Errorf("%s: %s on axis %d, want %s on axis 0", c.name, m.Role, m.Axis, c.role)
		}
	}
	if m := member(t, g, "c2.weight"); m.Role != channels.Sink || m.Axis != 1 {
		t.Errorf("c2.weight: %s on axis %d, want sink on axis 1", m.Role, m.Axis)
	}
	if g := channelstest.GroupByName(t, an, "c2"); !strings.Contains(g.Reason, "group=2") {
		t.Errorf("group c2: reason %q, want it to name group=2", g.Reason)
	}
}

// TestMissingWeight checks that a layer without its weight input stops the
// group reaching it with a reason instead of failing.
func TestMissingWeight(t *testing.T) {
	b := modelgen.NewBuilder("missing")
	x := b.Input("x", channelstest.F32, 2, 4)
	w := b.Init("w", []int64{4, 4}, channelstest.Seq(16, 1))
	h := b.Op("mm", "MatMul", []string{x, w})
	h = b.Op("bad", "MatMul", []string{h})
	y := b.Op("r", "Relu", []string{h})
	b.Output(y, channelstest.F32, 2, 4)
	an, err := channels.Analyze(channelstest.Load(t, b.Model(17)))
	if err != nil {
		t.Fatal(err)
	}
	if g := channelstest.GroupByName(t, an, "mm"); !strings.Contains(g.Reason, "missing") {
		t.Errorf("group mm: reason %q, want the missing weight", g.Reason)
	}
}
