package convertfloat_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestLargeConstantsConvertedInPieces: weights larger than one conversion
// piece, converted on several threads, hold exactly the bytes converting
// them whole gives, in every target type.
func TestLargeConstantsConvertedInPieces(t *testing.T) {
	const k, n = 700, 1000 // 700,000 elements: several pieces
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, k*n)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 0.05
	}
	v[k*n-1] = 1e-7 // subnormal in float16, at the very end
	for _, tc := range []struct {
		pipeline string
		to       int32
	}{
		{"convert-float(to=float16)", f16},
		{"convert-float(to=bfloat16,compute=float32)", bf},
	} {
		b := modelgen.NewBuilder("big")
		x := b.Input("x", onnx.TensorProto_FLOAT, 1, k)
		w := b.Init("w", []int64{k, n}, v)
		b.Output(b.Op("mm", "MatMul", []string{x, w}), onnx.TensorProto_FLOAT, 1, n)
		m := passtest.Build(t, b)
		passtest.Run(t, m, tc.pipeline, 3)
		c := m.Graph.Lookup("w").Const()
		if c.DataType() != tc.to {
			t.Fatalf("%s: w is %s", tc.pipeline, onnx.DataTypeName(c.DataType()))
		}
		got, err := c.Raw()
		if err != nil {
			t.Fatal(err)
		}
		want, err := onnx.EncodeFloats(tc.to, v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the converted bytes differ from converting the tensor whole", tc.pipeline)
		}
	}
}
