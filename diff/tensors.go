package diff

import (
	"fmt"
	"slices"

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
	for _, c := range constants(r.a) {
		td := &TensorDiff{Name: c.v.Name, Before: ia.info(c), a: c.v}
		r.Tensors = append(r.Tensors, td)
		vb := r.matching.ValueAB[c.v]
		if vb == nil {
			td.Status = "removed"
			continue
		}
		if cb, ok := byValueB[vb]; ok {
			used[vb] = true
			td.After, td.b = ib.info(cb), vb
			if err := td.compare(); err != nil {
				return err
			}
			continue
		}
		// The counterpart is computed: a dequantized weight, or gone.
		if err := td.quantized(vb, ib, byValueB, used); err != nil {
			return err
		}
	}
	// Counterparts used directly by quantized consumers (MatMulNBits).
	for _, c := range consB {
		if !used[c.v] {
			r.Tensors = append(r.Tensors, &TensorDiff{Name: c.v.Name, Status: "added", After: ib.info(c), b: c.v})
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
func (td *TensorDiff) compare() error {
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
		return td.setQuantized(d)
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
func (td *TensorDiff) quantized(vb *graph.Value, ib tensorIndex, byValueB map[*graph.Value]constant, used map[*graph.Value]bool) error {
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
	return td.setQuantized(d)
}

// setQuantized records the reconstruction error of a quantized weight.
func (td *TensorDiff) setQuantized(d *dequantized) error {
	td.Status = "changed"
	td.deq = d
	q := d.info
	td.Quantized = &q
	fa, ok, err := floats(td.a)
	if err != nil || !ok {
		return err
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
	td.Changes = append(td.Changes, fmt.Sprintf("quantized to %s (%s)", q.DType, q.Scheme))
	return nil
}
