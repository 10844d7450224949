package oneshot_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// convModel writes a model of one Conv (8 input channels in groups,
// 3x3 kernel, padding 1) whose output is the graph output, so that the
// output error is the layer's reconstruction error.
func convModel(t *testing.T, group int64) string {
	t.Helper()
	b := modelgen.NewBuilder("conv")
	b.Seed = 5
	f := onnx.TensorProto_FLOAT
	x := b.Input("x", f, 1, 8, 12, 12)
	// A fixed 1x1 mixing with planted outlier channels makes the
	// target's input channels correlated and of uneven scale.
	mix := make([]float32, 64)
	for i := range 8 {
		for j := range 8 {
			mix[i*8+j] = float32((i*5+j*3)%7-3) / 4
		}
		mix[i*8+i] += 2
		if i%4 == 0 {
			for j := range 8 {
				mix[i*8+j] *= 10
			}
		}
	}
	x = b.Op("mix", "Conv", []string{x, b.Init("mix", []int64{8, 8, 1, 1}, mix)})
	w := b.InitNormal("w", []int64{16, 8 / group, 3, 3}, 0, 0.3)
	y := b.Op("conv", "Conv", []string{x, w}, modelgen.AttrInts("pads", 1, 1, 1, 1), modelgen.AttrInt("group", group))
	b.Output(y, f, 1, 16, 12, 12)
	path := filepath.Join(t.TempDir(), "conv.onnx")
	if err := onnx.WriteFile(path, b.Model(17), onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConvLayerError: on a Conv whose output is the model's output (so
// the output error is the layer's reconstruction error) and whose input
// has correlated channels of uneven scale, Wanda's and SparseGPT's
// held-out error is at most half of magnitude pruning's, at 50% and at
// 2:4, grouped convolution included; the 2:4 results are exactly 2:4
// along the input channels (the layout Matrix's column groups).
func TestConvLayerError(t *testing.T) {
	runtime(t)
	for _, group := range []int64{1, 2} {
		t.Run(fmt.Sprintf("group=%d", group), func(t *testing.T) {
			orig := convModel(t, group)
			shapes := ort.Shapes{}
			err := map[string]float64{}
			for _, pat := range []string{"prune(sparsity=0.5%s)", "nm(%s)"} {
				for _, method := range []string{"magnitude", "wanda", "sparsegpt", "sparsegpt,target=layer"} {
					opt := ",include=w,method=" + method
					if method != "magnitude" {
						opt += ",samples=4"
					}
					if pat[0] == 'n' {
						opt = opt[1:]
					}
					p := fmt.Sprintf(pat, opt)
					out, _ := compress(t, orig, p)
					err[p] = relL2(t, orig, out, shapes, 8)
					if pat[0] == 'n' {
						m, e := graph.ReadFile(out)
						if e != nil {
							t.Fatal(e)
						}
						checkNM(t, m, "w", 2, 4)
					}
				}
			}
			t.Logf("%v", err)
			for _, pat := range []string{"prune(sparsity=0.5,include=w,method=%s,samples=4)", "nm(include=w,method=%s,samples=4)"} {
				base := err[strings.Replace(fmt.Sprintf(pat, "magnitude"), ",samples=4", "", 1)]
				for _, method := range []string{"wanda", "sparsegpt", "sparsegpt,target=layer"} {
					p := fmt.Sprintf(pat, method)
					if !(err[p] <= base/2) {
						t.Errorf("%s: rel L2 %.4g > half of magnitude's %.4g", p, err[p], base)
					}
				}
			}
		})
	}
}

// TestDepthwiseLayerMask: on a depthwise conv (group 8: 16 output
// channels, each a row of 9 taps over one input channel, two of which
// carry the planted large activations), mask=layer ranks the channels
// together: at sparsity 4/9 exactly 64 of the layer's 144 weights go
// with either mask, channels losing different counts with mask=layer,
// and the held-out error is below the per-row mask's (every channel
// losing 4 of its 9 taps), for Wanda and SparseGPT.
func TestDepthwiseLayerMask(t *testing.T) {
	runtime(t)
	orig := convModel(t, 8)
	for _, method := range []string{"wanda", "sparsegpt"} {
		errs := map[string]float64{}
		for _, mask := range []string{"row", "layer"} {
			out, _ := compress(t, orig, "prune(sparsity=0.4444,include=w,samples=4,method="+method+",mask="+mask+")")
			errs[mask] = relL2(t, orig, out, ort.Shapes{}, 8)
			m, err := graph.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			w := passtest.Values(t, m, "w")
			total, counts := 0, map[int]bool{}
			for c := range 16 {
				z := 0
				for _, v := range w[c*9 : (c+1)*9] {
					if v == 0 {
						z++
					}
				}
				total += z
				counts[z] = true
			}
			if total != 64 {
				t.Errorf("%s mask=%s: %d of 144 weights zero, want 64", method, mask, total)
			}
			if mask == "layer" && len(counts) < 3 {
				t.Errorf("%s mask=layer: channels lost %v taps, want different counts", method, counts)
			}
		}
		t.Logf("%s: held-out rel L2 per row %.4f, per layer %.4f", method, errs["row"], errs["layer"])
		if !(errs["layer"] < errs["row"]) {
			t.Errorf("%s: mask=layer error %.4f is not below mask=row's %.4f", method, errs["layer"], errs["row"])
		}
	}
}
