package verify

import (
	"encoding/json"
	"fmt"
	"github.com/onnxopt/onnxopt/ort"
	"math"
	"slices"
)

// Tolerance decides whether an output passes.
type Tolerance struct {
	// RTol and ATol bound each element as numpy.allclose does:
	// |candidate - reference| <= ATol + RTol*|reference|.
	RTol float64 `json:"rtol"`
	ATol float64 `json:"atol"`
	// MinCosine, when non-zero, also requires the cosine similarity of
	// each floating-point output to reach it.
	MinCosine float64 `json:"min_cosine,omitempty"`
	// CosineOnly judges floating-point outputs by MinCosine alone,
	// ignoring RTol and ATol.
	CosineOnly bool `json:"cosine_only,omitempty"`
}

// DefaultTolerance separates "numerically the same" from "changed" for
// float32 outputs. It keeps numpy.allclose's rtol (1e-5) but raises atol
// from 1e-8 to 1e-6: a lossless rewrite that only reorders float sums
// (removed or fused terms, another summation order) moves an output by a
// few float32 ulps of the terms summed, which near a zero output is far
// more than ulps of the result (1.8e-7 after dead-neuron removal, which
// numpy's atol fails). A real change of one weight moves outputs further
// (2.8e-5 on a saturated wake-word score for one weight changed by 0.5),
// so it still fails. Float16 outputs want --rtol 1e-3 (their epsilon).
var DefaultTolerance = Tolerance{RTol: 1e-5, ATol: 1e-6}

// Diff is the comparison of one output of a candidate model with the
// reference's, accumulated over samples with Add. Integer, bool and string
// outputs must be equal; floating-point outputs must be within the
// Tolerance. NaN equals NaN at the same place; NaN or infinity against
// anything else is a failure.
type Diff struct {
	Name      string  `json:"name"`
	Shape     []int64 `json:"shape"`
	DType     string  `json:"dtype"`
	Elements  int     `json:"elements"`
	MaxAbsErr float64 `json:"max_abs_err"`
	RelL2     float64 `json:"rel_l2"`
	Cosine    float64 `json:"cosine"`
	// Top1Agree is the fraction of rows whose arg-max agrees, for
	// class-score-shaped outputs (floating point, rank >= 2, last
	// dimension > 1); nil for other outputs.
	Top1Agree *float64 `json:"top1_agree"`
	// Mismatched counts elements outside tolerance (unequal, for exact
	// types); NonFinite counts those where NaN or infinity meets anything
	// but itself.
	Mismatched int      `json:"mismatched"`
	NonFinite  int      `json:"non_finite"`
	Problems   []string `json:"problems,omitempty"`
	Pass       bool     `json:"pass"`

	float                        bool // seen floating-point data
	sumD2, sumR2, sumC2, dot     float64
	top1Rows, top1Agree, samples int
}

// Compare compares one output value of a candidate with the reference's.
func Compare(name string, ref, cand ort.Value, tol Tolerance) *Diff {
	d := &Diff{Name: name}
	d.Add(ref, cand, tol)
	return d
}

// Add compares one more sample and updates the verdict.
func (d *Diff) Add(ref, cand ort.Value, tol Tolerance) {
	if d.samples == 0 {
		if t, ok := ref.(*ort.Tensor); ok {
			d.Shape, d.DType = append([]int64{}, t.Shape...), t.DType.String()
		} else {
			d.DType = ort.Describe(ref)
		}
	}
	d.samples++
	d.add("", ref, cand, tol)
	d.finish(tol)
}

// problem records a structural mismatch; at most a few are kept.
func (d *Diff) problem(format string, args ...any) {
	if len(d.Problems) < 8 {
		d.Problems = append(d.Problems, fmt.Sprintf(format, args...))
	}
}

func (d *Diff) add(where string, ref, cand ort.Value, tol Tolerance) {
	switch r := ref.(type) {
	case *ort.Tensor:
		c, ok := cand.(*ort.Tensor)
		if !ok {
			d.problem("%sreference is a tensor, candidate is %s", where, ort.Describe(cand))
			return
		}
		d.addTensor(where, r, c, tol)
	case ort.Sequence:
		c, ok := cand.(ort.Sequence)
		if !ok {
			d.problem("%sreference is a sequence, candidate is %s", where, ort.Describe(cand))
			return
		}
		if len(r) != len(c) {
			d.problem("%ssequence length: reference %d, candidate %d", where, len(r), len(c))
			return
		}
		for i := range r {
			d.add(fmt.Sprintf("%selement %d: ", where, i), r[i], c[i], tol)
		}
	case ort.None:
		if _, ok := cand.(ort.None); !ok {
			d.problem("%sreference is none, candidate is %s", where, ort.Describe(cand))
		}
	default:
		d.problem("%sreference is %s", where, ort.Describe(ref))
	}
}

func (d *Diff) addTensor(where string, r, c *ort.Tensor, tol Tolerance) {
	if r.DType != c.DType {
		d.problem("%sdtype: reference %v, candidate %v", where, r.DType, c.DType)
		return
	}
	if !slices.Equal(r.Shape, c.Shape) {
		d.problem("%sshape: reference %v, candidate %v", where, r.Shape, c.Shape)
		return
	}
	if err := r.Check(); err != nil {
		d.problem("%sreference: %v", where, err)
		return
	}
	if err := c.Check(); err != nil {
		d.problem("%scandidate: %v", where, err)
		return
	}
	n := r.Len()
	d.Elements += n
	if r.DType == ort.String {
		for i := 0; i < n; i++ {
			if !ort.EqualElements(r, c, i) {
				d.Mismatched++
			}
		}
		return
	}
	rv, _ := r.Float64s()
	cv, _ := c.Float64s()
	exact := !r.DType.IsFloat() && !r.DType.IsComplex()
	if !exact {
		d.float = true
	}
	for i := range rv {
		x, y := rv[i], cv[i]
		if exact {
			if !ort.EqualElements(r, c, i) {
				d.Mismatched++
			}
		} else if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
				d.Mismatched++
				d.NonFinite++
				d.MaxAbsErr = math.Inf(1)
			}
			continue
		}
		diff := math.Abs(y - x)
		if diff > d.MaxAbsErr {
			d.MaxAbsErr = diff
		}
		if !exact && diff > tol.ATol+tol.RTol*math.Abs(x) {
			d.Mismatched++
		}
		d.sumD2 += diff * diff
		d.sumR2 += x * x
		d.sumC2 += y * y
		d.dot += x * y
	}
	if r.DType.IsFloat() && len(r.Shape) >= 2 && r.Shape[len(r.Shape)-1] > 1 {
		k := int(r.Shape[len(r.Shape)-1])
		for row := 0; row+k <= len(rv); row += k {
			d.top1Rows++
			if argmax(rv[row:row+k]) == argmax(cv[row:row+k]) {
				d.top1Agree++
			}
		}
	}
}

// argmax returns the index of the largest value, NaN counting as largest
// (as numpy.argmax does); the first on ties.
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if math.IsNaN(x) {
			return i
		}
		if x > v[best] {
			best = i
		}
	}
	return best
}

// finish computes the summary numbers and the verdict.
func (d *Diff) finish(tol Tolerance) {
	switch {
	case d.sumR2 == 0 && d.sumD2 == 0:
		d.RelL2 = 0
	case d.sumR2 == 0:
		d.RelL2 = math.Inf(1)
	default:
		d.RelL2 = math.Sqrt(d.sumD2) / math.Sqrt(d.sumR2)
	}
	switch {
	case d.sumR2 == 0 && d.sumC2 == 0:
		d.Cosine = 1
	case d.sumR2 == 0 || d.sumC2 == 0:
		d.Cosine = 0
	default:
		d.Cosine = math.Max(-1, math.Min(1, d.dot/(math.Sqrt(d.sumR2)*math.Sqrt(d.sumC2))))
	}
	d.Top1Agree = nil
	if d.top1Rows > 0 {
		f := float64(d.top1Agree) / float64(d.top1Rows)
		d.Top1Agree = &f
	}
	d.Pass = len(d.Problems) == 0 && d.NonFinite == 0
	if !d.Pass {
		return
	}
	if !d.float || !tol.CosineOnly {
		d.Pass = d.Mismatched == 0
	}
	if d.float && tol.MinCosine != 0 && d.Cosine < tol.MinCosine {
		d.Pass = false
	}
}

// Summary says in a few words why the output failed, or "ok".
func (d *Diff) Summary(tol Tolerance) string {
	switch {
	case d.Pass:
		return "ok"
	case len(d.Problems) > 0:
		return d.Problems[0]
	case d.NonFinite > 0:
		return fmt.Sprintf("%d of %d elements are NaN or infinite in one model only", d.NonFinite, d.Elements)
	case !d.float:
		return fmt.Sprintf("%d of %d elements differ (compared exactly)", d.Mismatched, d.Elements)
	case d.Mismatched > 0 && !tol.CosineOnly:
		return fmt.Sprintf("%d of %d elements outside rtol=%g atol=%g", d.Mismatched, d.Elements, tol.RTol, tol.ATol)
	}
	return fmt.Sprintf("cosine %.6g below %g", d.Cosine, tol.MinCosine)
}

// MarshalJSON writes non-finite numbers (infinite error, undefined
// cosine) as null, which JSON can express.
func (d *Diff) MarshalJSON() ([]byte, error) {
	type plain Diff
	return json.Marshal(struct {
		*plain
		MaxAbsErr *float64 `json:"max_abs_err"`
		RelL2     *float64 `json:"rel_l2"`
		Cosine    *float64 `json:"cosine"`
	}{(*plain)(d), finite(d.MaxAbsErr), finite(d.RelL2), finite(d.Cosine)})
}

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}
