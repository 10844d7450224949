package oneshot

import (
	"fmt"

	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// Methods, the values of the method= option.
const (
	Magnitude = "magnitude" // no calibration: the pass's own magnitude path
	Wanda     = "wanda"     // |W|·‖X‖ per output row
	SparseGPT = "sparsegpt" // optimal brain surgeon sweep with the inverse Hessian
)

// Config says how Run fits the layers.
type Config struct {
	Method string // Wanda or SparseGPT
	Calib  calib.Config
	Sweep  obs.SweepOptions // SparseGPT's dampening and block size
	// Damps are SparseGPT's candidate dampenings (damps=), one chosen per
	// layer by split-half cross-validation (obs.ChooseSparseDamp).
	Damps []float64
	// Scope is the group an unstructured mask is ranked in (mask=), the
	// method's own choice resolved: obs.Layer for SparseGPT, obs.Row for
	// Wanda unless asked otherwise. It replaces a Layer's DefaultScope.
	Scope obs.Scope
	// Layers is how an unstructured fraction is spread over the layers
	// (layers=, prune only): Uniform, OWL or Error.
	Layers string
	// Anchor, when > 0, fits each layer to the original model's outputs
	// (target=original): the weight is refitted by obs.Anchor with this
	// ridge before the method compresses it. 0: target=layer.
	Anchor float64
}

// target names what the layers are fitted to (target=), for reports.
func (c Config) target() string {
	if c.Anchor > 0 {
		return calib.TargetOriginal
	}
	return calib.TargetLayer
}

// Values of prune's layers= option.
const (
	Uniform = "uniform" // every layer to the sparsity
	OWL     = "owl"     // outlier-weighted layer-wise sparsity, the same overall
	Error   = "error"   // weights ranked over all layers by their share of their layer's output error
)

// LayersOption is prune's layers= option: how a calibrated unstructured
// sparsity is spread over the layers (N:M has no choice to make).
var LayersOption = passes.Option{Name: "layers", Kind: passes.Enum, Values: []string{Uniform, OWL, Error}, Default: Uniform,
	Doc: "method=wanda|sparsegpt: every layer to the sparsity (uniform); owl: layers whose Wanda scores have more outliers (above 5x the layer mean) keep more weights, layer sparsities at most 0.16 apart, placed so the total stays at sparsity=; error: each layer's sparsity from ranking w²·‖X_j‖² over its layer's total across all layers (the least estimated relative output error); the same fraction of all weights removed"}

// Values of the mask= option.
const (
	MaskDefault = "auto"  // the method's paper: layer for sparsegpt, row for wanda
	MaskRow     = "row"   // every output row loses the same fraction
	MaskLayer   = "layer" // weights ranked over the whole layer, all conv groups together
)

// Options returns method=, damp=, blocksize= and the calibration options,
// for a pass to append to its own.
func Options() []passes.Option {
	o := []passes.Option{
		{Name: "method", Kind: passes.Enum, Values: []string{Magnitude, Wanda, SparseGPT}, Default: Magnitude,
			Doc: "magnitude (no data), wanda (|W|·‖X‖ from calibration activations) or sparsegpt (OBS update with the inverse Hessian; best quality, slowest)"},
		{Name: "damp", Kind: passes.Float, Default: "0.01", Doc: "method=sparsegpt: fraction of the mean Hessian diagonal added to it (raise it if a Hessian is not positive definite)"},
		{Name: "damps", Kind: passes.List, Doc: "method=sparsegpt: candidate dampenings (e.g. 0.001|0.01|0.1|1); each layer takes the one whose SparseGPT on half the calibration samples best keeps the layer's output on the other half (two folds, even and odd samples, both ways round), instead of damp; costs two sweeps per candidate and three Hessians per input"},
		{Name: "blocksize", Kind: passes.Int, Default: "128", Doc: "method=sparsegpt: columns per lazy batch update"},
		{Name: "mask", Kind: passes.Enum, Values: []string{MaskDefault, MaskRow, MaskLayer}, Default: MaskDefault,
			Doc: "unstructured: rank weights per output row (every row equally sparse) or per layer (exact layer total, rows differ; per column block for sparsegpt); auto: layer for sparsegpt, row for wanda"},
	}
	o = append(o, calib.TargetOptions()...)
	return append(o, calib.Options()...)
}

// Calibrated reports whether the options ask for a calibrated method,
// the passes' NeedsRuntime.
func Calibrated(a passes.Args) bool {
	m := a.String("method")
	return m == Wanda || m == SparseGPT
}

// Configure reads the options Options declares. For method=magnitude it
// returns a Config with that Method and checks nothing else.
func Configure(a passes.Args) (Config, error) {
	c := Config{Method: a.String("method")}
	switch c.Method {
	case "", Magnitude:
		c.Method = Magnitude
		// Calibration options without a calibrated method would be
		// ignored: most likely method= was forgotten.
		return c, a.Unused("method=wanda or method=sparsegpt", "calib", "samples", "seed", "shapes", "damp", "damps", "blocksize", "mask", "target", "ridge")
	case Wanda:
		if err := a.Unused("method=sparsegpt", "damp", "damps", "blocksize"); err != nil {
			return c, err
		}
	case SparseGPT:
		if a.Given("damp") && a.Given("damps") {
			return c, fmt.Errorf("give damp= or damps=, not both")
		}
	default:
		return c, fmt.Errorf("method=%s: want magnitude, wanda or sparsegpt", c.Method)
	}
	d := a.Float("damp")
	if !(d > 0 && d < 1e6) {
		return c, fmt.Errorf("damp=%s: want a number > 0", a.String("damp"))
	}
	bs := a.Int("blocksize")
	if bs < 1 || bs > 1<<16 {
		return c, fmt.Errorf("blocksize=%d: want 1 <= blocksize <= 65536", bs)
	}
	c.Sweep = obs.SweepOptions{Damp: d, BlockSize: int(bs)}
	var err error
	if c.Damps, err = a.PositiveFloats("damps"); err != nil {
		return c, err
	}
	if len(c.Damps) == 1 { // nothing to choose between
		c.Sweep.Damp, c.Damps = c.Damps[0], nil
	}
	switch mk := a.String("mask"); mk {
	case MaskRow:
		c.Scope = obs.Row
	case MaskLayer:
		c.Scope = obs.Layer
	case "", MaskDefault:
		c.Scope = obs.Row
		if c.Method == SparseGPT {
			c.Scope = obs.Layer
		}
	default:
		return c, fmt.Errorf("mask=%s: want auto, row or layer", mk)
	}
	auto := calib.TargetLayer // Wanda: one cheap pass
	if c.Method == SparseGPT {
		auto = calib.TargetOriginal
	}
	if c.Anchor, err = calib.ConfigureTarget(a, true, "", auto); err != nil {
		return c, err
	}
	cc, err := calib.Configure(a)
	if err != nil {
		return c, err
	}
	c.Calib = cc
	return c, nil
}
