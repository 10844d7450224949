package graph_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/testenv"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// roundTrip reads a model file into the IR, checks it, converts it back and
// reports whether the result is proto-equal and byte-identical to the input.
func roundTrip(t *testing.T, path string) (equal, identical bool) {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnx.Decode(in)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, err := graph.FromProto(p, onnx.NewExternalStore(filepath.Dir(path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := m.Graph.Check(); err != nil {
		t.Fatalf("%s: check: %v", path, err)
	}
	out, err := onnx.Encode(m.ToProto())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	orig, err := onnx.Decode(in) // a fresh decode: FromProto must not have changed p either
	if err != nil {
		t.Fatal(err)
	}
	back, err := onnx.Decode(out)
	if err != nil {
		t.Fatalf("%s: written model does not decode: %v", path, err)
	}
	return proto.Equal(orig, back) && proto.Equal(orig, p), bytes.Equal(in, out)
}

// TestBackendSuiteRoundTrip reads every model of the ONNX backend test
// suite through the IR and back, and requires it to come out equal.
func TestBackendSuiteRoundTrip(t *testing.T) {
	dir := testenv.BackendSuite(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "model.onnx"))
	if len(files) < 1000 {
		t.Fatalf("found %d backend-suite models in %s, want about 1072", len(files), dir)
	}
	identical := 0
	for _, f := range files {
		eq, same := roundTrip(t, f)
		if !eq {
			t.Errorf("%s: round trip changed the model", f)
		}
		if same {
			identical++
		}
	}
	t.Logf("%d models round-tripped; %d byte-identical", len(files), identical)
	// protobuf-go writes fields in number order, as ONNX's tools do, so
	// every model of the suite (all canonically encoded) comes back
	// byte for byte.
	if identical != len(files) {
		t.Errorf("%d of %d models are byte-identical after the round trip, want all", identical, len(files))
	}
}

// TestRealModelsRoundTrip does the same for real exported models.
func TestRealModelsRoundTrip(t *testing.T) {
	for _, name := range []string{"ppocr-det.onnx", "ppocr-cls.onnx", "ppocr-rec.onnx", "hello_deepa.onnx", "namaste_deepa.onnx"} {
		t.Run(name, func(t *testing.T) {
			eq, same := roundTrip(t, testenv.Model(t, name))
			if !eq || !same {
				t.Errorf("round trip: proto-equal %v, byte-identical %v", eq, same)
			}
		})
	}
}
