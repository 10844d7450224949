package verify

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/onnxopt/onnxopt/ort"
	"math"
	"strings"
	"testing"
)

func f32(shape []int64, v ...float32) *ort.Tensor {
	t := &ort.Tensor{DType: ort.Float32, Shape: shape, Raw: make([]byte, 4*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Raw[4*i:], math.Float32bits(x))
	}
	return t
}

func i64(shape []int64, v ...int64) *ort.Tensor {
	t := &ort.Tensor{DType: ort.Int64, Shape: shape, Raw: make([]byte, 8*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Raw[8*i:], uint64(x))
	}
	return t
}

var nan32, inf32 = float32(math.NaN()), float32(math.Inf(1))

func TestCompare(t *testing.T) {
	tol := DefaultTolerance
	numpy := Tolerance{RTol: 1e-5, ATol: 1e-8} // numpy.allclose's defaults
	for _, c := range []struct {
		name      string
		ref, cand ort.Value
		tol       Tolerance
		pass      bool
		maxAbs    float64
		problem   string // in Summary
	}{
		{"identical", f32([]int64{3}, 1, 2, 3), f32([]int64{3}, 1, 2, 3), tol, true, 0, "ok"},
		{"within allclose", f32([]int64{2}, 1000, 0), f32([]int64{2}, 1000.009, 0), tol, true, 0.009, "ok"},
		{"outside allclose", f32([]int64{2}, 1, 0), f32([]int64{2}, 1, 1e-7), numpy, false, 1e-7, "1 of 2 elements outside"},
		{"outside default", f32([]int64{2}, 1, 0), f32([]int64{2}, 1, 2e-6), tol, false, 2e-6, "1 of 2 elements outside"},
		{"NaN in both", f32([]int64{2}, nan32, 1), f32([]int64{2}, nan32, 1), tol, true, 0, "ok"},
		{"NaN in candidate", f32([]int64{2}, 0, 1), f32([]int64{2}, nan32, 1), tol, false, math.Inf(1), "NaN or infinite"},
		{"NaN in reference", f32([]int64{1}, nan32), f32([]int64{1}, 0), tol, false, math.Inf(1), "NaN or infinite"},
		{"same infinity", f32([]int64{1}, inf32), f32([]int64{1}, inf32), tol, true, 0, "ok"},
		{"opposite infinity", f32([]int64{1}, inf32), f32([]int64{1}, -inf32), tol, false, math.Inf(1), "NaN or infinite"},
		{"shape", f32([]int64{2, 1}, 1, 2), f32([]int64{1, 2}, 1, 2), tol, false, 0, "shape: reference [2 1], candidate [1 2]"},
		{"dtype", f32([]int64{1}, 1), i64([]int64{1}, 1), tol, false, 0, "dtype: reference float32, candidate int64"},
		{"integers exact", i64([]int64{2}, 1, 1<<60), i64([]int64{2}, 1, 1<<60+1), Tolerance{RTol: 1, ATol: 1}, false, 0, "1 of 2 elements differ"},
		{"integers equal", i64(nil, 7), i64(nil, 7), tol, true, 0, "ok"},
		{"bools", &ort.Tensor{DType: ort.Bool, Shape: []int64{2}, Raw: []byte{1, 0}}, &ort.Tensor{DType: ort.Bool, Shape: []int64{2}, Raw: []byte{1, 1}}, tol, false, 1, "1 of 2 elements differ"},
		{"strings", &ort.Tensor{DType: ort.String, Shape: []int64{1}, Strings: []string{"a"}}, &ort.Tensor{DType: ort.String, Shape: []int64{1}, Strings: []string{"b"}}, tol, false, 0, "1 of 1 elements differ"},
		{"cosine only passes", f32([]int64{2}, 1, 1), f32([]int64{2}, 1.01, 1), Tolerance{MinCosine: 0.999, CosineOnly: true}, true, 0.01, "ok"},
		{"cosine only fails", f32([]int64{2}, 1, 0), f32([]int64{2}, 0, 1), Tolerance{MinCosine: 0.5, CosineOnly: true}, false, 1, "cosine 0 below 0.5"},
		{"cosine and allclose", f32([]int64{2}, 1, 1), f32([]int64{2}, 1.01, 1), Tolerance{RTol: 1e-5, MinCosine: 0.9}, false, 0.01, "outside"},
		{"sequence", ort.Sequence{f32([]int64{1}, 1)}, ort.Sequence{f32([]int64{1}, 1)}, tol, true, 0, "ok"},
		{"sequence length", ort.Sequence{f32([]int64{1}, 1)}, ort.Sequence{}, tol, false, 0, "sequence length"},
		{"none", ort.None{}, ort.None{}, tol, true, 0, "ok"},
		{"none against tensor", ort.None{}, f32([]int64{1}, 1), tol, false, 0, "reference is none"},
		{"empty tensors", f32([]int64{0, 3}), f32([]int64{0, 3}), tol, true, 0, "ok"},
	} {
		d := Compare("y", c.ref, c.cand, c.tol)
		if d.Pass != c.pass {
			t.Errorf("%s: pass = %v, want %v (%s)", c.name, d.Pass, c.pass, d.Summary(c.tol))
		}
		if math.Abs(d.MaxAbsErr-c.maxAbs) > 1e-4 && !(math.IsInf(c.maxAbs, 1) && math.IsInf(d.MaxAbsErr, 1)) {
			t.Errorf("%s: max abs err = %g, want %g", c.name, d.MaxAbsErr, c.maxAbs)
		}
		if s := d.Summary(c.tol); !strings.Contains(s, c.problem) {
			t.Errorf("%s: summary %q does not mention %q", c.name, s, c.problem)
		}
	}
}

func TestMetrics(t *testing.T) {
	d := Compare("y", f32([]int64{2}, 3, 4), f32([]int64{2}, 3, 4.5), DefaultTolerance)
	if want := 0.5 / 5; math.Abs(d.RelL2-want) > 1e-12 {
		t.Errorf("rel L2 = %g, want %g", d.RelL2, want)
	}
	if want := (9 + 18) / (5 * math.Sqrt(9+20.25)); math.Abs(d.Cosine-want) > 1e-12 {
		t.Errorf("cosine = %g, want %g", d.Cosine, want)
	}
	if d.Top1Agree != nil {
		t.Errorf("top-1 reported for a vector")
	}
	// Two rows of class scores; the second row's arg-max moves.
	d = Compare("p", f32([]int64{2, 3}, 0.1, 0.7, 0.2, 0.5, 0.3, 0.2), f32([]int64{2, 3}, 0.1, 0.7, 0.2, 0.3, 0.5, 0.2), DefaultTolerance)
	if d.Top1Agree == nil || *d.Top1Agree != 0.5 {
		t.Errorf("top-1 agreement = %v, want 0.5", d.Top1Agree)
	}
	// Accumulating two samples: the worst error and all rows count.
	d = &Diff{Name: "p"}
	d.Add(f32([]int64{1, 2}, 1, 0), f32([]int64{1, 2}, 1, 0), DefaultTolerance)
	d.Add(f32([]int64{1, 2}, 1, 0), f32([]int64{1, 2}, 0, 1), DefaultTolerance)
	if d.Pass || d.MaxAbsErr != 1 || *d.Top1Agree != 0.5 || d.Elements != 4 {
		t.Errorf("two samples: pass %v, max %g, top-1 %g, elements %d", d.Pass, d.MaxAbsErr, *d.Top1Agree, d.Elements)
	}
	// All-zero outputs agree perfectly.
	d = Compare("z", f32([]int64{2}, 0, 0), f32([]int64{2}, 0, 0), DefaultTolerance)
	if d.RelL2 != 0 || d.Cosine != 1 {
		t.Errorf("zeros: rel L2 %g, cosine %g", d.RelL2, d.Cosine)
	}
	d = Compare("z", f32([]int64{1}, 0), f32([]int64{1}, 1), DefaultTolerance)
	if !math.IsInf(d.RelL2, 1) || d.Cosine != 0 {
		t.Errorf("zero reference: rel L2 %g, cosine %g", d.RelL2, d.Cosine)
	}
}

func TestDiffJSON(t *testing.T) {
	d := Compare("y", f32([]int64{1, 2}, 0, 1), f32([]int64{1, 2}, nan32, 1), DefaultTolerance)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "shape", "max_abs_err", "rel_l2", "cosine", "top1_agree", "pass"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, b)
		}
	}
	if m["max_abs_err"] != nil {
		t.Errorf("infinite max_abs_err should be null: %s", b)
	}
	if m["pass"] != false {
		t.Errorf("pass: %s", b)
	}
}

func TestPairOutputs(t *testing.T) {
	vi := func(names ...string) []ort.ValueInfo {
		var out []ort.ValueInfo
		for _, n := range names {
			out = append(out, ort.ValueInfo{Name: n})
		}
		return out
	}
	for _, c := range []struct {
		ref, cand []ort.ValueInfo
		pairs     string
		unpaired  string
	}{
		{vi("a", "b"), vi("b", "a"), "a:0-1 b:1-0", ""},
		{vi("a", "b"), vi("x", "y"), "a / x:0-0 b / y:1-1", ""},
		{vi("a", "b"), vi("a", "c"), "a:0-0", "reference output b,candidate output c"},
		{vi("a"), vi("a", "extra"), "a:0-0", "candidate output extra"},
		{vi("a", "b"), vi("x"), "", "reference output a,reference output b,candidate output x"},
	} {
		pairs, unpaired := pairOutputs(c.ref, c.cand)
		var ps []string
		for _, p := range pairs {
			ps = append(ps, fmt.Sprintf("%s:%d-%d", p.name, p.ref, p.cand))
		}
		if got := strings.Join(ps, " "); got != c.pairs {
			t.Errorf("%v vs %v: pairs %q, want %q", c.ref, c.cand, got, c.pairs)
		}
		if got := strings.Join(unpaired, ","); got != c.unpaired {
			t.Errorf("%v vs %v: unpaired %q, want %q", c.ref, c.cand, got, c.unpaired)
		}
	}
}

// TestDefaultToleranceSeparatesReorderFromChange holds the default's
// promise: outputs near zero (terms that cancel), summed in another order,
// pass where numpy's defaults fail them; a few weights changed by 0.1% fail.
func TestDefaultToleranceSeparatesReorderFromChange(t *testing.T) {
	const rows, k = 64, 512
	w := make([]float32, rows*k)
	x := make([]float32, k)
	seed := uint32(7)
	rnd := func() float32 { seed = seed*1664525 + 1013904223; return float32(seed>>8)/float32(1<<24) - 0.5 }
	for i := range x {
		x[i] = rnd() + 1 // away from zero: the last term cancels the rest
	}
	for r := range rows {
		var s float64
		for j := range k - 1 {
			w[r*k+j] = rnd() / 11 // about 1/sqrt(k), as layers are initialised
			s += float64(w[r*k+j]) * float64(x[j])
		}
		w[r*k+k-1] = float32(-s / float64(x[k-1]))
	}
	dot := func(w []float32, reverse bool) []float32 {
		out := make([]float32, rows)
		for r := range rows {
			var s float32
			for j := range k {
				if reverse {
					j = k - 1 - j
				}
				s += w[r*k+j] * x[j]
			}
			out[r] = s
		}
		return out
	}
	ref := f32([]int64{rows}, dot(w, false)...)
	reordered := f32([]int64{rows}, dot(w, true)...)
	if d := Compare("y", ref, reordered, Tolerance{RTol: 1e-5, ATol: 1e-8}); d.Pass {
		t.Fatalf("reordered sums near zero pass numpy's defaults (max abs %g): the case tests nothing", d.MaxAbsErr)
	}
	if d := Compare("y", ref, reordered, DefaultTolerance); !d.Pass {
		t.Fatalf("reordered sums fail the default tolerance: max abs %g: %v", d.MaxAbsErr, d.Problems)
	}
	changed := append([]float32{}, w...)
	for i := 0; i < len(changed); i += 997 {
		changed[i] *= 1.001
	}
	if d := Compare("y", ref, f32([]int64{rows}, dot(changed, false)...), DefaultTolerance); d.Pass {
		t.Fatalf("weights changed by 0.1%% passed the default tolerance (max abs %g)", d.MaxAbsErr)
	}
}
