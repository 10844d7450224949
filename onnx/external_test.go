package onnx_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// writeExternalModel writes a small MLP with every weight of at least 1 KB
// in a side file and returns the model's path.
func writeExternalModel(t *testing.T, dir string) string {
	t.Helper()
	m := modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1, Seed: 1})
	path := filepath.Join(dir, "m.onnx")
	if err := onnx.WriteFile(path, m, onnx.WriteOptions{ExternalThreshold: 1024, ExternalLocation: "weights.bin"}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := writeExternalModel(t, dir)
	orig := modelgen.MLP(modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 1, Seed: 1})

	p, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	store := onnx.NewExternalStore(dir)
	defer store.Close()
	external := 0
	for i, init := range p.Graph.Initializer {
		want := orig.Graph.Initializer[i]
		got, err := onnx.RawBytes(init, store)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.RawData) {
			t.Fatalf("%s: bytes differ after externalizing", init.GetName())
		}
		if init.IsExternal() {
			external++
			ref, _ := onnx.External(init)
			if ref.Length >= 1<<20 && ref.Offset%4096 != 0 || ref.Offset%64 != 0 {
				t.Errorf("%s: offset %d not aligned", init.GetName(), ref.Offset)
			}
		} else if len(init.RawData) >= 1024 {
			t.Errorf("%s (%d bytes) stayed inline", init.GetName(), len(init.RawData))
		}
	}
	if external == 0 {
		t.Fatal("no tensor was externalized")
	}

	// Through the IR and back to another folder: the side file follows,
	// with the same layout, so both files are byte-identical.
	m, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.onnx")
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"m.onnx", "weights.bin"} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, err := os.ReadFile(filepath.Join(filepath.Dir(out), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
}

// TestExternalDataChangedTensorStaysExternal changes one external tensor
// through the IR and checks the written side file holds the new bytes.
func TestExternalDataChangedTensorStaysExternal(t *testing.T) {
	dir := t.TempDir()
	path := writeExternalModel(t, dir)
	m, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := m.Graph.Initializers[0]
	v, err := w.Tensor.MutableFloat32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		v[i] = float32(i)
	}
	out := filepath.Join(dir, "changed.onnx") // same folder as the input
	if err := m.WriteFile(out, onnx.WriteOptions{ExternalLocation: "changed.bin"}); err != nil {
		t.Fatal(err)
	}
	back, err := graph.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	bw := back.Graph.Initializers[0]
	if !bw.Tensor.Proto.IsExternal() {
		t.Fatal("changed external tensor was inlined")
	}
	got, _ := bw.Tensor.Float32s()
	for i := range got {
		if got[i] != float32(i) {
			t.Fatalf("value %d = %v after write", i, got[i])
		}
	}
	// The input's own side file is untouched.
	orig, _ := onnx.ReadFile(path)
	b, err := onnx.RawBytes(orig.Graph.Initializer[0], onnx.NewExternalStore(dir))
	if err != nil {
		t.Fatal(err)
	}
	if onnx.BytesAsFloat32s(b)[1] == 1 {
		t.Fatal("input side file was modified")
	}
}

func TestExternalDataRejectsEscapesAndBadRanges(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.bin"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		location string
		offset   int64
		length   int64
		setup    func(dir string)
		want     string
	}{
		{"absolute", filepath.Join(outside, "secret.bin"), 0, 16, nil, "absolute"},
		{"dotdot", "../" + filepath.Base(outside) + "/secret.bin", 0, 16, nil, "leaves the model's folder"},
		{"symlink", "link.bin", 0, 16, func(dir string) {
			os.Symlink(filepath.Join(outside, "secret.bin"), filepath.Join(dir, "link.bin"))
		}, "symbolic link"},
		{"past end", "data.bin", 100, 16, nil, "past the end"},
		{"wrong length", "data.bin", 0, 12, nil, "needs 16 bytes"},
		{"missing file", "nothere.bin", 0, 16, nil, "nothere.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "data.bin"), make([]byte, 64), 0o644)
			if c.setup != nil {
				c.setup(dir)
			}
			tp := &onnx.TensorProto{
				Name: proto.String("w"), Dims: []int64{4}, DataType: proto.Int32(1),
				DataLocation: onnx.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*onnx.StringStringEntryProto{
					{Key: proto.String("location"), Value: proto.String(c.location)},
					{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(c.offset, 10))},
					{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(c.length, 10))},
				},
			}
			for _, ranged := range []bool{false, true} {
				store := onnx.NewExternalStore(dir)
				store.SetRangeReads(ranged)
				_, err := store.Bytes(tp)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`) {
					t.Fatalf("range reads %v: error %v; want one naming tensor \"w\" and saying %q", ranged, err, c.want)
				}
				store.Close()
			}
		})
	}
}

func TestAbsurdShapeIsRejectedWithoutAllocating(t *testing.T) {
	tp := &onnx.TensorProto{Name: proto.String("huge"), Dims: []int64{1 << 40, 1 << 40}, DataType: proto.Int32(1), RawData: []byte{1, 2, 3, 4}}
	if err := tp.CheckData(); err == nil || !strings.Contains(err.Error(), "too many elements") {
		t.Fatalf("CheckData: %v", err)
	}
	tp.Dims = []int64{1 << 10, 1 << 10}
	if err := tp.CheckData(); err == nil || !strings.Contains(err.Error(), "raw_data has 4 bytes") {
		t.Fatalf("CheckData: %v", err)
	}
}
