package quantize_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
	_ "github.com/onnxopt/onnxopt/passes/quantize"
)

func TestQuantizeStreamsInWeightOnlyModes(t *testing.T) {
	for text, want := range map[string]bool{
		"quantize(type=int4,block=32,gather=true)": true,
		"quantize(type=int8,mode=weight-only)":     true,
		"quantize(type=int8)":                      true, // dynamic
		"quantize(type=int8,mode=static)":          false,
		"quantize(type=int4,method=gptq)":          false,
	} {
		p, err := passes.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := p[0].Streams(); got != want {
			t.Errorf("%s: Streams() = %v, want %v", text, got, want)
		}
	}
}

// TestQuantizeInt4Streams: a tied Llama with external weights quantized to
// int4 (gather=true) streamed writes the bytes of the in-memory run,
// holding about one weight at a time, and runs in ONNX Runtime.
func TestQuantizeInt4Streams(t *testing.T) {
	o := modelgen.LlamaOptions{Vocab: 512, Hidden: 64, Layers: 2, MaxSeq: 16, Seed: 4}
	in := filepath.Join(t.TempDir(), "llama.onnx")
	if err := onnx.WriteFile(in, modelgen.Llama(o), onnx.WriteOptions{ExternalThreshold: 1024, ExternalLocation: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	total, largest := passtest.ExternalBytes(t, in)
	const pipeline = "quantize(type=int4,block=32,gather=true)"
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	want, _, _ := passtest.RunFile(t, in, pipeline, false, opts)
	got, out, peak := passtest.RunFile(t, in, pipeline, true, opts)
	passtest.SameFiles(t, want, got)
	side := int64(len(got["out.onnx.data"]))
	if side == 0 || side > total/4 {
		t.Errorf("side file %d bytes for %d bytes of float weights: want the packed 4-bit form", side, total)
	}
	// The largest weight read plus its 4-bit form (about a sixth of it).
	if peak > largest+largest/2 || peak >= total/2 {
		t.Errorf("peak held %d bytes; want about one weight (largest %d, model %d)", peak, largest, total)
	}

	testenv.Runtime(t)
	s, err := ort.Open(out, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids, err := ort.NewTensor(ort.Int64, []int64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	ids.Raw[0] = 7
	res, err := s.Run([]ort.Value{ids})
	if err != nil {
		t.Fatal(err)
	}
	logits := res[0].(*ort.Tensor)
	if len(logits.Raw) != 4*int(o.Vocab) {
		t.Fatalf("logits of %d bytes, want one token over %d", len(logits.Raw), o.Vocab)
	}
	for i := 0; i < len(logits.Raw); i += 4 {
		if f := math.Float32frombits(uint32(logits.Raw[i]) | uint32(logits.Raw[i+1])<<8 | uint32(logits.Raw[i+2])<<16 | uint32(logits.Raw[i+3])<<24); math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			t.Fatalf("logit %d is %v", i/4, f)
		}
	}
}
