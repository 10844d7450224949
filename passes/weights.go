package passes

import (
	"regexp"
	"strings"
	"sync"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// Weight is a constant tensor used as the weight of one or more nodes.
// Its type is any float type (see graph.Tensor.IsFloat): read it with
// Tensor.Floats and write it back with Tensor.SetFloats, which keep the
// tensor's own type.
type Weight struct {
	Value  *graph.Value
	Tensor *graph.Tensor // Value.Const(): an initializer or a Constant node's value
	Node   *graph.Node   // the first consumer that made it a weight
	Uses   []*graph.Node // every node using it as its weight
	// Cast is set when the weight is stored in a 16-bit float type behind
	// a Cast to float32 ("stored half, computed in float"): the nodes in
	// Uses read Cast's output, Value is Cast's constant input. Passes
	// change Tensor in its own type; the Cast keeps converting it.
	Cast *graph.Node
}

// Selection chooses weights: op types, name patterns and a minimum size.
type Selection struct {
	Ops         []string // op types; empty means MatMul, Gemm, Conv, ConvTranspose
	Include     []string // glob patterns on the tensor or node name; empty means all
	Exclude     []string
	MinElements int64
	// PerNode is for passes that write a new tensor for the nodes they
	// change instead of changing the weight in place (quantize): names
	// select nodes, so a weight shared with an excluded node is still
	// returned, its Uses then listing only the selected nodes. Without it
	// names select tensors, and a weight shared with an excluded node is
	// left alone (the excluded node must see the same values).
	PerNode bool
}

// DefaultOps are the op types whose weights passes touch by default.
var DefaultOps = []string{"MatMul", "Gemm", "Conv", "ConvTranspose"}

// FindWeights returns the float constants (float32, float16, bfloat16 or
// float64) feeding the weight input (as LayoutOf gives it) of the selected
// ops, directly or through a Cast to float32 (see Weight.Cast), in all graphs (subgraphs
// included), each once even when shared, in the order of their first use.
// Uses lists every selected op using the weight, so callers can check
// that they agree on its layout. Weights computed at run time are reported
// through skip (name, reason) and left out.
func FindWeights(m *graph.Model, sel Selection, skip func(name, reason string)) []*Weight {
	ops := sel.Ops
	if len(ops) == 0 {
		ops = DefaultOps
	}
	want := map[string]bool{}
	for _, o := range ops {
		want[o] = true
	}
	if skip == nil {
		skip = func(string, string) {}
	}
	var order []*graph.Value
	uses := map[*graph.Value][]*graph.Node{}
	casts := map[*graph.Value]*graph.Node{}
	m.Graph.Walk(func(g *graph.Graph) {
		for _, n := range g.Nodes {
			l, ok := LayoutOf(n)
			if !ok || !want[n.OpType()] {
				continue
			}
			v := n.Input(l.Weight)
			if v == nil {
				continue
			}
			if c, src := behindCast(v); c != nil {
				v = src
				if casts[v] == nil {
					casts[v] = c
				}
			}
			if uses[v] == nil {
				order = append(order, v)
			}
			uses[v] = append(uses[v], n)
		}
	})
	var out []*Weight
	for _, v := range order {
		us := sel.filter(v, uses[v], skip)
		if len(us) == 0 {
			continue
		}
		n := us[0]
		t := v.Const()
		switch {
		case t == nil:
			skip(v.Name, "weight of "+n.String()+" is computed at run time, not a constant")
			continue
		case v.IsInput():
			// An initializer listed as a graph input is only a default:
			// callers may feed another value at run time.
			skip(v.Name, "weight of "+n.String()+" is also a graph input (a caller may replace it at run time)")
			continue
		case !t.IsFloat():
			skip(v.Name, "not a float tensor ("+onnx.DataTypeName(t.DataType())+")")
			continue
		}
		if k, err := t.Elements(); err != nil || k < sel.MinElements {
			if err == nil {
				skip(v.Name, "smaller than min-elements")
			}
			continue
		}
		out = append(out, &Weight{Value: v, Tensor: t, Node: n, Uses: us, Cast: casts[v]})
	}
	return out
}

// behindCast returns, when v is the output of a Cast to float32 whose
// input is a 16-bit float constant, that Cast and its input.
func behindCast(v *graph.Value) (*graph.Node, *graph.Value) {
	n, _ := v.Producer()
	if n == nil || n.OpType() != "Cast" || n.Domain() != "" || n.AttrInt("to", 0) != int64(onnx.TensorProto_FLOAT) {
		return nil, nil
	}
	src := n.Input(0)
	if src == nil {
		return nil, nil
	}
	t := src.Const()
	if t == nil {
		return nil, nil
	}
	switch onnx.TensorProto_DataType(t.DataType()) {
	case onnx.TensorProto_FLOAT16, onnx.TensorProto_BFLOAT16:
		return n, src
	}
	return nil, nil
}

// filter returns the uses of weight v the selection keeps: all of them or
// none, or with PerNode those whose node (or v itself) is selected.
func (s Selection) filter(v *graph.Value, uses []*graph.Node, skip func(name, reason string)) []*graph.Node {
	exclude := Selection{Exclude: s.Exclude}
	if !exclude.matches(v.Name) {
		return nil
	}
	if s.PerNode {
		var kept []*graph.Node
		for _, u := range uses {
			if s.matches(v.Name, u.Name()) {
				kept = append(kept, u)
			}
		}
		return kept
	}
	include := Selection{Include: s.Include}
	selected := false
	var excluded []*graph.Node
	for _, u := range uses {
		if !exclude.matches(u.Name()) {
			excluded = append(excluded, u)
		}
		if include.matches(v.Name, u.Name()) {
			selected = true
		}
	}
	switch {
	case !selected, len(excluded) == len(uses):
		return nil
	case len(excluded) > 0:
		// A weight shared with a node the user excluded stays as it is:
		// the excluded node must see the same values.
		skip(v.Name, "shared with excluded node "+excluded[0].String())
		return nil
	}
	return uses
}

func (s Selection) matches(names ...string) bool {
	match := func(pats []string) bool {
		for _, p := range pats {
			for _, n := range names {
				if n != "" && Glob(p, n) {
					return true
				}
			}
		}
		return false
	}
	if len(s.Include) > 0 && !match(s.Include) {
		return false
	}
	return !match(s.Exclude)
}

// Glob reports whether name matches pattern, where '*' matches any run of
// characters ('/' included, since node names use it) and '?' one character.
func Glob(pattern, name string) bool {
	re, ok := globs.Load(pattern)
	if !ok {
		re, _ = globs.LoadOrStore(pattern, regexp.MustCompile("^"+strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".")+"$"))
	}
	return re.(*regexp.Regexp).MatchString(name)
}

// globs caches compiled patterns: Glob runs for every node and name.
var globs sync.Map

// DTypeOf names t's element type for a TensorReport: empty for float32
// (the default), else its ONNX name.
func DTypeOf(t *graph.Tensor) string {
	if dt := t.DataType(); dt != int32(onnx.TensorProto_FLOAT) {
		return onnx.DataTypeName(dt)
	}
	return ""
}

// AddedConstant returns the constant c when y's only use is a default-domain
// Add(y, c) or Add(c, y) and y is not a graph output: the bias Add that
// exporters put after a MatMul. Callers check c's shape and type.
func AddedConstant(y *graph.Value) *graph.Value {
	if len(y.Uses()) != 1 || y.IsOutput() {
		return nil
	}
	u := y.Uses()[0]
	if u.Node.OpType() != "Add" || u.Node.Domain() != "" {
		return nil
	}
	if c := u.Node.Input(1 - u.Index); c != nil && c.Const() != nil {
		return c
	}
	return nil
}
