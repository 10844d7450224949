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

// WandaShares returns Wanda's estimate of every weight's share of its
// layer's output error, (w_rj·‖X_j‖)² over the layer's sum, for
// SpreadSparsity; norms[g] are group g's feature norms (as WandaGroups
// takes them).
func WandaShares(norms [][]float64, ws []Weight) ([]float32, error) {
	if len(norms) != len(ws) {
		return nil, fmt.Errorf("wanda shares: %d norm vectors for %d groups", len(norms), len(ws))
	}
	var sc []float64
	sum := 0.0
	for g, w := range ws {
		if err := w.check("wanda shares"); err != nil {
			return nil, err
		}
		if len(norms[g]) != w.Cols {
			return nil, fmt.Errorf("wanda shares: weight has %d input features, %d norms", w.Cols, len(norms[g]))
		}
		for i, v := range w.Data {
			e := float64(v) * norms[g][i%w.Cols]
			sc = append(sc, e*e)
			sum += e * e
		}
	}
	return shares(sc, sum), nil
}

// SparseGPTShares returns the OBS estimate of every weight's share of its
// layer's output error: its saliency w²/U_jj² as SparseGPT's sweep first
// ranks it (U from the damped H of its group, o's dampening) over the
// layer's output energy Σ_r w_r·H·w_rᵀ, for SpreadSparsity.
func SparseGPTShares(hs []*Hessian, ws []Weight, o SweepOptions) ([]float32, error) {
	if len(hs) != len(ws) {
		return nil, fmt.Errorf("sparsegpt shares: %d Hessians for %d groups", len(hs), len(ws))
	}
	var sc []float64
	sum := 0.0
	for g, w := range ws {
		if err := hs[g].ready(w, "sparsegpt shares"); err != nil {
			return nil, err
		}
		f, wz, err := prepare(hs[g], w, o, nil, 1)
		if err != nil {
			return nil, fmt.Errorf("sparsegpt shares: %w", err)
		}
		s := make([]float64, len(w.Data))
		for r := range w.Rows {
			saliency(s[r*w.Cols:(r+1)*w.Cols], wz.Row(r), f.diag)
		}
		sc = append(sc, s...)
		sum += hs[g].energy(w)
	}
	return shares(sc, sum), nil
}

// shares returns sc/sum as float32 (sc itself when sum is 0).
func shares(sc []float64, sum float64) []float32 {
	out := make([]float32, len(sc))
	for i, v := range sc {
		if sum > 0 {
			v /= sum
		}
		out[i] = float32(v)
	}
	return out
}

// SpreadSparsity returns per-layer sparsities that remove s of all the
// layers' weights where their shares of their layer's output error
// (WandaShares, SparseGPTShares) are least: the round(s·N) smallest
// shares of all layers together are removed, and layer l's sparsity is
// its part of them (ties: the earlier layer first). Under the estimate
// this minimizes the sum of the layers' relative output errors, where a
// uniform sparsity gives every layer the same count whatever its error.
// shares are sorted in place.
func SpreadSparsity(shares [][]float32, s float64) []float64 {
	total := 0
	for _, sc := range shares {
		slices.Sort(sc)
		total += len(sc)
	}
	k := int(math.Round(s * float64(total)))
	below := func(sc []float32, t float32) int {
		return sort.Search(len(sc), func(i int) bool { return sc[i] >= t })
	}
	count := func(t float32) int {
		n := 0
		for _, sc := range shares {
			n += below(sc, t)
		}
		return n
	}
	// The largest t with count(t) ≤ k, by bisection over the float32
	// bit patterns (shares are ≥ 0, so they order as their bits do).
	lo, hi := uint32(0), math.Float32bits(float32(math.Inf(1)))
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if count(math.Float32frombits(mid)) <= k {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	t := math.Float32frombits(lo)
	out := make([]float64, len(shares))
	left := k - count(t)
	for l, sc := range shares {
		kl := below(sc, t)
		for left > 0 && kl < len(sc) && sc[kl] == t {
			kl++
			left--
		}
		out[l] = float64(kl) / float64(max(len(sc), 1))
	}
	return out
}
