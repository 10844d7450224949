package quantize

import (
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// TestInt4BFloat16 quantizes a bfloat16 MatMul (between Casts from and to
// float32 inputs and outputs) to MatMulNBits: ONNX Runtime's CPU kernel
// takes float32 or float16 only, so the scales are float32 and Casts
// (reported) bring the activations to float32 and the result back to
// bfloat16. The result runs in ONNX Runtime (the bfloat16 MatMul it
// replaces has no CPU kernel) and stays close to the float32 model.
// format=qdq keeps the bfloat16 MatMul, which the CPU cannot run either.
func TestInt4BFloat16(t *testing.T) {
	build := func(bf bool) *onnx.ModelProto {
		b := modelgen.NewBuilder("bf16")
		f := onnx.TensorProto_FLOAT
		b.Input("x", f, 4, 64)
		w := b.InitNormal("w", []int64{64, 32}, 0, 0.1)
		x := "x"
		if bf {
			x = b.Op("in", "Cast", []string{"x"}, modelgen.AttrInt("to", int64(onnx.TensorProto_BFLOAT16)))
		}
		y := b.Op("mm", "MatMul", []string{x, w})
		if bf {
			y = b.Op("out", "Cast", []string{y}, modelgen.AttrInt("to", int64(f)))
		}
		b.Node("Identity", []string{y}, []string{"y"})
		b.Output("y", f, 4, 32)
		p := b.Model(17)
		if bf {
			init := p.GetGraph().GetInitializer()[0]
			data := init.GetFloatData()
			if len(data) == 0 {
				data = onnx.BytesAsFloat32s(init.GetRawData())
			}
			raw, err := onnx.EncodeFloats(int32(onnx.TensorProto_BFLOAT16), data)
			if err != nil {
				t.Fatal(err)
			}
			dt := int32(onnx.TensorProto_BFLOAT16)
			init.DataType, init.RawData, init.FloatData = &dt, raw, nil
		}
		return p
	}
	ref, bf := build(false), build(true)
	for _, c := range []struct{ pipeline, op string }{
		{"quantize(type=int4,block=32)", "MatMulNBits"},
	} {
		q, rep := apply(t, bf, c.pipeline)
		if countOps(q)[c.op] != 1 {
			t.Fatalf("%s: ops %v; skipped %v", c.pipeline, countOps(q), rep.Skipped)
		}
		casts, _ := rep.Extra["casts_inserted"].(int)
		if casts == 0 || !notesMention(rep, "Cast") {
			t.Errorf("%s: casts_inserted %v, notes %q: want the Casts reported", c.pipeline, rep.Extra["casts_inserted"], rep.Notes)
		}
		for name, st := range initTypes(q) {
			if st == int32(onnx.TensorProto_BFLOAT16) {
				t.Errorf("%s: initializer %s is still bfloat16", c.pipeline, name)
			}
		}
		cos := cosines(t, ref, q, 4, nil)
		t.Logf("%s: %d Casts inserted, cosine %.5f vs float32", c.pipeline, casts, cos[0])
		if cos[0] < 0.98 {
			t.Errorf("%s: cosine %.5f vs float32, want >= 0.98", c.pipeline, cos[0])
		}
	}
}
