package modelgen

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

func TestLlamaGraph(t *testing.T) {
	for _, o := range []LlamaOptions{
		{}, // the tiny defaults
		{Layers: 3, Heads: 2, KVHeads: 1, Untied: true, Opset: 18},
		{Hidden: 40, Heads: 4, KVHeads: 4, HeadDim: 16, Opset: 13}, // heads*HeadDim != Hidden
	} {
		m := Llama(o)
		d := o.Defaults()
		checkWellFormed(t, m.Graph)
		g, err := graph.FromProto(roundTrip(t, m), nil)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if err := g.Graph.Check(); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		ops := countOps(m.Graph)
		if ops["Softmax"] != d.Layers || ops["Sigmoid"] != d.Layers || ops["ReduceMean"] != 2*d.Layers+1 {
			t.Errorf("%+v: ops %v: want one attention, one SiLU and two RMSNorms per layer plus the final norm", o, ops)
		}
		repeats := 0
		if d.KVHeads != d.Heads {
			repeats = 2 * d.Layers
		}
		if ops["Expand"] != repeats {
			t.Errorf("%+v: %d Expand nodes, want %d (K and V of each layer repeated)", o, ops["Expand"], repeats)
		}
		if got, want := shapeOf(m.Graph.Output[0]), []any{"batch", "seq", d.Vocab}; !slices.Equal(got, want) {
			t.Errorf("logits shape %v, want %v", got, want)
		}

		// Every float initializer but the rotary tables and scalars is a
		// weight Params counts.
		var weights int64
		for _, x := range m.Graph.Initializer {
			if x.GetDataType() == int32(onnx.TensorProto_FLOAT) && len(x.Dims) > 0 && !strings.HasPrefix(x.GetName(), "rope.") {
				weights += numElements(x.Dims)
			}
		}
		if weights != o.Params() {
			t.Errorf("%+v: %d weights in the model, Params says %d", o, weights, o.Params())
		}

		// Tied: the one embedding table feeds the Gather and the head's
		// Gemm(transB=1); untied: the head has its own [Hidden, Vocab].
		var users []string
		for _, n := range m.Graph.Node {
			for _, in := range n.Input {
				if in == "embed_tokens.weight" {
					users = append(users, n.GetOpType())
				}
			}
		}
		want := "Gather,Gemm"
		if d.Untied {
			want = "Gather"
			if x := initializers(t, m.Graph)["lm_head.weight"]; x == nil || x.Dims[0] != d.Hidden || x.Dims[1] != d.Vocab {
				t.Errorf("untied: no lm_head.weight [%d, %d]", d.Hidden, d.Vocab)
			}
		}
		if got := strings.Join(users, ","); got != want {
			t.Errorf("%+v: embed_tokens.weight is used by %s, want %s", o, got, want)
		}
	}
}

func TestLlamaPresets(t *testing.T) {
	for _, c := range []struct {
		name     string
		min, max float64 // weights
	}{
		{"tiny", 1e5, 1e6},
		{"1b", 1.0e9, 1.2e9}, // TinyLlama-1.1B
		{"7b", 6.6e9, 6.8e9}, // Llama-2-7B: 6.74e9
	} {
		o, err := LlamaPreset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.withDefaults(); err != nil {
			t.Errorf("preset %s: %v", c.name, err)
		}
		if n := float64(o.Params()); n < c.min || n > c.max {
			t.Errorf("preset %s: %.4g weights, want %.3g to %.3g", c.name, n, c.min, c.max)
		}
	}
	if _, err := LlamaPreset("13b"); !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), "tiny") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestLlamaBadOptions(t *testing.T) {
	for _, c := range []struct {
		o    LlamaOptions
		want string
	}{
		{LlamaOptions{Hidden: -4}, "positive"},
		{LlamaOptions{Hidden: 64, Heads: 5}, "not a multiple of heads"},
		{LlamaOptions{Hidden: 60, Heads: 4}, "must be even"},
		{LlamaOptions{Heads: 4, KVHeads: 3}, "not a multiple of kv-heads"},
		{LlamaOptions{Vocab: 1 << 40, Hidden: 1 << 30, Heads: 1 << 20}, "too large"},
		{LlamaOptions{Heads: 1 << 62, HeadDim: 1 << 40}, "too large"},
		{LlamaOptions{Layers: 1 << 40}, "too many"},
		{LlamaOptions{MaxSeq: 1 << 30}, "too large"},
		{LlamaOptions{Eps: -1}, "epsilon"},
		{LlamaOptions{RopeTheta: 0.5}, "rotary base"},
		{LlamaOptions{Opset: 11}, "too old"},
	} {
		path := filepath.Join(t.TempDir(), "m.onnx")
		err := WriteLlama(path, c.o, false)
		if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%+v: got %v, want a bad-options error about %q naming the file", c.o, err, c.want)
		}
		if _, serr := os.Stat(path); serr == nil {
			t.Errorf("%+v: a file was written", c.o)
		}
	}
}

// TestWriteLlama checks that the streamed file is the in-memory model, and
// that external data reads back the same.
func TestWriteLlama(t *testing.T) {
	dir := t.TempDir()
	o := LlamaOptions{Vocab: 300, Hidden: 96, Heads: 6, KVHeads: 2, Layers: 2, Seed: 8}
	inline := filepath.Join(dir, "inline.onnx")
	if err := WriteLlama(inline, o, false); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(inline)
	if err != nil {
		t.Fatal(err)
	}
	if want := marshal(t, Llama(o)); !sameBytes(got, want) {
		t.Errorf("file (%d bytes) differs from the marshalled model (%d bytes)", len(got), len(want))
	}

	external := filepath.Join(dir, "external.onnx")
	if err := WriteLlama(external, o, true); err != nil {
		t.Fatal(err)
	}
	a, err := graph.ReadFile(inline)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.ReadFile(external)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Graph.Check(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"embed_tokens.weight", "layers.1.mlp.down_proj.weight", "norm.weight"} {
		x, y := a.Graph.Lookup(name).Const(), b.Graph.Lookup(name).Const()
		xs, err1 := x.Float32s()
		ys, err2 := y.Float32s()
		if err1 != nil || err2 != nil || len(xs) == 0 || string(float32Bytes(xs)) != string(float32Bytes(ys)) {
			t.Errorf("%s: inline and external values differ (%v, %v)", name, err1, err2)
		}
	}
	checkNoTempFiles(t, dir)
}

// BenchmarkWriteLlama streams a 7b-shaped model cut to one layer and a
// smaller vocabulary (about 1 GB) to external data. The allocations per
// write stay a few tens of megabytes whatever the size (the rotary tables,
// write buffers); for the whole process's peak, run `onnxopt gen llama`
// under /usr/bin/time -v.
func BenchmarkWriteLlama(b *testing.B) {
	o, _ := LlamaPreset("7b")
	o.Layers, o.Vocab = 1, 8000
	b.SetBytes(o.WeightBytes())
	b.ReportAllocs()
	path := filepath.Join(b.TempDir(), "llama.onnx")
	for b.Loop() {
		if err := WriteLlama(path, o, true); err != nil {
			b.Fatal(err)
		}
	}
}
