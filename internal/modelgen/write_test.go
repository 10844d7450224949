package modelgen

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/onnx"
)

// TestWriteInline checks that the streamed file is exactly the
// deterministic encoding of the in-memory model.
func TestWriteInline(t *testing.T) {
	dir := t.TempDir()
	for name, write := range map[string]func(path string) ([]byte, error){
		"mlp": func(path string) ([]byte, error) {
			o := MLPOptions{Dim: 64, Hidden: 96, Blocks: 2, Seed: 4, LayerNorm: true, Rank3: true}
			return marshal(t, MLP(o)), WriteMLP(path, o, false)
		},
		"mlp-big-tensor": func(path string) ([]byte, error) {
			o := MLPOptions{Dim: 512, Hidden: 2048 + 8, Blocks: 1} // weights over several stream batches
			return marshal(t, MLP(o)), WriteMLP(path, o, false)
		},
		"cnn": func(path string) ([]byte, error) {
			o := CNNOptions{Seed: 2, Depthwise: true, Concat: true}
			return marshal(t, CNN(o)), WriteCNN(path, o, false)
		},
	} {
		path := filepath.Join(dir, name+".onnx")
		want, err := write(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBytes(got, want) {
			t.Errorf("%s: file (%d bytes) differs from the marshalled model (%d bytes)", name, len(got), len(want))
		}
	}
	checkNoTempFiles(t, dir)
}

func TestWriteExternal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	o := MLPOptions{Dim: 48, Hidden: 80, Blocks: 3, Seed: 6}
	if err := WriteMLP(path, o, true); err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path + ".data")
	if err != nil {
		t.Fatal(err)
	}
	want := initializers(t, MLP(o).Graph)
	var total int64
	for _, x := range m.Graph.Initializer {
		if x.GetDataLocation() != onnx.TensorProto_EXTERNAL || x.RawData != nil {
			t.Fatalf("%s is not external: %v", x.GetName(), x)
		}
		kv := map[string]string{}
		for _, e := range x.ExternalData {
			kv[e.GetKey()] = e.GetValue()
		}
		off, err1 := strconv.ParseInt(kv["offset"], 10, 64)
		n, err2 := strconv.ParseInt(kv["length"], 10, 64)
		if kv["location"] != "m.onnx.data" || err1 != nil || err2 != nil {
			t.Fatalf("%s: external_data %v", x.GetName(), kv)
		}
		if off%4096 != 0 {
			t.Errorf("%s: offset %d is not aligned to 4096", x.GetName(), off)
		}
		if n != 4*numElements(x.Dims) {
			t.Errorf("%s: length %d for dims %v", x.GetName(), n, x.Dims)
		}
		if off+n > int64(len(data)) || !sameBytes(data[off:off+n], want[x.GetName()].RawData) {
			t.Errorf("%s: data at %d differs from the in-memory model", x.GetName(), off)
		}
		total += n
	}
	if total != o.WeightBytes() {
		t.Errorf("%d bytes of weights, want %d", total, o.WeightBytes())
	}
	checkNoTempFiles(t, dir)
}

// TestWriteTooBig checks that a model over 2 GiB is refused without
// external data, at once and without leaving files behind.
func TestWriteTooBig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.onnx")
	err := WriteMLP(path, MLPForBytes(5<<29, MLPOptions{}), false)
	if err == nil || !strings.Contains(err.Error(), "2 GiB") || !strings.Contains(err.Error(), "external") {
		t.Fatalf("err = %v, want a refusal that mentions 2 GiB and external data", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
}

func TestWriteBadOptions(t *testing.T) {
	dir := t.TempDir()
	if err := WriteMLP(filepath.Join(dir, "m.onnx"), MLPOptions{Rank3: true, TransB: true}, false); !errors.Is(err, ErrBadOptions) {
		t.Errorf("WriteMLP with Rank3 and TransB: %v, want ErrBadOptions", err)
	}
	if err := WriteCNN(filepath.Join(dir, "c.onnx"), CNNOptions{Channels: -1}, false); !errors.Is(err, ErrBadOptions) {
		t.Errorf("WriteCNN with negative channels: %v, want ErrBadOptions", err)
	}
	if err := WriteMLP(filepath.Join(dir, "missing", "m.onnx"), MLPOptions{}, true); err == nil || errors.Is(err, ErrBadOptions) {
		t.Errorf("WriteMLP into a missing folder: %v", err)
	}
}

func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
