package obs

import (
	"fmt"
	"math"
	"slices"
	"sort"
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

// ErrorSparsities returns per-layer sparsities that remove s of all the
// layers' weights where their estimated share of their layer's output
// error is least: weight (r, j) of layer l scores w_rj²·‖X_j‖² over the
// layer's Σ w²·‖X‖² (Wanda's estimate of the output energy it carries,
// relative to the layer's), the round(s·N) smallest scores of all layers
// together are removed, and layer l's sparsity is its share of them. It
// minimizes the sum of the layers' relative output errors under that
// estimate, where a uniform sparsity gives every layer the same count
// whatever its error. norms[l][g] are the feature norms of group g of
// layer l (as WandaGroups takes them). Memory: one float32 per weight.
func ErrorSparsities(norms [][][]float64, ws [][]Weight, s float64) ([]float64, error) {
	if len(norms) != len(ws) {
		return nil, fmt.Errorf("error sparsities: %d layers of norms for %d weights", len(norms), len(ws))
	}
	sorted := make([][]float32, len(ws))
	total := 0
	for l, gs := range ws {
		if len(norms[l]) != len(gs) {
			return nil, fmt.Errorf("error sparsities: layer %d has %d norm vectors for %d groups", l, len(norms[l]), len(gs))
		}
		var sc []float32
		sum := 0.0
		for g, w := range gs {
			if err := w.check("error sparsities"); err != nil {
				return nil, err
			}
			if len(norms[l][g]) != w.Cols {
				return nil, fmt.Errorf("error sparsities: layer %d: weight has %d input features, %d norms", l, w.Cols, len(norms[l][g]))
			}
			for i, v := range w.Data {
				e := float64(v) * norms[l][g][i%w.Cols]
				sc = append(sc, float32(e*e))
				sum += e * e
			}
		}
		if sum > 0 {
			for i := range sc {
				sc[i] = float32(float64(sc[i]) / sum)
			}
		}
		slices.Sort(sc)
		sorted[l] = sc
		total += len(sc)
	}
	k := int(math.Round(s * float64(total)))
	// below(t): how many scores of layer l are < t; find the smallest
	// score t with Σ below(t) ≤ k < Σ below(next score) by bisection
	// over the float32 bit patterns (scores are ≥ 0, so they order as
	// their bits do).
	count := func(t float32) int {
		n := 0
		for _, sc := range sorted {
			n += sort.Search(len(sc), func(i int) bool { return sc[i] >= t })
		}
		return n
	}
	lo, hi := uint32(0), math.Float32bits(float32(math.Inf(1)))
	for lo < hi { // largest t with count(t) ≤ k
		mid := lo + (hi-lo+1)/2
		if count(math.Float32frombits(mid)) <= k {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	t := math.Float32frombits(lo)
	out := make([]float64, len(ws))
	left := k - count(t)
	for l, sc := range sorted {
		kl := sort.Search(len(sc), func(i int) bool { return sc[i] >= t })
		// Ties at t: the earlier layers take the remainder.
		for left > 0 && kl < len(sc) && sc[kl] == t {
			kl++
			left--
		}
		out[l] = float64(kl) / float64(len(sc))
	}
	return out, nil
}
