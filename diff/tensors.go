package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/internal/nd"
	"github.com/onnxopt/onnxopt/onnx"
)

// tensorIndex finds a constant's inspect entry by graph and name.
type tensorIndex map[string]inspect.Tensor

func newTensorIndex(s *inspect.Summary) tensorIndex {
	ix := tensorIndex{}
	for _, t := range s.Tensors {
		ix[t.Graph+"\x00"+t.Name] = t
	}
	return ix
}

func (ix tensorIndex) info(c constant) *TensorInfo {
	t, ok := ix[graphName(c.v.Graph())+"\x00"+c.v.Name]
	if !ok {
		// Not summarized (should not happen): describe without sparsity.
		return &TensorInfo{Name: c.v.Name, DType: onnx.DataTypeName(dtypeOf(c.v)), Shape: nonNil(shapeOf(c.v)), Kind: c.kind}
	}
	return &TensorInfo{Name: c.v.Name, DType: t.DType, Shape: t.Shape, Bytes: t.Bytes, Sparsity: t.Sparsity, Kind: c.kind}
}

func nonNil(d []int64) []int64 {
	if d == nil {
		return []int64{}
	}
	return d
}

// diffTensors pairs the constants of both models and compares each pair.
func (r *Result) diffTensors(sa, sb *inspect.Summary) error {
	ia, ib := newTensorIndex(sa), newTensorIndex(sb)
	consB := constants(r.b)
	byValueB := map[*graph.Value]constant{}
	for _, c := range consB {
		byValueB[c.v] = c
	}
	used := map[*graph.Value]bool{}
	parts := map[*graph.Value]string{} // scales and zero points of quantized weights
	for _, c := range constants(r.a) {
		td := &TensorDiff{Name: c.v.Name, Before: ia.info(c), a: c.v}
		r.Tensors = append(r.Tensors, td)
		vb := r.matching.ValueAB[c.v]
		if vb == nil {
			td.Status = "removed"
			continue
		}
		// A float constant converted back by a Cast (convert-float's
		// compute=float32) is compared with the constant behind it.
		if cb, ok := byValueB[skipCasts(vb)]; ok {
			used[cb.v] = true
			td.After, td.b = ib.info(cb), cb.v
			if cb.v != vb {
				td.Changes = append(td.Changes, fmt.Sprintf("read through Cast as %q", vb.Name))
			}
			if err := r.compare(td); err != nil {
				return err
			}
		} else if err := r.quantized(td, vb, ib, byValueB, used); err != nil {
			// The counterpart is computed: a dequantized weight, or gone.
			return err
		}
		if td.deq != nil {
			for _, p := range td.deq.parts {
				parts[p] = td.Name
			}
		}
	}
	// Counterparts used directly by quantized consumers (MatMulNBits).
	for _, c := range consB {
		if !used[c.v] {
			td := &TensorDiff{Name: c.v.Name, Status: "added", After: ib.info(c), b: c.v}
			if w, ok := parts[c.v]; ok {
				td.Changes = append(td.Changes, fmt.Sprintf("part of quantized %q", w))
			}
			r.Tensors = append(r.Tensors, td)
		}
	}
	for _, t := range r.Tensors {
		switch t.Status {
		case "added":
			r.Summary.TensorsAdded++
		case "removed":
			r.Summary.TensorsRemoved++
		case "changed":
			r.Summary.TensorsChanged++
		}
		if t.Quantized != nil {
			r.Summary.Quantized++
		}
	}
	return nil
}

// compare fills in the differences of a pair of constants.
func (r *Result) compare(td *TensorDiff) error {
	a, b := td.Before, td.After
	if a.Name != b.Name && onnx.IsFloat(dtypeOf(td.a)) == onnx.IsFloat(dtypeOf(td.b)) {
		td.Changes = append(td.Changes, fmt.Sprintf("renamed %q → %q", a.Name, b.Name))
	}
	if a.Kind != b.Kind {
		td.Changes = append(td.Changes, fmt.Sprintf("stored as %s → %s", a.Kind, b.Kind))
	}
	same, err := sameData(td.a, td.b)
	if err != nil {
		return fmt.Errorf("comparing %q: %w", td.Name, err)
	}
	td.Status = "same"
	if !same {
		td.Status = "changed"
	}
	if same && a.Kind == b.Kind {
		return nil
	}
	if d, err := recognizeQuantized(td.b); err != nil {
		return fmt.Errorf("weight %q: %w", td.Name, err)
	} else if d != nil && onnx.IsFloat(dtypeOf(td.a)) && !onnx.IsFloat(dtypeOf(td.b)) {
		return r.setQuantized(td, d)
	}
	if a.DType != b.DType && onnx.IsFloat(dtypeOf(td.a)) && onnx.IsFloat(dtypeOf(td.b)) {
		td.Changes = append(td.Changes, fmt.Sprintf("converted %s → %s", a.DType, b.DType))
	}
	if !slices.Equal(a.Shape, b.Shape) {
		return nil
	}
	fa, okA, err := floats(td.a)
	if err != nil || !okA {
		return err
	}
	fb, okB, err := floats(td.b)
	if err != nil || !okB {
		return err
	}
	if len(fa) != len(fb) {
		return fmt.Errorf("comparing %q: %d values before, %d after", td.Name, len(fa), len(fb))
	}
	maxAbs, rel := errorStats(fa, fb)
	td.MaxAbsDiff, td.RelChange = finite(maxAbs), finite(rel)
	return nil
}

// quantized handles a float weight whose counterpart is computed: when it
// is a dequantized form, the integer weight becomes the "after" side.
func (r *Result) quantized(td *TensorDiff, vb *graph.Value, ib tensorIndex, byValueB map[*graph.Value]constant, used map[*graph.Value]bool) error {
	d, err := recognizeQuantized(vb)
	if err != nil {
		return fmt.Errorf("weight %q: %w", td.Name, err)
	}
	if d == nil {
		td.Status = "removed"
		td.Changes = append(td.Changes, fmt.Sprintf("replaced by computed value %q", vb.Name))
		return nil
	}
	cb, ok := byValueB[d.value]
	if !ok {
		td.Status = "removed"
		return nil
	}
	used[d.value] = true
	td.After, td.b = ib.info(cb), d.value
	td.Status = "changed"
	return r.setQuantized(td, d)
}

// setQuantized records the reconstruction error of a quantized weight,
// against the original with a BatchNormalization the pass folded into it.
func (r *Result) setQuantized(td *TensorDiff, d *dequantized) error {
	td.Status = "changed"
	td.deq = d
	q := d.info
	td.Quantized = &q
	fa, ok, err := floats(td.a)
	if err != nil || !ok {
		return err
	}
	if folded, bn, err := r.foldedBN(td.a, fa); err != nil {
		return fmt.Errorf("weight %q: %w", td.Name, err)
	} else if bn != nil {
		fa = folded
		td.Quantized.Reference = fmt.Sprintf("weight with BatchNormalization %s folded in", nodeLabel(bn))
	}
	data := d.data
	dims := td.Before.Shape
	switch {
	case slices.Equal(dims, d.dims):
	case len(dims) == 2 && len(d.dims) == 2 && dims[0] == d.dims[1] && dims[1] == d.dims[0]:
		data = nd.Transpose(data, int(d.dims[0]), int(d.dims[1])) // Gemm(transB) weight
	default:
		td.Changes = append(td.Changes, fmt.Sprintf("dequantized shape %v differs from %v", d.dims, dims))
		return nil
	}
	if len(fa) != len(data) {
		return nil
	}
	maxAbs, rel := errorStats(fa, data)
	td.Quantized.MaxAbsErr = maxAbs
	td.Quantized.RelErr = finite(rel)
	td.MaxAbsDiff, td.RelChange = finite(maxAbs), finite(rel)
	note := fmt.Sprintf("quantized to %s (%s", q.DType, q.Scheme)
	if q.Blocks > 0 {
		note += fmt.Sprintf(", block %d", q.Blocks)
	}
	if q.ScaleDType != "" && q.ScaleDType != "float32" {
		note += ", " + q.ScaleDType + " scales"
	}
	if q.AccuracyLevel != nil {
		note += fmt.Sprintf(", accuracy_level %d", *q.AccuracyLevel)
	}
	note += ")"
	if len(q.SharedWith) > 0 {
		note += "; shared with " + strings.Join(q.SharedWith, ", ")
	}
	if q.Reference != "" {
		note += "; compared with the " + q.Reference
	}
	td.Changes = append(td.Changes, note)
	return nil
}
