package inspect

import (
	"strconv"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// QuantizedLayer is a node that reads an integer weight with scales: a
// DequantizeLinear of a constant, or com.microsoft MatMulNBits,
// GatherBlockQuantized, DynamicQuantizeMatMul, or ConvInteger.
type QuantizedLayer struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Weight string `json:"weight"`
	// Shape is the float weight the integers stand for (MatMulNBits:
	// [K, N]; GatherBlockQuantized: the table with its codes unpacked).
	Shape         []int64 `json:"shape"`
	DType         string  `json:"dtype"` // of the codes: int8, uint8, uint4, ...
	Bits          int     `json:"bits"`
	Block         int64   `json:"block,omitempty"`
	ScaleDType    string  `json:"scale_dtype,omitempty"`
	AccuracyLevel *int64  `json:"accuracy_level,omitempty"`
	// Bytes counts the weight, its scales and zero points.
	Bytes int64 `json:"bytes"`
	// aux names the constant scales and zero points (not parameters).
	aux []string
}

// quantizedLayer describes n when it reads a constant integer weight.
func quantizedLayer(n *graph.Node) *QuantizedLayer {
	op := n.OpType()
	ms := n.Domain() == "com.microsoft"
	var w, s, z *graph.Value
	switch {
	case op == "DequantizeLinear" && n.Domain() == "":
		w, s, z = n.Input(0), n.Input(1), n.Input(2)
	case op == "MatMulNBits" && ms, op == "DynamicQuantizeMatMul" && ms:
		w, s, z = n.Input(1), n.Input(2), n.Input(3)
	case op == "GatherBlockQuantized" && ms:
		w, s, z = n.Input(0), n.Input(2), n.Input(3)
		if p, _ := w.Producer(); w != nil && p != nil && p.OpType() == "Reshape" {
			w = p.Input(0) // a packed MatMulNBits B viewed as 2-D rows
		}
	case op == "ConvInteger" && n.Domain() == "":
		w, z = n.Input(1), n.Input(3)
	default:
		return nil
	}
	if w == nil || w.Const() == nil || onnx.IsFloat(w.Const().DataType()) {
		return nil
	}
	t := w.Const()
	l := &QuantizedLayer{Node: n.Name(), Op: op, Weight: w.Name, Shape: nonNil(t.Dims()), DType: onnx.DataTypeName(t.DataType()),
		Bits: onnx.ElemBits(t.DataType()), Bytes: t.Bytes()}
	if ms {
		l.Op = "com.microsoft." + op
	}
	for _, v := range []*graph.Value{s, z} {
		if v != nil && v.Const() != nil {
			l.Bytes += v.Const().Bytes()
			l.aux = append(l.aux, v.Name)
		}
	}
	if s != nil && s.Const() != nil {
		l.ScaleDType = onnx.DataTypeName(s.Const().DataType())
	}
	l.Block = n.AttrInt("block_size", 0)
	switch op {
	case "MatMulNBits":
		l.Bits = int(n.AttrInt("bits", 4))
		l.DType = "uint" + strconv.Itoa(l.Bits)
		l.Shape = []int64{n.AttrInt("K", 0), n.AttrInt("N", 0)}
		if a := n.Attr("accuracy_level"); a != nil {
			v := a.GetI()
			l.AccuracyLevel = &v
		}
	case "GatherBlockQuantized":
		if t.DataType() == int32(onnx.TensorProto_UINT8) {
			l.Bits = int(n.AttrInt("bits", 4))
			l.DType = "uint" + strconv.Itoa(l.Bits)
			// Rows of bits-bit codes packed along the last axis, as
			// [vocab, hidden*bits/8] or MatMulNBits' [N, blocks, bytes].
			if e, err := t.Elements(); err == nil && len(l.Shape) > 0 && l.Shape[0] > 0 && l.Bits > 0 {
				l.Shape = []int64{l.Shape[0], e / l.Shape[0] * int64(8/l.Bits)}
			}
		}
	}
	return l
}
