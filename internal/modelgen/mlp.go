package modelgen

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/onnx"
)

// MLPOptions configures MLP. Zero fields take the defaults noted.
type MLPOptions struct {
	Dim     int64 // model width; default 256
	Hidden  int64 // width inside each block; default 4*Dim
	Blocks  int   // residual blocks; default 2
	Classes int64 // outputs of the final projection; default 10
	Seed    int64
	Opset   int64 // default 17

	// Rank3 makes the input [batch, seq, Dim] instead of [batch, Dim].
	Rank3 bool
	// LayerNorm adds a LayerNormalization before each block (opset >= 17).
	LayerNorm bool
	// TransB writes each linear layer as Gemm(transB=1) with the weight in
	// [out, in] layout instead of MatMul+Add (2-D input only).
	TransB bool
	// Outliers plants that many high-variance features in the input of
	// every linear layer, as large language models have (there a
	// LayerNorm's scale makes them): the input of each fc1, fc2 and the
	// head is multiplied by a constant vector that is OutlierScale on
	// features 0, n/Outliers, 2·n/Outliers, … (of n) and 1 elsewhere, so
	// weight magnitudes no longer tell which weights matter (the structure
	// calibrated pruning finds and magnitude misses). The residual stream
	// itself is not scaled.
	Outliers int
	// OutlierScale is the planted features' scale; default 20.
	OutlierScale float64
}

// Initial spreads of the generated values.
const (
	biasStd  = 0.02 // biases and LayerNorm shifts
	scaleStd = 0.05 // LayerNorm and BatchNormalization scales around 1
)

// Defaults returns o with its zero fields set to their defaults.
func (o MLPOptions) Defaults() MLPOptions {
	o, _ = o.withDefaults()
	return o
}

// withDefaults fills in zero fields and checks the result.
func (o MLPOptions) withDefaults() (MLPOptions, error) {
	if o.Dim == 0 {
		o.Dim = 256
	}
	if o.Hidden == 0 {
		o.Hidden = 4 * o.Dim
	}
	if o.Blocks == 0 {
		o.Blocks = 2
	}
	if o.Classes == 0 {
		o.Classes = 10
	}
	if o.Opset == 0 {
		o.Opset = 17
	}
	if o.Outliers > 0 && o.OutlierScale == 0 {
		o.OutlierScale = 20
	}
	switch {
	case o.Dim < 0 || o.Hidden < 0 || o.Blocks < 0 || o.Classes < 0:
		return o, badOptions("mlp: negative size in %+v", o)
	case o.LayerNorm && o.Opset < 17:
		return o, badOptions("mlp: LayerNormalization needs opset 17 or later, not %d", o.Opset)
	case o.TransB && o.Rank3:
		return o, badOptions("mlp: TransB (Gemm) needs 2-D activations; it cannot be combined with Rank3")
	case o.Outliers < 0 || int64(o.Outliers) > o.Dim:
		return o, badOptions("mlp: %d outlier features for width %d", o.Outliers, o.Dim)
	case o.Opset < 13:
		return o, badOptions("mlp: opset %d is too old; use 13 or later", o.Opset)
	}
	return o, nil
}

// WeightBytes is the size of all initializers of MLP(o), in bytes.
func (o MLPOptions) WeightBytes() int64 {
	o = o.Defaults()
	perBlock := 2*o.Dim*o.Hidden + o.Hidden + o.Dim
	if o.LayerNorm {
		perBlock += 2 * o.Dim
	}
	n := int64(o.Blocks)*perBlock + o.Dim*o.Classes
	if o.Outliers > 0 {
		n += o.Dim + int64(o.Blocks)*(o.Dim+o.Hidden)
	}
	return 4 * n
}

// MLP returns a transformer-like stack of residual MLP blocks:
//
//	x -> MatMul(W1 [Dim,Hidden]) -> Add(b1) -> Relu -> MatMul(W2 [Hidden,Dim]) -> Add(b2) -> Add(x)
//
// followed by a MatMul to Classes outputs. The graph input is "input"
// ([batch, Dim] or [batch, seq, Dim]), the output "logits". Nodes are named
// like "block0/fc1/MatMul", weights like "block0.fc1.weight".
//
// Weights are Gaussian with Kaiming's std sqrt(2/fan_in); the second layer
// of each block is further scaled by 1/sqrt(2*Blocks), as GPT-2 does, so that
// activations stay near unit scale however deep the stack. MLP panics if
// the options are invalid (WriteMLP returns the error instead).
func MLP(opts MLPOptions) *onnx.ModelProto {
	o, err := opts.withDefaults()
	if err != nil {
		panic("modelgen: " + err.Error())
	}
	return buildMLP(o).Model(o.Opset)
}

func buildMLP(o MLPOptions) *Builder {
	b := NewBuilder("mlp")
	b.Seed = o.Seed
	f := onnx.TensorProto_FLOAT
	batch := []any{"batch"}
	if o.Rank3 {
		batch = append(batch, "seq")
	}
	x := b.Input("input", f, append(batch, o.Dim)...)
	residualStd := 1 / math.Sqrt(2*float64(o.Blocks))
	for i := range o.Blocks {
		p := fmt.Sprintf("block%d", i)
		h := x
		if o.LayerNorm {
			scale := b.InitNormal(p+".norm.weight", []int64{o.Dim}, 1, scaleStd)
			shift := b.InitNormal(p+".norm.bias", []int64{o.Dim}, 0, biasStd)
			h = b.Op(p+"/norm/LayerNormalization", "LayerNormalization", []string{h, scale, shift},
				AttrInt("axis", -1), AttrFloat("epsilon", 1e-5))
		}
		h = plantOutliers(b, p+"/fc1/outliers", h, o.Dim, o)
		h = linear(b, p+"/fc1", h, o.Dim, o.Hidden, kaiming(o.Dim), true, o.TransB)
		h = b.Op(p+"/act/Relu", "Relu", []string{h})
		h = plantOutliers(b, p+"/fc2/outliers", h, o.Hidden, o)
		h = linear(b, p+"/fc2", h, o.Hidden, o.Dim, kaiming(o.Hidden)*residualStd, true, o.TransB)
		x = b.Op(p+"/Add", "Add", []string{x, h})
	}
	x = plantOutliers(b, "head/outliers", x, o.Dim, o)
	linear(b, "head", x, o.Dim, o.Classes, kaiming(o.Dim), false, o.TransB)
	b.nodes[len(b.nodes)-1].Output[0] = "logits"
	b.Output("logits", f, append(batch, o.Classes)...)
	return b
}

// plantOutliers multiplies x, of width dim, by a constant vector that is
// o.OutlierScale on o.Outliers evenly spaced features and 1 elsewhere; with
// no outliers it returns x.
func plantOutliers(b *Builder, scope, x string, dim int64, o MLPOptions) string {
	if o.Outliers <= 0 {
		return x
	}
	scale := make([]float32, dim)
	for i := range scale {
		scale[i] = 1
	}
	for k := range int64(o.Outliers) {
		scale[k*dim/int64(o.Outliers)] = float32(o.OutlierScale)
	}
	return b.Op(scope+"/Mul", "Mul", []string{x, b.Init(paramName(scope)+".scale", []int64{dim}, scale)})
}

// linear adds x·W (+ bias) under scope and returns its output: MatMul (+Add)
// with W in [in, out] layout, or Gemm(transB=1) with W in [out, in] layout.
// Parameters are named after scope with dots: "block0/fc1" ->
// "block0.fc1.weight".
func linear(b *Builder, scope, x string, in, out int64, std float64, bias, gemm bool) string {
	param := paramName(scope)
	if gemm {
		inputs := []string{x, b.InitNormal(param+".weight", []int64{out, in}, 0, float32(std))}
		if bias {
			inputs = append(inputs, b.InitNormal(param+".bias", []int64{out}, 0, biasStd))
		}
		return b.Op(scope+"/Gemm", "Gemm", inputs, AttrInt("transB", 1))
	}
	w := b.InitNormal(param+".weight", []int64{in, out}, 0, float32(std))
	y := b.Op(scope+"/MatMul", "MatMul", []string{x, w})
	if bias {
		y = b.Op(scope+"/Add", "Add", []string{y, b.InitNormal(param+".bias", []int64{out}, 0, biasStd)})
	}
	return y
}

// kaiming is He initialization's standard deviation for fanIn inputs.
func kaiming(fanIn int64) float64 { return math.Sqrt(2 / float64(fanIn)) }

// ErrBadOptions is matched (errors.Is) by the errors about invalid options
// that WriteMLP and WriteCNN return.
var ErrBadOptions = errors.New("modelgen: bad options")

type optionsError string

func (e optionsError) Error() string        { return string(e) }
func (e optionsError) Is(target error) bool { return target == ErrBadOptions }

func badOptions(format string, args ...any) error {
	return optionsError(fmt.Sprintf(format, args...))
}
