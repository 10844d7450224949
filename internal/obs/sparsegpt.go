package obs

import "fmt"

// SweepOptions tune the optimal brain surgeon sweep shared by SparseGPT
// and GPTQ.
type SweepOptions struct {
	// BlockSize is the number of columns updated together before the
	// lazy batch update (0: DefaultBlockSize). It is rounded up to a
	// multiple of the N:M group or quantization group.
	BlockSize int
	// Damp is the fraction of the mean diagonal of H added to its
	// diagonal before factoring (0: DefaultDamp).
	Damp float64
}

func (o SweepOptions) block(multiple int) (int, error) {
	bs := o.BlockSize
	if bs == 0 {
		bs = DefaultBlockSize
	}
	if bs < 0 {
		return 0, fmt.Errorf("block size %d is negative", bs)
	}
	if multiple > 1 {
		bs = (bs + multiple - 1) / multiple * multiple
	}
	return bs, nil
}

// prepare factors h for a sweep over w's columns in perm's order and
// returns w with the columns of dead features (never active, H_jj = 0)
// set to zero, as the papers do.
func prepare(h *Hessian, w Weight, o SweepOptions, perm []int, multiple int) (*factor, Weight, error) {
	bs, err := o.block(multiple)
	if err != nil {
		return nil, Weight{}, err
	}
	f, err := newFactor(h, o.Damp, perm, bs)
	if err != nil {
		return nil, Weight{}, err
	}
	wz := w.Clone()
	for r := range wz.Rows {
		row := wz.Row(r)
		for j, d := range f.dead {
			if d {
				row[j] = 0
			}
		}
	}
	return f, wz, nil
}

// SparseGPT prunes w to pattern p with the optimal brain surgeon sweep of
// Frantar & Alistarh (2023): columns are visited in order, every pruned
// weight's error is compensated on the row's later weights through the
// inverse Hessian's Cholesky factor, with lazy batch updates per block.
// The mask is chosen adaptively per block from the weights updated so
// far, by the OBS saliency w²/U_jj² (U the inverse Hessian's upper
// Cholesky factor, U_jj² = [H⁻¹]_jj restricted to the columns not yet
// swept). Unstructured, scope Layer (the paper's and the default) ranks
// the saliencies of all rows in block [i1, i2) together and zeroes the
// round(s·Rows·i2)−round(s·Rows·i1) smallest, so the layer loses exactly
// round(Sparsity·Rows·Cols) weights and rows that matter more keep more;
// scope Row gives every row round(s·i2)−round(s·i1) zeros in the block,
// exactly round(Sparsity·Cols) per row. N:M groups lose their M−N lowest
// saliencies when the sweep reaches them. Columns of features never
// active in calibration are set to zero. w is not modified.
func SparseGPT(h *Hessian, w Weight, p Pattern, o SweepOptions) (Weight, error) {
	if err := h.ready(w, "sparsegpt"); err != nil {
		return Weight{}, err
	}
	if err := p.check(w.Cols); err != nil {
		return Weight{}, fmt.Errorf("sparsegpt: %w", err)
	}
	f, wz, err := prepare(h, w, o, nil, p.M)
	if err != nil {
		return Weight{}, fmt.Errorf("sparsegpt: %w", err)
	}
	ru := newPruneRule(p, w.Rows, f.block)
	ru.pin(w)
	return f.sweep(wz, ru), nil
}

// pruneRule zeroes the weights SparseGPT's mask selects.
type pruneRule struct {
	p     Pattern
	layer bool // unstructured with scope Layer
	bs    int
	// Per row, scratch for the current block: the mask, the saliencies
	// and the selection's indices (row r at r*bs).
	mask  []bool
	score []float64
	idx   []int
	// For scope Layer, the block's mask of all rows, row r at r*(i2−i1).
	flat []bool
	// pinned marks the weights that were zero already (an earlier prune):
	// they stay zero, and the mask takes them first (saliency 0).
	pinned []bool
	cols   int
}

// pin records w's zeros, if any, as weights that stay pruned.
func (ru *pruneRule) pin(w Weight) {
	for i, v := range w.Data {
		if v == 0 {
			if ru.pinned == nil {
				ru.pinned = make([]bool, len(w.Data))
			}
			ru.pinned[i] = true
		}
	}
	ru.cols = w.Cols
}

// unpin sets the saliency of pinned weights of row r, columns [c, c+len(s)), to 0.
func (ru *pruneRule) unpin(s []float64, r, c int) []float64 {
	if ru.pinned != nil {
		for j, p := range ru.pinned[r*ru.cols+c : r*ru.cols+c+len(s)] {
			if p {
				s[j] = 0
			}
		}
	}
	return s
}

func newPruneRule(p Pattern, rows, bs int) *pruneRule {
	ru := &pruneRule{p: p, bs: bs, mask: make([]bool, rows*bs), score: make([]float64, rows*bs), idx: make([]int, rows*bs)}
	if p.M == 0 && p.scope(Layer) == Layer {
		ru.layer = true
		ru.flat = make([]bool, rows*bs)
	}
	return ru
}

// startBlock chooses the block's mask over all rows for scope Layer.
func (ru *pruneRule) startBlock(i1, i2 int, q Weight, d []float32) {
	if !ru.layer {
		return
	}
	nb, rows := i2-i1, q.Rows
	n := rows * nb
	score := ru.score[:n]
	for r := range rows {
		ru.unpin(saliency(score[r*nb:(r+1)*nb], q.Data[r*q.Cols+i1:r*q.Cols+i2], d), r, i1)
	}
	k := ru.p.zerosBefore(rows*i2) - ru.p.zerosBefore(rows*i1)
	markSmallest(score, k, ru.flat[:n], ru.idx[:n])
	for r := range rows {
		copy(ru.mask[r*ru.bs:r*ru.bs+nb], ru.flat[r*nb:(r+1)*nb])
	}
}

func (ru *pruneRule) begin(r, i1 int, w, d []float32) {
	if ru.p.M > 0 || ru.layer {
		return
	}
	lo, hi := r*ru.bs, r*ru.bs+len(w)
	k := ru.p.zerosBefore(i1+len(w)) - ru.p.zerosBefore(i1)
	markSmallest(ru.unpin(saliency(ru.score[lo:hi], w, d), r, i1), k, ru.mask[lo:hi], ru.idx[lo:hi])
}

func (ru *pruneRule) value(r, i1, k int, w, d []float32) float32 {
	off := r * ru.bs
	mask := ru.mask[off : off+ru.bs]
	if m := ru.p.M; m > 0 && k%m == 0 {
		lo := off + k
		markSmallest(ru.unpin(saliency(ru.score[lo:lo+m], w[k:k+m], d[k:k+m]), r, i1+k), m-ru.p.N, mask[k:k+m], ru.idx[lo:lo+m])
	}
	if mask[k] || (ru.pinned != nil && ru.pinned[r*ru.cols+i1+k]) {
		return 0
	}
	return w[k]
}

// saliency sets s to the OBS cost of removing each weight, w²/U_jj², and
// returns it.
func saliency(s []float64, w, d []float32) []float64 {
	for j, v := range w {
		x := float64(v) / float64(d[j])
		s[j] = x * x
	}
	return s
}
