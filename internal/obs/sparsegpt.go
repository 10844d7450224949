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
// The mask is chosen adaptively per row and block from the weights
// updated so far, by the OBS saliency w²/[H⁻¹]²_jj: unstructured rows
// lose round(s·i2)−round(s·i1) weights in block [i1, i2), so exactly
// round(Sparsity·Cols) per row (the paper picks per block over all rows
// instead; per row keeps every output channel equally sparse); N:M groups
// lose their M−N lowest saliencies when the sweep reaches them. Columns of
// features never active in calibration are set to zero. w is not modified.
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
	return f.sweep(wz, ru), nil
}

// pruneRule zeroes the weights SparseGPT's mask selects.
type pruneRule struct {
	p  Pattern
	bs int
	// Per row, scratch for the current block: the mask, the saliencies
	// and the selection's indices.
	mask  []bool
	score []float64
	idx   []int
}

func newPruneRule(p Pattern, rows, bs int) *pruneRule {
	return &pruneRule{p: p, bs: bs, mask: make([]bool, rows*bs), score: make([]float64, rows*bs), idx: make([]int, rows*bs)}
}

func (ru *pruneRule) begin(r, i1 int, w, d []float32) {
	if ru.p.M > 0 {
		return
	}
	lo, hi := r*ru.bs, r*ru.bs+len(w)
	k := ru.p.zerosBefore(i1+len(w)) - ru.p.zerosBefore(i1)
	markSmallest(saliency(ru.score[lo:hi], w, d), k, ru.mask[lo:hi], ru.idx[lo:hi])
}

func (ru *pruneRule) value(r, i1, k int, w, d []float32) float32 {
	off := r * ru.bs
	mask := ru.mask[off : off+ru.bs]
	if m := ru.p.M; m > 0 && k%m == 0 {
		lo := off + k
		markSmallest(saliency(ru.score[lo:lo+m], w[k:k+m], d[k:k+m]), m-ru.p.N, mask[k:k+m], ru.idx[lo:lo+m])
	}
	if mask[k] {
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
