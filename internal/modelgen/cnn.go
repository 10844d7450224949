package modelgen

import (
	"fmt"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
)

// CNNOptions configures CNN. Zero fields take the defaults noted.
type CNNOptions struct {
	Channels int64 // width of the stem; default 16
	Stages   int   // residual blocks; default 2
	Height   int64 // input height; default 32
	Width    int64 // input width; default 32
	Classes  int64 // default 10
	Seed     int64
	Opset    int64 // default 17

	// Depthwise adds a MobileNet-style block: a depthwise 3x3 Conv
	// (group = channels) and a pointwise 1x1 Conv, each with BN and Relu.
	Depthwise bool
	// Concat adds two branches (1x1 and 3x3 Conv+BN+Relu, half the channels
	// each) joined by a Concat on the channel axis.
	Concat bool
}

// Defaults returns o with its zero fields set to their defaults.
func (o CNNOptions) Defaults() CNNOptions {
	o, _ = o.withDefaults()
	return o
}

func (o CNNOptions) withDefaults() (CNNOptions, error) {
	if o.Channels == 0 {
		o.Channels = 16
	}
	if o.Stages == 0 {
		o.Stages = 2
	}
	if o.Height == 0 {
		o.Height = 32
	}
	if o.Width == 0 {
		o.Width = 32
	}
	if o.Classes == 0 {
		o.Classes = 10
	}
	if o.Opset == 0 {
		o.Opset = 17
	}
	switch {
	case o.Channels < 2 || o.Stages < 0 || o.Height < 0 || o.Width < 0 || o.Classes < 0:
		return o, badOptions("cnn: bad sizes in %+v (channels must be at least 2)", o)
	case o.Opset < 13:
		return o, badOptions("cnn: opset %d is too old; use 13 or later", o.Opset)
	}
	return o, nil
}

// CNN returns a small ResNet-like network on input "input" [batch, 3, H, W]:
// a stem Conv(3x3)+BatchNormalization+Relu, Stages residual blocks
// (Conv+BN+Relu+Conv+BN, Add of the shortcut, Relu) of which the last has
// stride 2, twice the channels and a 1x1 Conv+BN projection on the shortcut,
// the optional Depthwise and Concat blocks, then GlobalAveragePool, Flatten
// and Gemm(transB=1) to "logits" [batch, Classes].
//
// Nodes are named like "block0/conv1/Conv", parameters like
// "block0.conv1.weight" and "block0.bn1.running_var". Conv weights are
// Kaiming-scaled; BN scales and variances are about 1, shifts and means
// about 0. CNN panics if the options are invalid (WriteCNN returns the error
// instead).
func CNN(opts CNNOptions) *onnx.ModelProto {
	o, err := opts.withDefaults()
	if err != nil {
		panic("modelgen: " + err.Error())
	}
	return buildCNN(o).Model(o.Opset)
}

func buildCNN(o CNNOptions) *Builder {
	b := NewBuilder("cnn")
	b.Seed = o.Seed
	f := onnx.TensorProto_FLOAT
	x := b.Input("input", f, "batch", 3, o.Height, o.Width)
	ch := o.Channels
	x = relu(b, "stem/relu", convBN(b, "stem/conv", "stem/bn", x, 3, ch, 3, 1, 1))
	for i := range o.Stages {
		p := fmt.Sprintf("block%d", i)
		stride, out := int64(1), ch
		if i == o.Stages-1 {
			stride, out = 2, 2*ch
		}
		h := relu(b, p+"/relu1", convBN(b, p+"/conv1", p+"/bn1", x, ch, out, 3, stride, 1))
		h = convBN(b, p+"/conv2", p+"/bn2", h, out, out, 3, 1, 1)
		shortcut := x
		if stride != 1 || out != ch {
			shortcut = convBN(b, p+"/downsample/conv", p+"/downsample/bn", x, ch, out, 1, stride, 1)
		}
		x = relu(b, p+"/relu2", b.Op(p+"/Add", "Add", []string{h, shortcut}))
		ch = out
	}
	if o.Depthwise {
		x = relu(b, "dw/relu1", convBN(b, "dw/conv_dw", "dw/bn_dw", x, ch, ch, 3, 1, ch))
		x = relu(b, "dw/relu2", convBN(b, "dw/conv_pw", "dw/bn_pw", x, ch, ch, 1, 1, 1))
	}
	if o.Concat {
		half := ch / 2
		left := relu(b, "mix/branch1/relu", convBN(b, "mix/branch1/conv", "mix/branch1/bn", x, ch, half, 1, 1, 1))
		right := relu(b, "mix/branch2/relu", convBN(b, "mix/branch2/conv", "mix/branch2/bn", x, ch, ch-half, 3, 1, 1))
		x = b.Op("mix/Concat", "Concat", []string{left, right}, AttrInt("axis", 1))
	}
	x = b.Op("head/GlobalAveragePool", "GlobalAveragePool", []string{x})
	x = b.Op("head/Flatten", "Flatten", []string{x}, AttrInt("axis", 1))
	linear(b, "head/fc", x, ch, o.Classes, kaiming(ch), true, true)
	b.nodes[len(b.nodes)-1].Output[0] = "logits"
	b.Output("logits", f, "batch", o.Classes)
	return b
}

// convBN adds Conv (k x k, no bias, "same" padding) and BatchNormalization
// and returns the BN output.
func convBN(b *Builder, conv, bn, x string, in, out, k, stride, group int64) string {
	cp := strings.ReplaceAll(conv, "/", ".")
	w := b.InitNormal(cp+".weight", []int64{out, in / group, k, k}, 0, float32(kaiming(in/group*k*k)))
	attrs := []*onnx.AttributeProto{
		AttrInts("kernel_shape", k, k),
		AttrInts("pads", k/2, k/2, k/2, k/2),
		AttrInts("strides", stride, stride),
	}
	if group != 1 {
		attrs = append(attrs, AttrInt("group", group))
	}
	y := b.Op(conv+"/Conv", "Conv", []string{x, w}, attrs...)

	bp := strings.ReplaceAll(bn, "/", ".")
	dims := []int64{out}
	scale := b.InitNormal(bp+".weight", dims, 1, scaleStd)
	shift := b.InitNormal(bp+".bias", dims, 0, biasStd)
	mean := b.InitNormal(bp+".running_mean", dims, 0, 0.1)
	variance := b.initAbsNormal(bp+".running_var", dims, 1, 0.1)
	return b.Op(bn+"/BatchNormalization", "BatchNormalization", []string{y, scale, shift, mean, variance},
		AttrFloat("epsilon", 1e-5))
}

func relu(b *Builder, name, x string) string { return b.Op(name, "Relu", []string{x}) }
