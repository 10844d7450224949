package obs

import (
	"errors"
	"fmt"
	"math"
)

// SparseGPTGroups prunes the groups of one layer to pattern p: the
// matrices of a grouped conv, group g's rows reading only its own input
// channels, so that hs[g] is its own Hessian. N:M and scope Row act on
// every group as SparseGPT does. Unstructured with scope Layer ranks the
// whole layer: every weight's OBS saliency w²/U_jj² (U from its group's
// factor, before any update) is compared across groups, the round(s·n)
// smallest of the layer's n weights say how many each group loses, and
// each group's sweep then chooses which with its own per-layer mask.
// Removing a weight of one group changes no other group's output, so the
// costs of different groups add up to the layer's output error and are
// comparable: a depthwise conv (one row of a few taps per group) keeps
// more taps in the channels that matter instead of half of every
// channel's. When every group is one column block (Cols ≤ the block
// size, as for depthwise kernels) the mask is exactly the layer-wide
// ranking of the saliencies. ws are not modified.
func SparseGPTGroups(hs []*Hessian, ws []Weight, p Pattern, o SweepOptions) ([]Weight, error) {
	if len(hs) != len(ws) {
		return nil, fmt.Errorf("sparsegpt: %d Hessians for %d groups", len(hs), len(ws))
	}
	out := make([]Weight, len(ws))
	if p.M > 0 || p.scope(Layer) != Layer || len(ws) == 1 {
		for g := range ws {
			var err error
			if out[g], err = SparseGPT(hs[g], ws[g], p, o); err != nil {
				return nil, groupErr(err, g, len(ws))
			}
		}
		return out, nil
	}
	fs := make([]*factor, len(ws))
	wzs := make([]Weight, len(ws))
	scores := make([][]float64, len(ws))
	for g, w := range ws {
		if err := hs[g].ready(w, "sparsegpt"); err != nil {
			return nil, groupErr(err, g, len(ws))
		}
		if err := p.check(w.Cols); err != nil {
			return nil, fmt.Errorf("sparsegpt: %w", err)
		}
		f, wz, err := prepare(hs[g], w, o, nil, 1)
		if err != nil {
			return nil, groupErr(fmt.Errorf("sparsegpt: %w", err), g, len(ws))
		}
		fs[g], wzs[g] = f, wz
		s := make([]float64, len(w.Data)) // an earlier zero scores 0: it goes first
		for r := range w.Rows {
			saliency(s[r*w.Cols:(r+1)*w.Cols], wz.Row(r), f.diag)
		}
		scores[g] = s
	}
	for g, k := range allot(scores, p) {
		n := len(ws[g].Data)
		pg := Pattern{Sparsity: float64(k) / float64(n), Scope: Layer}
		ru := newPruneRule(pg, ws[g].Rows, fs[g].block)
		ru.pin(ws[g])
		out[g] = fs[g].sweep(wzs[g], ru)
	}
	return out, nil
}

// WandaGroups is Wanda on the groups of one layer, norms[g] the feature
// norms of group g: N:M and scope Row act on every group; unstructured
// with scope Layer ranks |W_rj|·‖X_j‖ over all groups together (each
// group's error adds to the layer's), so the layer loses exactly
// round(Sparsity·n) of its n weights and groups differ. ws are not
// modified.
func WandaGroups(norms [][]float64, ws []Weight, p Pattern) ([]Weight, error) {
	if len(norms) != len(ws) {
		return nil, fmt.Errorf("wanda: %d norm vectors for %d groups", len(norms), len(ws))
	}
	out := make([]Weight, len(ws))
	if p.M > 0 || p.scope(Row) != Layer {
		for g := range ws {
			var err error
			if out[g], err = WandaNorms(norms[g], ws[g], p); err != nil {
				return nil, groupErr(err, g, len(ws))
			}
		}
		return out, nil
	}
	scores := make([][]float64, len(ws))
	for g, w := range ws {
		if err := w.check("wanda"); err != nil {
			return nil, groupErr(err, g, len(ws))
		}
		if len(norms[g]) != w.Cols {
			return nil, groupErr(fmt.Errorf("wanda: weight has %d input features, %d norms", w.Cols, len(norms[g])), g, len(ws))
		}
		if err := p.check(w.Cols); err != nil {
			return nil, fmt.Errorf("wanda: %w", err)
		}
		s := make([]float64, len(w.Data))
		for i, v := range w.Data {
			s[i] = math.Abs(float64(v)) * norms[g][i%w.Cols]
		}
		scores[g] = s
	}
	masks := layerMask(scores, p)
	for g, w := range ws {
		out[g] = w.Clone()
		for i, m := range masks[g] {
			if m {
				out[g].Data[i] = 0
			}
		}
	}
	return out, nil
}

// layerMask marks the round(Sparsity·n) smallest of all groups' scores
// (n of them in all; ties to the earlier group and index).
func layerMask(scores [][]float64, p Pattern) [][]bool {
	var all []float64
	for _, s := range scores {
		all = append(all, s...)
	}
	mask := make([]bool, len(all))
	markSmallest(all, p.zerosBefore(len(all)), mask, make([]int, len(all)))
	out := make([][]bool, len(scores))
	for g, s := range scores {
		out[g], mask = mask[:len(s)], mask[len(s):]
	}
	return out
}

// allot returns how many weights of each group the layer-wide ranking of
// scores removes.
func allot(scores [][]float64, p Pattern) []int {
	ks := make([]int, len(scores))
	for g, m := range layerMask(scores, p) {
		for _, z := range m {
			if z {
				ks[g]++
			}
		}
	}
	return ks
}

func groupErr(err error, g, groups int) error {
	if groups > 1 {
		return fmt.Errorf("conv group %d: %w", g, err)
	}
	return err
}

// ChooseSparseDamp picks, among damps, the dampening (SweepOptions.Damp)
// whose SparseGPT sparsification of the layer's groups ws generalizes
// best from one half of the calibration data to the other, as
// ChooseDamp does for GPTQ: folds holds each group's Hessians of two
// folds (split by sample); each candidate runs SparseGPTGroups on one
// fold's Hessians and is scored by the layer's output error on the other
// fold, Σ_g tr((W−Ŵ)·H'·(W−Ŵ)ᵀ), both ways round. A candidate that
// leaves a fold's Hessian indefinite scores +Inf. It returns the best damp
// and every candidate's summed held-out error; ws are not changed. Each
// candidate costs two SparseGPT sweeps of the layer.
func ChooseSparseDamp(folds []Folds, ws []Weight, p Pattern, o SweepOptions, damps []float64) (float64, []float64, error) {
	if len(folds) != len(ws) {
		return 0, nil, fmt.Errorf("damp choice: %d groups of folds for %d groups", len(folds), len(ws))
	}
	for _, f := range folds {
		for k := range 2 {
			if f[k] == nil || f[k].Samples() == 0 {
				return 0, nil, fmt.Errorf("damp choice: fold %d has no calibration rows", k)
			}
		}
	}
	hs := make([]*Hessian, len(ws))
	return crossValidate("damp", damps, func(damp float64, k int) (float64, error) {
		for g := range folds {
			hs[g] = folds[g][k]
		}
		o.Damp = damp
		outs, err := SparseGPTGroups(hs, ws, p, o)
		if errors.Is(err, errIndefinite) {
			return math.Inf(1), nil
		}
		if err != nil {
			return 0, fmt.Errorf("damp choice: damp %v, fold %d: %w", damp, k, err)
		}
		total := 0.0
		for g, w := range ws {
			diff := outs[g]
			for i, v := range w.Data {
				diff.Data[i] = v - diff.Data[i]
			}
			total += folds[g][1-k].energy(diff)
		}
		return total, nil
	})
}
