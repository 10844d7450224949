package quantize

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// TestMLP quantizes a generated MLP (hidden size 1024) in each form and
// checks the file size and the output cosine against the float model.
func TestMLP(t *testing.T) {
	for _, c := range []struct {
		name      string
		opts      modelgen.MLPOptions
		pipeline  string
		maxSize   float64 // of the float file
		minCosine float64
		op        string
		count     int
	}{
		{"int8-dynamic", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize", 0.30, 0.99, "DynamicQuantizeMatMul", 5},
		{"int8-dynamic-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 1024, TransB: true}, "quantize", 0.30, 0.99, "DynamicQuantizeMatMul", 5},
		{"uint8-dynamic-asym", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=uint8,symmetric=false)", 0.30, 0.99, "DynamicQuantizeMatMul", 5},
		{"int8-weight-only", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(mode=weight-only)", 0.30, 0.99, "DequantizeLinear", 5},
		{"int4-matmulnbits", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=int4)", 0.20, 0.98, "MatMulNBits", 5},
		{"int4-matmulnbits-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 1024, TransB: true}, "quantize(type=int4)", 0.20, 0.98, "MatMulNBits", 5},
		{"int4-qdq", modelgen.MLPOptions{Dim: 256, Hidden: 1024, Rank3: true}, "quantize(type=int4,format=qdq)", 0.20, 0.98, "DequantizeLinear", 5},
		{"int4-qdq-gemm", modelgen.MLPOptions{Dim: 256, Hidden: 1024, TransB: true}, "quantize(type=int4,format=qdq)", 0.20, 0.98, "DequantizeLinear", 5},
		{"uint4-asym", modelgen.MLPOptions{Dim: 256, Hidden: 1024}, "quantize(type=uint4,symmetric=false,block=64)", 0.20, 0.98, "MatMulNBits", 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := modelgen.MLP(c.opts)
			q, rep := apply(t, ref, c.pipeline)
			if got := countOps(q)[c.op]; got != c.count {
				t.Errorf("%d %s nodes, want %d (ops %v)", got, c.op, c.count, countOps(q))
			}
			before, after := len(encode(t, ref)), len(encode(t, q))
			ratio := float64(after) / float64(before)
			t.Logf("%s: %d -> %d bytes (%.3f), %d tensors quantized, %d skipped", c.pipeline, before, after, ratio, len(rep.Tensors), len(rep.Skipped))
			if ratio > c.maxSize {
				t.Errorf("quantized file is %.3f of the float one, want <= %.2f", ratio, c.maxSize)
			}
			if rep.BytesAfter >= rep.BytesBefore {
				t.Errorf("report: bytes %d -> %d", rep.BytesBefore, rep.BytesAfter)
			}
			shapes := ort.Shapes{"batch": {8}}
			if c.opts.Rank3 {
				shapes["seq"] = []int64{4}
			}
			cos := cosines(t, ref, q, 4, shapes)
			t.Logf("cosine %.5f", cos[0])
			if cos[0] < c.minCosine {
				t.Errorf("cosine %.5f vs float, want >= %.2f", cos[0], c.minCosine)
			}
		})
	}
}

// TestBiasFolded checks that MatMul+Add(bias) becomes one
// DynamicQuantizeMatMul that keeps the Add's output name, and that the
// old weights are gone.
func TestBiasFolded(t *testing.T) {
	q, rep := apply(t, modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 64, Blocks: 1}), "quantize")
	ops := countOps(q)
	// fc1+Add, fc2+Add fold; the residual Add and the head stay.
	if ops["DynamicQuantizeMatMul"] != 3 || ops["Add"] != 1 || ops["MatMul"] != 0 {
		t.Errorf("ops %v", ops)
	}
	for _, init := range q.GetGraph().GetInitializer() {
		if init.GetDataType() == int32(onnx.TensorProto_FLOAT) && len(init.GetDims()) == 2 {
			t.Errorf("float weight %s %v left behind", init.GetName(), init.GetDims())
		}
	}
	if q.GetGraph().GetOutput()[0].GetName() != "logits" {
		t.Errorf("output renamed to %s", q.GetGraph().GetOutput()[0].GetName())
	}
	found := false
	for _, o := range q.GetOpsetImport() {
		found = found || o.GetDomain() == msDomain && o.GetVersion() == 1
	}
	if !found {
		t.Error("no com.microsoft opset import")
	}
	if len(rep.Tensors) != 3 {
		t.Errorf("%d tensors reported, want 3", len(rep.Tensors))
	}
}

// TestSharedWeight checks that a weight used by two MatMuls is quantized
// once.
func TestSharedWeight(t *testing.T) {
	b := modelgen.NewBuilder("shared")
	f := onnx.TensorProto_FLOAT
	b.Input("x", f, "batch", 64)
	b.Output("y", f, "batch", 64)
	w := b.InitNormal("w", []int64{64, 64}, 0, 0.1)
	h := b.Op("mm1", "MatMul", []string{"x", w})
	b.Node("MatMul", []string{h, w}, []string{"y"})
	ref := b.Model(17)
	for _, pipeline := range []string{"quantize", "quantize(type=int4)", "quantize(type=int4,format=qdq)"} {
		q, rep := apply(t, ref, pipeline)
		if len(rep.Tensors) != 1 || len(q.GetGraph().GetInitializer()) > 3 {
			t.Errorf("%s: %d tensors reported, %d initializers", pipeline, len(rep.Tensors), len(q.GetGraph().GetInitializer()))
		}
		if cos := cosines(t, ref, q, 2, ort.Shapes{"batch": {4}}); cos[0] < 0.98 {
			t.Errorf("%s: cosine %.4f", pipeline, cos[0])
		}
	}
}

// TestWakeWord quantizes openWakeWord's models (MatMul and Gemm layers)
// with INT8 dynamic.
func TestWakeWord(t *testing.T) {
	for _, name := range []string{"hello_deepa.onnx", "namaste_deepa.onnx"} {
		t.Run(name, func(t *testing.T) {
			path := testenv.Model(t, name)
			ref, err := onnx.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			q, rep := apply(t, ref, "quantize")
			if len(rep.Tensors) == 0 {
				t.Fatalf("nothing quantized; skipped: %v", rep.Skipped)
			}
			t.Logf("%d weights quantized, skipped %v, constant bytes %d -> %d", len(rep.Tensors), rep.Skipped, rep.BytesBefore, rep.BytesAfter)
			cos := cosines(t, ref, q, 8, nil)
			for i, c := range cos {
				t.Logf("output %d cosine %.5f", i, c)
				if c < 0.98 {
					t.Errorf("output %d cosine %.5f, want >= 0.98", i, c)
				}
			}
		})
	}
}

// TestTransformerRecognizer quantizes the PP-OCRv4 text recognizer, whose
// SVTR neck is a small transformer (attention and MLP MatMuls), with INT8
// dynamic, and requires cosine >= 0.98 on its per-character class scores.
func TestTransformerRecognizer(t *testing.T) {
	ref, err := onnx.ReadFile(testenv.Model(t, "ppocr-rec.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	q, rep := apply(t, ref, "quantize")
	// 13 MatMuls: 9 with constant weights (QKV, projections, MLP, head),
	// 4 attention products whose both sides are computed at run time.
	if len(rep.Tensors) != 9 {
		t.Fatalf("%d weights quantized, want the transformer's 9 constant-weight MatMuls", len(rep.Tensors))
	}
	for i, c := range cosines(t, ref, q, 2, ort.Shapes{"x": {1, 3, 48, 320}}) {
		t.Logf("output %d cosine %.5f (%d weights quantized)", i, c, len(rep.Tensors))
		if c < 0.98 {
			t.Errorf("output %d cosine %.5f, want >= 0.98", i, c)
		}
	}
}

var _ = graph.ReadFile
