package oneshot

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
)

// spread sets the sparsity of every unstructured layer by cfg.Layers
// (OWL or Error) from one capture of the dense model's feature norms,
// before any layer is pruned: OWL by each layer's outlier ratio of Wanda
// scores (obs.OWLSparsities), Error by ranking every weight's estimated
// share of its layer's output error over all layers
// (obs.ErrorSparsities). The pass report's layer_sparsity lists the
// result.
func spread(ctx *passes.Context, m *graph.Model, ls []*layer, cfg Config) error {
	var un []*layer
	for _, l := range ls {
		if l.Pattern.M == 0 {
			if len(un) > 0 && l.Pattern.Sparsity != un[0].Pattern.Sparsity {
				return fmt.Errorf("layers=%s spreads one sparsity; the layers ask for %g and %g", cfg.Layers, un[0].Pattern.Sparsity, l.Pattern.Sparsity)
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
	s := un[0].Pattern.Sparsity
	var sp []float64
	switch cfg.Layers {
	case OWL:
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
		sp = obs.OWLSparsities(ratios, sizes, s, obs.OWLLambda)
	case Error:
		norms := make([][][]float64, len(un))
		ws := make([][]obs.Weight, len(un))
		for i, l := range un {
			var err error
			if _, _, ws[i], err = l.matrices(); err != nil {
				return err
			}
			norms[i] = l.featureNorms()
			l.norms = nil
		}
		var err error
		if sp, err = obs.ErrorSparsities(norms, ws, s); err != nil {
			return err
		}
	default:
		return fmt.Errorf("layers=%s: want %s, %s or %s", cfg.Layers, Uniform, OWL, Error)
	}
	perLayer := map[string]float64{}
	for i, l := range un {
		l.Pattern.Sparsity = sp[i]
		perLayer[l.Weight.Value.Name] = sp[i]
	}
	ctx.Set("layer_sparsity", perLayer)
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
