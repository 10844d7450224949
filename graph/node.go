package graph

import (
	"fmt"

	"github.com/onnxopt/onnxopt/onnx"
)

// OpType returns the node's operator type.
func (n *Node) OpType() string { return n.Proto.GetOpType() }

// Domain returns the node's operator domain ("" is the default ONNX domain).
func (n *Node) Domain() string { return n.Proto.GetDomain() }

// Name returns the node's name (may be empty).
func (n *Node) Name() string { return n.Proto.GetName() }

// Graph returns the graph the node belongs to (nil once removed).
func (n *Node) Graph() *Graph { return n.graph }

// Inputs returns the node's inputs; nil entries are omitted optional
// inputs. The slice must not be modified: use SetInput.
func (n *Node) Inputs() []*Value { return n.inputs }

// Outputs returns the node's outputs; nil entries are omitted optional
// outputs. The slice must not be modified.
func (n *Node) Outputs() []*Value { return n.outputs }

// Input returns input i, or nil when absent.
func (n *Node) Input(i int) *Value {
	if i < 0 || i >= len(n.inputs) {
		return nil
	}
	return n.inputs[i]
}

// Output returns output i, or nil when absent.
func (n *Node) Output(i int) *Value {
	if i < 0 || i >= len(n.outputs) {
		return nil
	}
	return n.outputs[i]
}

// SetInput makes input i of n be v (nil for an omitted optional input),
// extending the input list if needed, and keeps use lists consistent.
func (n *Node) SetInput(i int, v *Value) {
	for len(n.inputs) <= i {
		n.inputs = append(n.inputs, nil)
	}
	if old := n.inputs[i]; old != nil {
		old.removeUse(n, i)
	}
	n.inputs[i] = v
	if v != nil {
		v.addUse(n, i)
	}
}

// AddInput appends an input.
func (n *Node) AddInput(v *Value) { n.SetInput(len(n.inputs), v) }

// TruncateInputs drops inputs from index k on.
func (n *Node) TruncateInputs(k int) {
	for i := len(n.inputs) - 1; i >= k; i-- {
		if v := n.inputs[i]; v != nil {
			v.removeUse(n, i)
		}
	}
	if k < len(n.inputs) {
		n.inputs = n.inputs[:k]
	}
}

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *onnx.AttributeProto {
	for _, a := range n.Proto.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an int attribute, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.GetI()
	}
	return def
}

// AttrFloat returns a float attribute, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil {
		return a.GetF()
	}
	return def
}

// AttrInts returns an ints attribute, or nil when absent.
func (n *Node) AttrInts(name string) []int64 {
	if a := n.Attr(name); a != nil {
		return a.GetInts()
	}
	return nil
}

// AttrString returns a string attribute, or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a := n.Attr(name); a != nil {
		return string(a.GetS())
	}
	return def
}

// SetAttr sets (replacing in place, or appending) an attribute. Graph
// attributes must be set through subgraphs, not here.
func (n *Node) SetAttr(a *onnx.AttributeProto) {
	// The list is replaced, not changed in place: it may be shared with
	// the proto the model was built from.
	attrs := append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
	for i, old := range attrs {
		if old.GetName() == a.GetName() {
			attrs[i] = a
			n.Proto.Attribute = attrs
			n.constTensor = nil
			return
		}
	}
	n.Proto.Attribute = append(attrs, a)
}

// RemoveAttr deletes an attribute if present.
func (n *Node) RemoveAttr(name string) {
	for i, a := range n.Proto.Attribute {
		if a.GetName() == name {
			n.Proto.Attribute = append(n.Proto.Attribute[:i:i], n.Proto.Attribute[i+1:]...)
			for _, s := range n.Subgraphs {
				if s.AttrIndex > i {
					s.AttrIndex--
				}
			}
			return
		}
	}
}

func (n *Node) String() string {
	if n.Name() != "" {
		return fmt.Sprintf("%s (%s)", n.Name(), n.OpType())
	}
	if len(n.outputs) > 0 && n.outputs[0] != nil {
		return fmt.Sprintf("%s producing %s", n.OpType(), n.outputs[0].Name)
	}
	return n.OpType()
}
