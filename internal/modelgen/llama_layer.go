package modelgen

import (
	"fmt"
	"math"
	"strings"
)

// llamaBuilder adds a Llama's layers to b, sharing the values every layer
// uses (the rotary tables sliced to the prompt, the causal mask, shapes and
// scalars), which constants creates once.
type llamaBuilder struct {
	b *Builder
	o LlamaOptions

	idsShape        string // Shape(input_ids): [batch, seq]
	cos, sin        string // [seq, HeadDim]
	mask            string // [seq, seq]: 0 on and below the diagonal, lowest float32 above
	two, eps        string // float scalars of RMSNorm
	scale           string // 1/√HeadDim
	meanAxes        string // ReduceMean's axes input (opset 18 on)
	qShape, kvShape string // Reshape targets [0, 0, heads, HeadDim]
	ctxShape        string // Reshape target [0, 0, Heads*HeadDim]
	repShape        string // Expand target [1, 1, Heads/KVHeads, 1, 1]
	headsShape      string // Reshape target [0, Heads, -1, HeadDim]
	halfLo, halfHi  string // Slice starts and ends of the head's halves
	axis3, axis0    string // Slice and Unsqueeze axes
	axis1, axis2    string
	zero            string // int64 [0]
}

// constants adds the values shared by all layers, derived from ids.
func (l *llamaBuilder) constants(ids string) {
	b, o := l.b, l.o
	i64 := func(name string, v ...int64) string { return b.InitInt64(name, []int64{int64(len(v))}, v) }
	scalar := func(name string, v float32) string { return b.Init(name, nil, []float32{v}) }

	l.idsShape = b.Op("shape/Shape", "Shape", []string{ids})
	l.axis0, l.axis1, l.axis2, l.axis3 = i64("const.axis0", 0), i64("const.axis1", 1), i64("const.axis2", 2), i64("const.axis3", 3)
	seq := b.Op("shape/SeqLen", "Slice", []string{l.idsShape, l.axis1, i64("const.two", 2), l.axis0}) // [1]

	// Rotary tables, one row per position, sliced to the prompt.
	cos, sin := ropeTables(o.MaxSeq, o.HeadDim, o.RopeTheta)
	dims := []int64{o.MaxSeq, o.HeadDim}
	l.zero = i64("const.zero", 0)
	l.cos = b.Op("rope/SliceCos", "Slice", []string{b.Init("rope.cos", dims, cos), l.zero, seq, l.axis0})
	l.sin = b.Op("rope/SliceSin", "Slice", []string{b.Init("rope.sin", dims, sin), l.zero, seq, l.axis0})

	// Causal mask: position j is hidden from position i when j > i.
	pos := b.Op("mask/Range", "Range", []string{
		b.InitInt64("mask.start", nil, []int64{0}),
		b.Op("mask/SeqLen", "Squeeze", []string{seq, l.axis0}),
		b.InitInt64("mask.delta", nil, []int64{1}),
	})
	rows := b.Op("mask/Rows", "Unsqueeze", []string{pos, l.axis1})
	cols := b.Op("mask/Cols", "Unsqueeze", []string{pos, l.axis0})
	future := b.Op("mask/Greater", "Greater", []string{cols, rows})
	l.mask = b.Op("mask/Where", "Where", []string{future, scalar("mask.hidden", -math.MaxFloat32), scalar("mask.visible", 0)})

	l.two, l.eps = scalar("norm.two", 2), scalar("norm.eps", o.Eps)
	l.scale = scalar("attn.scale", float32(1/math.Sqrt(float64(o.HeadDim))))
	if o.Opset >= 18 {
		l.meanAxes = i64("norm.axes", -1)
	}
	l.qShape = i64("attn.q_shape", 0, 0, o.Heads, o.HeadDim)
	l.kvShape = i64("attn.kv_shape", 0, 0, o.KVHeads, o.HeadDim)
	l.ctxShape = i64("attn.ctx_shape", 0, 0, o.Heads*o.HeadDim)
	if rep := o.Heads / o.KVHeads; rep > 1 {
		l.repShape = i64("attn.repeat", 1, 1, rep, 1, 1)
		l.headsShape = i64("attn.heads_shape", 0, o.Heads, -1, o.HeadDim)
	}
	l.halfLo, l.halfHi = i64("rope.half", o.HeadDim/2), i64("rope.end", o.HeadDim)
}

// ropeTables returns the rotary embedding's cos and sin tables [maxSeq,
// headDim]: entry (p, i) is of angle p·theta^(-2(i mod headDim/2)/headDim),
// the two halves of a row alike, as rotate-half expects.
func ropeTables(maxSeq, headDim int64, theta float64) (cos, sin []float32) {
	cos = make([]float32, maxSeq*headDim)
	sin = make([]float32, maxSeq*headDim)
	half := headDim / 2
	for p := range maxSeq {
		for i := range headDim {
			freq := math.Pow(theta, -float64(2*(i%half))/float64(headDim))
			s, c := math.Sincos(float64(p) * freq)
			cos[p*headDim+i], sin[p*headDim+i] = float32(c), float32(s)
		}
	}
	return cos, sin
}

// layer adds decoder layer i on the residual stream x and returns the new
// stream.
func (l *llamaBuilder) layer(i int, x string) string {
	p := fmt.Sprintf("layers.%d", i)
	h := l.rmsNorm(p+"/input_layernorm", x)
	x = l.b.Op(p+"/attn_residual/Add", "Add", []string{x, l.attention(p+"/self_attn", h)})
	h = l.rmsNorm(p+"/post_attention_layernorm", x)
	return l.b.Op(p+"/mlp_residual/Add", "Add", []string{x, l.mlp(p+"/mlp", h)})
}

// rmsNorm adds x / sqrt(mean(x²) + eps) * weight over the last axis.
func (l *llamaBuilder) rmsNorm(scope, x string) string {
	b := l.b
	sq := b.Op(scope+"/Pow", "Pow", []string{x, l.two})
	var mean string
	if l.meanAxes != "" {
		mean = b.Op(scope+"/ReduceMean", "ReduceMean", []string{sq, l.meanAxes}, AttrInt("keepdims", 1))
	} else {
		mean = b.Op(scope+"/ReduceMean", "ReduceMean", []string{sq}, AttrInts("axes", -1), AttrInt("keepdims", 1))
	}
	rms := b.Op(scope+"/Sqrt", "Sqrt", []string{b.Op(scope+"/Add", "Add", []string{mean, l.eps})})
	y := b.Op(scope+"/Div", "Div", []string{x, rms})
	w := b.InitNormal(paramName(scope)+".weight", []int64{l.o.Hidden}, 1, llamaNormStd)
	return b.Op(scope+"/Mul", "Mul", []string{y, w})
}

// attention adds grouped-query self-attention with rotary positions and a
// causal mask on h [batch, seq, Hidden], returning [batch, seq, Hidden].
func (l *llamaBuilder) attention(scope, h string) string {
	b, o := l.b, l.o
	q, kv := o.Heads*o.HeadDim, o.KVHeads*o.HeadDim
	query := l.splitHeads(scope+"/q", linear(b, scope+"/q_proj", h, o.Hidden, q, llamaStd, false, false), l.qShape)
	key := l.splitHeads(scope+"/k", linear(b, scope+"/k_proj", h, o.Hidden, kv, llamaStd, false, false), l.kvShape)
	value := l.splitHeads(scope+"/v", linear(b, scope+"/v_proj", h, o.Hidden, kv, llamaStd, false, false), l.kvShape)
	query, key = l.rope(scope+"/q_rope", query), l.rope(scope+"/k_rope", key)
	key, value = l.repeatKV(scope+"/k_repeat", key), l.repeatKV(scope+"/v_repeat", value)

	keyT := b.Op(scope+"/k/TransposeT", "Transpose", []string{key}, AttrInts("perm", 0, 1, 3, 2))
	scores := b.Op(scope+"/scores/MatMul", "MatMul", []string{query, keyT})
	scores = b.Op(scope+"/scores/Mul", "Mul", []string{scores, l.scale})
	scores = b.Op(scope+"/scores/Mask", "Add", []string{scores, l.mask})
	probs := b.Op(scope+"/Softmax", "Softmax", []string{scores}, AttrInt("axis", -1))
	ctx := b.Op(scope+"/context/MatMul", "MatMul", []string{probs, value})
	ctx = b.Op(scope+"/context/Transpose", "Transpose", []string{ctx}, AttrInts("perm", 0, 2, 1, 3))
	ctx = b.Op(scope+"/context/Reshape", "Reshape", []string{ctx, l.ctxShape})
	return linear(b, scope+"/o_proj", ctx, q, o.Hidden, llamaStd, false, false)
}

// splitHeads reshapes [batch, seq, heads*HeadDim] by shape [0, 0, heads,
// HeadDim] and returns it as [batch, heads, seq, HeadDim].
func (l *llamaBuilder) splitHeads(scope, x, shape string) string {
	x = l.b.Op(scope+"/Reshape", "Reshape", []string{x, shape})
	return l.b.Op(scope+"/Transpose", "Transpose", []string{x}, AttrInts("perm", 0, 2, 1, 3))
}

// rope rotates x [batch, heads, seq, HeadDim] by its positions:
// x*cos + rotate_half(x)*sin, where rotate_half(x) = [-x₂, x₁] for the
// halves x₁, x₂ of the last axis.
func (l *llamaBuilder) rope(scope, x string) string {
	b := l.b
	x1 := b.Op(scope+"/SliceLo", "Slice", []string{x, l.zero, l.halfLo, l.axis3})
	x2 := b.Op(scope+"/SliceHi", "Slice", []string{x, l.halfLo, l.halfHi, l.axis3})
	rot := b.Op(scope+"/Concat", "Concat", []string{b.Op(scope+"/Neg", "Neg", []string{x2}), x1}, AttrInt("axis", -1))
	return b.Op(scope+"/Add", "Add", []string{
		b.Op(scope+"/MulCos", "Mul", []string{x, l.cos}),
		b.Op(scope+"/MulSin", "Mul", []string{rot, l.sin}),
	})
}

// repeatKV repeats each of the KVHeads heads of x [batch, KVHeads, seq,
// HeadDim] Heads/KVHeads times in a row, giving [batch, Heads, seq,
// HeadDim]; query head h attends with key/value head h/(Heads/KVHeads).
func (l *llamaBuilder) repeatKV(scope, x string) string {
	if l.repShape == "" {
		return x
	}
	b := l.b
	x = b.Op(scope+"/Unsqueeze", "Unsqueeze", []string{x, l.axis2})
	x = b.Op(scope+"/Expand", "Expand", []string{x, l.repShape})
	return b.Op(scope+"/Reshape", "Reshape", []string{x, l.headsShape})
}

// mlp adds the SwiGLU feed-forward block down(SiLU(gate(h)) * up(h)).
func (l *llamaBuilder) mlp(scope, h string) string {
	b, o := l.b, l.o
	gate := linear(b, scope+"/gate_proj", h, o.Hidden, o.Intermediate, llamaStd, false, false)
	up := linear(b, scope+"/up_proj", h, o.Hidden, o.Intermediate, llamaStd, false, false)
	silu := b.Op(scope+"/act/Mul", "Mul", []string{gate, b.Op(scope+"/act/Sigmoid", "Sigmoid", []string{gate})})
	return linear(b, scope+"/down_proj", b.Op(scope+"/Mul", "Mul", []string{silu, up}), o.Intermediate, o.Hidden, llamaStd, false, false)
}

// paramName turns a node scope into a parameter prefix, as linear does:
// "layers.0/mlp/up_proj" -> "layers.0.mlp.up_proj".
func paramName(scope string) string { return strings.ReplaceAll(scope, "/", ".") }
