package modelgen

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/ort"
)

// openLlama writes Llama(o) to dir and opens it in ONNX Runtime, or ends the
// test when the runtime is not installed.
func openLlama(t *testing.T, dir string, o LlamaOptions, external bool) *ort.Session {
	t.Helper()
	testenv.Runtime(t)
	path := filepath.Join(dir, "llama.onnx")
	if err := WriteLlama(path, o, external); err != nil {
		t.Fatal(err)
	}
	s, err := ort.Open(path, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runLlama runs s on the prompts ids (one per row, all of one length) and
// returns the logits, checking their shape and that they are finite.
func runLlama(t *testing.T, s *ort.Session, vocab int64, ids [][]int64) []float64 {
	t.Helper()
	batch, seq := int64(len(ids)), int64(len(ids[0]))
	in, err := ort.NewTensor(ort.Int64, []int64{batch, seq})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range slices.Concat(ids...) {
		binary.LittleEndian.PutUint64(in.Raw[8*i:], uint64(id))
	}
	out, err := s.Run([]ort.Value{in})
	if err != nil {
		t.Fatal(err)
	}
	y := out[0].(*ort.Tensor)
	if want := []int64{batch, seq, vocab}; y.DType != ort.Float32 || !slices.Equal(y.Shape, want) {
		t.Fatalf("logits are %v %v, want float32 %v", y.DType, y.Shape, want)
	}
	v, err := y.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("logits[%d] = %g", i, x)
		}
	}
	return v
}

// randomPrompts returns n prompts of seq tokens below vocab.
func randomPrompts(seed int64, n, seq int, vocab int64) [][]int64 {
	r := make([]float32, n*seq)
	newNormal(seed, "prompts", 0, 1).fill(r, 0)
	ids := make([][]int64, n)
	for i := range ids {
		for j := range seq {
			f := math.Abs(float64(r[i*seq+j])) * 1e4
			ids[i] = append(ids[i], int64(f)%vocab)
		}
	}
	return ids
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestLlamaMatchesReference runs the generated model in ONNX Runtime and
// compares it with llamaReference on the same weights: this is what shows
// the graph computes the transformer it claims to.
func TestLlamaMatchesReference(t *testing.T) {
	tiny, _ := LlamaPreset("tiny")
	for _, tc := range []struct {
		name     string
		o        LlamaOptions
		external bool
	}{
		{"tiny", tiny, false},
		{"tiny-untied-mha-opset18-external", LlamaOptions{Vocab: 100, Hidden: 48, Intermediate: 80, Layers: 3, Heads: 3, Untied: true, Opset: 18, Seed: 5, MaxSeq: 16}, true},
		{"gqa-4-per-kv-head", LlamaOptions{Vocab: 64, Hidden: 32, Layers: 1, Heads: 8, KVHeads: 2, HeadDim: 6, Seed: 9, RopeTheta: 500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openLlama(t, t.TempDir(), tc.o, tc.external)
			o := tc.o.Defaults()
			ids := randomPrompts(o.Seed, 3, 9, o.Vocab)
			got := runLlama(t, s, o.Vocab, ids)
			want := llamaReference(t, Llama(tc.o), tc.o, ids)
			// Random small weights make the residual stream (the token's
			// own embedding) dominate the logits, so cosine alone would
			// let a wrong rotation through (0.99997); the error must also
			// be float32 rounding only, next to the logits' range.
			var maxErr, maxAbs float64
			for i := range got {
				maxErr = max(maxErr, math.Abs(got[i]-want[i]))
				maxAbs = max(maxAbs, math.Abs(want[i]))
			}
			c := cosine(got, want)
			t.Logf("cosine %.8f, max abs error %.3g of logits up to %.3g", c, maxErr, maxAbs)
			if c < 0.9999 || maxErr > 1e-4*maxAbs {
				t.Errorf("ONNX Runtime and the reference differ: cosine %.8f, max abs error %.3g of logits up to %.3g", c, maxErr, maxAbs)
			}
		})
	}
}

// TestLlamaBehaviour checks what a language model's logits must do: differ
// from prompt to prompt, and depend only on earlier tokens.
func TestLlamaBehaviour(t *testing.T) {
	o, _ := LlamaPreset("tiny")
	o.Seed = 3
	s := openLlama(t, t.TempDir(), o, false)
	const n, seq = 16, 6
	V := int(o.Vocab)
	ids := randomPrompts(11, n, seq, o.Vocab)
	logits := runLlama(t, s, o.Vocab, ids)

	// Top-1 of the last position varies across random prompts.
	tops := map[int]bool{}
	for i := range n {
		last := logits[((i+1)*seq-1)*V : (i+1)*seq*V]
		tops[argmaxOf(last)] = true
	}
	t.Logf("%d distinct top-1 tokens over %d prompts", len(tops), n)
	if len(tops) < n/2 {
		t.Errorf("only %d distinct top-1 tokens over %d random prompts: logits are degenerate", len(tops), n)
	}

	// Causal: changing the last token leaves earlier positions alone.
	changed := slices.Clone(ids[0])
	changed[seq-1] = (changed[seq-1] + 1) % o.Vocab
	again := runLlama(t, s, o.Vocab, [][]int64{changed})
	for pos := range seq {
		a, b := logits[pos*V:(pos+1)*V], again[pos*V:(pos+1)*V]
		var diff float64
		for i := range a {
			diff = max(diff, math.Abs(a[i]-b[i]))
		}
		switch {
		case pos < seq-1 && diff > 1e-5:
			t.Errorf("position %d changed by %g when only token %d changed", pos, diff, seq-1)
		case pos == seq-1 && diff < 1e-3:
			t.Errorf("the last position did not change (by %g) with its token", diff)
		}
	}

	// A one-token prompt runs too (the mask and tables shrink to 1).
	runLlama(t, s, o.Vocab, [][]int64{{7}})
}

func argmaxOf(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
