//go:build cgo

package modelgen

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// This file only checks that generated models load and run in ONNX
// Runtime; the project's runtime wrapper lives in verify/.

// runModel runs the model at path once on a deterministic input of shape
// in and returns "logits", checking that it has shape out and finite values.
func runModel(t *testing.T, path string, in, out []int64) []float32 {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(1)
	opts.SetInterOpNumThreads(1)
	s, err := ort.NewDynamicAdvancedSession(path, []string{"input"}, []string{"logits"}, opts)
	if err != nil {
		t.Fatalf("loading %s: %v", filepath.Base(path), err)
	}
	defer s.Destroy()

	data := make([]float32, numElements(in))
	newNormal(1, "input", 0, 1).fill(data, 0)
	x, err := ort.NewTensor(ort.NewShape(in...), data)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Destroy()
	// The binding's outputs are allocated here: letting Run allocate them
	// is one of its known faults.
	y, err := ort.NewEmptyTensor[float32](ort.NewShape(out...))
	if err != nil {
		t.Fatal(err)
	}
	defer y.Destroy()
	if err := s.Run([]ort.Value{x}, []ort.Value{y}); err != nil {
		t.Fatalf("running %s: %v", filepath.Base(path), err)
	}
	if got := []int64(y.GetShape()); !slices.Equal(got, out) {
		t.Errorf("%s: logits shape %v, want %v", filepath.Base(path), got, out)
	}
	logits := slices.Clone(y.GetData())
	for i, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s: logits[%d] = %g", filepath.Base(path), i, v)
		}
	}
	return logits
}

func TestRunInORT(t *testing.T) {
	needRuntime(t) // verify owns the process-wide environment
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		write   func(path string, external bool) error
		in, out []int64
	}{
		{"mlp", mlpWriter(MLPOptions{Dim: 64, Hidden: 256, Blocks: 4, Seed: 1}), []int64{2, 64}, []int64{2, 10}},
		{"mlp-rank3-layernorm", mlpWriter(MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Rank3: true, LayerNorm: true}), []int64{2, 5, 32}, []int64{2, 5, 10}},
		{"mlp-gemm", mlpWriter(MLPOptions{Dim: 32, Hidden: 64, Blocks: 2, Classes: 3, TransB: true}), []int64{3, 32}, []int64{3, 3}},
		{"cnn", cnnWriter(CNNOptions{Seed: 3}), []int64{2, 3, 32, 32}, []int64{2, 10}},
		{"cnn-depthwise-concat", cnnWriter(CNNOptions{Channels: 8, Stages: 3, Height: 20, Width: 12, Depthwise: true, Concat: true}), []int64{1, 3, 20, 12}, []int64{1, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inline := filepath.Join(dir, tc.name+".onnx")
			external := filepath.Join(dir, tc.name+"-ext.onnx")
			if err := tc.write(inline, false); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(external, true); err != nil {
				t.Fatal(err)
			}
			a := runModel(t, inline, tc.in, tc.out)
			b := runModel(t, external, tc.in, tc.out)
			if !slices.Equal(a, b) {
				t.Errorf("inline and external weights give different logits: %v vs %v", a[:3], b[:3])
			}
			// Residual scaling should keep logits near unit scale.
			var sq float64
			for _, v := range a {
				sq += float64(v) * float64(v)
			}
			rms := math.Sqrt(sq / float64(len(a)))
			t.Logf("logits RMS %.3g", rms)
			if rms < 1e-2 || rms > 1e3 {
				t.Errorf("logits RMS %g is far from unit scale", rms)
			}
		})
	}
}

func mlpWriter(o MLPOptions) func(string, bool) error {
	return func(path string, external bool) error { return WriteMLP(path, o, external) }
}

func cnnWriter(o CNNOptions) func(string, bool) error {
	return func(path string, external bool) error { return WriteCNN(path, o, external) }
}
