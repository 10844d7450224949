package obs

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// rule decides the compressed value of every weight of one row in one
// column block of the sweep. Rows are independent: begin and value are
// called for different rows concurrently, never for the same row.
type rule interface {
	// begin prepares row r for block [i1, i1+len(w)): w holds the row's
	// weights updated for every earlier column, d the OBS diagonal U_jj of
	// the block's columns.
	begin(r, i1 int, w, d []float32)
	// value returns the value weight (r, i1+k) takes. w[k] is its current
	// value, w[k+1:] those of later columns of the block, all updated for
	// the columns before k.
	value(r, i1, k int, w, d []float32) float32
}

// sweep runs the optimal brain surgeon column sweep over w (columns in the
// factor's order) and returns the compressed weight: column by column each
// weight takes the rule's value and the error (w−q)/U_jj is spread over
// the later columns of its row through row j of U. Within a block the
// update is applied at once; later blocks receive it lazily, pulled in
// at the start of each block: since W − Q = E·U for the error matrix E and
// U = V⁻¹, the pending update of block b is (W−Q)[:, <b]·V[<b, b]·U[b, b],
// one matrix product per block.
func (f *factor) sweep(w Weight, ru rule) Weight {
	rows, c, bs := w.Rows, w.Cols, f.block
	q := w.Clone() // the result; columns not swept yet hold W
	impl := gonum.Implementation{}
	// delta holds W − Q of the swept columns: all of them for the dense
	// form's products, only the current block's in the low-rank form,
	// which folds each block into s = (W−Q)[:, swept]·G[swept] (rows×k).
	var delta, s, tmp []float32
	dld := c
	if f.v == nil {
		s = make([]float32, rows*f.k)
		delta = make([]float32, rows*bs)
		dld = bs
	} else {
		delta = make([]float32, rows*c)
		tmp = make([]float32, rows*bs)
	}
	for b, i1 := 0, 0; i1 < c; b, i1 = b+1, i1+bs {
		i2 := min(i1+bs, c)
		nb := i2 - i1
		ub := f.inv[b]
		doff := i1
		if s != nil {
			doff = 0
			if i1 > 0 {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, rows, nb, f.k, 1, s, f.k, f.pu[b], nb, 1, q.Data[i1:], c)
			}
		} else if i1 > 0 {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, rows, nb, i1, 1, delta, c, f.v[i1:], c, 0, tmp, nb)
			impl.Sgemm(blas.NoTrans, blas.NoTrans, rows, nb, nb, 1, tmp, nb, ub, nb, 1, q.Data[i1:], c)
		}
		d := f.diag[i1:i2]
		forChunks(rows, 8, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := q.Data[r*c+i1 : r*c+i2]
				ru.begin(r, i1, row, d)
				for k := range nb {
					v := ru.value(r, i1, k, row, d)
					e := (row[k] - v) / d[k]
					row[k] = v
					if e != 0 && k+1 < nb {
						impl.Saxpy(nb-k-1, -e, ub[k*nb+k+1:(k+1)*nb], 1, row[k+1:], 1)
					}
				}
				orig := w.Data[r*c+i1 : r*c+i2]
				dr := delta[r*dld+doff : r*dld+doff+nb]
				for k, x := range orig {
					dr[k] = x - row[k]
				}
			}
		})
		if s != nil {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, rows, f.k, nb, 1, delta, dld, f.g[i1*f.k:], f.k, 1, s, f.k)
		}
	}
	return q
}

// permuteColumns returns w with its columns in perm's order (column k of
// the result is column perm[k] of w).
func permuteColumns(w Weight, perm []int) Weight {
	out := NewWeight(w.Rows, w.Cols)
	for r := range w.Rows {
		src, dst := w.Row(r), out.Row(r)
		for k, j := range perm {
			dst[k] = src[j]
		}
	}
	return out
}

// unpermuteColumns undoes permuteColumns.
func unpermuteColumns(w Weight, perm []int) Weight {
	out := NewWeight(w.Rows, w.Cols)
	for r := range w.Rows {
		src, dst := w.Row(r), out.Row(r)
		for k, j := range perm {
			dst[j] = src[k]
		}
	}
	return out
}
