package graph

import (
	"fmt"

	"github.com/onnxopt/onnxopt/onnx"
)

// ToProto converts the model back to protobuf form. Nothing is copied that
// the IR did not change: the result shares strings, attributes and tensor
// bytes with the IR, so it is valid until the IR changes again. With no
// change to the IR since FromProto, it equals the input field for field.
func (m *Model) ToProto() *onnx.ModelProto {
	p := shallowCopy(m.Proto)
	p.Graph = m.Graph.ToProto()
	return p
}

// WriteFile writes the model to path atomically (see onnx.WriteFile),
// carrying external data across from the input's side files.
func (m *Model) WriteFile(path string, opts onnx.WriteOptions) error {
	if opts.Source == nil {
		opts.Source = m.Store
	}
	return onnx.WriteFile(path, m.ToProto(), opts)
}

// ToProto converts one graph (and its subgraphs) back to protobuf form.
func (g *Graph) ToProto() *onnx.GraphProto {
	p := shallowCopy(g.Proto)
	p.Node = make([]*onnx.NodeProto, len(g.Nodes))
	for i, n := range g.Nodes {
		p.Node[i] = n.toProto()
	}
	p.Initializer = nil
	for _, v := range g.Initializers {
		t := v.Tensor.Proto
		if t.GetName() != v.Name {
			t.Name = &v.Name
		}
		p.Initializer = append(p.Initializer, t)
	}
	p.SparseInitializer = nil
	for _, v := range g.SparseInitializers {
		if vals := v.Sparse.GetValues(); vals != nil && vals.GetName() != v.Name {
			vals.Name = &v.Name
		}
		p.SparseInitializer = append(p.SparseInitializer, v.Sparse)
	}
	p.Input = nil
	for _, v := range g.Inputs {
		p.Input = append(p.Input, v.descriptor(nil))
	}
	p.Output = make([]*onnx.ValueInfoProto, len(g.Outputs))
	for i, v := range g.Outputs {
		p.Output[i] = v.descriptor(g.outInfo[i])
	}
	p.ValueInfo = nil
	for i, v := range g.ValueInfo {
		if v.graph == nil {
			continue // removed from the graph
		}
		p.ValueInfo = append(p.ValueInfo, v.descriptor(g.viInfo[i]))
	}
	return p
}

// descriptor returns the ValueInfoProto to write for v: its own (or the
// list-specific override), renamed if the value was renamed.
func (v *Value) descriptor(override *onnx.ValueInfoProto) *onnx.ValueInfoProto {
	d := override
	if d == nil {
		d = v.Info
	}
	if d == nil {
		return &onnx.ValueInfoProto{Name: &v.Name}
	}
	if d.GetName() == v.Name {
		return d
	}
	c := shallowCopy(d)
	c.Name = &v.Name
	return c
}

func (n *Node) toProto() *onnx.NodeProto {
	p := shallowCopy(n.Proto)
	p.Input = make([]string, len(n.inputs))
	for i, v := range n.inputs {
		if v != nil {
			p.Input[i] = v.Name
		}
	}
	p.Output = make([]string, len(n.outputs))
	for i, v := range n.outputs {
		if v != nil {
			p.Output[i] = v.Name
		}
	}
	if len(n.Subgraphs) == 0 {
		return p
	}
	p.Attribute = append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
	copied := map[int]bool{}
	for _, s := range n.Subgraphs {
		ai := s.AttrIndex
		if !copied[ai] {
			p.Attribute[ai] = shallowCopy(p.Attribute[ai])
			copied[ai] = true
		}
		a := p.Attribute[ai]
		if s.List {
			for len(a.Graphs) <= s.Index {
				a.Graphs = append(a.Graphs, nil)
			}
			a.Graphs[s.Index] = s.Graph.ToProto()
		} else {
			a.G = s.Graph.ToProto()
		}
	}
	return p
}

// String describes the model in one line.
func (m *Model) String() string {
	return fmt.Sprintf("model (ir %d, %d nodes)", m.Proto.GetIrVersion(), len(m.Graph.Nodes))
}
