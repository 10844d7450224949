package quantize

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// Quantizing a model stored in float16 (or bfloat16): weights are read
// with Tensor.Floats whatever their float type, and each integer op gets
// its scales in the type it accepts. DequantizeLinear and QuantizeLinear
// take float16 scales from opset 19 (the opset is raised when the model
// allows it; otherwise scales stay float32 and Casts convert around the
// pair). DynamicQuantizeMatMul, DynamicQuantizeLinear and the rescale
// after ConvInteger are float32 only: Casts are inserted around them.
// Every inserted Cast is counted in the report (casts_inserted) with a
// note saying why.

const (
	tFloat   = int32(onnx.TensorProto_FLOAT)
	tFloat16 = int32(onnx.TensorProto_FLOAT16)
)

// minNormalHalf is the smallest normal float16 magnitude (2^-14).
const minNormalHalf = 6.103515625e-05

// halfScaleOpset is the first opset whose QuantizeLinear and
// DequantizeLinear take float16 scales.
const halfScaleOpset = 19

// floatInitAs adds an initializer holding f stored in the float type dt.
func floatInitAs(g *graph.Graph, name string, dims []int64, f []float32, dt int32) *graph.Value {
	if dt == tFloat {
		return floatInit(g, name, dims, f)
	}
	raw, err := onnx.EncodeFloats(dt, f)
	if err != nil {
		panic("quantize: floatInitAs: " + err.Error()) // dt comes from a float tensor
	}
	return newInit(g, name, dt, dims, raw)
}

// roundTo rounds x to the nearest value of the float type dt.
func roundTo(x float32, dt int32) float32 {
	switch dt {
	case tFloat16:
		return onnx.Float16ToFloat32(onnx.Float32ToFloat16(x))
	case int32(onnx.TensorProto_BFLOAT16):
		return onnx.BFloat16ToFloat32(onnx.Float32ToBFloat16(x))
	}
	return x
}

// storableScale rounds a scale to the type st it is stored in, so that
// codes are computed with the scale the runtime will use. A magnitude the
// type cannot hold (below float16's smallest subnormal) becomes that
// smallest value, with its sign.
func storableScale(s float32, st int32) float32 {
	r := roundTo(s, st)
	if r == 0 && s != 0 && st == tFloat16 {
		r = float32(math.Copysign(float64(onnx.Float16ToFloat32(1)), float64(s)))
	}
	return r
}

// scaleType returns the type the scales of a QuantizeLinear or
// DequantizeLinear working on values of float type dt are stored in: dt
// itself for float32, and for float16 when the model's opset is (or can be
// raised to) 19; float32 otherwise, the values then converted by Casts.
func (q *quantizer) scaleType(dt int32) int32 {
	if dt != tFloat16 {
		return tFloat
	}
	if q.halfScales == 0 {
		q.halfScales = 1
		if err := q.needOpset(halfScaleOpset, "float16 scales of QuantizeLinear/DequantizeLinear"); err != nil {
			q.halfScales = -1
			q.ctx.Note("float16 scales need opset %d, which this model cannot take (%v): scales stay float32 with Casts around the quantized values", halfScaleOpset, err)
		}
	}
	if q.halfScales > 0 {
		return tFloat16
	}
	return tFloat
}

// castTo returns v converted to float type dt for nodes of graph g: v
// itself when it already is, else the output of a Cast (one per value,
// type and graph).
func (q *quantizer) castTo(g *graph.Graph, v *graph.Value, from, dt int32, why string) *graph.Value {
	if v == nil || from == dt {
		return v
	}
	key := cacheKey{v, fmt.Sprintf("cast/%d/%p", dt, g)}
	if c := q.cache[key]; c != nil {
		return c
	}
	n := g.NewNode("Cast", v.Name+"/Cast", []*graph.Value{v}, []string{v.Name + "_" + onnx.DataTypeName(dt)}, attrInt("to", int64(dt)))
	q.cache[key] = n.Output(0)
	q.noteCast(why)
	return n.Output(0)
}

// castAfter makes y, an output now computed in float32, a float32
// intermediate: a Cast to dt takes over y's name, its uses and its place
// among the graph outputs, so the rest of the model sees what it saw.
func (q *quantizer) castAfter(y *graph.Value, dt int32, why string) error {
	g := y.Graph()
	name := y.Name
	uses := append([]graph.Use(nil), y.Uses()...)
	if err := g.RenameValue(y, g.Model.UniqueName(name+"_float32")); err != nil {
		return err
	}
	c := g.NewNode("Cast", name+"/Cast", []*graph.Value{y}, []string{name + "_cast"}, attrInt("to", int64(dt)))
	w := c.Output(0)
	if err := g.RenameValue(w, name); err != nil {
		return err
	}
	for _, u := range uses {
		u.Node.SetInput(u.Index, w)
	}
	for gg := g; gg != nil; gg = gg.Parent {
		for i, o := range gg.Outputs {
			if o == y {
				gg.Outputs[i] = w
			}
		}
	}
	if y.Info != nil {
		w.Info, y.Info = y.Info, nil
	}
	q.noteCast(why)
	return nil
}

// noteCast counts an inserted Cast under its reason.
func (q *quantizer) noteCast(why string) {
	q.casts++
	if q.castWhy == nil {
		q.castWhy = map[string]int{}
	}
	if q.castWhy[why] == 0 {
		q.castOrder = append(q.castOrder, why)
	}
	q.castWhy[why]++
}

// reportCasts writes the inserted Casts into the report.
func (q *quantizer) reportCasts() {
	if q.casts == 0 {
		return
	}
	q.ctx.Set("casts_inserted", q.casts)
	for _, why := range q.castOrder {
		q.ctx.Note("inserted %d Cast(s): %s", q.castWhy[why], why)
	}
}

// dequantize adds DequantizeLinear(codes, scale, zp) whose result has
// float type dt. The scale is stored in st (scaleType(dt), already
// rounded to it by the caller); when st is not dt a Cast to dt follows.
// It returns the result and the scale's value.
func (q *quantizer) dequantize(g *graph.Graph, base string, codes, zp *graph.Value, scale []float32, sdims []int64, st, dt int32, attrs ...*onnx.AttributeProto) (*graph.Value, *graph.Value) {
	sv := floatInitAs(g, base+"_scale", sdims, scale, st)
	dq := g.NewNode("DequantizeLinear", base+"/DequantizeLinear", []*graph.Value{codes, sv, zp}, []string{base + "_dequantized"}, attrs...)
	return q.castTo(g, dq.Output(0), st, dt, "DequantizeLinear gives float32 below opset 19; Cast to the model's float type"), sv
}
