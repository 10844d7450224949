package calib_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes/calib"
)

func randMatrix(rng *rand.Rand, rows, cols int) calib.Matrix {
	m := calib.Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for i := range m.Data {
		if rng.IntN(5) > 0 { // some exact zeros (dead features)
			m.Data[i] = float32(rng.NormFloat64())
		}
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*(1+math.Abs(b)) }

// TestAccumulators adds three batches and compares L2, Mean and Gram with
// sums over every row computed directly.
func TestAccumulators(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 7
	var l2 calib.L2
	var mean calib.Mean
	var gram calib.Gram
	var all [][]float32
	for _, rows := range []int{5, 1, 12} {
		x := randMatrix(rng, rows, n)
		for _, acc := range []calib.Accumulator{&l2, &mean, &gram} {
			if err := acc.Add(x); err != nil {
				t.Fatal(err)
			}
		}
		for r := 0; r < rows; r++ {
			all = append(all, x.Row(r))
		}
	}
	if l2.Samples() != 18 || mean.Samples() != 18 || gram.Samples() != 18 || gram.Features() != n {
		t.Fatalf("rows counted %d %d %d, features %d", l2.Samples(), mean.Samples(), gram.Samples(), gram.Features())
	}
	h := gram.Hessian()
	norms, means := l2.Norms(), mean.Means()
	for i := 0; i < n; i++ {
		var sq, sum float64
		for _, row := range all {
			sq += float64(row[i]) * float64(row[i])
			sum += float64(row[i])
		}
		if !near(norms[i], math.Sqrt(sq)) || !near(means[i], sum/18) {
			t.Errorf("feature %d: norm %g mean %g, want %g %g", i, norms[i], means[i], math.Sqrt(sq), sum/18)
		}
		if !near(h.ColumnNorms()[i], math.Sqrt(sq)) || !near(h.Mean()[i], sum/18) {
			t.Errorf("feature %d: the Hessian's norm %g mean %g, want %g %g", i, h.ColumnNorms()[i], h.Mean()[i], math.Sqrt(sq), sum/18)
		}
		for j := 0; j < n; j++ {
			var dot float64
			for _, row := range all {
				dot += float64(row[i]) * float64(row[j])
			}
			if !near(h.At(i, j), 2*dot/18) {
				t.Errorf("H[%d,%d] = %g, want 2/18·XᵀX = %g", i, j, h.At(i, j), 2*dot/18)
			}
		}
	}
	for _, acc := range []calib.Accumulator{&l2, &mean, &gram} {
		if err := acc.Add(randMatrix(rng, 2, n+1)); err == nil {
			t.Errorf("%T: a batch with another feature count was accepted", acc)
		}
		if err := acc.Add(calib.Matrix{Rows: 3, Cols: n, Data: make([]float32, n)}); err == nil {
			t.Errorf("%T: a matrix with too little data was accepted", acc)
		}
		bad := randMatrix(rng, 1, n)
		bad.Data[2] = float32(math.NaN())
		if err := acc.Add(bad); err == nil || !strings.Contains(err.Error(), "feature 2 is NaN") {
			t.Errorf("%T: a NaN activation: %v", acc, err)
		}
	}
	if l2.Samples() != 18 || gram.Samples() != 18 {
		t.Errorf("refused batches were counted: %d, %d rows", l2.Samples(), gram.Samples())
	}
	var empty calib.L2
	if empty.Norms() != nil || empty.Samples() != 0 || (&calib.Gram{}).Hessian() != nil {
		t.Error("an empty accumulator reports statistics")
	}
}

func TestRows(t *testing.T) {
	x := &ort.Tensor{DType: ort.Float32, Shape: []int64{2, 3, 4}, Raw: make([]byte, 96)}
	if m, err := calib.Rows(x); err != nil || m.Rows != 6 || m.Cols != 4 || len(m.Data) != 24 {
		t.Errorf("Rows([2 3 4]) = %d×%d, %v", m.Rows, m.Cols, err)
	}
	if _, err := calib.Rows(&ort.Tensor{DType: ort.Int64, Shape: []int64{2}, Raw: make([]byte, 16)}); err == nil {
		t.Error("an int64 tensor was viewed as float32")
	}
	if _, err := calib.Rows(&ort.Tensor{DType: ort.Float32, Shape: []int64{3}, Raw: make([]byte, 4)}); err == nil {
		t.Error("a tensor with too little data was viewed")
	}
}

// TestIm2Col checks that, per group, Im2Col times the flattened weight is
// the convolution computed directly, for strides, dilations, pads,
// auto_pad, groups and a 1-D convolution.
func TestIm2Col(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name    string
		shape   []int64 // N, C, (H,) W
		m       int     // output channels
		conv    calib.Conv
		outH, W int
	}{
		{"plain", []int64{2, 3, 5, 6}, 4, calib.Conv{Group: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}, 3, 4},
		{"pads-strides", []int64{1, 2, 7, 5}, 2, calib.Conv{Group: 1, KH: 3, KW: 2, StrideH: 2, StrideW: 1, DilationH: 1, DilationW: 2, Pads: [4]int{1, 0, 2, 1}}, 4, 4},
		{"groups-same", []int64{1, 4, 5, 5}, 4, calib.Conv{Group: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, AutoPad: "SAME_UPPER"}, 3, 3},
		{"depthwise", []int64{2, 3, 4, 4}, 3, calib.Conv{Group: 3, KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, AutoPad: "SAME_LOWER"}, 4, 4},
		{"1-D", []int64{2, 2, 9}, 3, calib.Conv{Group: 1, KH: 1, KW: 3, StrideH: 1, StrideW: 2, DilationH: 1, DilationW: 1, Pads: [4]int{0, 1, 0, 1}}, 1, 5},
	} {
		n, ch := int(c.shape[0]), int(c.shape[1])
		h, w := 1, int(c.shape[len(c.shape)-1])
		if len(c.shape) == 4 {
			h = int(c.shape[2])
		}
		x := make([]float32, n*ch*h*w)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		cg, mg := ch/c.conv.Group, c.m/c.conv.Group
		wt := make([]float32, c.m*cg*c.conv.KH*c.conv.KW) // [M, C/g, KH, KW]
		for i := range wt {
			wt[i] = float32(rng.NormFloat64())
		}
		cols, err := calib.Im2Col(floats(c.shape, x...), c.conv)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pt, pl := c.conv.Pads[0], c.conv.Pads[1]
		if c.conv.AutoPad != "" {
			// Worked out by hand: SAME_UPPER 5→3 (k3 s2) pads 1+1,
			// SAME_LOWER 4→4 (k2 s1) pads 1+0; both put 1 before.
			pt, pl = 1, 1
		}
		if len(cols) != c.conv.Group || cols[0].Rows != n*c.outH*c.W || cols[0].Cols != cg*c.conv.KH*c.conv.KW {
			t.Fatalf("%s: %d groups of %d×%d, want %d of %d×%d", c.name, len(cols), cols[0].Rows, cols[0].Cols,
				c.conv.Group, n*c.outH*c.W, cg*c.conv.KH*c.conv.KW)
		}
		for g := 0; g < c.conv.Group; g++ {
			for oc := g * mg; oc < (g+1)*mg; oc++ {
				wrow := wt[oc*cols[g].Cols : (oc+1)*cols[g].Cols]
				for b := 0; b < n; b++ {
					for y := 0; y < c.outH; y++ {
						for xo := 0; xo < c.W; xo++ {
							var direct, viaCols float64
							for cc := 0; cc < cg; cc++ {
								for i := 0; i < c.conv.KH; i++ {
									for j := 0; j < c.conv.KW; j++ {
										iy, ix := y*c.conv.StrideH-pt+i*c.conv.DilationH, xo*c.conv.StrideW-pl+j*c.conv.DilationW
										if iy >= 0 && iy < h && ix >= 0 && ix < w {
											direct += float64(x[((b*ch+g*cg+cc)*h+iy)*w+ix]) * float64(wt[((oc*cg+cc)*c.conv.KH+i)*c.conv.KW+j])
										}
									}
								}
							}
							for k, v := range cols[g].Row((b*c.outH+y)*c.W + xo) {
								viaCols += float64(v) * float64(wrow[k])
							}
							if math.Abs(direct-viaCols) > 1e-4 {
								t.Fatalf("%s: output [%d,%d,%d,%d] = %g by im2col, %g directly", c.name, b, oc, y, xo, viaCols, direct)
							}
						}
					}
				}
			}
		}
	}
	if _, err := calib.Im2Col(floats([]int64{1, 3, 2, 2}, make([]float32, 12)...), calib.Conv{Group: 2, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}); err == nil {
		t.Error("3 channels were split into 2 groups")
	}
}

func TestParseShape(t *testing.T) {
	for _, s := range []string{"x=1x3x8", "x:1x3x8"} {
		if name, dims, err := calib.ParseShape(s); err != nil || name != "x" || !slices.Equal(dims, []int64{1, 3, 8}) {
			t.Errorf("ParseShape(%q) = %q %v %v", s, name, dims, err)
		}
	}
	if name, _, err := calib.ParseShape("input:0=2"); err != nil || name != "input:0" {
		t.Errorf("a name holding ':' in the = form: %q %v", name, err)
	}
	if name, _, err := calib.ParseShape("onnx::x:2"); err != nil || name != "onnx::x" {
		t.Errorf("a name holding ':' in the : form: %q %v", name, err)
	}
	if _, dims, err := calib.ParseShape("batch:0"); err != nil || dims[0] != 0 {
		t.Errorf("a zero size is refused (verify --shape takes it): %v", err)
	}
	for _, bad := range []string{"x", "x:", ":4", "x:1xq", "x=-1"} {
		if _, _, err := calib.ParseShape(bad); err == nil {
			t.Errorf("ParseShape(%q) accepted", bad)
		}
	}
}

func TestCheckUnsized(t *testing.T) {
	specs := ort.InputSpecs(mlpProto(""))
	if err := (calib.Config{Source: calib.Random}).Check(specs); err != nil {
		t.Errorf("an unsized batch alone was refused: %v", err)
	}
	err := (calib.Config{Source: calib.Random, Shapes: ort.Shapes{"z": {1}}}).Check(specs)
	if err == nil || !strings.Contains(err.Error(), `"z"`) {
		t.Errorf("a shape for no input: %v", err)
	}
}
