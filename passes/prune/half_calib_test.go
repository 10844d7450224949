package prune_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// TestCalibratedPruneHalf: prune with method=wanda|sparsegpt runs on a
// float16 model (activations captured as float16, statistics in float32)
// and on 16-bit weights behind Casts, keeps every weight's type, zeroes
// about half of each weight, and the model still runs with finite outputs.
func TestCalibratedPruneHalf(t *testing.T) {
	testenv.Runtime(t)
	weights := []string{"block0.fc1.weight", "block0.fc2.weight", "head.weight"}
	for _, form := range []string{"convert-float(to=float16)", "convert-float(to=bfloat16,compute=float32)"} {
		for _, method := range []string{"wanda", "sparsegpt"} {
			t.Run(form+"/"+method, func(t *testing.T) {
				m := passtest.HalfMLP(t, modelgen.MLPOptions{Dim: 32, Blocks: 1, Seed: 5}, form)
				dir := t.TempDir()
				half := filepath.Join(dir, "half.onnx")
				if err := m.WriteFile(half, onnx.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				before := passtest.Constants(t, m)
				rep := passtest.Run(t, m, "prune(method="+method+",sparsity=0.5,samples=4)", 1)
				after := passtest.Constants(t, m)
				for _, w := range weights {
					b, a := before[w], after[w]
					if a.DType != b.DType || a.DType == int32(onnx.TensorProto_FLOAT) {
						t.Errorf("%s: %s became %s", w, onnx.DataTypeName(b.DType), onnx.DataTypeName(a.DType))
					}
					if z := a.Zeros(); math.Abs(float64(z)/float64(a.Elements())-0.5) > 0.02 {
						t.Errorf("%s: %d of %d zero, want half", w, z, a.Elements())
					}
				}
				if rep.TensorsTouched != len(weights) {
					t.Errorf("touched %d tensors, want %d", rep.TensorsTouched, len(weights))
				}
				pruned := filepath.Join(dir, "pruned.onnx")
				if err := m.WriteFile(pruned, onnx.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				vr, err := verify.Verify(half, pruned, verify.Config{
					Tolerance: verify.Tolerance{CosineOnly: true}, Samples: 2, Seed: 1000, Options: ort.Options{Threads: 1},
				})
				if err != nil {
					t.Fatalf("the pruned model does not run: %v", err)
				}
				for _, d := range vr.Outputs {
					t.Logf("output %s: cosine %.4f, rel L2 %.3g", d.Name, d.Cosine, d.RelL2)
					if d.NonFinite > 0 || d.Elements == 0 || !(d.Cosine > 0.5) {
						t.Errorf("output %s: %d non-finite of %d, cosine %v", d.Name, d.NonFinite, d.Elements, d.Cosine)
					}
				}
			})
		}
	}
}
