package prune

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/oneshot"
)

// configureMethod reads method= and its options into c and refuses the
// combinations a calibrated method cannot honour.
func configureMethod(a passes.Args, c *config) error {
	oc, err := oneshot.Configure(a)
	if err != nil {
		return err
	}
	c.method = oc
	if oc.Method == oneshot.Magnitude {
		if l := a.String("layers"); l != "" && l != oneshot.Uniform {
			return fmt.Errorf("layers=%s needs method=wanda or sparsegpt (it weighs layers by calibration activations); scope=global spreads magnitude pruning over the layers", l)
		}
		return nil
	}
	c.method.Layers = a.String("layers")
	switch {
	case c.useThresh:
		return fmt.Errorf("method=%s needs sparsity=, not threshold= (it ranks weights by a calibrated score, not by magnitude)", oc.Method)
	case c.global:
		return fmt.Errorf("method=%s prunes each layer to the sparsity (per row or layer: mask=); scope=global is for method=magnitude", oc.Method)
	}
	return nil
}

// runCalibrated prunes every selected weight with Wanda or SparseGPT:
// round(sparsity·features) weights of every output row, or of the whole
// weight ranked together (mask=, oneshot.Config.Scope).
func runCalibrated(ctx *passes.Context, m *graph.Model, cfg config) error {
	ws := passes.FindWeights(m, cfg.sel, func(name, reason string) { ctx.Skip(name, "%s", reason) })
	seen := map[*onnx.TensorProto]bool{}
	var layers []oneshot.Layer
	for _, w := range ws {
		if seen[w.Tensor.Proto] {
			continue
		}
		seen[w.Tensor.Proto] = true
		l, ok := passes.LayoutOf(w.Node)
		if !ok {
			continue
		}
		mat, err := l.Matrix(w.Node, w.Tensor.Dims())
		if err != nil {
			ctx.Skip(w.Value.Name, "%v", err)
			continue
		}
		layers = append(layers, oneshot.Layer{Weight: w, Matrix: mat, Pattern: obs.Pattern{Sparsity: cfg.sparsity}})
	}
	if len(layers) == 0 {
		ctx.Note("no float weights selected")
		return nil
	}
	res, err := oneshot.Run(ctx, m, layers, cfg.method)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		ctx.Note("no selected weight could be calibrated (see skipped)")
	}
	return nil
}
