package quantize

import (
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/convertfloat"
)

// half converts a float32 model to float16 with convert-float.
func half(t testing.TB, p *onnx.ModelProto) *onnx.ModelProto {
	t.Helper()
	h, _ := apply(t, p, "convert-float(to=float16)")
	return h
}

// initTypes maps initializer names to their data types.
func initTypes(p *onnx.ModelProto) map[string]int32 {
	m := map[string]int32{}
	for _, t := range p.GetGraph().GetInitializer() {
		m[t.GetName()] = t.GetDataType()
	}
	return m
}

func opsetOf(p *onnx.ModelProto) int64 {
	for _, o := range p.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

func notesMention(rep *passes.PassReport, s string) bool {
	for _, n := range rep.Notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// TestFloat16Forms quantizes float16 models in every 8-bit form and runs
// each result in ONNX Runtime: the float32-only ops get Casts (and the
// report says so), DequantizeLinear gets float16 scales at opset 19.
func TestFloat16Forms(t *testing.T) {
	cnn := half(t, modelgen.CNN(modelgen.CNNOptions{}))
	mlp := half(t, modelgen.MLP(modelgen.MLPOptions{Dim: 64, Hidden: 256}))
	for _, c := range []struct {
		name     string
		model    *onnx.ModelProto
		pipeline string
		ops      map[string]int
		casts    bool  // Casts inserted (and reported)
		opset    int64 // expected default-domain opset afterwards
		halfDQ   bool  // DequantizeLinear scales are float16
	}{
		{"mlp-dynamic", mlp, "quantize", map[string]int{"DynamicQuantizeMatMul": 5}, true, 17, false},
		{"cnn-dynamic", cnn, "quantize", map[string]int{"DynamicQuantizeMatMul": 1, "Conv": 6}, true, 17, false},
		{"cnn-dynamic-conv", cnn, "quantize(dynamic-conv=true)", map[string]int{"ConvInteger": 6, "DynamicQuantizeLinear": 5, "Conv": 0, "BatchNormalization": 0}, true, 17, false},
		{"cnn-dynamic-conv-uint8", cnn, "quantize(dynamic-conv=true,type=uint8)", map[string]int{"ConvInteger": 6, "Conv": 0}, true, 17, false},
		{"cnn-static", cnn, "quantize(mode=static,samples=4)", map[string]int{"Conv": 6, "QuantizeLinear": 13}, false, 19, true},
		{"cnn-weight-only", cnn, "quantize(mode=weight-only)", map[string]int{"DequantizeLinear": 7}, false, 19, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.Runtime(t)
			q, rep := apply(t, c.model, c.pipeline)
			ops := countOps(q)
			for op, want := range c.ops {
				if ops[op] != want {
					t.Errorf("%d %s nodes, want %d (ops %v)", ops[op], op, want, ops)
				}
			}
			if rep.Extra["quantized_nodes"] == 0 {
				t.Fatalf("nothing quantized; skipped %v", rep.Skipped)
			}
			casts, _ := rep.Extra["casts_inserted"].(int)
			if c.casts != (casts > 0) || c.casts != notesMention(rep, "Cast") {
				t.Errorf("casts_inserted %v, notes %q; want casts reported: %v", rep.Extra["casts_inserted"], rep.Notes, c.casts)
			}
			if got := opsetOf(q); got != c.opset {
				t.Errorf("opset %d, want %d", got, c.opset)
			}
			types := initTypes(q)
			for _, n := range q.GetGraph().GetNode() {
				if n.GetOpType() != "DequantizeLinear" || len(n.GetInput()) < 2 {
					continue
				}
				if st, ok := types[n.GetInput()[1]]; ok && c.halfDQ && st != int32(onnx.TensorProto_FLOAT16) {
					t.Errorf("%s: scale %s is %s, want float16", n.GetName(), n.GetInput()[1], onnx.DataTypeName(st))
				}
			}
			shapes := ort.Shapes{"batch": {2}}
			cos := cosines(t, c.model, q, 4, shapes)
			t.Logf("%s: cosine %.5f vs float16; %d casts; notes %q", c.pipeline, cos[0], casts, rep.Notes)
			if cos[0] < 0.98 {
				t.Errorf("cosine %.5f vs float16, want >= 0.98", cos[0])
			}
		})
	}
}
