package diff

import (
	"fmt"
	"math"
	"sort"
)

// Histogram counts the values of one weight before and after, over the
// same bins (dequantized values for a quantized weight).
type Histogram struct {
	Name   string  `json:"name"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Before []int   `json:"before"`
	After  []int   `json:"after"`
}

// histBins is the number of bins of each histogram.
const histBins = 48

// AddHistograms computes histograms for the named float weights, or, when
// names is empty, for the n largest float weights of the first model.
func (r *Result) AddHistograms(names []string, n int) error {
	var picked []*TensorDiff
	if len(names) == 0 {
		var cands []*TensorDiff
		for _, t := range r.Tensors {
			if t.Before != nil && t.Before.DType == "float32" {
				cands = append(cands, t)
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].Before.Bytes > cands[j].Before.Bytes })
		picked = cands[:min(n, len(cands))]
	}
	for _, name := range names {
		var found *TensorDiff
		for _, t := range r.Tensors {
			if t.Name == name || (t.After != nil && t.After.Name == name) {
				found = t
				break
			}
		}
		if found == nil {
			return fmt.Errorf("--hist %s: no constant of that name in either model", name)
		}
		picked = append(picked, found)
	}
	r.Histograms = nil
	for _, t := range picked {
		h, err := t.histogram()
		if err != nil {
			return err
		}
		if h == nil {
			if len(names) > 0 {
				return fmt.Errorf("--hist %s: only float32 weights have histograms", t.Name)
			}
			continue
		}
		r.Histograms = append(r.Histograms, h)
	}
	return nil
}

func (t *TensorDiff) histogram() (*Histogram, error) {
	var before, after []float32
	if t.a != nil {
		f, ok, err := floats(t.a)
		if err != nil {
			return nil, err
		}
		if ok {
			before = f
		}
	}
	switch {
	case t.deq != nil:
		after = t.deq.data
	case t.b != nil:
		f, ok, err := floats(t.b)
		if err != nil {
			return nil, err
		}
		if ok {
			after = f
		}
	}
	if before == nil && after == nil {
		return nil, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range [][]float32{before, after} {
		for _, x := range s {
			f := float64(x)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
	}
	if lo > hi {
		lo, hi = 0, 0
	}
	if hi == lo {
		hi = lo + 1
	}
	h := &Histogram{Name: t.Name, Min: lo, Max: hi}
	count := func(s []float32) []int {
		if s == nil {
			return nil
		}
		bins := make([]int, histBins)
		for _, x := range s {
			f := float64(x)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			k := int((f - lo) / (hi - lo) * histBins)
			bins[min(max(k, 0), histBins-1)]++
		}
		return bins
	}
	h.Before, h.After = count(before), count(after)
	return h, nil
}
