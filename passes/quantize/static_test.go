package quantize

import (
	"bytes"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// TestStatic quantizes a generated CNN (Conv+BN, residual Adds) and the
// real PP-OCR direction classifier (weights in Constant nodes, opset 9)
// with calibrated QDQ, for each calibration method.
func TestStatic(t *testing.T) {
	testenv.Heavy(t)
	cnn := modelgen.CNN(modelgen.CNNOptions{})
	models := []struct {
		name   string
		model  func(t *testing.T) *onnx.ModelProto
		shapes ort.Shapes
		calib  string
		// minCosine is 0.98 (the target) except where noted.
		minCosine float64
	}{
		{"cnn", func(*testing.T) *onnx.ModelProto { return cnn }, ort.Shapes{"batch": {2}}, "", 0.98},
		{"ppocr-cls", func(t *testing.T) *onnx.ModelProto {
			p, err := onnx.ReadFile(testenv.Model(t, "ppocr-cls.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, ort.Shapes{"x": {1, 3, 48, 192}}, ",shapes=x:1x3x48x192", 0.98},
	}
	for _, mc := range models {
		for _, method := range []string{"minmax", "percentile", "entropy"} {
			t.Run(mc.name+"/"+method, func(t *testing.T) {
				ref := mc.model(t)
				testenv.Runtime(t)
				q, rep := apply(t, ref, "quantize(mode=static,samples=4,method="+method+mc.calib+")")
				ops := countOps(q)
				if ops["QuantizeLinear"] == 0 || ops["DequantizeLinear"] <= ops["QuantizeLinear"] {
					t.Fatalf("ops %v: want Q/DQ pairs", ops)
				}
				if mc.name == "cnn" && ops["BatchNormalization"] != 0 {
					t.Errorf("%d BatchNormalization left; want them folded into the Convs", ops["BatchNormalization"])
				}
				t.Logf("%d nodes quantized; %d skipped; constants %d -> %d bytes; notes %d", rep.Extra["quantized_nodes"], len(rep.Skipped), rep.BytesBefore, rep.BytesAfter, len(rep.Notes))
				cos := cosines(t, ref, q, 4, mc.shapes)
				t.Logf("%s: cosine %.5f", method, cos[0])
				if cos[0] < mc.minCosine {
					t.Errorf("cosine %.5f vs float, want >= %.2f", cos[0], mc.minCosine)
				}
			})
		}
	}
}

// TestStaticRepeatable quantizes PP-OCR-cls (weights in Constant nodes,
// opset raised by the pass, BN folded) twice from one proto, with and
// without an exclusion: each run gives the same bytes, and the proto the
// runs were built from is left as it was.
func TestStaticRepeatable(t *testing.T) {
	ref, err := onnx.ReadFile(testenv.Model(t, "ppocr-cls.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Runtime(t)
	orig := encode(t, ref)
	for _, pipeline := range []string{
		"quantize(mode=static,samples=2,shapes=x:1x3x48x192,exclude=conv2d_5*)",
		"quantize(mode=static,samples=2,shapes=x:1x3x48x192)",
		"quantize(mode=static,samples=2,shapes=x:1x3x48x192,exclude=conv2d_5*)",
	} {
		a, _ := apply(t, ref, pipeline)
		b, _ := apply(t, ref, pipeline)
		if !bytes.Equal(encode(t, a), encode(t, b)) {
			t.Errorf("%s: two runs from one proto differ", pipeline)
		}
		if !bytes.Equal(encode(t, ref), orig) {
			t.Fatalf("%s changed the proto the model was built from", pipeline)
		}
	}
}
