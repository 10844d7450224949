package graph

import (
	"errors"
	"fmt"
	"path/filepath"
	"unicode/utf8"

	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ReadFile reads the model at path into IR form. Tensors in external data
// files are checked against their files and read lazily through a memory
// mapping.
func ReadFile(path string) (*Model, error) {
	p, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := FromOwnedProto(p, onnx.NewExternalStore(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromOwnedProto is FromProto for a proto the caller hands over and does
// not use again (one just decoded from a file): tensors are then changed
// in place, with no copy, which keeps memory flat on large models.
func FromOwnedProto(p *onnx.ModelProto, store *onnx.ExternalStore) (*Model, error) {
	m, err := FromProto(p, store)
	if err != nil {
		return nil, err
	}
	m.borrowed = false
	return m, nil
}

// FromProto converts a decoded model into IR form. The proto is not
// modified, now or by later changes to the IR: the IR shares its strings,
// attributes and tensor bytes, copying a message or a tensor's bytes only
// when a pass changes it. store
// (nil for none) reads external data; every external reference is checked
// against it. It returns an error for structural faults: a value with two
// producers, an input or output that is never defined, tensors whose data
// do not match their shape, or nesting deeper than onnx.MaxNesting.
func FromProto(p *onnx.ModelProto, store *onnx.ExternalStore) (*Model, error) {
	if p.GetGraph() == nil {
		return nil, fmt.Errorf("%w: the model has no graph", onnx.ErrNotModel)
	}
	m := &Model{Proto: shallowCopy(p), Store: store, names: map[string]bool{}, borrowed: true}
	m.Proto.Graph = nil
	var err error
	m.Graph, err = m.buildGraph(p.GetGraph(), nil, nil, 0)
	if err != nil {
		return nil, err
	}
	// Tensors outside the main graph (functions, training info) are kept
	// as protos but checked all the same.
	var terr error
	onnx.WalkTensors(&onnx.ModelProto{Functions: p.GetFunctions(), TrainingInfo: p.GetTrainingInfo()}, func(t *onnx.TensorProto, _ onnx.TensorSite) {
		if terr == nil {
			terr = checkTensor(t, store)
		}
	})
	if terr != nil {
		return nil, terr
	}
	return m, nil
}

func (m *Model) store() *onnx.ExternalStore { return m.Store }

func checkTensor(t *onnx.TensorProto, store *onnx.ExternalStore) error {
	if err := t.CheckData(); err != nil {
		return err
	}
	if t.IsExternal() && t.RawData == nil {
		if store == nil {
			return fmt.Errorf("tensor %q: data is in an external file, but the model's folder is unknown", t.GetName())
		}
		return store.Check(t)
	}
	return nil
}

func (m *Model) buildGraph(gp *onnx.GraphProto, parent *Graph, owner *Node, depth int) (*Graph, error) {
	if depth > onnx.MaxNesting {
		return nil, fmt.Errorf("%w: subgraphs are nested more than %d deep", errTooDeep, onnx.MaxNesting)
	}
	g := &Graph{Proto: shallowCopy(gp), Parent: parent, Owner: owner, Model: m, scope: map[string]*Value{}}
	g.Proto.Node, g.Proto.Initializer, g.Proto.SparseInitializer = nil, nil, nil
	g.Proto.Input, g.Proto.Output, g.Proto.ValueInfo = nil, nil, nil

	// Definitions first: inputs, constants, node outputs.
	for _, vi := range gp.GetInput() {
		if err := checkName("input", vi.GetName()); err != nil {
			return nil, err
		}
		v := g.define(vi.GetName())
		if v.isInput {
			return nil, fmt.Errorf("graph %q lists input %q twice", gp.GetName(), vi.GetName())
		}
		v.isInput = true
		v.Info = vi
		g.Inputs = append(g.Inputs, v)
	}
	for _, t := range gp.GetInitializer() {
		if err := checkTensor(t, m.Store); err != nil {
			return nil, err
		}
		if err := checkName("initializer", t.GetName()); err != nil {
			return nil, err
		}
		v := g.define(t.GetName())
		if v.IsConstant() {
			return nil, fmt.Errorf("graph %q has two initializers named %q", gp.GetName(), t.GetName())
		}
		// A shallow copy: passes may change the tensor's fields (shape,
		// data) without touching the caller's proto.
		v.Tensor = &Tensor{Proto: shallowCopy(t), store: m.Store, model: m}
		g.Initializers = append(g.Initializers, v)
	}
	for _, s := range gp.GetSparseInitializer() {
		name := s.GetValues().GetName()
		for _, t := range []*onnx.TensorProto{s.GetValues(), s.GetIndices()} {
			if t != nil {
				if err := checkTensor(t, m.Store); err != nil {
					return nil, err
				}
			}
		}
		v := g.define(name)
		if v.IsConstant() {
			return nil, fmt.Errorf("graph %q has two initializers named %q", gp.GetName(), name)
		}
		v.Sparse = s
		g.SparseInitializers = append(g.SparseInitializers, v)
	}
	nodes := make([]*Node, len(gp.GetNode()))
	for i, np := range gp.GetNode() {
		n := &Node{Proto: shallowCopy(np), graph: g}
		n.Proto.Input, n.Proto.Output = nil, nil
		nodes[i] = n
		if np.GetName() != "" {
			m.names[np.GetName()] = true
		}
		if err := checkNode(np); err != nil {
			return nil, err
		}
		for k, name := range np.GetOutput() {
			if name == "" {
				n.outputs = append(n.outputs, nil)
				continue
			}
			v := g.define(name)
			if v.producer != nil {
				return nil, fmt.Errorf("value %q has two producers: %s and %s", name, v.producer, n)
			}
			if v.isInput || v.IsConstant() {
				return nil, fmt.Errorf("value %q is both a graph input or initializer and the output of %s", name, n)
			}
			v.producer, v.outIndex = n, k
			n.outputs = append(n.outputs, v)
		}
	}
	for _, vi := range gp.GetValueInfo() {
		v := g.lookup(vi.GetName())
		if v == nil {
			// Describes nothing defined here: kept for the round trip,
			// but not in scope, so it cannot make an undefined input
			// look defined.
			v = &Value{Name: vi.GetName(), graph: g}
		}
		if v.Info == nil {
			v.Info = vi
		} else if v.Info != vi {
			if g.viInfo == nil {
				g.viInfo = map[int]*onnx.ValueInfoProto{}
			}
			g.viInfo[len(g.ValueInfo)] = vi
		}
		g.ValueInfo = append(g.ValueInfo, v)
	}
	// Subgraphs, once this graph's names are known, then uses.
	g.Nodes = nodes
	for _, n := range nodes {
		if err := m.buildSubgraphs(n, depth); err != nil {
			return nil, err
		}
	}
	for i, n := range nodes {
		for k, name := range gp.GetNode()[i].GetInput() {
			if name == "" {
				n.inputs = append(n.inputs, nil)
				continue
			}
			v := g.lookup(name)
			if v == nil {
				return nil, fmt.Errorf("input %q of %s is not defined in graph %q or an enclosing graph", name, n, gp.GetName())
			}
			n.inputs = append(n.inputs, v)
			v.addUse(n, k)
		}
	}
	for _, vi := range gp.GetOutput() {
		v := g.lookup(vi.GetName())
		if v == nil {
			return nil, fmt.Errorf("output %q of graph %q is never computed", vi.GetName(), gp.GetName())
		}
		if v.Info == nil || v.graph != g {
			// An output may carry its own descriptor (or name an outer value).
			v = g.outputAlias(v, vi)
		}
		g.Outputs = append(g.Outputs, v)
	}
	return g, nil
}

// checkName refuses a name that is not valid UTF-8 (ONNX strings are
// UTF-8; such names cannot be printed or reported faithfully).
func checkName(what, name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%s name %q is not valid UTF-8", what, name)
	}
	return nil
}

// checkNode refuses a node whose name, input or output names are not valid
// UTF-8, or that has two attributes of the same name.
func checkNode(np *onnx.NodeProto) error {
	if err := checkName("node", np.GetName()); err != nil {
		return err
	}
	for _, names := range [][]string{np.GetInput(), np.GetOutput()} {
		for _, name := range names {
			if err := checkName(fmt.Sprintf("value (of node %q)", np.GetName()), name); err != nil {
				return err
			}
		}
	}
	if np.GetOpType() == "Constant" && (np.GetDomain() == "" || np.GetDomain() == "ai.onnx") &&
		(len(np.GetOutput()) != 1 || np.GetOutput()[0] == "") {
		return fmt.Errorf("Constant node %q must have exactly one named output", np.GetName())
	}
	if attrs := np.GetAttribute(); len(attrs) > 1 {
		seen := make(map[string]bool, len(attrs))
		for _, a := range attrs {
			if seen[a.GetName()] {
				return fmt.Errorf("node %q (%s) has two attributes named %q", np.GetName(), np.GetOpType(), a.GetName())
			}
			seen[a.GetName()] = true
		}
	}
	return nil
}

// outputAlias records the descriptor of a graph output whose value has
// none yet; outer values keep theirs and the output's is remembered.
func (g *Graph) outputAlias(v *Value, vi *onnx.ValueInfoProto) *Value {
	if v.Info == nil {
		v.Info = vi
		return v
	}
	if g.outInfo == nil {
		g.outInfo = map[int]*onnx.ValueInfoProto{}
	}
	g.outInfo[len(g.Outputs)] = vi
	return v
}

// errTooDeep marks the nesting error, which is reported once, at the
// outermost node, rather than wrapped by every level of nesting.
var errTooDeep = errors.New("too deeply nested")

func (m *Model) buildSubgraphs(n *Node, depth int) error {
	var attrs []*onnx.AttributeProto
	for ai, a := range n.Proto.Attribute {
		if a.G == nil && len(a.Graphs) == 0 {
			continue
		}
		if attrs == nil {
			attrs = append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
		}
		m.hasSubgraphs = true
		if a.G != nil {
			sg, err := m.buildGraph(a.G, n.graph, n, depth+1)
			if err != nil && depth > 0 && errors.Is(err, errTooDeep) {
				return err
			}
			if err != nil {
				return fmt.Errorf("%s attribute %q: %w", n, a.GetName(), err)
			}
			n.Subgraphs = append(n.Subgraphs, &Subgraph{AttrIndex: ai, Graph: sg})
		}
		for gi, gp := range a.Graphs {
			sg, err := m.buildGraph(gp, n.graph, n, depth+1)
			if err != nil && depth > 0 && errors.Is(err, errTooDeep) {
				return err
			}
			if err != nil {
				return fmt.Errorf("%s attribute %q graph %d: %w", n, a.GetName(), gi, err)
			}
			n.Subgraphs = append(n.Subgraphs, &Subgraph{AttrIndex: ai, Index: gi, List: true, Graph: sg})
		}
		c := shallowCopy(a)
		c.G, c.Graphs = nil, nil
		attrs[ai] = c
	}
	if attrs != nil {
		n.Proto.Attribute = attrs
	}
	return nil
}

// define returns the value called name in g's own scope, creating it.
func (g *Graph) define(name string) *Value {
	if v, ok := g.scope[name]; ok {
		return v
	}
	v := &Value{Name: name, graph: g}
	g.scope[name] = v
	g.Model.names[name] = true
	return v
}

// lookup finds a value by name in g or, failing that, its enclosing graphs.
func (g *Graph) lookup(name string) *Value {
	for s := g; s != nil; s = s.Parent {
		if v, ok := s.scope[name]; ok {
			return v
		}
	}
	return nil
}

// Lookup finds the value called name visible from g (its own or an
// enclosing graph's), or nil.
func (g *Graph) Lookup(name string) *Value { return g.lookup(name) }

// shallowCopy returns a new message with the same field values (lists and
// sub-messages shared) and the same unknown fields.
func shallowCopy[T proto.Message](src T) T {
	s := src.ProtoReflect()
	d := s.New()
	s.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		d.Set(fd, v)
		return true
	})
	if u := s.GetUnknown(); len(u) > 0 {
		d.SetUnknown(u)
	}
	return d.Interface().(T)
}
