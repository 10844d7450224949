package oneshot

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
)

// owl sets the sparsity of every unstructured layer by OWL (layers=owl):
// one capture of the dense model's feature norms (before any layer is
// pruned, as the paper measures them), each layer's outlier ratio of
// Wanda scores, obs.OWLSparsities around the layers' common sparsity.
func owl(ctx *passes.Context, m *graph.Model, ls []*layer, cfg Config) error {
	var un []*layer
	for _, l := range ls {
		if l.Pattern.M == 0 {
			if len(un) > 0 && l.Pattern.Sparsity != un[0].Pattern.Sparsity {
				return fmt.Errorf("layers=owl spreads one sparsity; the layers ask for %g and %g", un[0].Pattern.Sparsity, l.Pattern.Sparsity)
			}
			un = append(un, l)
		}
	}
	if len(un) == 0 {
		return nil
	}
	wc := cfg
	wc.Method = Wanda
	if err := capture(m, un, wc); err != nil {
		return err
	}
	ratios := make([]float64, len(un))
	sizes := make([]int64, len(un))
	for i, l := range un {
		_, _, ws, err := l.matrices()
		if err != nil {
			return err
		}
		if ratios[i], err = obs.OutlierRatio(l.featureNorms(), ws, obs.OWLOutlier); err != nil {
			return fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
		}
		l.norms = nil
		sizes[i] = int64(l.Matrix.Rows) * int64(l.Matrix.Cols)
	}
	sp := obs.OWLSparsities(ratios, sizes, un[0].Pattern.Sparsity, obs.OWLLambda)
	perLayer := map[string]float64{}
	for i, l := range un {
		l.Pattern.Sparsity = sp[i]
		perLayer[l.Weight.Value.Name] = sp[i]
	}
	ctx.Set("owl_sparsity", perLayer)
	return nil
}

// featureNorms returns the L2 norms of every group's input features.
func (l *layer) featureNorms() [][]float64 {
	norms := make([][]float64, len(l.norms))
	for i, n := range l.norms {
		norms[i] = n.Norms()
	}
	return norms
}
