package nm

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/oneshot"
)

// runCalibrated makes the eligible weights N:M sparse with Wanda or
// SparseGPT (oc.Method) and annotates those it fitted.
func runCalibrated(ctx *passes.Context, m *graph.Model, jobs []*job, n, mm int, oc oneshot.Config) error {
	layers := make([]oneshot.Layer, len(jobs))
	for i, j := range jobs {
		layers[i] = oneshot.Layer{Weight: j.w, Matrix: j.mat, Pattern: obs.Pattern{N: n, M: mm}}
	}
	res, err := oneshot.Run(ctx, m, layers, oc)
	if err != nil {
		return err
	}
	pattern := fmt.Sprintf("%d:%d", n, mm)
	names := make([]string, len(res))
	for i, r := range res {
		names[i] = r.Weight.Value.Name
	}
	if len(names) == 0 {
		ctx.Note("no eligible weight could be calibrated (see skipped)")
		return nil
	}
	if err := annotate(ctx, m, names, pattern); err != nil {
		return err
	}
	return nil
}
