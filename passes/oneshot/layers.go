package oneshot

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/obs"
	"github.com/onnxopt/onnxopt/passes"
)

// spread sets the sparsity of every unstructured layer by cfg.Layers
// (OWL or Error) from captures of the unpruned model, before any layer is
// pruned: OWL by each layer's outlier ratio of Wanda scores
// (obs.OWLSparsities, feature norms), Error by ranking every weight's
// estimated share of its layer's output error over all layers
// (obs.SpreadSparsity), estimated by the method's own score: Wanda's
// from the feature norms, SparseGPT's OBS saliency from the Hessians
// (captured in groups of up to MaxStatsBytes, each freed once scored).
// The pass report's layer_sparsity lists the result.
func spread(ctx *passes.Context, m *graph.Model, ls []*layer, cfg Config, captures *int) error {
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
	s := un[0].Pattern.Sparsity
	var sp []float64
	switch cfg.Layers {
	case OWL:
		wc := cfg
		wc.Method, wc.Anchor = Wanda, 0 // the feature norms only
		if err := capture(m, nil, un, wc); err != nil {
			return err
		}
		*captures++
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
		shares := make([][]float32, len(un))
		// The shares take damp= (the fit chooses) and the unpruned
		// model's own statistics: no cross products to budget for.
		shareCfg := cfg
		shareCfg.Damps, shareCfg.Anchor = nil, 0
		for lo := 0; lo < len(un); {
			hi := lo + statsBatch(un[lo:], shareCfg)
			if err := capture(m, nil, un[lo:hi], shareCfg); err != nil {
				return err
			}
			*captures++
			for i := lo; i < hi; i++ {
				l := un[i]
				_, _, ws, err := l.matrices()
				if err == nil {
					if cfg.Method == SparseGPT {
						shares[i], err = obs.SparseGPTShares(l.hess, ws, cfg.Sweep)
					} else {
						shares[i], err = obs.WandaShares(l.featureNorms(), ws)
					}
				}
				if err != nil {
					return fmt.Errorf("weight %q: %w", l.Weight.Value.Name, err)
				}
				l.hess, l.norms, l.folds = nil, nil, nil
			}
			lo = hi
		}
		sp = obs.SpreadSparsity(shares, s)
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
		if n != nil {
			norms[i] = n.Norms()
		} else {
			norms[i] = l.hess[i].ColumnNorms() // a Hessian was taken instead
		}
	}
	return norms
}
