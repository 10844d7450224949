package quantize

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// TestInt4ConvHandComputed quantizes Conv weights that lie exactly on a
// 4-bit grid whose scale differs for every output channel, block of input
// channels and kernel tap, so ONNX Runtime gives the float Conv's output
// only if codes and scales land where the blocked DequantizeLinear
// (axis 1, block_size) reads them. 20 channels per group in blocks of 16
// leave a 4-channel block (padding); group 2 and the depthwise Conv check
// the group handling.
func TestInt4ConvHandComputed(t *testing.T) {
	const block, cg, kh, kw = 16, 20, 3, 3
	for _, c := range []struct {
		name     string
		group, m int
		pipeline string
	}{
		{"int4", 1, 3, "quantize(type=int4,block=16,format=qdq)"},
		{"uint4", 1, 3, "quantize(type=uint4,block=16,format=qdq)"},
		{"groups", 2, 4, "quantize(type=int4,block=16,format=qdq)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := cg * c.group
			w := make([]float32, c.m*cg*kh*kw)
			for o := range c.m {
				for ci := range cg {
					for tap := range kh * kw {
						b := ci / block
						s := float32(0.01 * float64(1+o+2*b+3*tap))
						code := (ci*7+tap*3+o)%15 - 7 // -7..7
						if ci%block == 0 {
							code = -8 // each block's extreme: the scale is s
						}
						w[(o*cg+ci)*kh*kw+tap] = float32(code) * s
					}
				}
			}
			b := modelgen.NewBuilder("conv4")
			f := onnx.TensorProto_FLOAT
			b.Input("x", f, 1, int64(ch), 5, 6)
			b.Output("y", f, 1, int64(c.m), 5, 6)
			b.Output("z", f, 1, int64(c.m), 5, 6)
			b.Init("w", []int64{int64(c.m), cg, kh, kw}, w)
			dw := make([]float32, c.m*kh*kw)
			for i := range dw {
				dw[i] = float32(i%5) * 0.1
			}
			b.Init("dw", []int64{int64(c.m), 1, kh, kw}, dw)
			b.Node("Conv", []string{"x", "w"}, []string{"y"}, modelgen.AttrInts("pads", 1, 1, 1, 1), modelgen.AttrInt("group", int64(c.group)))
			b.Node("Conv", []string{"y", "dw"}, []string{"z"}, modelgen.AttrInts("pads", 1, 1, 1, 1), modelgen.AttrInt("group", int64(c.m)))
			ref := b.Model(17)
			q, rep := apply(t, ref, c.pipeline)
			if n := countOps(q)["DequantizeLinear"]; n != 1 {
				t.Fatalf("%d DequantizeLinear, want 1 (the depthwise Conv stays float)", n)
			}
			if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "depthwise") {
				t.Errorf("skipped %v, want the depthwise Conv", rep.Skipped)
			}
			for _, init := range q.Graph.Initializer {
				if init.GetName() == "w_scale" {
					if got, want := init.Dims, []int64{int64(c.m), 2, kh, kw}; !slices.Equal(got, want) {
						t.Errorf("scales %v, want %v", got, want)
					}
				}
			}
			testenv.Runtime(t)
			in := make([]float32, ch*5*6)
			for i := range in {
				in[i] = float32((i*37)%23-11) / 11
			}
			x := &ort.Tensor{DType: ort.Float32, Shape: []int64{1, int64(ch), 5, 6}, Raw: onnx.Float32sAsBytes(in)}
			want, err := open(t, ref).Run([]ort.Value{x})
			if err != nil {
				t.Fatal(err)
			}
			got, err := open(t, q).Run([]ort.Value{x})
			if err != nil {
				t.Fatalf("ONNX Runtime: %v", err)
			}
			for o := range want {
				wv, gv := floats(t, want[o]), floats(t, got[o])
				for i := range wv {
					if math.Abs(float64(gv[i]-wv[i])) > 1e-4*(1+math.Abs(float64(wv[i]))) {
						t.Fatalf("output %d [%d] = %v, want %v", o, i, gv[i], wv[i])
					}
				}
			}
		})
	}
}

// TestInt4ConvNeedsQDQ: MatMulNBits has no Conv, so the default format
// leaves Conv weights float and says which format has them.
func TestInt4ConvNeedsQDQ(t *testing.T) {
	_, rep := apply(t, modelgen.CNN(modelgen.CNNOptions{}), "quantize(type=int4,ops=Conv)")
	if len(rep.Skipped) == 0 || !strings.Contains(rep.Skipped[0].Reason, "format=qdq") {
		t.Errorf("skipped %v, want Conv weights left float with a pointer to format=qdq", rep.Skipped)
	}
}
