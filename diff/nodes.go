package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

func graphName(g *graph.Graph) string {
	if g == nil || g.Parent == nil {
		return ""
	}
	return g.Proto.GetName()
}

func ref(n *graph.Node) NodeRef {
	r := NodeRef{Name: n.Name(), Op: opKey(n), Graph: graphName(n.Graph()), Inputs: []string{}, Outputs: []string{}}
	for _, v := range n.Inputs() {
		r.Inputs = append(r.Inputs, valueName(v))
	}
	for _, v := range n.Outputs() {
		r.Outputs = append(r.Outputs, valueName(v))
	}
	return r
}

func valueName(v *graph.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

// Label returns the node's name, or its op and first output.
func (r NodeRef) Label() string {
	if r.Name != "" {
		return r.Name
	}
	if len(r.Outputs) > 0 {
		return r.Op + " → " + r.Outputs[0]
	}
	return r.Op
}

func (r *Result) diffNodes() {
	m := r.matching
	r.a.Graph.Walk(func(g *graph.Graph) {
		for _, na := range g.Nodes {
			nb := m.NodeAB[na]
			if nb == nil {
				r.Nodes.Removed = append(r.Nodes.Removed, ref(na))
				continue
			}
			if ch := nodeChanges(na, nb, m); len(ch) > 0 {
				r.Nodes.Changed = append(r.Nodes.Changed, &NodeChange{Before: ref(na), After: ref(nb), Matched: m.How[na], Changes: ch})
			}
		}
	})
	r.b.Graph.Walk(func(g *graph.Graph) {
		for _, nb := range g.Nodes {
			if m.NodeBA[nb] == nil {
				r.Nodes.Added = append(r.Nodes.Added, ref(nb))
			}
		}
	})
	r.Summary.NodesAdded, r.Summary.NodesRemoved, r.Summary.NodesChanged = len(r.Nodes.Added), len(r.Nodes.Removed), len(r.Nodes.Changed)
}

// nodeChanges lists how nb differs from na: name, op type, attributes,
// inputs that are not the counterparts of na's, renamed outputs. A
// Constant node's value is compared with the tensors, not here.
func nodeChanges(na, nb *graph.Node, m *Matching) []string {
	var ch []string
	if na.Name() != nb.Name() {
		ch = append(ch, fmt.Sprintf("renamed %q → %q", na.Name(), nb.Name()))
	}
	if opKey(na) != opKey(nb) {
		ch = append(ch, fmt.Sprintf("op %s → %s", opKey(na), opKey(nb)))
	}
	ch = append(ch, attrChanges(na, nb)...)
	_, replaced := replacedInputs[na.OpType()+">"+nb.OpType()]
	if len(na.Inputs()) != len(nb.Inputs()) && !replaced {
		ch = append(ch, fmt.Sprintf("%d inputs → %d", len(na.Inputs()), len(nb.Inputs())))
	}
	for i, va := range na.Inputs() {
		vb, has := counterpartInput(na, nb, i)
		switch {
		case va == nil && vb == nil:
		case va != nil && vb != nil && sameValue(va, vb, m):
		case va != nil || has:
			ch = append(ch, fmt.Sprintf("input %d: %s → %s", i, orNone(va), orNone(vb)))
		}
	}
	for i := len(na.Inputs()); i < len(nb.Inputs()) && !replaced; i++ {
		if vb := nb.Input(i); vb != nil {
			ch = append(ch, fmt.Sprintf("input %d: (none) → %s", i, vb.Name))
		}
	}
	if len(na.Outputs()) != len(nb.Outputs()) {
		ch = append(ch, fmt.Sprintf("%d outputs → %d", len(na.Outputs()), len(nb.Outputs())))
	}
	for i, va := range na.Outputs() {
		if vb := nb.Output(i); va != nil && vb != nil && va.Name != vb.Name && !castTo(vb, m.ValueAB[va]) && !replaced {
			ch = append(ch, fmt.Sprintf("output %d renamed %q → %q", i, va.Name, vb.Name))
		}
	}
	return ch
}

// sameValue reports whether vb stands for va: its counterpart, a value
// the pass gave the same name (the output of a fused node keeps the name
// of what it replaces), or either of those converted by Casts (a float16
// model's input cast, a float16 weight cast back to float32).
func sameValue(va, vb *graph.Value, m *Matching) bool {
	want := m.ValueAB[va]
	for _, v := range []*graph.Value{vb, skipCasts(vb), skipCasts(runtimeQuantized(vb)), reshapedConstant(vb)} {
		if va.Name == v.Name || (want != nil && (want == v || reshapedConstant(want) == v)) {
			return true
		}
	}
	return false
}

// runtimeQuantized returns x when v is the quantized output of
// DynamicQuantizeLinear(x), else v.
func runtimeQuantized(v *graph.Value) *graph.Value {
	if p, k := v.Producer(); p != nil && k == 0 && p.OpType() == "DynamicQuantizeLinear" && p.Input(0) != nil {
		return p.Input(0)
	}
	return v
}

// reshapedConstant returns c when v is Reshape(c) of a constant c (a
// packed weight viewed in another shape), else v.
func reshapedConstant(v *graph.Value) *graph.Value {
	if p, _ := v.Producer(); p != nil && p.OpType() == "Reshape" && isConstant(p.Input(0)) {
		return p.Input(0)
	}
	return v
}

// castTo reports whether v only feeds Casts and one of them produces w:
// an output converted back to the type of the value it stands for.
func castTo(v, w *graph.Value) bool {
	if w == nil || len(v.Uses()) == 0 {
		return false
	}
	found := false
	for _, u := range v.Uses() {
		if u.Node.OpType() != "Cast" || u.Node.Domain() != "" {
			return false
		}
		found = found || u.Node.Output(0) == w
	}
	return found
}

func orNone(v *graph.Value) string {
	if v == nil {
		return "(none)"
	}
	return v.Name
}

func attrChanges(na, nb *graph.Node) []string {
	skip := func(n *graph.Node, name string) bool {
		return n.OpType() == "Constant" && n.Domain() == "" // compared as tensors
	}
	type attr struct{ a, b *onnx.AttributeProto }
	all := map[string]*attr{}
	for _, a := range na.Proto.Attribute {
		all[a.GetName()] = &attr{a: a}
	}
	for _, b := range nb.Proto.Attribute {
		if x := all[b.GetName()]; x != nil {
			x.b = b
		} else {
			all[b.GetName()] = &attr{b: b}
		}
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var ch []string
	for _, k := range names {
		x := all[k]
		switch {
		case x.a != nil && x.b != nil && skip(na, k) && skip(nb, k):
		case x.a == nil:
			ch = append(ch, fmt.Sprintf("attribute %s added: %s", k, attrValue(x.b)))
		case x.b == nil:
			ch = append(ch, fmt.Sprintf("attribute %s removed (was %s)", k, attrValue(x.a)))
		case !proto.Equal(x.a, x.b):
			ch = append(ch, fmt.Sprintf("attribute %s: %s → %s", k, attrValue(x.a), attrValue(x.b)))
		}
	}
	return ch
}

func attrValue(a *onnx.AttributeProto) string {
	switch a.GetType() {
	case onnx.AttributeProto_FLOAT:
		return fmt.Sprint(a.GetF())
	case onnx.AttributeProto_INT:
		return fmt.Sprint(a.GetI())
	case onnx.AttributeProto_STRING:
		return fmt.Sprintf("%q", a.GetS())
	case onnx.AttributeProto_INTS:
		return fmt.Sprint(a.GetInts())
	case onnx.AttributeProto_FLOATS:
		return fmt.Sprint(a.GetFloats())
	case onnx.AttributeProto_TENSOR:
		return fmt.Sprintf("tensor %s%v", onnx.DataTypeName(a.GetT().GetDataType()), a.GetT().GetDims())
	case onnx.AttributeProto_GRAPH, onnx.AttributeProto_GRAPHS:
		return "graph"
	}
	return strings.ToLower(a.GetType().String())
}

// diffIO compares graph inputs and outputs of the main graphs.
func (r *Result) diffIO() {
	m := r.matching
	side := func(kind string, as, bs []*graph.Value) {
		seen := map[*graph.Value]bool{}
		for _, va := range as {
			if va.IsConstant() {
				continue
			}
			vb := m.ValueAB[va]
			key := kind + " " + va.Name
			if vb == nil || !contains(bs, vb) {
				r.IO = append(r.IO, Change{Key: key, Before: describeValue(va)})
				continue
			}
			seen[vb] = true
			if da, db := describeValue(va), describeValue(vb); da != db || va.Name != vb.Name {
				r.IO = append(r.IO, Change{Key: key, Before: va.Name + ": " + da, After: vb.Name + ": " + db})
			}
		}
		for _, vb := range bs {
			if !vb.IsConstant() && !seen[vb] {
				r.IO = append(r.IO, Change{Key: kind + " " + vb.Name, After: describeValue(vb)})
			}
		}
	}
	side("input", r.a.Graph.Inputs, r.b.Graph.Inputs)
	side("output", r.a.Graph.Outputs, r.b.Graph.Outputs)
}

func contains(list []*graph.Value, v *graph.Value) bool {
	for _, w := range list {
		if w == v {
			return true
		}
	}
	return false
}

func describeValue(v *graph.Value) string {
	dims, ok := v.Shape()
	s := onnx.DataTypeName(v.ElemType())
	if !ok {
		return s
	}
	parts := make([]string, len(dims))
	tt := v.Type().GetTensorType()
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
		if d < 0 && tt != nil && i < len(tt.GetShape().GetDim()) {
			if p := tt.GetShape().GetDim()[i].GetDimParam(); p != "" {
				parts[i] = p
			} else {
				parts[i] = "?"
			}
		}
	}
	return s + "[" + strings.Join(parts, ",") + "]"
}

// diffModel compares model-level fields: IR version, producer, opsets,
// metadata_props and doc string.
func (r *Result) diffModel() {
	pa, pb := r.a.Proto, r.b.Proto
	add := func(list *[]Change, key, a, b string) {
		if a != b {
			*list = append(*list, Change{Key: key, Before: a, After: b})
		}
	}
	add(&r.Metadata, "ir_version", fmt.Sprint(pa.GetIrVersion()), fmt.Sprint(pb.GetIrVersion()))
	add(&r.Metadata, "producer_name", pa.GetProducerName(), pb.GetProducerName())
	add(&r.Metadata, "producer_version", pa.GetProducerVersion(), pb.GetProducerVersion())
	add(&r.Metadata, "domain", pa.GetDomain(), pb.GetDomain())
	add(&r.Metadata, "model_version", fmt.Sprint(pa.GetModelVersion()), fmt.Sprint(pb.GetModelVersion()))
	add(&r.Metadata, "doc_string", pa.GetDocString(), pb.GetDocString())
	kv := func(p *onnx.ModelProto) map[string]string {
		out := map[string]string{}
		for _, e := range p.GetMetadataProps() {
			out[e.GetKey()] = e.GetValue()
		}
		return out
	}
	ma, mb := kv(pa), kv(pb)
	for _, k := range unionKeys(ma, mb) {
		add(&r.Metadata, "metadata_props."+k, ma[k], mb[k])
	}
	ops := func(p *onnx.ModelProto) map[string]string {
		out := map[string]string{}
		for _, o := range p.GetOpsetImport() {
			d := o.GetDomain()
			if d == "" {
				d = "ai.onnx"
			}
			out[d] = fmt.Sprint(o.GetVersion())
		}
		return out
	}
	oa, ob := ops(pa), ops(pb)
	for _, k := range unionKeys(oa, ob) {
		add(&r.Opsets, k, oa[k], ob[k])
	}
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
