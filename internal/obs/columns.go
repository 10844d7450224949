package obs

import (
	"fmt"
	"math"
)

// ColumnStats accumulates per-feature statistics of activation rows: the
// number of rows and, for every feature j, Σx_j and Σx_j² in float64.
// They give the feature means (bias correction) and norms ‖X_j‖₂ (Wanda).
// A [Hessian] keeps one as well. The zero value is not usable; call
// [NewColumnStats].
type ColumnStats struct {
	cols, n int
	sum, sq []float64
}

// NewColumnStats returns an empty accumulator for rows of cols features.
func NewColumnStats(cols int) *ColumnStats {
	return &ColumnStats{cols: cols, sum: make([]float64, cols), sq: make([]float64, cols)}
}

// Cols returns the number of features.
func (s *ColumnStats) Cols() int { return s.cols }

// Samples returns the number of rows added so far.
func (s *ColumnStats) Samples() int { return s.n }

// Add accumulates a batch of rows: x is row-major [rows, Cols] float32, so
// len(x) must be a multiple of Cols. NaN or infinite values are refused
// and leave s unchanged.
func (s *ColumnStats) Add(x []float32) error {
	c := s.cols
	if c <= 0 {
		return fmt.Errorf("%d columns", c)
	}
	if len(x)%c != 0 {
		return fmt.Errorf("batch of %d values is not a whole number of rows of %d features", len(x), c)
	}
	for i, v := range x {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("activation row %d feature %d is %v", s.n+i/c, i%c, v)
		}
	}
	for r := 0; r < len(x); r += c {
		for j, v := range x[r : r+c] {
			f := float64(v)
			s.sum[j] += f
			s.sq[j] += f * f
		}
	}
	s.n += len(x) / c
	return nil
}

// Merge adds the rows of o (accumulated separately) to s.
func (s *ColumnStats) Merge(o *ColumnStats) error {
	if o.cols != s.cols {
		return fmt.Errorf("cannot merge %d features into %d", o.cols, s.cols)
	}
	for j := range s.sum {
		s.sum[j] += o.sum[j]
		s.sq[j] += o.sq[j]
	}
	s.n += o.n
	return nil
}

// Norms returns ‖X_j‖₂ = √Σx_j² for every feature j.
func (s *ColumnStats) Norms() []float64 {
	out := make([]float64, s.cols)
	for j, v := range s.sq {
		out[j] = math.Sqrt(v)
	}
	return out
}

// Mean returns the mean of every feature (zeros before any row).
func (s *ColumnStats) Mean() []float64 {
	out := make([]float64, s.cols)
	if s.n == 0 {
		return out
	}
	for j, v := range s.sum {
		out[j] = v / float64(s.n)
	}
	return out
}

// active reports whether feature j was ever nonzero.
func (s *ColumnStats) active(j int) bool { return s.sq[j] != 0 }

// Active returns how many features were ever nonzero (padding columns and
// dead inputs are not).
func (s *ColumnStats) Active() int {
	n := 0
	for j := range s.sq {
		if s.active(j) {
			n++
		}
	}
	return n
}
