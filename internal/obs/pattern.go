package obs

import (
	"cmp"
	"fmt"
	"math"
)

// Pattern says which weights pruning removes.
type Pattern struct {
	// Sparsity, for unstructured pruning (M = 0), is the fraction of the
	// weights set to zero: exactly round(Sparsity·Cols) of every row
	// (Scope Row) or round(Sparsity·Rows·Cols) of the whole matrix, rows
	// ending up with different counts (Scope Layer).
	Sparsity float64
	// Scope is the group unstructured pruning ranks the weights in; the
	// zero value takes each method's choice in its paper.
	Scope Scope
	// N and M, when M > 0, ask for N:M sparsity along the columns: every
	// group of M consecutive columns of a row keeps N weights (M−N zeros).
	// Cols must be a multiple of M.
	N, M int
}

// Scope is the group of weights an unstructured mask is chosen in.
type Scope int

const (
	// DefaultScope is the method's own: per layer for SparseGPT, per row
	// for Wanda, as their papers do.
	DefaultScope Scope = iota
	// Row prunes every output row to the sparsity: each row loses its
	// own lowest scores.
	Row
	// Layer ranks all of the matrix's weights together: the layer total
	// is exact, rows differ (for SparseGPT, per column block: the
	// saliencies of all rows in the block are compared).
	Layer
)

// String returns "default", "row" or "layer".
func (s Scope) String() string {
	switch s {
	case Row:
		return "row"
	case Layer:
		return "layer"
	}
	return "default"
}

// String returns "50%", "50% per layer" (a scope other than the default)
// or "2:4".
func (p Pattern) String() string {
	if p.M > 0 {
		return fmt.Sprintf("%d:%d", p.N, p.M)
	}
	if p.Scope != DefaultScope {
		return fmt.Sprintf("%g%% per %s", 100*p.Sparsity, p.Scope)
	}
	return fmt.Sprintf("%g%%", 100*p.Sparsity)
}

// scope returns the scope p asks for, def when it is DefaultScope.
func (p Pattern) scope(def Scope) Scope {
	if p.Scope == DefaultScope {
		return def
	}
	return p.Scope
}

func (p Pattern) check(cols int) error {
	if p.M > 0 {
		if p.N < 0 || p.N > p.M {
			return fmt.Errorf("pattern %d:%d: N must be in [0, M]", p.N, p.M)
		}
		if cols%p.M != 0 {
			return fmt.Errorf("pattern %d:%d: %d input features are not a multiple of %d", p.N, p.M, cols, p.M)
		}
		return nil
	}
	if p.Scope < DefaultScope || p.Scope > Layer {
		return fmt.Errorf("mask scope %d is not default, row or layer", int(p.Scope))
	}
	if p.M < 0 || p.N != 0 {
		return fmt.Errorf("pattern %d:%d: N:M needs M > 0", p.N, p.M)
	}
	if !(p.Sparsity >= 0 && p.Sparsity <= 1) {
		return fmt.Errorf("sparsity %v is not in [0, 1]", p.Sparsity)
	}
	return nil
}

// zerosBefore returns how many of the first j weights unstructured
// pruning removes: round(s·j). Blocks [i1, i2) remove
// zerosBefore(i2) − zerosBefore(i1), which adds up to round(s·Cols) for a
// row (round(s·Rows·Cols) when j counts the weights of all rows).
func (p Pattern) zerosBefore(j int) int { return int(math.Round(p.Sparsity * float64(j))) }

// markSmallest sets mask[i] for the k entries of score with the smallest
// values (ties go to the lower index) and clears the others. idx is
// scratch of len(score).
func markSmallest(score []float64, k int, mask []bool, idx []int) {
	for i := range mask {
		mask[i] = false
	}
	if k <= 0 {
		return
	}
	for i := range idx {
		idx[i] = i
	}
	// Quickselect under the total order (score, index): the k smallest
	// end up in idx[:k], the same set a full sort would give.
	before := func(a, b int) bool {
		c := cmp.Compare(score[a], score[b])
		return c < 0 || c == 0 && a < b
	}
	for lo, hi, t := 0, len(idx)-1, min(k, len(idx))-1; lo < hi; {
		mid := lo + (hi-lo)/2
		idx[mid], idx[hi] = idx[hi], idx[mid]
		p, store := idx[hi], lo
		for i := lo; i < hi; i++ {
			if before(idx[i], p) {
				idx[i], idx[store] = idx[store], idx[i]
				store++
			}
		}
		idx[store], idx[hi] = idx[hi], idx[store]
		switch {
		case store == t:
			lo = hi
		case store < t:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
	for _, i := range idx[:min(k, len(idx))] {
		mask[i] = true
	}
}

// Wanda prunes w by the score |W_rj|·‖X_j‖₂ (magnitude times the norm of
// the feature's activations, from h): unstructured, each row loses its
// round(Sparsity·Cols) lowest scores (scope Row, the paper's and the
// default) or the matrix its round(Sparsity·Rows·Cols) lowest (scope
// Layer); N:M groups keep their N highest. The kept weights are unchanged;
// w is not modified.
func Wanda(h *Hessian, w Weight, p Pattern) (Weight, error) {
	if err := h.ready(w, "wanda"); err != nil {
		return Weight{}, err
	}
	return WandaNorms(h.ColumnNorms(), w, p)
}

// WandaNorms is Wanda from the feature norms ‖X_j‖₂ alone (len Cols), for
// callers that accumulate norms instead of a whole Hessian.
func WandaNorms(norms []float64, w Weight, p Pattern) (Weight, error) {
	if err := w.check("wanda"); err != nil {
		return Weight{}, err
	}
	if len(norms) != w.Cols {
		return Weight{}, fmt.Errorf("wanda: weight has %d input features, %d norms", w.Cols, len(norms))
	}
	if err := p.check(w.Cols); err != nil {
		return Weight{}, fmt.Errorf("wanda: %w", err)
	}
	if p.M == 0 && p.scope(Row) == Layer {
		out, err := WandaGroups([][]float64{norms}, []Weight{w}, p)
		if err != nil {
			return Weight{}, err
		}
		return out[0], nil
	}
	out := w.Clone()
	forChunks(w.Rows, 16, func(lo, hi int) {
		score := make([]float64, w.Cols)
		mask := make([]bool, w.Cols)
		idx := make([]int, w.Cols)
		for r := lo; r < hi; r++ {
			row := out.Row(r)
			for j, v := range row {
				score[j] = math.Abs(float64(v)) * norms[j]
			}
			if p.M > 0 {
				for g := 0; g < w.Cols; g += p.M {
					markSmallest(score[g:g+p.M], p.M-p.N, mask[g:g+p.M], idx[:p.M])
				}
			} else {
				markSmallest(score, p.zerosBefore(w.Cols), mask, idx)
			}
			for j, m := range mask {
				if m {
					row[j] = 0
				}
			}
		}
	})
	return out, nil
}
