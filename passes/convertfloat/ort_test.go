package convertfloat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// convert runs pipeline over the model at src and writes the result in
// dir, returning its path.
func convert(t *testing.T, src, pipeline, dir string) (string, error) {
	t.Helper()
	m, err := graph.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passtest.RunErr(m, pipeline, 0); err != nil {
		return "", err
	}
	out := filepath.Join(dir, strings.NewReplacer("(", "_", ")", "", ",", "_", "=", "-").Replace(pipeline)+".onnx")
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func size(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// shapes gives each real model's dynamic dimensions a workable size
// (the detector halves the image five times).
var shapes = map[string]ort.Shapes{
	"ppocr-det.onnx": {"x": {1, 3, 320, 320}}, // smaller images give all-but-zero outputs
	"ppocr-cls.onnx": {"x": {1, 3, 48, 192}},
	"ppocr-rec.onnx": {"x": {1, 3, 48, 96}},
}

// TestFloat16RealModels is the acceptance test: convert-float(to=float16)
// on each real float32 model gives a file at most 0.55x the original that
// runs in ONNX Runtime on CPU with output cosine at least 0.999 against the
// original on seeded random inputs.
func TestFloat16RealModels(t *testing.T) {
	testenv.Runtime(t)
	for _, name := range []string{"ppocr-det.onnx", "ppocr-cls.onnx", "ppocr-rec.onnx", "hello_deepa.onnx"} {
		t.Run(name, func(t *testing.T) {
			src := testenv.Model(t, name)
			out, err := convert(t, src, "convert-float(to=float16)", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ratio := float64(size(t, out)) / float64(size(t, src))
			if ratio > 0.55 {
				t.Errorf("float16 file is %.3fx the original, want at most 0.55x", ratio)
			}
			tol := verify.Tolerance{MinCosine: 0.999, CosineOnly: true}
			rep, err := verify.Verify(src, out, verify.Config{Options: ort.Options{Threads: 1}, Tolerance: tol, Shapes: shapes[name], Samples: 2, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range rep.Outputs {
				t.Logf("%s: %.3fx file, output %s cosine %.6f max abs err %.3g", name, ratio, d.Name, d.Cosine, d.MaxAbsErr)
				if !d.Pass {
					t.Errorf("output %s: cosine %.6f, problems %v", d.Name, d.Cosine, d.Problems)
				}
			}
		})
	}
}

// TestBFloat16RealModel: a bfloat16 model (weights only, or computing in
// bfloat16 where ONNX Runtime can) loads and runs, and an opset-11 model
// is refused with the reason.
func TestBFloat16RealModel(t *testing.T) {
	testenv.Runtime(t)
	dir := t.TempDir()
	src := testenv.Model(t, "hello_deepa.onnx") // opset 13
	for _, p := range []string{"convert-float(to=bfloat16,compute=float32)", "convert-float(to=bfloat16)"} {
		out, err := convert(t, src, p, dir)
		if err != nil {
			t.Fatal(err)
		}
		tol := verify.Tolerance{MinCosine: 0.99, CosineOnly: true}
		rep, err := verify.Verify(src, out, verify.Config{Options: ort.Options{Threads: 1}, Tolerance: tol, Samples: 2, Seed: 7})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, d := range rep.Outputs {
			t.Logf("%s: output %s cosine %.6f", p, d.Name, d.Cosine)
			if !d.Pass {
				t.Errorf("%s: output %s cosine %.6f", p, d.Name, d.Cosine)
			}
		}
	}
	if _, err := convert(t, testenv.Model(t, "ppocr-cls.onnx"), "convert-float(to=bfloat16,compute=float32)", dir); err == nil || !strings.Contains(err.Error(), "opset") {
		t.Errorf("bfloat16 on opset-9 PP-OCR: %v, want a refusal naming the opset", err)
	}
}

// TestRoundTripToFloat32: a float16 model converted back to float32 runs
// and gives the float16 model's outputs up to float32 rounding.
func TestRoundTripToFloat32(t *testing.T) {
	testenv.Runtime(t)
	dir := t.TempDir()
	src := testenv.Model(t, "ppocr-cls.onnx")
	half, err := convert(t, src, "convert-float(to=float16)", dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := convert(t, half, "convert-float(to=float32)", dir)
	if err != nil {
		t.Fatal(err)
	}
	tol := verify.Tolerance{MinCosine: 0.9999, CosineOnly: true}
	rep, err := verify.Verify(half, back, verify.Config{Options: ort.Options{Threads: 1}, Tolerance: tol, Shapes: shapes["ppocr-cls.onnx"], Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass {
		t.Errorf("float16 -> float32 model differs: %+v", rep.Outputs[0])
	}
	m, err := graph.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Graph.Initializers {
		if dt := v.Tensor.DataType(); dt == f16 {
			t.Fatalf("initializer %s still float16", v.Name)
		}
	}
}
