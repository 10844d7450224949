package obs

import (
	"fmt"
	"math"
)

// OWL's constants from its paper (Yin et al., 2024, "Outlier Weighed
// Layerwise Sparsity"): a score is an outlier above OWLOutlier times its
// layer's mean, and layer sparsities spread over ±OWLLambda.
const (
	OWLOutlier = 5.0
	OWLLambda  = 0.08
)

// OutlierRatio returns the fraction of a layer's Wanda scores
// |W_rj|·‖X_j‖ above m times their mean, over all of its groups (norms[g]
// the feature norms of group g, as WandaGroups takes them).
func OutlierRatio(norms [][]float64, ws []Weight, m float64) (float64, error) {
	if len(norms) != len(ws) {
		return 0, fmt.Errorf("outlier ratio: %d norm vectors for %d groups", len(norms), len(ws))
	}
	var scores []float64
	sum := 0.0
	for g, w := range ws {
		if err := w.check("outlier ratio"); err != nil {
			return 0, err
		}
		if len(norms[g]) != w.Cols {
			return 0, fmt.Errorf("outlier ratio: weight has %d input features, %d norms", w.Cols, len(norms[g]))
		}
		for i, v := range w.Data {
			s := math.Abs(float64(v)) * norms[g][i%w.Cols]
			scores = append(scores, s)
			sum += s
		}
	}
	limit := m * sum / float64(len(scores))
	n := 0
	for _, s := range scores {
		if s > limit {
			n++
		}
	}
	return float64(n) / float64(len(scores)), nil
}

// OWLSparsities returns OWL's sparsity for every layer, ratios[l] its
// outlier ratio and sizes[l] its number of weights: the layers' densities
// are spread linearly with the ratio over a range of 2·lambda (the most
// outliers: the lowest sparsity), then shifted so that the weights
// removed add up to s of all (Σ s_l·sizes[l] = s·Σ sizes[l]; the paper
// takes the plain mean, its layers being of one size) and clamped to
// [0, 1]. Equal ratios give every layer s.
func OWLSparsities(ratios []float64, sizes []int64, s, lambda float64) []float64 {
	out := make([]float64, len(ratios))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range ratios {
		lo, hi = min(lo, r), max(hi, r)
	}
	var total, removed float64
	for l, r := range ratios {
		if hi > lo {
			out[l] = -(r - lo) / (hi - lo) * 2 * lambda
		}
		total += float64(sizes[l])
		removed += out[l] * float64(sizes[l])
	}
	shift := s - removed/total
	for l := range out {
		out[l] = min(max(out[l]+shift, 0), 1)
	}
	return out
}
