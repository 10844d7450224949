package oneshot_test

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/ort"
)

// TestPlantedMLPQuality: on the MLP with planted outlier features,
// calibrated on seed 1 and evaluated on seed 1000, SparseGPT's output
// error at 50% is at most a third of magnitude pruning's and Wanda's at
// most half; at 2:4 both are at most half of magnitude's.
func TestPlantedMLPQuality(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	shapes := ort.Shapes{"input": {64, 64}}
	calib := ",shapes=input:64x64,samples=8"
	err := map[string]float64{}
	for name, p := range map[string]string{
		"mag50":   "prune(sparsity=0.5)",
		"wanda50": "prune(sparsity=0.5,method=wanda" + calib + ")",
		"gpt50":   "prune(sparsity=0.5,method=sparsegpt" + calib + ")",
		"mag24":   "nm",
		"wanda24": "nm(method=wanda" + calib + ")",
		"gpt24":   "nm(method=sparsegpt" + calib + ")",
	} {
		out, _ := compress(t, orig, p)
		err[name] = relL2(t, orig, out, shapes, 4)
	}
	t.Logf("rel L2 on held-out inputs: %v", err)
	for _, c := range []struct {
		method, base string
		ratio        float64
	}{
		{"gpt50", "mag50", 1.0 / 3}, {"wanda50", "mag50", 0.5},
		{"gpt24", "mag24", 0.5}, {"wanda24", "mag24", 0.5},
	} {
		if !(err[c.method] <= c.ratio*err[c.base]) {
			t.Errorf("%s: rel L2 %.4g > %.3g × %s's %.4g", c.method, err[c.method], c.ratio, c.base, err[c.base])
		}
	}
}

// TestTargetOriginal: on the same planted MLP, fitting each layer to the
// original model's outputs (target=original) lowers SparseGPT's and
// Wanda's held-out error against fitting it to its own output on the
// inputs the already pruned layers give it.
func TestTargetOriginal(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	shapes := ort.Shapes{"input": {64, 64}}
	calib := ",shapes=input:64x64,samples=8"
	for _, p := range []string{
		"prune(sparsity=0.5,method=wanda" + calib,
		"nm(method=sparsegpt" + calib,
	} {
		plain, rp := compress(t, orig, p+",target=layer)")
		anchored, ra := compress(t, orig, p+",target=original)")
		if rp.Extra["target"] != "layer" || ra.Extra["target"] != "original" {
			t.Errorf("%s): reports say target %v and %v, want layer and original", p, rp.Extra["target"], ra.Extra["target"])
		}
		ep, ea := relL2(t, orig, plain, shapes, 4), relL2(t, orig, anchored, shapes, 4)
		t.Logf("%s): rel L2 %.4f, with target=original %.4f", p, ep, ea)
		if !(ea <= 0.95*ep) {
			t.Errorf("%s): target=original %.4f is not below target=layer's %.4f", p, ea, ep)
		}
	}
}

// TestFewRowsNote: SparseGPT with fewer than two calibration rows per
// input feature says so in one note, naming the layers and the options
// that regularize it; Wanda, whose norms need no more rows, does not.
func TestFewRowsNote(t *testing.T) {
	runtime(t)
	orig := plantedMLP(t)
	for p, want := range map[string]string{
		"prune(sparsity=0.5,method=sparsegpt,samples=2,shapes=input:4x64)":              "ridge=",
		"prune(sparsity=0.5,method=sparsegpt,target=layer,samples=2,shapes=input:4x64)": "damp=",
		"prune(sparsity=0.5,method=wanda,samples=2,shapes=input:4x64)":                  "",
	} {
		_, rep := compress(t, orig, p)
		var note string
		for _, n := range rep.Notes {
			if strings.Contains(n, "fewer than two rows per input feature") {
				note = n
			}
		}
		switch {
		case want == "" && note != "":
			t.Errorf("%s: unexpected note %q", p, note)
		case want != "" && (!strings.Contains(note, "block0.fc1.weight (8 rows, 64 features)") || !strings.Contains(note, want)):
			t.Errorf("%s: note %q, want one naming block0.fc1.weight's 8 rows and %s", p, note, want)
		}
	}
}
