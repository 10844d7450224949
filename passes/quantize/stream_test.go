package quantize_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
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

// quantizeFiles runs the pipeline on the model at in, streamed or not, and
// returns the written files and the peak of weight bytes held.
func quantizeFiles(t *testing.T, in, pipeline string, stream bool) (map[string][]byte, string, int64) {
	t.Helper()
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := filepath.Join(t.TempDir(), "q.onnx")
	if stream {
		if err := m.Stream(out, opts); err != nil {
			t.Fatal(err)
		}
	}
	p, err := passes.Parse(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Run(p, m, passes.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	_, peak := m.Store.Held()
	if err := m.WriteFile(out, opts); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(out), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files, out, peak
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
	var largest, total int64
	onnx.WalkTensors(mustRead(t, in), func(tp *onnx.TensorProto, _ onnx.TensorSite) {
		if tp.IsExternal() {
			n, _ := tp.Elements()
			b := onnx.StorageBytes(tp.GetDataType(), n)
			largest, total = max(largest, b), total+b
		}
	})
	const pipeline = "quantize(type=int4,block=32,gather=true)"
	want, _, _ := quantizeFiles(t, in, pipeline, false)
	got, out, peak := quantizeFiles(t, in, pipeline, true)
	if len(got) != len(want) {
		t.Fatalf("streamed run wrote %d files, in-memory %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs between the in-memory and the streamed run", name)
		}
	}
	side := int64(len(got["q.onnx.data"]))
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

func mustRead(t *testing.T, path string) *onnx.ModelProto {
	t.Helper()
	p, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
