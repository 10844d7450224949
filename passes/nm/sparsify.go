package nm

import (
	"math"
	"slices"
)

// key orders weights by magnitude: the bits of |w| (NaN above +Inf).
func key(w float32) uint32 { return math.Float32bits(w) &^ (1 << 31) }

// sparsifier makes groups of m consecutive elements along one axis keep
// their n largest magnitudes.
type sparsifier struct {
	n, m  int
	outer int // product of the dims before the axis
	size  int // the axis' length, a multiple of m
	inner int // product of the dims after the axis
}

func newSparsifier(n, m int, dims []int64, axis int) sparsifier {
	s := sparsifier{n: n, m: m, outer: 1, inner: 1, size: int(dims[axis])}
	for _, d := range dims[:axis] {
		s.outer *= int(d)
	}
	for _, d := range dims[axis+1:] {
		s.inner *= int(d)
	}
	return s
}

// run visits every group of v. With apply false it only counts the nonzero
// elements it would zero; with apply true it zeroes them too.
func (s sparsifier) run(v []float32, apply bool) (zeroed int64) {
	idx := make([]int, s.m) // positions of one group, smallest first
	for o := 0; o < s.outer; o++ {
		for g := 0; g < s.size; g += s.m {
			for i := 0; i < s.inner; i++ {
				base := (o*s.size+g)*s.inner + i
				for j := range idx {
					idx[j] = base + j*s.inner
				}
				s.order(v, idx)
				for _, p := range idx[:s.m-s.n] {
					if v[p] != 0 {
						zeroed++
						if apply {
							v[p] = 0
						}
					}
				}
			}
		}
	}
	return zeroed
}

// order sorts the positions of one group by magnitude, smallest first;
// among equal magnitudes the higher position comes first, so that the
// lower one is kept.
func (s sparsifier) order(v []float32, idx []int) {
	less := func(a, b int) bool {
		ka, kb := key(v[a]), key(v[b])
		return ka < kb || ka == kb && a > b
	}
	if len(idx) > 32 {
		slices.SortFunc(idx, func(a, b int) int {
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
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && less(idx[j], idx[j-1]); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}
