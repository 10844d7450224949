package obs

import (
	"fmt"
	"math"
)

// QuantOptions describe weight-only integer quantization.
type QuantOptions struct {
	// Bits per weight: 4 or 8 (2 to 8 are accepted). Codes lie in
	// [0, 2^Bits−1].
	Bits int
	// Group is the number of consecutive columns (input features) of a row
	// sharing one scale and zero point; 0 means the whole row. Group g
	// covers columns [g·Group, (g+1)·Group) in the original column order,
	// the layout of MatMulNBits blocks and of blocked DequantizeLinear
	// (the last group may be shorter).
	Group int
	// Symmetric fixes the zero point at 2^(Bits−1) and maps the value of
	// largest magnitude to code 0 (−2^(Bits−1) after the zero point), so
	// all codes are used (the scale is negative when that value is
	// positive); otherwise the range [min(0, w), max(0, w)] is
	// mapped onto the codes.
	Symmetric bool
	// ActOrder (GPTQ only) visits columns by decreasing H_jj, so the
	// features with the most activation energy are quantized first and
	// their error is absorbed by the others. Groups then stay those of the
	// original column order ("static groups"): their scales and zero points
	// are fixed from the unquantized weights before the sweep, since a
	// group's columns are no longer visited together.
	ActOrder bool
	// Search (GPTQ) shrinks each group's range by the factor among 1,
	// 0.99, ..., 0.20 whose grid rounds the group's weights with the least
	// squared error weighted by the Hessian's diagonal (each feature's
	// activation energy), instead of spanning the group's extremes: a
	// clipped outlier costs less than the coarser steps it would force on
	// every other weight of the group. The GPTQ reference code offers the
	// same search ("mse") with unweighted errors.
	Search bool
}

// searchSteps is the number of shrink factors Search tries (1 down to
// 1−(searchSteps−1)/100).
const searchSteps = 81

func (q QuantOptions) check(cols int) error {
	if q.Bits < 2 || q.Bits > 8 {
		return fmt.Errorf("%d bits: want 2 to 8 (4 or 8 for ONNX)", q.Bits)
	}
	if q.Group < 0 {
		return fmt.Errorf("group size %d is negative", q.Group)
	}
	return nil
}

func (q QuantOptions) groupSize(cols int) int {
	if q.Group == 0 || q.Group > cols {
		return cols
	}
	return q.Group
}

// Quantized is a weight quantized per (row, group) as
// Dequantized[r, j] = Scales[r, g]·(Codes[r, j] − Zeros[r, g]) with
// g = j / Group, computed in float32 as ONNX Runtime dequantizes.
type Quantized struct {
	Rows, Cols int
	Bits       int
	Group      int       // columns per group; Cols when one group spans the row
	Codes      []uint8   // [Rows, Cols] row-major, original column order
	Scales     []float32 // [Rows, Groups()] row-major
	Zeros      []uint8   // [Rows, Groups()] row-major
	// Dequantized is the float weight the codes stand for.
	Dequantized Weight
}

// Groups returns the number of groups per row: ceil(Cols/Group).
func (q *Quantized) Groups() int { return (q.Cols + q.Group - 1) / q.Group }

func newQuantized(rows, cols int, o QuantOptions) *Quantized {
	g := o.groupSize(cols)
	q := &Quantized{Rows: rows, Cols: cols, Bits: o.Bits, Group: g, Codes: make([]uint8, rows*cols)}
	q.Scales = make([]float32, rows*q.Groups())
	q.Zeros = make([]uint8, rows*q.Groups())
	return q
}

// setParams fixes the scale and zero point of (row r, group g) from the
// values v the group holds: spanning their range, or with d (one weight per
// value; nil for none) the shrunk range that rounds them with the least
// d-weighted squared error (QuantOptions.Search).
func (q *Quantized) setParams(r, g int, v []float32, symmetric bool, d []float64) {
	lo, hi := 0.0, 0.0
	for _, x := range v {
		lo = math.Min(lo, float64(x))
		hi = math.Max(hi, float64(x))
	}
	scale, zero := q.grid(lo, hi, symmetric)
	if d != nil {
		best := math.Inf(1)
		for i := range searchSteps {
			p := 1 - float64(i)/100
			s, z := q.grid(lo*p, hi*p, symmetric)
			if e := q.roundingError(v, d, s, z, best); e < best {
				best, scale, zero = e, s, z
			}
		}
	}
	i := r*q.Groups() + g
	q.Scales[i] = float32(scale)
	q.Zeros[i] = uint8(zero)
}

// grid returns the scale and zero point mapping [lo, hi] (lo <= 0 <= hi)
// onto the codes.
func (q *Quantized) grid(lo, hi float64, symmetric bool) (scale, zero float64) {
	if symmetric {
		// The extreme maps to the most negative code, as ONNX Runtime's
		// blockwise quantizer does: the scale is negative when the
		// extreme is positive, and the opposite extreme, when as large,
		// saturates one step short.
		half := float64(int(1) << (q.Bits - 1))
		ext := lo
		if hi > -lo {
			ext = hi
		}
		if ext == 0 {
			ext = -half
		}
		return -ext / half, half
	}
	if lo == 0 && hi == 0 {
		lo, hi = -1, 1
	}
	scale = (hi - lo) / float64(int(1)<<q.Bits-1)
	return scale, math.Round(-lo / scale)
}

// roundingError is Σ d_j·(v_j − Q(v_j))² on the grid (scale, zero), as
// quantize rounds in float32; it stops early once the sum passes limit.
func (q *Quantized) roundingError(v []float32, d []float64, scale, zero, limit float64) float64 {
	s := float32(scale)
	maxq := float64(int(1)<<q.Bits - 1)
	var e float64
	for j, x := range v {
		c := math.Max(0, math.Min(maxq, math.Round(float64(x)/float64(s))+zero))
		r := float64(x - s*float32(c-zero))
		if e += d[j] * r * r; e > limit {
			return e
		}
	}
	return e
}

// quantize stores the code of (r, j) for value x and returns its
// dequantized value.
func (q *Quantized) quantize(r, j int, x float32) float32 {
	i := r*q.Groups() + j/q.Group
	s, z := q.Scales[i], float64(q.Zeros[i])
	c := math.Round(float64(x)/float64(s)) + z
	c = math.Max(0, math.Min(float64(int(1)<<q.Bits-1), c))
	q.Codes[r*q.Cols+j] = uint8(c)
	return s * float32(c-z)
}

// RTN quantizes w by rounding every weight to the nearest code of its
// group's grid (round to nearest, the baseline GPTQ is measured against).
// ActOrder is ignored. w is not modified.
func RTN(w Weight, o QuantOptions) (*Quantized, error) {
	if err := w.check("rtn"); err != nil {
		return nil, err
	}
	if err := o.check(w.Cols); err != nil {
		return nil, fmt.Errorf("rtn: %w", err)
	}
	q := newQuantized(w.Rows, w.Cols, o)
	q.Dequantized = NewWeight(w.Rows, w.Cols)
	forChunks(w.Rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row, out := w.Row(r), q.Dequantized.Row(r)
			for g := 0; g < q.Groups(); g++ {
				q.setParams(r, g, row[g*q.Group:min((g+1)*q.Group, w.Cols)], o.Symmetric, nil)
			}
			for j, x := range row {
				out[j] = q.quantize(r, j, x)
			}
		}
	})
	return q, nil
}
