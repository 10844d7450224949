package quantize

import (
	"math"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/verify"
)

// apply runs the pipeline over a copy of p and returns the result.
func apply(t testing.TB, p *onnx.ModelProto, pipeline string) (*onnx.ModelProto, *passes.PassReport) {
	t.Helper()
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := passes.Parse(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Run(pl, m, passes.RunOptions{})
	if err != nil {
		t.Fatalf("%s: %v", pipeline, err)
	}
	return m.ToProto(), rep.Passes[0]
}

func encode(t testing.TB, p *onnx.ModelProto) []byte {
	t.Helper()
	b, err := onnx.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(t testing.TB, p *onnx.ModelProto) *ort.Session {
	t.Helper()
	s, err := ort.OpenBytes(encode(t, p), ort.Options{Threads: 1})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// evalSeed seeds the random inputs the tests compare outputs on; static
// calibration (calib=random) draws its samples from seed 1, so the
// comparison is on inputs the calibration has not seen.
const evalSeed = 2

// cosines runs ref and cand on the same random samples and returns the
// cosine similarity of each output over all samples.
func cosines(t testing.TB, ref, cand *onnx.ModelProto, samples int, shapes ort.Shapes) []float64 {
	t.Helper()
	diffs := outputDiffs(t, ref, cand, samples, shapes)
	out := make([]float64, len(diffs))
	for i, d := range diffs {
		out[i] = d.Cosine
	}
	return out
}

// outputDiffs runs ref and cand on the same random samples (evalSeed) and
// compares each output over all samples.
func outputDiffs(t testing.TB, ref, cand *onnx.ModelProto, samples int, shapes ort.Shapes) []*verify.Diff {
	t.Helper()
	testenv.Runtime(t)
	rs, cs := open(t, ref), open(t, cand)
	specs := ort.InputSpecs(ref)
	diffs := make([]*verify.Diff, len(rs.Outputs()))
	for i := range diffs {
		diffs[i] = &verify.Diff{Name: rs.Outputs()[i].Name}
	}
	for k := 0; k < samples; k++ {
		in, err := ort.GenerateInputs(specs, shapes, evalSeed, k)
		if err != nil {
			t.Fatal(err)
		}
		ro, err := rs.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		co, err := cs.Run(in)
		if err != nil {
			t.Fatalf("running the quantized model: %v", err)
		}
		for i := range diffs {
			diffs[i].Add(ro[i], co[i], verify.Tolerance{CosineOnly: true})
		}
	}
	return diffs
}

func floats(t testing.TB, v ort.Value) []float32 {
	t.Helper()
	tt, ok := v.(*ort.Tensor)
	if !ok || tt.DType != ort.Float32 {
		t.Fatalf("want a float32 tensor, got %T", v)
	}
	return append([]float32{}, onnx.BytesAsFloat32s(tt.Raw)...)
}

func countOps(p *onnx.ModelProto) map[string]int {
	c := map[string]int{}
	for _, n := range p.GetGraph().GetNode() {
		c[n.GetOpType()]++
	}
	return c
}

// TestINT4HandComputed runs a K=32, N=2 MatMul whose weights are exact
// multiples of their block scale through both 4-bit forms and compares
// with the matmul computed here.
func TestINT4HandComputed(t *testing.T) {
	const k, n, m = 32, 2, 3
	// Symmetric weights: codes -8..7 times the block's scale (the most
	// negative code takes the largest magnitude). Column 0: block 0 at
	// scale 0.1, block 1 at 0.2; column 1 at -0.05 (values -0.35..0.4: the
	// positive extreme gives a negative scale).
	sym := make([]float32, k*n)
	// Asymmetric weights: codes 0..15 around a zero point. Column 0: block
	// 0 (code-5)*0.1, block 1 (code-3)*0.2; column 1 (code-10)*0.05.
	asym := make([]float32, k*n)
	for kk := 0; kk < k; kk++ {
		code := float32(kk%16 - 8)
		ucode := float32(kk % 16)
		if kk < 16 {
			sym[kk*n] = code * 0.1
			asym[kk*n] = (ucode - 5) * 0.1
		} else {
			sym[kk*n] = code * 0.2
			asym[kk*n] = (ucode - 3) * 0.2
		}
		sym[kk*n+1] = -code * 0.05
		asym[kk*n+1] = (ucode - 10) * 0.05
	}
	// Activations exact in int8 too (MatMulNBits at accuracy level 4
	// quantizes them per block of 16): multiples of 1/127 with one ±1 per
	// block.
	a := make([]float32, m*k)
	for i := range a {
		a[i] = float32((i*53)%255-127) / 127
		if i%16 == 0 {
			a[i] = 1
		}
	}
	in := &ort.Tensor{DType: ort.Float32, Shape: []int64{m, k}, Raw: onnx.Float32sAsBytes(a)}
	for _, c := range []struct {
		pipeline, op string
		w            []float32
	}{
		{"quantize(type=int4,block=16)", "MatMulNBits", sym},
		{"quantize(type=int4,block=16,format=qdq)", "DequantizeLinear", sym},
		{"quantize(type=uint4,block=16)", "MatMulNBits", sym},
		{"quantize(type=uint4,block=16,symmetric=false)", "MatMulNBits", asym},
		{"quantize(type=uint4,block=16,symmetric=false,format=qdq)", "DequantizeLinear", asym},
		{"quantize(type=int4,block=16,symmetric=false,format=qdq)", "DequantizeLinear", asym},
	} {
		b := modelgen.NewBuilder("int4")
		f := onnx.TensorProto_FLOAT
		b.Input("a", f, m, k)
		b.Output("y", f, m, n)
		b.Init("w", []int64{k, n}, c.w)
		b.Node("MatMul", []string{"a", "w"}, []string{"y"})
		model := b.Model(17)
		want := make([]float64, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				for kk := 0; kk < k; kk++ {
					want[i*n+j] += float64(a[i*k+kk]) * float64(c.w[kk*n+j])
				}
			}
		}
		q, _ := apply(t, model, c.pipeline)
		if countOps(q)[c.op] != 1 {
			t.Fatalf("%s: ops %v, want one %s", c.pipeline, countOps(q), c.op)
		}
		testenv.Runtime(t)
		out, err := open(t, q).Run([]ort.Value{in})
		if err != nil {
			t.Fatalf("%s: %v", c.pipeline, err)
		}
		got := floats(t, out[0])
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-4 {
				t.Errorf("%s: y[%d] = %v, want %v", c.pipeline, i, got[i], want[i])
			}
		}
	}
}
