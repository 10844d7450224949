package graph

import (
	"fmt"
	"strconv"

	"github.com/onnxopt/onnxopt/onnx"
)

// UniqueName returns base if no value or node of the model uses it yet,
// else base_1, base_2, ...; the name is reserved.
func (m *Model) UniqueName(base string) string {
	if base == "" {
		base = "v"
	}
	name := base
	for i := 1; m.names[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	m.names[name] = true
	return name
}

// NewNode creates a node of op type op (domain "" unless set later) in g,
// appended to g.Nodes, with the given inputs (nil for omitted optional
// ones) and one new output value per name in outputs (names are made
// unique across the model). Attributes are added in order. Call Sort after
// inserting nodes out of order.
func (g *Graph) NewNode(op, name string, inputs []*Value, outputs []string, attrs ...*onnx.AttributeProto) *Node {
	opCopy := op
	n := &Node{Proto: &onnx.NodeProto{OpType: &opCopy}, graph: g}
	if name != "" {
		name = g.Model.UniqueName(name)
		n.Proto.Name = &name
	}
	n.Proto.Attribute = attrs
	for _, v := range inputs {
		n.AddInput(v)
	}
	for k, o := range outputs {
		if o == "" {
			n.outputs = append(n.outputs, nil)
			continue
		}
		v := &Value{Name: g.Model.UniqueName(o), graph: g, producer: n, outIndex: k}
		g.scope[v.Name] = v
		n.outputs = append(n.outputs, v)
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// SetDomain sets the node's operator domain.
func (n *Node) SetDomain(d string) { n.Proto.Domain = &d }

// NewInitializer adds a dense constant to g named after name (made
// unique) and returns its value. t's name is set to the value's. The
// tensor is bound to the model (Model.NewTensor): in streaming mode,
// Release moves a large one's bytes to the output's side file at once.
func (g *Graph) NewInitializer(name string, t *onnx.TensorProto) *Value {
	v := &Value{Name: g.Model.UniqueName(name), graph: g}
	t.Name = &v.Name
	v.Tensor = g.Model.NewTensor(t)
	g.scope[v.Name] = v
	g.Initializers = append(g.Initializers, v)
	return v
}

// RemoveNode takes n out of its graph. Its inputs stop using their values;
// its outputs must be unused (replace their uses first) and disappear.
func (g *Graph) RemoveNode(n *Node) error {
	if n.graph != g {
		return fmt.Errorf("%s is not in graph %q", n, g.Proto.GetName())
	}
	for _, v := range n.outputs {
		if v != nil && (len(v.uses) > 0 || v.IsOutput()) {
			return fmt.Errorf("cannot remove %s: its output %q is still used", n, v.Name)
		}
	}
	n.TruncateInputs(0)
	for _, s := range n.Subgraphs {
		s.Graph.detach()
	}
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			break
		}
	}
	for _, v := range n.outputs {
		if v != nil {
			delete(g.scope, v.Name)
			v.graph = nil
		}
	}
	n.graph = nil
	return nil
}

// detach drops the uses that g's nodes make of outer values (g is going
// away with its owner).
func (g *Graph) detach() {
	for _, n := range g.Nodes {
		n.TruncateInputs(0)
		for _, s := range n.Subgraphs {
			s.Graph.detach()
		}
	}
}

// RemoveConstant takes an unused initializer (dense or sparse) out of g.
func (g *Graph) RemoveConstant(v *Value) error {
	if len(v.uses) > 0 || v.IsOutput() {
		return fmt.Errorf("cannot remove constant %q: it is still used", v.Name)
	}
	if v.isInput {
		return fmt.Errorf("cannot remove constant %q: it is also a graph input", v.Name)
	}
	g.Initializers = removeValue(g.Initializers, v)
	g.SparseInitializers = removeValue(g.SparseInitializers, v)
	delete(g.scope, v.Name)
	v.graph = nil
	return nil
}

// MakeSparse turns a dense initializer into a sparse one (keeping its
// place among the sparse initializers at the end).
func (g *Graph) MakeSparse(v *Value, s *onnx.SparseTensorProto) {
	g.Initializers = removeValue(g.Initializers, v)
	v.Tensor = nil
	v.Sparse = s
	g.SparseInitializers = append(g.SparseInitializers, v)
}

func removeValue(list []*Value, v *Value) []*Value {
	for i, w := range list {
		if w == v {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// Walk calls fn for g and every subgraph below it, parents first.
func (g *Graph) Walk(fn func(*Graph)) {
	fn(g)
	for _, n := range g.Nodes {
		for _, s := range n.Subgraphs {
			s.Graph.Walk(fn)
		}
	}
}

// Opset returns the model's opset version for domain ("" or "ai.onnx" is
// the default domain), or 0 when not imported.
func (m *Model) Opset(domain string) int64 {
	for _, o := range m.Proto.OpsetImport {
		d := o.GetDomain()
		if d == domain || (domain == "" && d == "ai.onnx") || (domain == "ai.onnx" && d == "") {
			return o.GetVersion()
		}
	}
	return 0
}

// SetOpset sets (or adds) the version of an opset domain.
func (m *Model) SetOpset(domain string, version int64) {
	// Entries are replaced, not changed: they may be shared with the
	// proto the model was read from.
	list := append([]*onnx.OperatorSetIdProto(nil), m.Proto.OpsetImport...)
	entry := &onnx.OperatorSetIdProto{Domain: &domain, Version: &version}
	isDefault := func(d string) bool { return d == "" || d == "ai.onnx" }
	for i, o := range list {
		if o.GetDomain() == domain || isDefault(domain) && isDefault(o.GetDomain()) {
			entry.Domain = o.Domain // keep the model's spelling of the domain
			list[i] = entry
			m.Proto.OpsetImport = list
			return
		}
	}
	m.Proto.OpsetImport = append(list, entry)
}

// SetMetadata sets (or adds) a model metadata_props entry.
func (m *Model) SetMetadata(key, value string) {
	list := append([]*onnx.StringStringEntryProto(nil), m.Proto.MetadataProps...)
	entry := &onnx.StringStringEntryProto{Key: &key, Value: &value}
	for i, kv := range list {
		if kv.GetKey() == key {
			list[i] = entry
			m.Proto.MetadataProps = list
			return
		}
	}
	m.Proto.MetadataProps = append(list, entry)
}

// Metadata returns a model metadata_props value.
func (m *Model) Metadata(key string) (string, bool) {
	for _, kv := range m.Proto.MetadataProps {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// RenameValue gives v, a value of g, a new name, which no other value of g
// may hold. Passes use it to keep a name when they replace a value by a
// new one (a folded constant taking over a node output's name, so graph
// outputs keep their names).
func (g *Graph) RenameValue(v *Value, name string) error {
	if v.graph != g {
		return fmt.Errorf("rename %q: the value is not in graph %q", v.Name, g.Proto.GetName())
	}
	if w, taken := g.scope[name]; taken && w != v {
		return fmt.Errorf("rename %q to %q: the name is taken", v.Name, name)
	}
	delete(g.scope, v.Name)
	v.Name = name
	g.scope[name] = v
	g.Model.names[name] = true
	if v.Tensor != nil {
		v.Tensor.Proto.Name = &v.Name
	}
	return nil
}
