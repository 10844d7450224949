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

// run visits every group of v. With apply false it stops at the first
// nonzero element it would zero and returns 1 (0 when there is none); with
// apply true it zeroes them and returns how many were nonzero.
func (s sparsifier) run(v []float32, apply bool) (zeroed int64) {
	group := make([]entry, s.m)
	for o := 0; o < s.outer; o++ {
		for g := 0; g < s.size; g += s.m {
			for i := 0; i < s.inner; i++ {
				base := (o*s.size+g)*s.inner + i
				for j := range group {
					p := base + j*s.inner
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
