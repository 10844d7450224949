package graph

import (
	"fmt"
	"io"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
)

// Dump writes a stable, readable text form of g (and its subgraphs) for
// golden tests and debugging: one line per input, constant and node.
func (g *Graph) Dump(w io.Writer) { g.dump(w, "") }

// DumpString returns Dump's text.
func (g *Graph) DumpString() string {
	var b strings.Builder
	g.Dump(&b)
	return b.String()
}

func (g *Graph) dump(w io.Writer, indent string) {
	fmt.Fprintf(w, "%sgraph %q\n", indent, g.Proto.GetName())
	for _, v := range g.Inputs {
		fmt.Fprintf(w, "%s  input %s: %s\n", indent, v.Name, typeString(v))
	}
	for _, v := range g.Initializers {
		fmt.Fprintf(w, "%s  const %s: %s%v\n", indent, v.Name, onnx.DataTypeName(v.Tensor.DataType()), v.Tensor.Dims())
	}
	for _, v := range g.SparseInitializers {
		fmt.Fprintf(w, "%s  sparse %s: %s%v nnz=%d\n", indent, v.Name, onnx.DataTypeName(v.Sparse.GetValues().GetDataType()), v.Sparse.GetDims(), firstDim(v.Sparse.GetValues()))
	}
	for _, n := range g.Nodes {
		var outs, ins []string
		for _, v := range n.outputs {
			outs = append(outs, valueName(v))
		}
		for _, v := range n.inputs {
			ins = append(ins, valueName(v))
		}
		op := n.OpType()
		if n.Domain() != "" {
			op = n.Domain() + "." + op
		}
		fmt.Fprintf(w, "%s  %s = %s(%s)%s\n", indent, strings.Join(outs, ", "), op, strings.Join(ins, ", "), attrString(n))
		for _, s := range n.Subgraphs {
			s.Graph.dump(w, indent+"    ")
		}
	}
	var outs []string
	for _, v := range g.Outputs {
		outs = append(outs, valueName(v))
	}
	fmt.Fprintf(w, "%s  return %s\n", indent, strings.Join(outs, ", "))
}

func firstDim(t *onnx.TensorProto) int64 {
	if d := t.GetDims(); len(d) > 0 {
		return d[0]
	}
	return 0
}

func valueName(v *Value) string {
	if v == nil {
		return "_"
	}
	return "%" + v.Name
}

func typeString(v *Value) string {
	dims, ok := v.Shape()
	s := onnx.DataTypeName(v.ElemType())
	if ok {
		s += fmt.Sprint(dims)
	}
	return s
}

func attrString(n *Node) string {
	var parts []string
	for _, a := range n.Proto.Attribute {
		var val string
		switch a.GetType() {
		case onnx.AttributeProto_FLOAT:
			val = fmt.Sprint(a.GetF())
		case onnx.AttributeProto_INT:
			val = fmt.Sprint(a.GetI())
		case onnx.AttributeProto_STRING:
			val = fmt.Sprintf("%q", a.GetS())
		case onnx.AttributeProto_INTS:
			val = fmt.Sprint(a.GetInts())
		case onnx.AttributeProto_FLOATS:
			val = fmt.Sprint(a.GetFloats())
		case onnx.AttributeProto_TENSOR:
			val = fmt.Sprintf("tensor %s%v", onnx.DataTypeName(a.GetT().GetDataType()), a.GetT().GetDims())
		case onnx.AttributeProto_GRAPH, onnx.AttributeProto_GRAPHS:
			val = "graph"
		default:
			val = "…"
		}
		parts = append(parts, a.GetName()+"="+val)
	}
	if len(parts) == 0 {
		return ""
	}
	return " {" + strings.Join(parts, ", ") + "}"
}
