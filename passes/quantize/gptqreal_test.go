package quantize

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// gptqRatio quantizes ref as typ says (quantize options) with RTN and
// with GPTQ calibrated by calib (pass options), and returns GPTQ's
// held-out relative L2 over RTN's on eval. Every weight GPTQ's report
// lists must have been fitted.
func gptqRatio(t *testing.T, ref *onnx.ModelProto, typ, calib string, eval [][]ort.Value) float64 {
	t.Helper()
	rtn, _ := apply(t, ref, "quantize("+typ+",method=rtn)")
	gptq, rep := apply(t, ref, "quantize("+typ+",method=gptq,"+calib+")")
	for _, tr := range rep.Tensors {
		if !strings.Contains(tr.Detail, "gptq") {
			t.Errorf("%s: %s, not fitted by GPTQ", tr.Name, tr.Detail)
		}
	}
	dr, _ := compareOn(t, ref, rtn, eval)
	dg, _ := compareOn(t, ref, gptq, eval)
	ratio := dg.RelL2 / dr.RelL2
	t.Logf("%s: %d weights, held-out rel L2 rtn %.4f, gptq %.4f (%.2fx)", typ, len(rep.Tensors), dr.RelL2, dg.RelL2, ratio)
	return ratio
}

// plantedMLP returns the MLP with planted outlier features the
// calibrated-sparsity tests use, and 4 held-out random inputs of 64 rows
// drawn with seed 2 (calibration draws seed 1 by default).
func plantedMLP(t *testing.T) (*onnx.ModelProto, [][]ort.Value) {
	t.Helper()
	ref := modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 3, Outliers: 4})
	return ref, randomInputs(t, ref, 4, 2, ort.Shapes{"input": {64, 64}})
}

// TestGPTQPlantedMLP: on the MLP with planted outlier features (the one
// the calibrated-sparsity tests use), GPTQ INT4 at block 32 keeps the
// output error at most 0.7x rounding to nearest's (issue #13), on
// random inputs drawn with seed 2 after calibrating on seed 1.
func TestGPTQPlantedMLP(t *testing.T) {
	testenv.Runtime(t)
	ref, eval := plantedMLP(t)
	for _, format := range []string{"matmulnbits", "qdq"} {
		if r := gptqRatio(t, ref, "type=int4,block=32,format="+format, "samples=8,shapes=input:64x64", eval); r > 0.7 {
			t.Errorf("%s: GPTQ error is %.2fx RTN's, want <= 0.7", format, r)
		}
	}
}

// TestGPTQRealistic holds the same bar on PP-OCR's direction classifier
// (its Convs in blocks along the input channels, format=qdq) and
// openWakeWord's hello_deepa, calibrated and evaluated on synthdata sets
// drawn with seeds 1 and 2 (BENCHMARKS.md, "GPTQ INT4 on realistic
// inputs"; ppocr-det is measured there, not here: its capture is slow).
func TestGPTQRealistic(t *testing.T) {
	testenv.Heavy(t)
	testenv.Runtime(t)
	for _, c := range []struct {
		model, kind, format string
		shape               []int64
		calib, eval         int
	}{
		{"ppocr-cls", "ppocr-cls", "qdq", []int64{1, 3, 48, 192}, 32, 16},
		{"hello_deepa", "wakeword", "matmulnbits", []int64{1, 25, 96}, 256, 64},
	} {
		t.Run(c.model, func(t *testing.T) {
			path := testenv.Model(t, c.model+".onnx")
			ref, err := onnx.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cal := passtest.RealisticSet(t, c.kind, c.shape, c.calib, 1)
			ev, err := ort.ReadInputDir(passtest.RealisticSet(t, c.kind, c.shape, c.eval, 2), ort.InputSpecs(ref))
			if err != nil {
				t.Fatal(err)
			}
			if r := gptqRatio(t, ref, "type=int4,block=32,format="+c.format, fmt.Sprintf("calib=%s,samples=%d", cal, c.calib), ev); r > 0.7 {
				t.Errorf("GPTQ error is %.2fx RTN's, want <= 0.7", r)
			}
		})
	}
}

// TestGPTQTargetOriginal: fitting each layer to the original model's
// outputs (target=original) instead of to its own output on the inputs the
// already quantized layers give it lowers GPTQ's held-out error on the
// planted MLP, and the report says which weights were fitted that way.
func TestGPTQTargetOriginal(t *testing.T) {
	testenv.Runtime(t)
	ref, eval := plantedMLP(t)
	const calib = "samples=8,shapes=input:64x64"
	plain, _ := apply(t, ref, "quantize(type=int4,method=gptq,target=layer,"+calib+")")
	anchored, rep := apply(t, ref, "quantize(type=int4,method=gptq,target=original,"+calib+")")
	fitted := 0
	for _, tr := range rep.Tensors {
		if strings.Contains(tr.Detail, "target=original") {
			fitted++
		}
	}
	if fitted == 0 || fitted != len(rep.Tensors) {
		t.Errorf("%d of %d weights report target=original", fitted, len(rep.Tensors))
	}
	if rep.Extra["target"] != "original" {
		t.Errorf("the report's target is %v, want original", rep.Extra["target"])
	}
	dp, _ := compareOn(t, ref, plain, eval)
	da, _ := compareOn(t, ref, anchored, eval)
	t.Logf("held-out rel L2: gptq %.4f, gptq target=original %.4f", dp.RelL2, da.RelL2)
	if !(da.RelL2 <= 0.95*dp.RelL2) {
		t.Errorf("target=original %.4f is not below target=layer's %.4f", da.RelL2, dp.RelL2)
	}
}

// TestGPTQGrid: grid=mse searches each block's range. On the planted
// MLP, whose outlier features make a block's extreme a poor range for the
// rest, it lowers GPTQ's held-out error (measured 0.065 against 0.124
// with target=layer); on other models it can raise it (BENCHMARKS.md),
// which is why minmax stays the default.
func TestGPTQGrid(t *testing.T) {
	testenv.Runtime(t)
	ref, eval := plantedMLP(t)
	const opts = "quantize(type=int4,method=gptq,target=layer,samples=8,shapes=input:64x64"
	minmax, _ := apply(t, ref, opts+")")
	mse, _ := apply(t, ref, opts+",grid=mse)")
	dm, _ := compareOn(t, ref, minmax, eval)
	ds, _ := compareOn(t, ref, mse, eval)
	t.Logf("held-out rel L2: grid=minmax %.4f, grid=mse %.4f", dm.RelL2, ds.RelL2)
	if !(ds.RelL2 < 0.8*dm.RelL2) {
		t.Errorf("grid=mse %.4f is not clearly below grid=minmax %.4f", ds.RelL2, dm.RelL2)
	}
}
