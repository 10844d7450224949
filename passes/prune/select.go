package prune

import (
	"math"

	"github.com/onnxopt/onnxopt/passes"
)

// key orders weights by magnitude: the bits of |w|, which sort like the
// magnitudes for every number (zeros, -0 included, are 0; NaN sorts above
// +Inf, so it is never pruned before a number).
func key(w float32) uint32 { return math.Float32bits(w) &^ (1 << 31) }

// levels are the digits of the radix selection, most significant first:
// 11, 11 and 9 bits of the 31-bit key.
var levels = [...]struct{ shift, bits uint }{{20, 11}, {9, 11}, {0, 9}}

const maxBins = 1 << 11

// chunk is a run of one tensor's values that a goroutine scans.
type chunk struct {
	v   []float32 // float32 values, or
	h   []uint16  // 16-bit float bit patterns with their key table
	tab *keyTable
	// Filled by selectSmallest.
	hist  []int64
	zeros int64 // elements equal to zero
	below int64 // elements whose key is below the cut
	eq    int64 // elements whose key equals the cut
	quota int64 // how many of those eq elements, first in order, are cut too
}

// cut describes the k smallest keys of a set of chunks: every element with
// key < t, and the first quota elements (in chunk order) with key == t.
type cut struct {
	t     uint32
	quota int64
}

// selectSmallest finds the cut that selects exactly the k smallest keys of
// the chunks taken in order (1 <= k <= their total length), with ties
// broken by position. It runs threads goroutines over the chunks and fills
// each chunk's zeros, below, eq and quota counts. It reads the data three
// times (one histogram per digit) and copies nothing.
func selectSmallest(chunks []*chunk, k int64, threads int) cut {
	for _, c := range chunks {
		if c.hist == nil {
			c.hist = make([]int64, maxBins)
		}
		c.below, c.zeros = 0, 0
	}
	var prefix, mask uint32
	var below int64 // elements whose key is below prefix's range
	var total [maxBins]int64
	for li, l := range levels {
		dm := uint32(1)<<l.bits - 1
		passes.Parallel(len(chunks), threads, func(i int) {
			c := chunks[i]
			h := c.hist[:dm+1]
			clear(h)
			if li == 0 {
				c.zeros = c.histogramFirst(h, l.shift)
			} else {
				c.histogram(h, prefix, mask, l.shift, dm)
			}
		})
		clear(total[:])
		for _, c := range chunks {
			for d, n := range c.hist[:dm+1] {
				total[d] += n
			}
		}
		// The digit d whose bin holds the k-th smallest key.
		d := uint32(0)
		for below+total[d] < k {
			below += total[d]
			d++
		}
		for _, c := range chunks {
			for _, n := range c.hist[:d] {
				c.below += n
			}
		}
		prefix |= d << l.shift
		mask |= dm << l.shift
		if li == len(levels)-1 {
			rest := k - below // ties to cut, in order
			for _, c := range chunks {
				c.eq = c.hist[d]
				c.quota = min(c.eq, rest)
				rest -= c.quota
			}
		}
	}
	return cut{t: prefix, quota: k - below}
}

// histogramFirst counts c's keys by their top digit and returns the
// number of zeros.
func (c *chunk) histogramFirst(h []int64, shift uint) int64 {
	if c.tab != nil {
		return histogramFirst16(h, c.h, c.tab, shift)
	}
	return histogramFirst(h, c.v, shift)
}

// histogram counts, among c's keys that agree with prefix on mask, their
// digit at shift.
func (c *chunk) histogram(h []int64, prefix, mask uint32, shift uint, dm uint32) {
	if c.tab != nil {
		histogram16(h, c.h, c.tab, prefix, mask, shift, dm)
		return
	}
	histogram(h, c.v, prefix, mask, shift, dm)
}

// histogramFirst counts keys by their top digit and returns the number of
// zeros.
func histogramFirst(h []int64, v []float32, shift uint) (zeros int64) {
	for _, w := range v {
		k := key(w)
		if k == 0 {
			zeros++
		}
		h[k>>shift]++
	}
	return zeros
}

// histogram counts, among the keys that agree with prefix on mask, their
// digit at shift.
func histogram(h []int64, v []float32, prefix, mask uint32, shift uint, dm uint32) {
	for _, w := range v {
		if k := key(w); k&mask == prefix {
			h[(k>>shift)&dm]++
		}
	}
}

// changes returns how many nonzero elements of c the cut t zeroes.
func (c *chunk) changes(t uint32) int64 {
	if t == 0 {
		return 0 // only zeros are cut
	}
	return c.below - c.zeros + c.quota // zeros are all below t
}

// apply zeroes the elements of v below t and the first quota elements
// equal to t.
func apply(v []float32, t uint32, quota int64) {
	for i, w := range v {
		k := key(w)
		if k < t {
			v[i] = 0
		} else if k == t && quota > 0 {
			v[i] = 0
			quota--
		}
	}
}

// countBelow fills c.zeros and c.below for the cut t (threshold mode).
func (c *chunk) countBelow(t uint32) {
	if c.tab != nil {
		c.zeros, c.below = countBelow16(c.h, c.tab, t)
		return
	}
	c.zeros, c.below = 0, 0
	for _, w := range c.v {
		k := key(w)
		if k == 0 {
			c.zeros++
		}
		if k < t {
			c.below++
		}
	}
}
