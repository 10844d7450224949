package diff_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/diff"
	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
)

// diffPipeline builds two copies of a generated model, runs pipeline over
// the second (and pre over both), and diffs them.
func diffPipeline(t *testing.T, gen func() *onnx.ModelProto, pre, pipeline string) (*diff.Result, *graph.Model) {
	t.Helper()
	load := func() *graph.Model {
		m, err := graph.FromProto(gen(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if pre != "" {
			passtest.Run(t, m, pre, 1)
		}
		return m
	}
	a, b := load(), load()
	passtest.Run(t, b, pipeline, 1)
	r, err := diff.Compare(a, b, "before", "after")
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	t.Log(text.String())
	return r, b
}

func tensorDiff(t *testing.T, r *diff.Result, name string) *diff.TensorDiff {
	t.Helper()
	for _, td := range r.Tensors {
		if td.Name == name {
			return td
		}
	}
	t.Fatalf("no tensor %q in the diff", name)
	return nil
}

// checkQuantized asserts that weight name is reported as quantized by
// scheme with a reconstruction error in (0, maxRel).
func checkQuantized(t *testing.T, r *diff.Result, name, scheme string, bits int, maxRel float64) *diff.Quantized {
	t.Helper()
	td := tensorDiff(t, r, name)
	q := td.Quantized
	if td.Status != "changed" || q == nil {
		t.Fatalf("%s: status %s, quantized %+v; want a changed, quantized weight", name, td.Status, q)
	}
	if q.Scheme != scheme || q.Bits != bits || q.RelErr == nil || *q.RelErr <= 0 || *q.RelErr >= maxRel || q.MaxAbsErr <= 0 {
		t.Errorf("%s: %s %d bits, rel err %v, max abs %g; want %s %d bits, rel err in (0, %g)", name, q.Scheme, q.Bits, q.RelErr, q.MaxAbsErr, scheme, bits, maxRel)
	}
	return q
}

func checkNoRemovedNodes(t *testing.T, r *diff.Result, ops ...string) {
	t.Helper()
	for _, n := range r.Nodes.Removed {
		if slices.Contains(ops, n.Op) {
			t.Errorf("%s %s reported as removed, not as replaced", n.Op, n.Label())
		}
	}
}

// TestGatherBlockQuantizedEmbedding: quantize(gather=true) stores a
// Llama's embedding table as GatherBlockQuantized; diff decodes it and
// compares it with the float table, for a table tied to the LM head
// (MatMulNBits reading the same B) and for an untied one.
func TestGatherBlockQuantizedEmbedding(t *testing.T) {
	for _, untied := range []bool{false, true} {
		name := map[bool]string{false: "tied", true: "untied"}[untied]
		t.Run(name, func(t *testing.T) {
			gen := func() *onnx.ModelProto {
				return modelgen.Llama(modelgen.LlamaOptions{Vocab: 64, Hidden: 64, Intermediate: 128, Layers: 1, Heads: 2, MaxSeq: 16, Untied: untied, Seed: 3})
			}
			r, _ := diffPipeline(t, gen, "", "quantize(type=int4,gather=true,block=32)")
			q := checkQuantized(t, r, "embed_tokens.weight", "GatherBlockQuantized", 4, 0.15)
			if q.Blocks != 32 || q.DType != "uint4" || q.ScaleDType != "float32" {
				t.Errorf("embedding: %+v; want uint4 blocks of 32, float32 scales", q)
			}
			shared := slices.ContainsFunc(q.SharedWith, func(s string) bool { return strings.Contains(s, "lm_head") && strings.Contains(s, "MatMulNBits") })
			if shared == untied {
				t.Errorf("untied=%v: embedding shared with %v", untied, q.SharedWith)
			}
			for _, td := range r.Tensors {
				if td.Status == "removed" {
					t.Errorf("tensor %s reported as removed: %v", td.Name, td.Changes)
				}
				if td.Status == "added" && strings.HasSuffix(td.Name, "_scales") && len(td.Changes) == 0 {
					t.Errorf("scales %s are not tied to their weight", td.Name)
				}
			}
			lin := checkQuantized(t, r, "layers.0.mlp.down_proj.weight", "MatMulNBits", 4, 0.15)
			if lin.AccuracyLevel == nil || *lin.AccuracyLevel != 4 {
				t.Errorf("down_proj accuracy_level %v, want 4", lin.AccuracyLevel)
			}
			if untied {
				checkQuantized(t, r, "lm_head.weight", "MatMulNBits", 4, 0.15)
			}
			checkNoRemovedNodes(t, r, "Gather", "Gemm", "MatMul")
			for _, c := range r.Nodes.Changed {
				for _, ch := range c.Changes {
					if strings.HasPrefix(ch, "input ") {
						t.Errorf("%s: %s; a quantized weight is its original's counterpart", c.Before.Label(), ch)
					}
				}
			}
		})
	}
}

// TestDynamicConvIsAQuantizedConv: quantize(mode=dynamic,dynamic-conv=true)
// turns each Conv (with its BatchNormalization folded in) into
// DynamicQuantizeLinear + ConvInteger + rescale; diff pairs each Conv
// with its ConvInteger and measures the uint8 weight against the folded
// original.
func TestDynamicConvIsAQuantizedConv(t *testing.T) {
	gen := func() *onnx.ModelProto {
		return modelgen.CNN(modelgen.CNNOptions{Channels: 8, Stages: 1, Height: 8, Width: 8, Depthwise: true, Seed: 2})
	}
	r, b := diffPipeline(t, gen, "", "quantize(mode=dynamic,dynamic-conv=true)")
	convs := 0
	for _, n := range b.Graph.Nodes {
		if n.OpType() != "ConvInteger" {
			continue
		}
		convs++
		w := n.Input(1).Name
		var td *diff.TensorDiff
		for _, x := range r.Tensors {
			if x.After != nil && x.After.Name == w {
				td = x
			}
		}
		if td == nil || td.Before == nil {
			t.Fatalf("ConvInteger weight %s has no original", w)
		}
		q := checkQuantized(t, r, td.Name, "ConvInteger", 8, 0.03)
		if q.DType != "uint8" || !strings.Contains(q.Reference, "BatchNormalization") {
			t.Errorf("%s: dtype %s, reference %q; want uint8 against the BN-folded weight", td.Name, q.DType, q.Reference)
		}
	}
	if convs < 4 {
		t.Fatalf("%d ConvInteger nodes, want every Conv", convs)
	}
	checkNoRemovedNodes(t, r, "Conv")
	matched := 0
	for _, c := range r.Nodes.Changed {
		if c.Before.Op == "Conv" && c.After.Op == "ConvInteger" {
			matched++
		}
	}
	if matched != convs {
		t.Errorf("%d Conv → ConvInteger pairs, want %d", matched, convs)
	}
}

// TestConvertFloatShowsRoundingAndCasts: convert-float(to=float16), with
// and without compute=float32, shows each weight's dtype change with its
// rounding error, and the inserted Casts as added nodes only.
func TestConvertFloatShowsRoundingAndCasts(t *testing.T) {
	gen := func() *onnx.ModelProto {
		return modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 2, Seed: 5})
	}
	for _, pipeline := range []string{"convert-float(to=float16)", "convert-float(to=float16,compute=float32)"} {
		t.Run(pipeline, func(t *testing.T) {
			r, b := diffPipeline(t, gen, "", pipeline)
			if len(r.Tensors) == 0 {
				t.Fatal("no tensors")
			}
			for _, td := range r.Tensors {
				if td.Status != "changed" || td.After == nil || td.After.DType != "float16" || td.RelChange == nil || *td.RelChange <= 0 || *td.RelChange > 1e-3 ||
					!slices.Contains(td.Changes, "converted float32 → float16") {
					t.Errorf("%s: %s %+v rel %v %v; want converted to float16 with rel error in (0, 1e-3]", td.Name, td.Status, td.After, td.RelChange, td.Changes)
				}
			}
			if len(r.Nodes.Changed)+len(r.Nodes.Removed) != 0 {
				t.Errorf("nodes changed %+v, removed %+v; want only added Casts", r.Nodes.Changed, r.Nodes.Removed)
			}
			casts := 0
			for _, n := range b.Graph.Nodes {
				if n.OpType() == "Cast" {
					casts++
				}
			}
			if casts == 0 || len(r.Nodes.Added) != casts {
				t.Errorf("%d nodes added, %d Casts in the model", len(r.Nodes.Added), casts)
			}
			for _, n := range r.Nodes.Added {
				if n.Op != "Cast" {
					t.Errorf("added %s %s", n.Op, n.Label())
				}
			}
		})
	}
}

// TestFloat16BehindACastUnderAnotherName: a float16 constant read
// through Cast(to=FLOAT) under a new name is compared with the float32
// weight it replaces.
func TestFloat16BehindACastUnderAnotherName(t *testing.T) {
	gen := func() *onnx.ModelProto {
		return modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1, Seed: 6})
	}
	a, err := graph.FromProto(gen(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.FromProto(gen(), nil)
	if err != nil {
		t.Fatal(err)
	}
	passtest.Run(t, b, "convert-float(to=float16,compute=float32)", 1)
	w := b.Graph.Lookup("block0.fc2.weight")
	if err := b.Graph.RenameValue(w, "fc2_half"); err != nil {
		t.Fatal(err)
	}
	r, err := diff.Compare(a, b, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	td := tensorDiff(t, r, "block0.fc2.weight")
	if td.Status != "changed" || td.After == nil || td.After.Name != "fc2_half" || td.RelChange == nil || *td.RelChange > 1e-3 || *td.RelChange <= 0 {
		t.Fatalf("renamed float16 weight: %s after %+v rel %v %v", td.Status, td.After, td.RelChange, td.Changes)
	}
}

// TestQuantizedFloat16Model: a float16 model quantized to int8 keeps
// float16 scales; the reconstruction is compared with the float16 weights.
func TestQuantizedFloat16Model(t *testing.T) {
	gen := func() *onnx.ModelProto {
		return modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1, Seed: 7})
	}
	r, _ := diffPipeline(t, gen, "convert-float(to=float16)", "quantize(mode=weight-only,type=int8)")
	n := 0
	for _, td := range r.Tensors {
		if td.Quantized == nil {
			continue
		}
		n++
		q := checkQuantized(t, r, td.Name, td.Quantized.Scheme, 8, 0.02)
		if q.ScaleDType != "float16" || td.Before.DType != "float16" {
			t.Errorf("%s: %s weight, %s scales; want float16 both", td.Name, td.Before.DType, q.ScaleDType)
		}
	}
	if n < 3 {
		t.Errorf("%d quantized weights, want every MatMul's", n)
	}
}
