package channels

import (
	"fmt"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// indexSet is a set of indices along one axis of one tensor or value.
type indexSet map[int64]bool

type axisKey struct {
	v    *graph.Value
	axis int
}

// expand maps channels to the indices of s.
func (s Slice) expand(channels []int64, into indexSet) {
	for _, c := range channels {
		for j := int64(0); j < s.Block; j++ {
			into[s.Offset+c*s.Block+j] = true
		}
	}
}

// Remove deletes the given channels (sorted, distinct, within Size) of each
// group from every coupled constant and value: constants are sliced,
// depthwise group attributes and Reshape targets follow, and value_info
// shapes are updated. The groups must come from one Analyze of the model
// as it is now.
func (an *Analysis) Remove(channels map[*Group][]int64) error {
	consts := map[axisKey]indexSet{}
	values := map[axisKey]indexSet{}
	add := func(m map[axisKey]indexSet, k axisKey) indexSet {
		if m[k] == nil {
			m[k] = indexSet{}
		}
		return m[k]
	}
	var groups []*Group
	for g, ch := range channels {
		if len(ch) == 0 {
			continue
		}
		if g.Reason != "" {
			return fmt.Errorf("group %s is left alone (%s) and cannot shrink", g.Name, g.Reason)
		}
		for _, c := range ch {
			if c < 0 || c >= g.Size {
				return fmt.Errorf("group %s: channel %d out of range [0,%d)", g.Name, c, g.Size)
			}
		}
		if int64(len(ch)) >= g.Size {
			return fmt.Errorf("group %s: cannot remove all %d channels", g.Name, g.Size)
		}
		groups = append(groups, g)
		for _, m := range g.Members {
			m.expand(ch, add(consts, axisKey{m.Value, m.Axis}))
		}
		for _, v := range g.Values {
			v.expand(ch, add(values, axisKey{v.Value, v.Axis}))
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })

	// Slice each constant once along all its axes.
	perValue := map[*graph.Value]map[int]indexSet{}
	var order []*graph.Value
	for k, s := range consts {
		if perValue[k.v] == nil {
			perValue[k.v] = map[int]indexSet{}
			order = append(order, k.v)
		}
		perValue[k.v][k.axis] = s
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Name < order[j].Name })
	for _, v := range order {
		if err := sliceConstant(v, perValue[v]); err != nil {
			return err
		}
	}
	for k, s := range values {
		shrinkValueInfo(k.v, k.axis, int64(len(s)))
	}
	for _, g := range groups {
		newSize := g.Size - int64(len(channels[g]))
		for _, n := range uniqueNodes(g.Depthwise) {
			attrs := append([]*onnx.AttributeProto(nil), n.Proto.Attribute...)
			n.Proto.Attribute = attrs
			n.SetAttr(&onnx.AttributeProto{Name: proto.String("group"), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(newSize)})
		}
		done := map[*graph.Node]bool{}
		for _, r := range g.Reshapes {
			if done[r.Node] {
				continue
			}
			done[r.Node] = true
			if err := rewriteReshape(an.Graph, r, int64(len(channels[g]))); err != nil {
				return err
			}
		}
	}
	return nil
}

func uniqueNodes(ns []*graph.Node) []*graph.Node {
	seen := map[*graph.Node]bool{}
	var out []*graph.Node
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// sliceConstant removes the indices in drop[axis] from the float
// constant v, replacing its tensor (the old bytes may be shared). Elements
// are copied as they are stored, so the tensor keeps its type and the bits
// of every element kept.
func sliceConstant(v *graph.Value, drop map[int]indexSet) error {
	t := v.Const()
	if t == nil {
		return fmt.Errorf("%s is no longer a constant", v.Name)
	}
	if !IsFloatParam(t) {
		return fmt.Errorf("constant %s is %s, not float32, float16 or bfloat16", v.Name, onnx.DataTypeName(t.DataType()))
	}
	raw, err := t.Raw()
	if err != nil {
		return fmt.Errorf("constant %s: %w", v.Name, err)
	}
	w := int64(onnx.ElemBits(t.DataType()) / 8)
	dims := t.Dims()
	if n, err := t.Elements(); err != nil || n*w != int64(len(raw)) {
		return fmt.Errorf("constant %s: %d bytes for shape %v", v.Name, len(raw), dims)
	}
	keep := make([][]int64, len(dims))
	newDims := make([]int64, len(dims))
	for ax, d := range dims {
		for i := int64(0); i < d; i++ {
			if !drop[ax][i] {
				keep[ax] = append(keep[ax], i)
			}
		}
		newDims[ax] = int64(len(keep[ax]))
	}
	for ax, s := range drop {
		if ax < 0 || ax >= len(dims) {
			return fmt.Errorf("constant %s: axis %d out of range for shape %v", v.Name, ax, dims)
		}
		for i := range s {
			if i < 0 || i >= dims[ax] {
				return fmt.Errorf("constant %s: index %d out of range on axis %d of shape %v", v.Name, i, ax, dims)
			}
		}
	}
	out := make([]byte, 0, prod(newDims)*w)
	strides := make([]int64, len(dims))
	st := int64(1)
	for ax := len(dims) - 1; ax >= 0; ax-- {
		strides[ax] = st
		st *= dims[ax]
	}
	var rec func(ax int, base int64)
	rec = func(ax int, base int64) {
		if ax == len(dims) {
			out = append(out, raw[base*w:(base+1)*w]...)
			return
		}
		if ax == len(dims)-1 && len(keep[ax]) == int(dims[ax]) {
			out = append(out, raw[base*w:(base+dims[ax])*w]...)
			return
		}
		for _, i := range keep[ax] {
			rec(ax+1, base+i*strides[ax])
		}
	}
	if len(dims) == 0 {
		out = append(out, raw...)
	} else {
		rec(0, 0)
	}
	p := &onnx.TensorProto{Name: proto.String(v.Name), Dims: newDims, DataType: proto.Int32(t.DataType()), DocString: t.Proto.DocString}
	onnx.SetRaw(p, out)
	return ReplaceConstant(v, p)
}

// shrinkValueInfo lowers the recorded size of dimension axis of v by
// removed, when v's descriptor records it; the descriptor is replaced, not
// changed (it may be shared with the proto the model was read from).
func shrinkValueInfo(v *graph.Value, axis int, removed int64) {
	tt := v.Type().GetTensorType()
	if tt == nil || tt.GetShape() == nil || axis >= len(tt.GetShape().GetDim()) {
		return
	}
	d := tt.GetShape().GetDim()[axis]
	x, ok := d.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue)
	if !ok {
		return
	}
	info := proto.Clone(v.Info).(*onnx.ValueInfoProto)
	info.GetType().GetTensorType().GetShape().GetDim()[axis].Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: x.DimValue - removed}
	v.Info = info
}

// rewriteReshape gives r.Node a new shape constant whose entry r.Index is
// smaller by removed channels times the block.
func rewriteReshape(g *graph.Graph, r reshapeEntry, removed int64) error {
	old := r.Node.Input(1)
	c := old.Const()
	if c == nil {
		return fmt.Errorf("%s: shape is no longer a constant", r.Node)
	}
	shape, err := c.Int64s()
	if err != nil {
		return fmt.Errorf("%s: %w", r.Node, err)
	}
	if r.Index >= len(shape) {
		return fmt.Errorf("%s: shape has no entry %d", r.Node, r.Index)
	}
	shape[r.Index] -= removed * r.Block
	raw := make([]byte, 8*len(shape))
	for i, x := range shape {
		for b := 0; b < 8; b++ {
			raw[8*i+b] = byte(uint64(x) >> (8 * b))
		}
	}
	p := &onnx.TensorProto{Dims: []int64{int64(len(shape))}, DataType: proto.Int32(int32(onnx.TensorProto_INT64))}
	onnx.SetRaw(p, raw)
	nv := g.NewInitializer(old.Name+"_pruned", p)
	r.Node.SetInput(1, nv)
	if old.Tensor != nil && len(old.Uses()) == 0 && !old.IsOutput() && !old.IsInput() {
		_ = g.RemoveConstant(old)
	}
	return nil
}
