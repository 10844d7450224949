package nm

import (
	"math"
	"slices"

	"github.com/onnxopt/onnxopt/passes"
)

// key orders weights by magnitude: the bits of |w| (NaN above +Inf).
func key(w float32) uint32 { return math.Float32bits(w) &^ (1 << 31) }

// sparsifier makes every group of m consecutive columns of a weight
// matrix (m consecutive input features at one kernel tap, since
// Matrix.Features is a multiple of m) keep their n largest magnitudes.
type sparsifier struct {
	n, m int
	mat  passes.Matrix
}

// run visits every group of v. With apply false it stops at the first
// nonzero element it would zero and returns 1 (0 when there is none); with
// apply true it zeroes them and returns how many were nonzero.
func (s sparsifier) run(v []float32, apply bool) (zeroed int64) {
	group := make([]entry, s.m)
	step := s.mat.FeatureStride
	// Every group starts at a row's offset plus a group column's offset.
	rows := make([]int, s.mat.Rows)
	for r := range rows {
		rows[r] = s.mat.RowIndex(r)
	}
	cols := make([]int, 0, s.mat.Cols/s.m)
	for c := 0; c < s.mat.Cols; c += s.m {
		cols = append(cols, s.mat.ColIndex(c))
	}
	// Walk memory as contiguously as the layout allows: along a row when
	// the features are adjacent (Gemm transB, 1x1 Conv), else down the
	// columns (rows of a [K, N] MatMul weight are adjacent).
	outer, inner := cols, rows
	if step == 1 {
		outer, inner = rows, cols
	}
	for _, a := range outer {
		for _, b := range inner {
			base := a + b
			for j := range group {
				p := base + j*step
				group[j] = entry{key(v[p]), p}
			}
			order(group)
			for _, e := range group[:s.m-s.n] {
				if e.key == 0 {
					continue
				}
				if !apply {
					return 1
				}
				zeroed++
				v[e.pos] = 0
			}
		}
	}
	return zeroed
}

// entry is one element of a group: its magnitude key and position.
type entry struct {
	key uint32
	pos int
}

// less orders entries by magnitude, smallest first; among equal
// magnitudes the higher position comes first, so that the lower is kept.
func less(a, b entry) bool { return a.key < b.key || a.key == b.key && a.pos > b.pos }

// order sorts a group's entries with less.
func order(group []entry) {
	if len(group) > 32 {
		slices.SortFunc(group, func(a, b entry) int {
			switch {
			case less(a, b):
				return -1
			case less(b, a):
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(group); i++ {
		for j := i; j > 0 && less(group[j], group[j-1]); j-- {
			group[j], group[j-1] = group[j-1], group[j]
		}
	}
}
