package repair_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/all"
	"github.com/onnxopt/onnxopt/passes/repair"
)

// linear2 is x[N,4] -> MatMul(w1 [4,8]) -> h -> MatMul(w2 [8,3]) -> y, no
// nonlinearity: h has rank 4, so any 4 of its 8 features determine y and
// a half-pruned w2 can be refitted exactly.
func linear2(t *testing.T) *graph.Model {
	b := modelgen.NewBuilder("linear2")
	b.Seed = 3
	f := onnx.TensorProto_FLOAT
	b.Input("x", f, "N", 4)
	w1 := b.InitNormal("w1", []int64{4, 8}, 0, 1)
	w2 := b.InitNormal("w2", []int64{8, 3}, 0, 1)
	b.Node("MatMul", []string{"x", w1}, []string{"h"})
	b.Node("MatMul", []string{"h", w2}, []string{"y"})
	b.Output("y", f, "N", 3)
	return passtest.Build(t, b)
}

// TestExactRefit makes w2 2:4 sparse (each output keeps 4 of the 8
// features, enough to span h) and repairs it: on held-out inputs the
// outputs come back to float precision, the mask is kept, and the
// MatMul got a bias Add (whose output keeps the model's output name).
func TestExactRefit(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	shapes := ort.Shapes{"N": {16}}
	pruned, _ := compressed(t, m, "nm(include=w2)")
	fixed, _ := compressed(t, m, "nm(include=w2),repair(ridge=0,shapes=N:16)")
	before, after := relErr(t, m, pruned, shapes, evalSeed), relErr(t, m, fixed, shapes, evalSeed)
	t.Logf("held-out rel L2: pruned %.3g, repaired %.3g", before, after)
	if before < 0.05 {
		t.Fatalf("2:4 sparsity of w2 moved the outputs by only %.3g; the test needs a real loss", before)
	}
	if after > 1e-4 {
		t.Errorf("repair left rel L2 %.3g on held-out data, want ~0 (the fit is exact)", after)
	}
	pw, fw := passtest.Values(t, pruned, "w2"), passtest.Values(t, fixed, "w2")
	for i := range pw {
		if (pw[i] == 0) != (fw[i] == 0) {
			t.Fatalf("w2[%d] is %v after pruning and %v after repair: the mask moved", i, pw[i], fw[i])
		}
	}
	if w1 := passtest.Values(t, fixed, "w1"); w1[0] != passtest.Values(t, m, "w1")[0] {
		t.Error("w1 was not changed by the pipeline but repair changed it")
	}
	if out := fixed.Graph.Outputs[0]; out.Name != "y" {
		t.Errorf("model output is now %q, want y", out.Name)
	} else if p, _ := out.Producer(); p == nil || p.OpType() != "Add" {
		t.Errorf("model output y is produced by %v, want the bias Add", p)
	}
}

// TestRidgeChoice: w2 after 2:4 can be refitted exactly (see
// TestExactRefit), which a ridge of 1000 (pulling towards the pruned
// weights) prevents; offered 1e-6 and 1000, cross-validation between
// the even and odd samples must take 1e-6 (h's features are close to
// collinear: a fixed ridge of 0.001 leaves 0.036).
func TestRidgeChoice(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	shapes := ort.Shapes{"N": {16}}
	pruned, _ := compressed(t, m, "nm(include=w2)")
	stiff, _ := compressed(t, m, "nm(include=w2),repair(ridge=1000,shapes=N:16)")
	chosen, _ := compressed(t, m, "nm(include=w2),repair(ridges=0.000001|1000,shapes=N:16)")
	before := relErr(t, m, pruned, shapes, evalSeed)
	e1, e2 := relErr(t, m, stiff, shapes, evalSeed), relErr(t, m, chosen, shapes, evalSeed)
	t.Logf("held-out rel L2: pruned %.3g, ridge 1000 %.3g, chosen %.3g", before, e1, e2)
	if e1 < before/2 || e2 > 1e-3 {
		t.Errorf("held-out rel L2: pruned %.3g, ridge 1000 %.3g, chosen by cross-validation %.3g: want the exact fit chosen", before, e1, e2)
	}
}

// TestBiasMode checks that mode=bias changes no weight, only adds a bias,
// and still helps (it fixes each output's mean).
func TestBiasMode(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	pruned, _ := compressed(t, m, "prune(sparsity=0.5,min-elements=1)")
	fixed, _ := compressed(t, m, "prune(sparsity=0.5,min-elements=1),repair(mode=bias,shapes=N:16)")
	for _, w := range []string{"w1", "w2"} {
		a, b := passtest.Values(t, pruned, w), passtest.Values(t, fixed, w)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("mode=bias changed %s[%d]", w, i)
			}
		}
	}
	shapes := ort.Shapes{"N": {16}}
	before, after := relErr(t, m, pruned, shapes, evalSeed), relErr(t, m, fixed, shapes, evalSeed)
	t.Logf("held-out rel L2: pruned %.3g, bias-corrected %.3g", before, after)
	if after >= before {
		t.Errorf("bias correction did not help: %.3g -> %.3g", before, after)
	}
}

func TestNothingChanged(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	_, notes := compressed(t, m, "repair(shapes=N:4)")
	if !strings.Contains(notes, "nothing to repair") {
		t.Errorf("notes %q do not say there was nothing to repair", notes)
	}
}

// TestSkippedIsNotUnchanged: a pruned layer repair cannot refit (here a
// quantized one) is reported as left alone, not as "nothing changed".
func TestSkippedIsNotUnchanged(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	_, notes := compressed(t, m, "quantize(type=int8,mode=weight-only),repair(shapes=N:4)")
	if strings.Contains(notes, "nothing to repair") || !strings.Contains(notes, "left alone") {
		t.Errorf("notes %q: want the layers reported as left alone", notes)
	}
}

func TestErrors(t *testing.T) {
	m := linear2(t)
	err := repair.Pass.Run(&passes.Context{Report: &passes.PassReport{}}, m, mustArgs(t))
	if err == nil || !strings.Contains(err.Error(), "as it entered the pipeline") {
		t.Errorf("repair outside a pipeline: %v", err)
	}
	for _, p := range []string{"repair(ridge=-1)", "repair(mode=exact)", "repair(samples=0)", "repair(ridges=0|1)", "repair(ridges=x)"} {
		if _, err := passes.Parse(p); err == nil {
			t.Errorf("%s parsed", p)
		}
	}
	// Options that would be ignored are refused.
	for p, want := range map[string]string{
		"repair(mode=bias,ridges=0.1|1)": "ridges= has no effect without mode=lsq",
		"repair(mode=bias,ridge=1)":      "ridge= has no effect without mode=lsq",
		"repair(ridge=0.1,ridges=1)":     "ridge= or ridges=",
	} {
		if _, err := passes.Parse(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", p, err, want)
		}
	}
	if !repair.Pass.NeedsReference || !repair.Pass.NeedsRuntime(passes.Args{}) {
		t.Error("repair must declare NeedsReference and NeedsRuntime")
	}
}

func mustArgs(t *testing.T) passes.Args {
	p, err := passes.Parse("repair")
	if err != nil {
		t.Fatal(err)
	}
	return p[0].Args()
}

// TestFewRowsNoted: a layer given fewer than two calibration rows per
// input feature is named in one note (every such layer, not the first
// only); with enough rows there is no note.
func TestFewRowsNoted(t *testing.T) {
	testenv.Runtime(t)
	m := linear2(t)
	_, notes := compressed(t, m, "nm,repair(shapes=N:1,samples=3)")
	if !strings.Contains(notes, "(3 rows, 4 features)") || !strings.Contains(notes, "(3 rows, 8 features)") {
		t.Errorf("both layers have 3 rows, want both named:\n%s", notes)
	}
	if _, notes := compressed(t, m, "nm,repair(shapes=N:16)"); strings.Contains(notes, "rows per input feature") {
		t.Errorf("128 rows for 8 features noted:\n%s", notes)
	}
}
