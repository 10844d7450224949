package graph

import (
	"fmt"

	"github.com/onnxopt/onnxopt/onnx"
)

// Graph returns the graph that defines v.
func (v *Value) Graph() *Graph { return v.graph }

// Producer returns the node that computes v and the output index, or nil
// for graph inputs and constants.
func (v *Value) Producer() (*Node, int) { return v.producer, v.outIndex }

// Uses returns the places v is consumed, subgraph nodes included. The
// slice must not be modified.
func (v *Value) Uses() []Use { return v.uses }

// IsInput reports whether v is listed among its graph's inputs.
func (v *Value) IsInput() bool { return v.isInput }

// IsConstant reports whether v is an initializer (dense or sparse).
func (v *Value) IsConstant() bool { return v.Tensor != nil || v.Sparse != nil }

// IsOutput reports whether v is an output of its own graph or of any graph.
func (v *Value) IsOutput() bool {
	for g := v.graph; g != nil; g = g.Parent {
		for _, o := range g.Outputs {
			if o == v {
				return true
			}
		}
	}
	return false
}

// Type returns the value's type, or nil when unknown.
func (v *Value) Type() *onnx.TypeProto { return v.Info.GetType() }

// ElemType returns the element type of a tensor value (0 when unknown).
func (v *Value) ElemType() int32 {
	if v.Tensor != nil {
		return v.Tensor.DataType()
	}
	return v.Type().GetTensorType().GetElemType()
}

// Shape returns the value's dimensions: a known size, or -1 for a symbolic
// or unknown one. ok is false when not even the rank is known.
func (v *Value) Shape() (dims []int64, ok bool) {
	if v.Tensor != nil {
		return v.Tensor.Dims(), true
	}
	if c := v.Const(); c != nil {
		return c.Dims(), true
	}
	s := v.Type().GetTensorType().GetShape()
	if s == nil {
		return nil, false
	}
	dims = make([]int64, len(s.GetDim()))
	for i, d := range s.GetDim() {
		if d.Value != nil {
			if x, isVal := d.Value.(*onnx.TensorShapeProto_Dimension_DimValue); isVal {
				dims[i] = x.DimValue
				continue
			}
		}
		dims[i] = -1
	}
	return dims, true
}

// SetType sets the value's type, creating its descriptor if needed.
func (v *Value) SetType(t *onnx.TypeProto) {
	if v.Info == nil {
		v.Info = &onnx.ValueInfoProto{Name: &v.Name}
	}
	v.Info.Type = t
}

// Const returns the constant tensor v holds: an initializer's tensor, or
// the value of the Constant node that produces v. A constant is a constant
// wherever it is stored, so passes should use this rather than Tensor. It
// returns nil for values computed at run time and for sparse constants.
func (v *Value) Const() *Tensor {
	if v == nil {
		return nil
	}
	if v.Tensor != nil {
		return v.Tensor
	}
	n := v.producer
	if n == nil || n.OpType() != "Constant" || n.Domain() != "" {
		return nil
	}
	for i, a := range n.Proto.Attribute {
		if a.GetName() == "value" && a.GetT() != nil {
			if n.constTensor == nil || n.constTensor.Proto != a.GetT() {
				// Own the attribute and the tensor message (shallow copies),
				// so passes can change them without touching the proto the
				// model was built from.
				c := shallowCopy(a)
				c.T = shallowCopy(a.GetT())
				attrs := append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
				attrs[i] = c
				n.Proto.Attribute = attrs
				m := v.graph.Model
				n.constTensor = &Tensor{Proto: c.T, store: m.store(), model: m, inAttr: true}
			}
			return n.constTensor
		}
	}
	return nil
}

// ReplaceAllUsesWith makes every consumer of v (nodes, subgraph nodes, and
// graph outputs) use w instead.
func (v *Value) ReplaceAllUsesWith(w *Value) {
	if v == w {
		return
	}
	for len(v.uses) > 0 {
		u := v.uses[len(v.uses)-1]
		u.Node.SetInput(u.Index, w)
	}
	for g := v.graph; g != nil; g = g.Parent {
		for i, o := range g.Outputs {
			if o == v {
				g.Outputs[i] = w
			}
		}
	}
	// Subgraph outputs can name outer values too (only models that have
	// subgraphs need the walk: passes call this once per rewritten node).
	if v.graph == nil || !v.graph.Model.hasSubgraphs {
		return
	}
	var fix func(g *Graph)
	fix = func(g *Graph) {
		for _, n := range g.Nodes {
			for _, s := range n.Subgraphs {
				for i, o := range s.Graph.Outputs {
					if o == v {
						s.Graph.Outputs[i] = w
					}
				}
				fix(s.Graph)
			}
		}
	}
	fix(v.graph)
}

func (v *Value) addUse(n *Node, i int) { v.uses = append(v.uses, Use{n, i}) }

func (v *Value) removeUse(n *Node, i int) {
	for k, u := range v.uses {
		if u.Node == n && u.Index == i {
			v.uses = append(v.uses[:k], v.uses[k+1:]...)
			return
		}
	}
	panic(fmt.Sprintf("graph: use list of %q lacks node %q input %d", v.Name, n.Name(), i))
}

func (v *Value) String() string { return v.Name }
