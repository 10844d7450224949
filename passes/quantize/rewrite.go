package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// msDomain is ONNX Runtime's contrib operator domain.
const msDomain = "com.microsoft"

// linear is a MatMul or Gemm seen as y = A·W + bias with W a constant
// [K, N] matrix.
type linear struct {
	node   *graph.Node
	weight *graph.Value
	w      []float32 // [K, N] row-major when kMajor, else [N, K]
	kMajor bool
	k, n   int
	alpha  float32      // Gemm's alpha (1 for MatMul)
	bias   *graph.Value // float [N] or nil
	dtype  int32        // the weight's float type, also the activations'

	// add is the Add node folded into bias (its output replaces the
	// node's), or nil.
	add *graph.Node
}

// asLinear describes a MatMul or Gemm with a constant float weight, or
// says why it cannot be treated as one.
func (q *quantizer) asLinear(n *graph.Node) (*linear, string, error) {
	wv := n.Input(1)
	if wv == nil {
		return nil, "has no weight input", nil
	}
	t := wv.Const()
	if t == nil {
		return nil, "weight " + wv.Name + " is computed at run time, not a constant", nil
	}
	if wv.IsInput() {
		return nil, "weight " + wv.Name + " is also a graph input (a caller may replace it at run time)", nil
	}
	if !t.IsFloat() {
		return nil, fmt.Sprintf("weight %s is %s, not a float type", wv.Name, onnx.DataTypeName(t.DataType())), nil
	}
	dims := t.Dims()
	if len(dims) != 2 {
		return nil, fmt.Sprintf("weight %s has shape %v, not 2-D", wv.Name, dims), nil
	}
	w, err := t.Floats()
	if err != nil {
		return nil, "", fmt.Errorf("weight %s: %w", wv.Name, err)
	}
	axes, why := weightAxes(n, dims)
	if why != "" {
		return nil, why, nil
	}
	// K along Feature, N along Out: [K, N] (kMajor) or Gemm transB's [N, K].
	l := &linear{node: n, weight: wv, w: w, kMajor: axes.Feature == 0, k: int(dims[axes.Feature]), n: int(dims[axes.Out]), alpha: 1, dtype: t.DataType()}
	if n.Input(0) == nil {
		return nil, "has no data input", nil
	}
	if a, ok := n.Input(0).Shape(); ok && len(a) < 2 {
		return nil, "input is 1-D", nil
	}
	if n.OpType() == "MatMul" {
		l.add, l.bias = foldableAdd(n, l.n)
		return l, "", nil
	}
	// Gemm: y = alpha·A'·B' + beta·C.
	if axes.DataFeature != 1 {
		return nil, "Gemm with transA=1", nil
	}
	l.alpha = n.AttrFloat("alpha", 1)
	if c := n.Input(2); c != nil {
		ct := c.Const()
		if ct == nil || !ct.IsFloat() || !isVector(ct.Dims(), l.n) {
			return nil, "Gemm's C is not a constant float vector of N elements", nil
		}
		beta := n.AttrFloat("beta", 1)
		if beta == 1 && len(ct.Dims()) == 1 {
			l.bias = c
		} else {
			cv, err := ct.Floats()
			if err != nil {
				return nil, "", fmt.Errorf("Gemm C %s: %w", c.Name, err)
			}
			b := make([]float32, len(cv))
			for i, x := range cv {
				b[i] = beta * x
			}
			l.bias = floatInitAs(n.Graph(), c.Name+"_bias", []int64{int64(l.n)}, b, ct.DataType())
		}
	}
	return l, "", nil
}

// isVector reports whether dims is [n] or [1, n].
func isVector(dims []int64, n int) bool {
	return len(dims) == 1 && dims[0] == int64(n) || len(dims) == 2 && dims[0] == 1 && dims[1] == int64(n)
}

// foldableAdd returns the Add that is the only consumer of n's output and
// adds a constant float [N] vector, with that vector; nil when there is none.
func foldableAdd(n *graph.Node, cols int) (*graph.Node, *graph.Value) {
	y := n.Output(0)
	if y == nil || len(y.Uses()) != 1 || y.IsOutput() {
		return nil, nil
	}
	u := y.Uses()[0]
	add := u.Node
	if add.OpType() != "Add" || add.Domain() != "" || len(add.Inputs()) != 2 || add.Graph() != n.Graph() {
		return nil, nil
	}
	b := add.Input(1 - u.Index)
	if b == nil || b == y {
		return nil, nil
	}
	t := b.Const()
	if t == nil || !t.IsFloat() || len(t.Dims()) != 1 || t.Dims()[0] != int64(cols) {
		return nil, nil
	}
	return add, b
}

// replaceLinear turns l's node (or the Add folded into it) into op with the
// given inputs and attributes, keeping the output value (so graph outputs
// keep their names) and the MatMul's node name.
func (q *quantizer) replaceLinear(l *linear, op, domain string, inputs []*graph.Value, attrs ...*onnx.AttributeProto) error {
	target, name := l.node, l.node.Proto.GetName()
	if l.add != nil {
		target = l.add
		for i := range target.Inputs() {
			target.SetInput(i, nil)
		}
		if err := l.node.Graph().RemoveNode(l.node); err != nil {
			return err
		}
	}
	rewrite(target, op, domain, name, inputs, attrs...)
	if domain == msDomain && q.m.Opset(msDomain) == 0 {
		q.m.SetOpset(msDomain, 1)
	}
	return nil
}

// rewrite makes n a fresh node proto (op, domain, name, attributes) with
// the given inputs; its outputs stay.
func rewrite(n *graph.Node, op, domain, name string, inputs []*graph.Value, attrs ...*onnx.AttributeProto) {
	n.TruncateInputs(0)
	p := &onnx.NodeProto{OpType: &op, Attribute: attrs}
	if domain != "" {
		p.Domain = &domain
	}
	if name != "" {
		p.Name = &name
	}
	p.DocString = n.Proto.DocString
	n.Proto = p
	for i, v := range inputs {
		n.SetInput(i, v)
	}
	// Drop trailing omitted inputs.
	k := len(inputs)
	for k > 0 && inputs[k-1] == nil {
		k--
	}
	n.TruncateInputs(k)
}

// dropIfUnused removes a constant (initializer or Constant node) nobody
// uses any more.
func dropIfUnused(v *graph.Value) error {
	if v == nil || len(v.Uses()) > 0 || v.IsOutput() || v.Graph() == nil {
		return nil
	}
	if v.IsConstant() && !v.IsInput() {
		return v.Graph().RemoveConstant(v)
	}
	if p, _ := v.Producer(); p != nil && p.OpType() == "Constant" {
		return v.Graph().RemoveNode(p)
	}
	return nil
}

// newInit adds an initializer of raw bytes. In streaming mode a large one
// goes to the output's side file at once (Tensor.Release; reading it
// again reads it back); should that fail (a full disk), it stays in
// memory and the write reports the error.
func newInit(g *graph.Graph, name string, dtype int32, dims []int64, raw []byte) *graph.Value {
	t := &onnx.TensorProto{DataType: &dtype, Dims: append([]int64{}, dims...)}
	v := g.NewInitializer(name, t)
	v.Tensor.SetRaw(raw)
	_ = v.Tensor.Release()
	return v
}

func floatInit(g *graph.Graph, name string, dims []int64, f []float32) *graph.Value {
	c := append([]float32{}, f...)
	return newInit(g, name, int32(onnx.TensorProto_FLOAT), dims, onnx.Float32sAsBytes(c))
}

func int32Init(g *graph.Graph, name string, dims []int64, v []int32) *graph.Value {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return newInit(g, name, int32(onnx.TensorProto_INT32), dims, b)
}

// report records one quantized weight.
func (q *quantizer) report(w *graph.Value, after int64, detail string) {
	t := w.Const()
	var before int64
	var dims []int64
	if t != nil {
		before, dims = t.Bytes(), t.Dims()
	}
	q.ctx.Tensor(passes.TensorReport{Name: w.Name, Shape: dims, BytesBefore: before, BytesAfter: after, Detail: detail})
}

func attrInt(name string, v int64) *onnx.AttributeProto {
	t := onnx.AttributeProto_INT
	return &onnx.AttributeProto{Name: &name, Type: &t, I: &v}
}

func passesTensor(name, detail string) passes.TensorReport {
	return passes.TensorReport{Name: name, Detail: detail}
}
