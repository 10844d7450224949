package quantize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// BenchmarkConvForms times the forms a float16 conv net can be quantized
// to (modelgen CNN, 64 channels, 64x64 input, batch 1), against the
// float16 and float32 models and the ORT quantize_dynamic pattern, in one
// interleaved verify.Bench run (1 intra-op thread). Each form's median is
// reported in ms and as a ratio of the float16 model's
// (go test -run XXX -bench ConvForms -benchtime 1x ./passes/quantize).
func BenchmarkConvForms(b *testing.B) {
	testenv.Runtime(b)
	f32 := modelgen.CNN(modelgen.CNNOptions{Channels: 64, Height: 64, Width: 64})
	f16 := half(b, f32)
	forms := []struct {
		name  string
		model *onnx.ModelProto
	}{
		{"float16", f16},
		{"float32", f32},
		{"f16-dynamic-conv", must(apply(b, f16, "quantize(dynamic-conv=true)"))},
		{"f16-static", must(apply(b, f16, "quantize(mode=static,samples=8)"))},
		{"f16-ort-peer-int8", ortDynamicPeer(b, f16, "int8")},
		{"f16-ort-peer-uint8", ortDynamicPeer(b, f16, "uint8")},
		{"f32-dynamic-conv", must(apply(b, f32, "quantize(dynamic-conv=true)"))},
		{"f32-static", must(apply(b, f32, "quantize(mode=static,samples=8)"))},
	}
	dir := b.TempDir()
	var paths []string
	for _, f := range forms {
		p := filepath.Join(dir, f.name+".onnx")
		if err := os.WriteFile(p, encode(b, f.model), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	var res []verify.BenchResult
	for b.Loop() {
		var err error
		res, err = verify.Bench(paths, verify.BenchConfig{Options: ort.Options{Threads: 1}, Shapes: ort.Shapes{"batch": {1}}, Seed: 1, Runs: 100, Warmup: 3})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i, r := range res {
		name := strings.ReplaceAll(forms[i].name, "-", "_")
		b.ReportMetric(r.MedianMS, name+"_ms")
		b.ReportMetric(r.Ratio, name+"_x")
	}
}

// must drops apply's report.
func must[R any](p *onnx.ModelProto, _ R) *onnx.ModelProto { return p }
