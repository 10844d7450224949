package prune

import (
	"math"
	"sync"
)

// streamedCut is the cut of a global selection found without holding the
// weights, with each item's share of the elements that tie at the cut.
type streamedCut struct {
	t      uint32
	quotas []int64
}

// The streamed selection splits the 31-bit key into a high digit (one
// histogram over all weights) and a low digit (one histogram of the
// weights in the chosen high bin, kept per item for the ties).
const (
	loBits = 15
	hiBins = 1 << (31 - loBits)
	loBins = 1 << loBits
)

// selectStreamed finds the cut that selectSmallest finds over the items'
// values taken in order (the k smallest magnitudes, k = round(sparsity*n),
// ties broken by position), reading each weight twice, one at a time, and
// keeping only histograms; each runs a function over the items' indexes
// in parallel. It returns the first read error of an item.
func selectStreamed(items []*item, sparsity float64, each func(func(i int))) (streamedCut, error) {
	cut := streamedCut{quotas: make([]int64, len(items))}
	var n int64
	for _, it := range items {
		n += it.n
	}
	k := int64(math.Round(sparsity * float64(n)))
	if k == 0 {
		return cut, nil // nothing is cut; zeros are counted when applying
	}
	hi := make([]int64, hiBins)
	if err := scan(items, each, hiBins, hi, func(h []int64, c *chunk) {
		c.histogram(h, 0, 0, loBits, hiBins-1)
	}, nil); err != nil {
		return cut, err
	}
	d, below := digit(hi, k, 0)
	lo := make([]int64, loBins)
	perItem := make([][]int64, len(items))
	if err := scan(items, each, loBins, lo, func(h []int64, c *chunk) {
		c.histogram(h, uint32(d)<<loBits, (hiBins-1)<<loBits, 0, loBins-1)
	}, perItem); err != nil {
		return cut, err
	}
	e, below := digit(lo, k, below)
	cut.t = uint32(d)<<loBits | uint32(e)
	rest := k - below // ties cut, first in order
	for i, h := range perItem {
		cut.quotas[i] = min(h[e], rest)
		rest -= cut.quotas[i]
	}
	return cut, nil
}

// scan reads each item once, fills a histogram of bins counts for it with
// count, adds it to total and, when keep is set, keeps it in keep[i].
func scan(items []*item, each func(func(i int)), bins int, total []int64, count func(h []int64, c *chunk), keep [][]int64) error {
	var mu sync.Mutex
	each(func(i int) {
		it := items[i]
		h := make([]int64, bins)
		if it.load() {
			it.split(it.len())
			count(h, it.chunks[0])
		}
		it.release()
		mu.Lock()
		defer mu.Unlock()
		for b, c := range h {
			total[b] += c
		}
		if keep != nil {
			keep[i] = h
		}
	})
	for _, it := range items {
		if it.err != nil {
			return it.err
		}
	}
	return nil
}

// digit returns the bin of h holding the k-th smallest key, given below
// keys under the histogram's range, and the count of keys under that bin.
func digit(h []int64, k, below int64) (int, int64) {
	d := 0
	for below+h[d] < k {
		below += h[d]
		d++
	}
	return d, below
}
