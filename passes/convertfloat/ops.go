package convertfloat

import "strings"

// The op tables. An op computes in float16 (or bfloat16) only when it is
// in that type's kernel list and not blocked; every other op keeps its
// float32 inputs and outputs, with Casts around it.

// float16Ops are the default-domain ops that ONNX Runtime 1.30's CPU
// provider runs with float16 inputs (measured: each loaded and ran as a
// one-node opset-17 model with float16 inputs; the real-model tests in
// ort_test.go run the result).
var float16Ops = set(`Abs Acos Acosh Add ArgMax ArgMin Asin Asinh Atan Atanh AveragePool
	BatchNormalization Cast Ceil Clip Concat ConstantOfShape Conv ConvTranspose Cos Cosh
	DepthToSpace Div Dropout Einsum Elu Equal Erf Exp Expand Flatten Floor Gather
	GatherElements Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual
	GridSample GroupNormalization HardSigmoid HardSwish Hardmax Identity InstanceNormalization
	IsNaN LRN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax LpNormalization
	MatMul MaxPool Mean MeanVarianceNormalization Mod Mul Neg NonZero OneHot PRelu Pad Pow
	Reciprocal ReduceL1 ReduceMax ReduceMean ReduceMin ReduceSum Relu Reshape Round
	ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax Softplus Softsign
	SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile Transpose Trilu
	Unsqueeze Where`)

// bfloat16Ops are those it runs with bfloat16 inputs (few: data movement
// and LayerNormalization).
var bfloat16Ops = set(`Cast Clip Concat Flatten Gather GatherElements Identity
	LayerNormalization Reshape ScatterND Shape Sign Slice Split Squeeze Transpose Unsqueeze`)

// blocked are ops kept in float32 even where a kernel exists, because a
// 16-bit float would overflow or change the result; the list follows
// onnxconverter-common's float16 converter and Olive's OnnxFloatToFloat16,
// plus reductions of squares and products.
var blocked = map[string]string{
	"Resize":                "scales and coordinates must stay exact",
	"Upsample":              "scales must stay exact",
	"RoiAlign":              "box coordinates must stay exact",
	"Range":                 "computes shapes and indices",
	"NonMaxSuppression":     "box coordinates and scores must stay exact",
	"TopK":                  "ranking is sensitive to ties after rounding",
	"CumSum":                "running sums overflow float16",
	"Min":                   "kept as onnxconverter-common does",
	"Max":                   "kept as onnxconverter-common does",
	"ReduceProd":            "products overflow float16",
	"ReduceSumSquare":       "sums of squares overflow float16",
	"ReduceL2":              "sums of squares overflow float16",
	"ReduceLogSumExp":       "exponentials overflow float16",
	"RandomNormal":          "random generators stay float32",
	"RandomUniform":         "random generators stay float32",
	"RandomNormalLike":      "random generators stay float32",
	"RandomUniformLike":     "random generators stay float32",
	"Multinomial":           "random generators stay float32",
	"Bernoulli":             "random generators stay float32",
	"EyeLike":               "kept as onnxconverter-common does",
	"QuantizeLinear":        "quantization scales stay float32",
	"DequantizeLinear":      "quantization scales stay float32",
	"DynamicQuantizeLinear": "quantization scales stay float32",
}

// outputActivations are cheap element-wise ops that, when they compute a
// graph output with keep-io, stay in float32: a sigmoid of 1e-7 has few
// bits left in float16, and the op costs little.
var outputActivations = set("Sigmoid Softmax LogSoftmax Tanh Exp Softplus HardSigmoid")

// anyInput are ops whose inputs may be of any type: they never need a
// Cast in front (Shape and Size read only the shape; Cast converts).
var anyInput = set("Cast Shape Size")

// keepInputs are input slots that keep their type when the op converts
// (Dropout's ratio is a separate type parameter).
var keepInputs = map[string][]int{"Dropout": {1}}

// keepOutputs are output slots that keep their type (LayerNormalization's
// mean and inverse standard deviation are float32 whatever X is).
var keepOutputs = map[string][]int{"LayerNormalization": {1, 2}}

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

func slotIn(slots []int, i int) bool {
	for _, s := range slots {
		if s == i {
			return true
		}
	}
	return false
}
