package channels_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes/channels"
	"github.com/onnxopt/onnxopt/passes/channels/channelstest"
)

// concatChain builds conv -> depth one-input Concats -> conv_out; each
// Concat output's channels are derived from the one before.
func concatChain(depth int) *modelgen.Builder {
	b := modelgen.NewBuilder("chain")
	x := b.Input("x", channelstest.F32, "batch", 3, 4, 4)
	h := channelstest.Conv(b, "conv", x, 3, 8, 1, 0, 1, 1)
	for i := 0; i < depth; i++ {
		h = b.Op(fmt.Sprintf("cat%d", i), "Concat", []string{h}, modelgen.AttrInt("axis", 1))
	}
	y := channelstest.Conv(b, "conv_out", h, 8, 4, 1, 0, 1, 2)
	b.Output(y, channelstest.F32, "batch", 4, 4, 4)
	return b
}

// TestDerivedChain checks that channels are followed through a chain of
// Concats up to the depth limit (the last layer's weight shrinks with the
// first), and that a deeper chain is an error naming a value of the chain
// instead of a group that silently misses the weights past the limit.
func TestDerivedChain(t *testing.T) {
	an, err := channels.Analyze(channelstest.Load(t, concatChain(65).Model(17)))
	if err != nil {
		t.Fatal(err)
	}
	g := channelstest.GroupByName(t, an, "conv")
	if g.Reason != "" || g.Size != 8 {
		t.Fatalf("group conv: size %d, reason %q; want 8 prunable channels", g.Size, g.Reason)
	}
	sink := false
	for _, m := range g.Members {
		sink = sink || m.Role == channels.Sink && m.Value.Name == "conv_out.weight"
	}
	if !sink {
		t.Errorf("group conv does not hold conv_out.weight as a sink after 65 Concats: %v", g.Members)
	}

	_, err = channels.Analyze(channelstest.Load(t, concatChain(100).Model(17)))
	if err == nil {
		t.Fatal("a chain of 100 Concats: no error")
	}
	for _, want := range []string{"more than 65 nested", "_output_0 (output of cat", "(Concat)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestDerivedCycle checks that channels derived from themselves (a
// one-input Concat whose output is added to its input) are an error that
// names the value, not an endless descent.
func TestDerivedCycle(t *testing.T) {
	b := modelgen.NewBuilder("cycle")
	x := b.Input("x", channelstest.F32, "batch", 3, 4, 4)
	h := channelstest.Conv(b, "conv", x, 3, 8, 1, 0, 1, 1)
	c := b.Op("cat", "Concat", []string{h}, modelgen.AttrInt("axis", 1))
	s := b.Op("add", "Add", []string{c, h})
	y := channelstest.Conv(b, "conv_out", s, 8, 4, 1, 0, 1, 2)
	b.Output(y, channelstest.F32, "batch", 4, 4, 4)
	_, err := channels.Analyze(channelstest.Load(t, b.Model(17)))
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "derived from themselves") || !strings.Contains(err.Error(), "value ") {
		t.Errorf("error %q does not say which value's channels are derived from themselves", err)
	}
}
