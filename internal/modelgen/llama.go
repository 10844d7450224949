package modelgen

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// LlamaOptions configures Llama, a decoder-only transformer. Zero fields
// take the defaults noted (those of the "tiny" preset).
type LlamaOptions struct {
	Vocab        int64 // vocabulary size; default 256
	Hidden       int64 // model width; default 64
	Intermediate int64 // SwiGLU width; default 8/3*Hidden rounded up to a multiple of 64
	Layers       int   // decoder layers; default 2
	Heads        int64 // query heads; default 4
	KVHeads      int64 // key/value heads (grouped-query attention); default Heads
	HeadDim      int64 // width of one head; default Hidden/Heads; must be even
	MaxSeq       int64 // rows of the rotary tables, the longest prompt; default 2048

	// Untied gives the LM head its own [Hidden, Vocab] weight. By default
	// the head reuses the embedding table: one stored tensor feeds both the
	// Gather and a Gemm(transB=1).
	Untied bool

	RopeTheta float64 // rotary base; default 10000
	Eps       float32 // RMSNorm epsilon; default 1e-5
	Seed      int64
	Opset     int64 // default 17
}

// Initial spreads of a Llama's weights, as real initializations use.
const (
	llamaStd     = 0.02 // embedding and linear weights
	llamaNormStd = 0.05 // RMSNorm weights, around 1
	// maxTensorElems bounds one tensor, so that sizes from flags cannot
	// overflow (2^38 float32 values is 1 TiB).
	maxTensorElems = 1 << 38
)

// llamaPresets are the named configurations of LlamaPreset.
var llamaPresets = map[string]LlamaOptions{
	// tiny is for tests: a few hundred thousand weights.
	"tiny": {Vocab: 256, Hidden: 64, Intermediate: 192, Layers: 2, Heads: 4, KVHeads: 2, MaxSeq: 128},
	// 1b is TinyLlama-1.1B's shape (about 1.1e9 weights, 4.4 GB float32).
	"1b": {Vocab: 32000, Hidden: 2048, Intermediate: 5632, Layers: 22, Heads: 32, KVHeads: 4, MaxSeq: 2048},
	// 7b is Llama-2-7B's shape (about 6.7e9 weights, 27 GB float32).
	"7b": {Vocab: 32000, Hidden: 4096, Intermediate: 11008, Layers: 32, Heads: 32, KVHeads: 32, MaxSeq: 4096, Untied: true},
}

// LlamaPresets lists the names LlamaPreset accepts, sorted.
func LlamaPresets() []string {
	names := make([]string, 0, len(llamaPresets))
	for n := range llamaPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LlamaPreset returns the named configuration: "tiny" (vocab 256, hidden
// 64, 2 layers, 4 heads, 2 KV heads; for tests), "1b" (TinyLlama-1.1B's
// shape) or "7b" (Llama-2-7B's: vocab 32000, hidden 4096, intermediate
// 11008, 32 layers, 32 heads and KV heads, untied head).
func LlamaPreset(name string) (LlamaOptions, error) {
	o, ok := llamaPresets[strings.ToLower(name)]
	if !ok {
		return o, badOptions("llama: unknown preset %q (want one of %s)", name, strings.Join(LlamaPresets(), ", "))
	}
	return o, nil
}

// Defaults returns o with its zero fields set to their defaults.
func (o LlamaOptions) Defaults() LlamaOptions {
	o, _ = o.withDefaults()
	return o
}

func (o LlamaOptions) withDefaults() (LlamaOptions, error) {
	if o.Vocab == 0 {
		o.Vocab = 256
	}
	if o.Hidden == 0 {
		o.Hidden = 64
	}
	if o.Intermediate == 0 && o.Hidden > 0 {
		o.Intermediate = (8*o.Hidden/3 + 63) / 64 * 64
	}
	if o.Layers == 0 {
		o.Layers = 2
	}
	if o.Heads == 0 {
		o.Heads = 4
	}
	if o.KVHeads == 0 {
		o.KVHeads = o.Heads
	}
	if o.HeadDim == 0 && o.Heads > 0 && o.Hidden%o.Heads == 0 {
		o.HeadDim = o.Hidden / o.Heads
	}
	if o.MaxSeq == 0 {
		o.MaxSeq = 2048
	}
	if o.RopeTheta == 0 {
		o.RopeTheta = 10000
	}
	if o.Eps == 0 {
		o.Eps = 1e-5
	}
	if o.Opset == 0 {
		o.Opset = 17
	}
	switch {
	case o.Vocab < 1 || o.Hidden < 1 || o.Intermediate < 1 || o.Layers < 0 || o.Heads < 1 || o.KVHeads < 1 || o.MaxSeq < 1:
		return o, badOptions("llama: sizes must be positive: vocab %d, hidden %d, intermediate %d, layers %d, heads %d, kv-heads %d, max-seq %d",
			o.Vocab, o.Hidden, o.Intermediate, o.Layers, o.Heads, o.KVHeads, o.MaxSeq)
	case o.HeadDim == 0:
		return o, badOptions("llama: hidden %d is not a multiple of heads %d; give the head size", o.Hidden, o.Heads)
	case o.HeadDim < 2 || o.HeadDim%2 != 0:
		return o, badOptions("llama: head size %d must be even (rotary embedding rotates its halves)", o.HeadDim)
	case o.Heads%o.KVHeads != 0:
		return o, badOptions("llama: heads %d is not a multiple of kv-heads %d", o.Heads, o.KVHeads)
	case o.RopeTheta <= 1 || math.IsInf(o.RopeTheta, 0) || math.IsNaN(o.RopeTheta):
		return o, badOptions("llama: rotary base %g must be a finite number above 1", o.RopeTheta)
	case !(o.Eps > 0) || math.IsInf(float64(o.Eps), 0):
		return o, badOptions("llama: RMSNorm epsilon %g must be positive", o.Eps)
	case o.Opset < 13:
		return o, badOptions("llama: opset %d is too old; use 13 or later", o.Opset)
	}
	for _, dims := range o.tensorDims() {
		if n, ok := checkedElements(dims); !ok || n > maxTensorElems {
			return o, badOptions("llama: a tensor of dims %v is too large", dims)
		}
	}
	if n := o.paramsFloat(); n > maxTensorElems {
		return o, badOptions("llama: %.3g weights is too many", n)
	}
	return o, nil
}

// tensorDims lists the shapes of the largest tensors of one layer and of
// the model, for the size checks.
func (o LlamaOptions) tensorDims() [][]int64 {
	return [][]int64{
		{o.Vocab, o.Hidden},
		{o.Hidden, o.Heads, o.HeadDim},
		{o.Hidden, o.Intermediate},
		{o.MaxSeq, o.HeadDim},
		{o.Heads, o.MaxSeq, o.MaxSeq}, // attention scores of the longest prompt
	}
}

// checkedElements is the product of dims, and false if it overflows.
func checkedElements(dims []int64) (int64, bool) {
	n := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(n, uint64(d))
		if d < 0 || hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return int64(n), true
}

// Params is the number of learned weights of Llama(o) (the rotary tables
// are not counted).
func (o LlamaOptions) Params() int64 { return int64(o.Defaults().paramsFloat()) }

// paramsFloat counts the weights of options with their defaults set, in
// float64 so that absurd sizes cannot overflow (counts up to 2^53 are
// exact).
func (o LlamaOptions) paramsFloat() float64 {
	H, I, V := float64(o.Hidden), float64(o.Intermediate), float64(o.Vocab)
	q, kv := float64(o.Heads*o.HeadDim), float64(o.KVHeads*o.HeadDim)
	perLayer := H*(q+2*kv) + q*H + 3*H*I + 2*H
	n := float64(o.Layers)*perLayer + V*H + H
	if o.Untied {
		n += H * V
	}
	return n
}

// WeightBytes is the size of Llama(o)'s weights in bytes (float32).
func (o LlamaOptions) WeightBytes() int64 { return 4 * o.Params() }

// Llama returns a decoder-only transformer in the shape of Llama: input
// "input_ids" int64 [batch, seq], output "logits" float32 [batch, seq,
// Vocab], one forward pass over the whole prompt with a causal mask and no
// KV cache. Its graph, in standard ONNX operators only:
//
//	x = Gather(embed_tokens [Vocab, Hidden], input_ids)
//	for each layer:
//	  h = RMSNorm(x)                 Pow, ReduceMean, Add, Sqrt, Div, Mul
//	  q, k, v = h·Wq, h·Wk, h·Wv     MatMul, Reshape, Transpose to [batch, heads, seq, HeadDim]
//	  q, k = rope(q), rope(k)        x*cos + rotate_half(x)*sin, tables sliced to seq
//	  k, v = repeat(k), repeat(v)    Unsqueeze, Expand, Reshape (KVHeads -> Heads)
//	  a = Softmax(q·kᵀ/√HeadDim + causal mask)·v
//	  x = x + a·Wo
//	  h = RMSNorm(x)
//	  x = x + (SiLU(h·Wgate) * (h·Wup))·Wdown     SiLU = g*Sigmoid(g)
//	logits = RMSNorm(x)·embed_tokensᵀ   Gemm(transB=1) on [batch*seq, Hidden]
//	                                    (untied: MatMul by lm_head [Hidden, Vocab])
//
// Linear weights are MatMul right-hand sides [in, out], as torch.onnx
// exports them, named like "layers.0.self_attn.q_proj.weight"; nodes like
// "layers.0/self_attn/q_proj/MatMul". Weights are N(0, 0.02) and RMSNorm
// weights N(1, 0.05); positions are 0..seq-1, derived from the input's
// shape; prompts longer than MaxSeq fail to run. Llama panics if the
// options are invalid (WriteLlama returns the error instead).
func Llama(opts LlamaOptions) *onnx.ModelProto {
	o, err := opts.withDefaults()
	if err != nil {
		panic("modelgen: " + err.Error())
	}
	return buildLlama(o).Model(o.Opset)
}

// WriteLlama writes Llama(opts) to path as WriteMLP does, streaming the
// weights so that memory stays a few megabytes whatever the model's size;
// models over 2 GiB need external.
func WriteLlama(path string, opts LlamaOptions, external bool) error {
	o, err := opts.withDefaults()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeModel(path, buildLlama(o), o.Opset, external)
}

func buildLlama(o LlamaOptions) *Builder {
	b := NewBuilder("llama")
	b.Seed = o.Seed
	l := &llamaBuilder{b: b, o: o}
	ids := b.Input("input_ids", onnx.TensorProto_INT64, "batch", "seq")
	l.constants(ids)

	embed := b.InitNormal("embed_tokens.weight", []int64{o.Vocab, o.Hidden}, 0, llamaStd)
	x := b.Op("embed_tokens/Gather", "Gather", []string{embed, ids})
	for i := range o.Layers {
		x = l.layer(i, x)
	}
	x = l.rmsNorm("norm", x)

	f := onnx.TensorProto_FLOAT
	if o.Untied {
		w := b.InitNormal("lm_head.weight", []int64{o.Hidden, o.Vocab}, 0, llamaStd)
		b.Node("MatMul", []string{x, w}, []string{"logits"}).Name = proto.String("lm_head/MatMul")
	} else {
		// Gemm takes 2-D inputs: flatten [batch, seq, Hidden], multiply by
		// the table's transpose, and give the result its [batch, seq] back.
		flat := b.Op("lm_head/Flatten", "Reshape", []string{x, b.InitInt64("lm_head.flat_shape", []int64{2}, []int64{-1, o.Hidden})})
		y := b.Op("lm_head/Gemm", "Gemm", []string{flat, embed}, AttrInt("transB", 1))
		shape := b.Op("lm_head/OutShape", "Concat", []string{l.idsShape, b.InitInt64("lm_head.vocab", []int64{1}, []int64{o.Vocab})}, AttrInt("axis", 0))
		b.Node("Reshape", []string{y, shape}, []string{"logits"}).Name = proto.String("lm_head/Reshape")
	}
	b.Output("logits", f, "batch", "seq", o.Vocab)
	return b
}
