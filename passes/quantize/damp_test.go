package quantize

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/passes"
)

// chosenDamps returns the damp the report names for every weight, which
// must all say they were cross-validated, and checks the summary note.
func chosenDamps(t *testing.T, rep *passes.PassReport) []float64 {
	t.Helper()
	var ds []float64
	for _, tr := range rep.Tensors {
		_, after, ok := strings.Cut(tr.Detail, "gptq damp ")
		v, _, _ := strings.Cut(after, " ")
		d, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !strings.Contains(tr.Detail, "(cross-validated)") {
			t.Errorf("%s: %q names no cross-validated damp", tr.Name, tr.Detail)
			continue
		}
		ds = append(ds, d)
	}
	if !notesMention(rep, "damp chosen per weight") {
		t.Errorf("no note summarizes the damps chosen: %q", rep.Notes)
	}
	return ds
}

// TestDampsOneCandidate: damps= with one candidate has nothing to choose
// between: it is damp= with it (no cross-validation run or claimed), and
// the run is repeatable.
func TestDampsOneCandidate(t *testing.T) {
	testenv.Runtime(t)
	ref := modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256, Blocks: 2, Seed: 3, Outliers: 4})
	cal := "type=int4,method=gptq,samples=4,shapes=input:16x64"
	fixed, _ := apply(t, ref, "quantize("+cal+",damp=0.1)")
	one, rep := apply(t, ref, "quantize("+cal+",damps=0.1)")
	again, _ := apply(t, ref, "quantize("+cal+",damps=0.1)")
	if !bytes.Equal(encode(t, fixed), encode(t, one)) {
		t.Error("damps=0.1 and damp=0.1 write different models")
	}
	if !bytes.Equal(encode(t, one), encode(t, again)) {
		t.Error("two runs of damps=0.1 on the same calibration data differ")
	}
	for _, tr := range rep.Tensors {
		if strings.Contains(tr.Detail, "cross-validated") {
			t.Errorf("%s: %q claims a cross-validated damp with one candidate", tr.Name, tr.Detail)
		}
	}
}

// TestDampsFewRows: with few calibration rows per feature (4 batches of
// 8 rows for layers of 64 and 256 input features) a damp of 0.01
// under-regularizes; the damps chosen by cross-validation on the
// calibration samples keep the held-out error (random inputs drawn with
// another seed) at most 0.85x damp=0.01's, and the choice moves towards
// less dampening when the calibration set has 16 times the rows.
func TestDampsFewRows(t *testing.T) {
	testenv.Runtime(t)
	ref, eval := plantedMLP(t)
	const grid = "damps=0.001|0.01|0.1|1"
	few := "type=int4,method=gptq,samples=4,shapes=input:8x64"
	fixed, _ := apply(t, ref, "quantize("+few+",damp=0.01)")
	chosen, rep := apply(t, ref, "quantize("+few+","+grid+")")
	df, _ := compareOn(t, ref, fixed, eval)
	dc, _ := compareOn(t, ref, chosen, eval)
	fewDamps := chosenDamps(t, rep)
	_, rep = apply(t, ref, "quantize(type=int4,method=gptq,samples=8,shapes=input:64x64,"+grid+")")
	manyDamps := chosenDamps(t, rep)
	t.Logf("held-out rel L2: damp 0.01 %.4f, cross-validated %.4f (%.2fx); damps chosen with 32 rows %v, with 512 rows %v", df.RelL2, dc.RelL2, dc.RelL2/df.RelL2, fewDamps, manyDamps)
	if dc.RelL2 > 0.85*df.RelL2 {
		t.Errorf("cross-validated damps give %.4f held out, damp=0.01 %.4f: want <= 0.85x", dc.RelL2, df.RelL2)
	}
	if geoMean(manyDamps) >= geoMean(fewDamps) {
		t.Errorf("damps chosen with 512 rows %v are not below those with 32 rows %v", manyDamps, fewDamps)
	}
}

func geoMean(v []float64) float64 {
	p := 1.0
	for _, x := range v {
		p *= x
	}
	if len(v) == 0 {
		return 0
	}
	return math.Pow(p, 1/float64(len(v)))
}

// TestGPTQFewRowsNoted: a GPTQ layer whose Hessian saw fewer than two
// calibration rows per input feature is named in a note, as repair names
// its least-squares layers; with enough rows there is no such note.
func TestGPTQFewRowsNoted(t *testing.T) {
	testenv.Runtime(t)
	ref := modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 64})
	_, few := apply(t, ref, "quantize(type=int4,method=gptq,samples=2,shapes=input:8x32)")
	if !notesMention(few, "fewer than two rows per input feature") || !notesMention(few, "(16 rows, 32 features)") {
		t.Errorf("16 rows for 32 features: notes %q", few.Notes)
	}
	_, enough := apply(t, ref, "quantize(type=int4,method=gptq,samples=4,shapes=input:64x32)")
	if notesMention(enough, "fewer than two rows") {
		t.Errorf("256 rows for at most 64 features: notes %q", enough.Notes)
	}
}
