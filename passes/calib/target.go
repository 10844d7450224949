package calib

import (
	"fmt"

	"github.com/onnxopt/onnxopt/passes"
)

// Values of the target= option of the calibrated methods.
const (
	// TargetLayer fits each compressed layer to what the layer computes on
	// the inputs it receives in the model being compressed (the objective
	// of the SparseGPT, Wanda and GPTQ papers).
	TargetLayer = "layer"
	// TargetOriginal fits each compressed layer to the original layer's
	// outputs on the original model's inputs, so that it also makes up
	// for what the layers before it lost (asymmetric calibration, GPTAQ):
	// the weight is first refitted to those outputs (obs.Anchor), then
	// compressed by the method.
	TargetOriginal = "original"
	// TargetAuto is the method's own choice: TargetOriginal for the
	// methods that update weights anyway (SparseGPT, GPTQ), TargetLayer
	// for Wanda, whose point is a single cheap pass.
	TargetAuto = "auto"
)

// TargetOptions returns target= and ridge=, shared by the passes whose
// calibrated methods fit a layer's weights (prune, nm, quantize's GPTQ).
func TargetOptions() []passes.Option {
	return []passes.Option{
		{Name: "target", Kind: passes.Enum, Values: []string{TargetAuto, TargetLayer, TargetOriginal}, Default: TargetAuto,
			Doc: "calibrated methods: what each compressed layer should reproduce: its own output on the inputs it now receives (layer, the papers' objective), or the original layer's output on the original model's inputs (original: each weight is first refitted by ridge least squares to make up for the layers compressed before it, then compressed, and a pruned one's kept weights moved a few steps towards the same fit with the mask fixed; the unchanged model runs beside the compressed one: about twice the capture time, the statistics and the memory); auto: the method's choice, original for sparsegpt and gptq, layer for wanda"},
		{Name: "ridge", Kind: passes.Float, Default: "0.1", Doc: "target=original: the refit's pull towards the original weight, as a fraction of each feature's activation energy, > 0 and below 1e6 (more keeps weights that few calibration rows determine)"},
	}
}

// ConfigureTarget reads target= and ridge=: the refit's ridge for
// target=original, 0 for target=layer. calibrated says whether the
// pass runs a calibrated method (the options do nothing otherwise);
// needs names that method, for the error; auto is what target=auto
// means for it.
func ConfigureTarget(a passes.Args, calibrated bool, needs, auto string) (float64, error) {
	if !calibrated {
		return 0, a.Unused(needs, "target", "ridge")
	}
	t := a.String("target")
	if t == "" || t == TargetAuto {
		t = auto
	}
	if t != TargetOriginal {
		return 0, a.Unused("target=original", "ridge")
	}
	r := a.Float("ridge")
	if !(r > 0 && r < 1e6) {
		return 0, fmt.Errorf("ridge=%s: want a number > 0 and below 1e6", a.String("ridge"))
	}
	return r, nil
}
