package graph_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
)

// newTensorEdits are pass-like edits that make new tensors or change a
// tensor's type, releasing each weight when done with it.
var newTensorEdits = map[string]func(t *testing.T, m *graph.Model){
	// Every external weight becomes float16 in place (half the bytes).
	"convert": func(t *testing.T, m *graph.Model) {
		for _, v := range m.Graph.Initializers {
			if !v.Tensor.Proto.IsExternal() {
				continue
			}
			if err := v.Tensor.ConvertFloats(int32(onnx.TensorProto_FLOAT16)); err != nil {
				t.Fatal(err)
			}
			if err := v.Tensor.Release(); err != nil {
				t.Fatal(err)
			}
		}
	},
	// Every external weight is replaced by a new initializer holding twice
	// its values (what quantize does with its packed weights), plus a small
	// new one that stays in the model file; the old weight is removed. The
	// last weight (at the end of the side file) is kept as it is.
	"replace": func(t *testing.T, m *graph.Model) {
		g := m.Graph
		var ext []*graph.Value
		for _, v := range g.Initializers {
			if v.Tensor.Proto.IsExternal() {
				ext = append(ext, v)
			}
		}
		for _, v := range ext[:len(ext)-1] {
			w, err := v.Tensor.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			raw := make([]float32, len(w))
			for i, x := range w {
				raw[i] = 2 * x
			}
			dt := int32(onnx.TensorProto_FLOAT)
			nv := g.NewInitializer(v.Name+"_doubled", &onnx.TensorProto{DataType: &dt, Dims: append([]int64(nil), v.Tensor.Dims()...)})
			if err := nv.Tensor.SetFloat32s(raw); err != nil {
				t.Fatal(err)
			}
			small := g.NewInitializer(v.Name+"_small", &onnx.TensorProto{DataType: &dt, Dims: []int64{4}})
			if err := small.Tensor.SetFloat32s([]float32{1, 2, 3, 4}); err != nil {
				t.Fatal(err)
			}
			for _, u := range append([]graph.Use(nil), v.Uses()...) {
				u.Node.SetInput(u.Index, nv)
			}
			if err := v.Tensor.Release(); err != nil {
				t.Fatal(err)
			}
			if err := g.RemoveConstant(v); err != nil {
				t.Fatal(err)
			}
			for _, x := range []*graph.Value{nv, small} {
				if err := x.Tensor.Release(); err != nil {
					t.Fatal(err)
				}
			}
			if m.Store.Streaming() && (nv.Tensor.Proto.RawData != nil || !nv.Tensor.Proto.IsExternal()) {
				t.Fatalf("new tensor %s still in memory after Release", nv.Name)
			}
			if small.Tensor.Proto.IsExternal() {
				t.Fatalf("new tensor %s under the threshold was moved out", small.Name)
			}
		}
	},
}

func TestStreamingNewTensorsWriteTheSameBytes(t *testing.T) {
	in := externalModel(t)
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	for name, edit := range newTensorEdits {
		for _, beside := range []bool{false, true} {
			t.Run(name, func(t *testing.T) {
				outs := [2]string{}
				for i, stream := range []bool{false, true} {
					src := copyModel(t, in)
					out := filepath.Join(t.TempDir(), "out.onnx")
					if beside {
						out = filepath.Join(filepath.Dir(src), "out.onnx")
					}
					m, err := graph.ReadFile(src)
					if err != nil {
						t.Fatal(err)
					}
					if stream {
						if err := m.Stream(out, opts); err != nil {
							t.Fatal(err)
						}
					}
					edit(t, m)
					if err := m.Graph.Check(); err != nil {
						t.Fatal(err)
					}
					if err := m.WriteFile(out, opts); err != nil {
						t.Fatal(err)
					}
					if err := m.Close(); err != nil {
						t.Fatal(err)
					}
					outs[i] = filepath.Dir(out)
					if beside {
						// Compare only what was written.
						dir := t.TempDir()
						for _, f := range []string{"out.onnx", "out.onnx.data"} {
							b, err := os.ReadFile(filepath.Join(outs[i], f))
							if err != nil {
								t.Fatal(err)
							}
							if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
								t.Fatal(err)
							}
						}
						outs[i] = dir
					}
				}
				sameFolders(t, outs[0], outs[1])
				checkNewTensorOutput(t, name, in, filepath.Join(outs[1], "out.onnx"))
			})
		}
	}
}

// checkNewTensorOutput reads the output back and checks the edit's values
// and that the side file holds the tensors without the input's holes.
func checkNewTensorOutput(t *testing.T, edit, in, out string) {
	t.Helper()
	orig, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	m, err := graph.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var external int64
	checked := 0
	for _, ov := range orig.Graph.Initializers {
		if !ov.Tensor.Proto.IsExternal() {
			continue
		}
		want, err := ov.Tensor.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		name, scale := ov.Name, float32(1)
		if edit == "replace" {
			name, scale = ov.Name+"_doubled", 2
		}
		v := m.Graph.Lookup(name)
		if v == nil && edit == "replace" {
			name, scale = ov.Name, 1 // the one kept
			v = m.Graph.Lookup(name)
		}
		if v == nil || v.Const() == nil {
			t.Fatalf("output has no constant %s", name)
		}
		got, err := v.Const().Floats()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			w := scale * want[i]
			if edit == "convert" {
				w = onnx.Float16ToFloat32(onnx.Float32ToFloat16(w))
			}
			if got[i] != w {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], w)
			}
		}
		external += v.Const().Bytes()
		checked++
	}
	if checked == 0 {
		t.Fatal("no external weight in the input: the test tests nothing")
	}
	var side int64
	for name, b := range folderFiles(t, filepath.Dir(out)) {
		if name != filepath.Base(out) {
			side += int64(len(b))
		}
	}
	if side == 0 || side > external+int64(checked)*64 {
		t.Errorf("side file is %d bytes for %d bytes of tensors: the removed tensors left holes", side, external)
	}
}

func TestStreamingNewTensorsAreHeldUntilReleased(t *testing.T) {
	in := externalModel(t)
	m, err := graph.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	opts := onnx.WriteOptions{ExternalThreshold: 1024}
	if err := m.Stream(filepath.Join(t.TempDir(), "out.onnx"), opts); err != nil {
		t.Fatal(err)
	}
	var largest, total int64
	for _, v := range m.Graph.Initializers {
		if v.Tensor.Proto.IsExternal() {
			largest = max(largest, v.Tensor.Bytes())
			total += v.Tensor.Bytes()
		}
	}
	newTensorEdits["replace"](t, m)
	now, peak := m.Store.Held()
	// What stays: the small new tensors under the threshold (16 bytes each).
	var small int64
	for _, v := range m.Graph.Initializers {
		if !v.Tensor.Proto.IsExternal() && v.Tensor.Proto.RawData != nil && len(v.Tensor.Dims()) == 1 && v.Tensor.Dims()[0] == 4 {
			small += v.Tensor.Bytes()
		}
	}
	if now != small {
		t.Errorf("%d bytes held after every large tensor was released; want the small new ones, %d", now, small)
	}
	// At most the weight being read and its replacement, with the small ones.
	if peak > 2*largest+small || peak >= total {
		t.Errorf("peak held %d bytes; want at most 2 x the largest tensor (%d) + %d (model: %d)", peak, largest, small, total)
	}
	if peak < largest {
		t.Errorf("peak held %d bytes, under the largest tensor %d: new tensors are not counted", peak, largest)
	}
}
