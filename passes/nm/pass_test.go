package nm_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/internal/passtest"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes/nm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const f32 = onnx.TensorProto_FLOAT

// single builds a model with one node op(x, w) and returns it.
func single(t *testing.T, op string, xdims []any, wdims []int64, ydims []any, attrs ...*onnx.AttributeProto) (*graph.Model, []float32) {
	t.Helper()
	b := modelgen.NewBuilder(op)
	x := b.Input("x", f32, xdims...)
	n := 1
	for _, d := range wdims {
		n *= int(d)
	}
	data := gaussian(n, uint64(n)+uint64(len(op)))
	y := b.Op("node", op, []string{x, b.Init("w", wdims, data)}, attrs...)
	b.Output(y, f32, ydims...)
	return model(t, b), data
}

func TestAxis(t *testing.T) {
	for _, tc := range []struct {
		name        string
		op          string
		x, y        []any
		w           []int64
		attrs       []*onnx.AttributeProto
		axis, wrong int
	}{
		{"MatMul [K,N]", "MatMul", []any{1, 8}, []any{1, 12}, []int64{8, 12}, nil, 0, 1},
		{"MatMul batched [B,K,N]", "MatMul", []any{2, 1, 8}, []any{2, 1, 12}, []int64{2, 8, 12}, nil, 1, 2},
		{"Gemm transB=0 [K,N]", "Gemm", []any{1, 8}, []any{1, 12}, []int64{8, 12}, nil, 0, 1},
		{"Gemm transB=1 [N,K]", "Gemm", []any{1, 8}, []any{1, 12}, []int64{12, 8}, []*onnx.AttributeProto{modelgen.AttrInt("transB", 1)}, 1, 0},
		{"Conv [O,I,kh,kw]", "Conv", []any{1, 8, 5, 5}, []any{1, 8, 3, 3}, []int64{8, 8, 3, 3}, nil, 1, 0},
		{"Conv group=2", "Conv", []any{1, 8, 5, 5}, []any{1, 8, 3, 3}, []int64{8, 4, 3, 3}, []*onnx.AttributeProto{modelgen.AttrInt("group", 2)}, 1, 0},
		{"ConvTranspose [I,O,kh,kw]", "ConvTranspose", []any{1, 8, 5, 5}, []any{1, 8, 7, 7}, []int64{8, 8, 3, 3}, nil, 0, 1},
		{"ConvTranspose group=2", "ConvTranspose", []any{1, 8, 5, 5}, []any{1, 8, 7, 7}, []int64{8, 4, 3, 3}, []*onnx.AttributeProto{modelgen.AttrInt("group", 2)}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, orig := single(t, tc.op, tc.x, tc.w, tc.y, tc.attrs...)
			rep := run(t, m, "nm")
			got := values(t, m, "w")
			want := reference(orig, tc.w, tc.axis, 2, 4)
			if i, ok := equal(got, want); !ok {
				t.Fatalf("w[%d] = %v, want %v (orig %v)", i, got[i], want[i], orig[i])
			}
			if !satisfies(got, tc.w, tc.axis, 2, 4) {
				t.Errorf("not 2:4 along axis %d", tc.axis)
			}
			if satisfies(got, tc.w, tc.wrong, 2, 4) {
				t.Errorf("2:4 along axis %d too: the test data cannot tell the axes apart", tc.wrong)
			}
			if rep.TensorsTouched != 1 || !strings.Contains(rep.Tensors[0].Detail, fmt.Sprintf("axis %d", tc.axis)) {
				t.Errorf("report: touched %d, tensors %+v", rep.TensorsTouched, rep.Tensors)
			}
		})
	}
}

func TestOtherPatterns(t *testing.T) {
	for _, p := range [][2]int{{1, 4}, {1, 8}, {3, 8}, {2, 8}} {
		m, orig := single(t, "MatMul", []any{1, 16}, []int64{16, 8}, []any{1, 8})
		run(t, m, fmt.Sprintf("nm(n=%d,m=%d)", p[0], p[1]))
		got := values(t, m, "w")
		if i, ok := equal(got, reference(orig, []int64{16, 8}, 0, p[0], p[1])); !ok {
			t.Errorf("%d:%d: w[%d] = %v, orig %v", p[0], p[1], i, got[i], orig[i])
		}
	}
}

func TestTiesKeepLowerIndex(t *testing.T) {
	b := modelgen.NewBuilder("ties")
	x := b.Input("x", f32, 1, 4)
	// Columns are groups (axis 0 of a [4,4] MatMul weight).
	w := []float32{
		1, -1, 0.5, 0,
		1, 1, -2, 0,
		1, -1, -2, 0,
		1, 1, 0.5, 3,
	}
	y := b.Op("mm", "MatMul", []string{x, b.Init("w", []int64{4, 4}, w)})
	b.Output(y, f32, 1, 4)
	m := model(t, b)
	rep := run(t, m, "nm")
	want := []float32{
		1, -1, 0, 0,
		1, 1, -2, 0,
		0, 0, -2, 0,
		0, 0, 0, 3,
	}
	if _, ok := equal(values(t, m, "w"), want); !ok {
		t.Errorf("got %v, want %v", values(t, m, "w"), want)
	}
	if rep.WeightsZeroed != 6 {
		t.Errorf("WeightsZeroed = %d, want 6", rep.WeightsZeroed)
	}
}

func TestSkips(t *testing.T) {
	b := modelgen.NewBuilder("skips")
	x := b.Input("x", f32, 1, 8)
	h := b.Op("ok", "MatMul", []string{x, b.Init("ok.w", []int64{8, 10}, gaussian(80, 1))})
	h = b.Op("odd", "MatMul", []string{h, b.Init("odd.w", []int64{10, 8}, gaussian(80, 2))})
	// shared.w is reduced along axis 0 by MatMul and along axis 1 by Gemm(transB=1).
	sw := b.Init("shared.w", []int64{8, 8}, gaussian(64, 3))
	h = b.Op("mm", "MatMul", []string{h, sw})
	h = b.Op("gemm", "Gemm", []string{h, sw}, modelgen.AttrInt("transB", 1))
	// same.w is used twice along the same axis: fine.
	same := b.Init("same.w", []int64{8, 8}, gaussian(64, 4))
	h = b.Op("mm2", "MatMul", []string{h, same})
	h = b.Op("gemm2", "Gemm", []string{h, same})
	dyn := b.Input("dyn", f32, 8, 8)
	h = b.Op("mm3", "MatMul", []string{h, dyn})
	img := b.Input("img", f32, 1, 8, 5, 5)
	ct := b.Op("ct", "ConvTranspose", []string{img, b.Init("ct.w", []int64{8, 2, 3, 3}, gaussian(144, 5))}, modelgen.AttrInt("group", 4))
	b.Output(h, f32, 1, 8)
	b.Output(ct, f32, 1, 8, 7, 7)
	m := model(t, b)
	rep := run(t, m, "nm")
	for name, want := range map[string]string{
		"odd.w":    "reduction size 10 along axis 0 (for odd (MatMul)) is not a multiple of m=4",
		"shared.w": "conflicting layouts",
		"dyn":      "computed at run time",
		"ct.w":     "reduction size 2 along axis 0",
	} {
		if r := skipped(rep, name); !strings.Contains(r, want) {
			t.Errorf("%s: skip reason %q, want one containing %q", name, r, want)
		}
	}
	for name, dims := range map[string][]int64{"ok.w": {8, 10}, "same.w": {8, 8}} {
		if skipped(rep, name) != "" || !satisfies(values(t, m, name), dims, 0, 2, 4) {
			t.Errorf("%s: want 2:4 along axis 0 (skip reason %q)", name, skipped(rep, name))
		}
	}
	if _, ok := equal(values(t, m, "odd.w"), gaussian(80, 2)); !ok {
		t.Errorf("skipped odd.w was changed")
	}
	ann, _ := m.Metadata(nm.MetadataKey)
	if ann != `{"ok.w":"2:4","same.w":"2:4"}` {
		t.Errorf("annotation %s, want only the sparsified tensors", ann)
	}
}

func TestConstantNodesInSubgraph(t *testing.T) {
	sub := modelgen.NewBuilder("then")
	sub.Node("Constant", nil, []string{"then.w"}, modelgen.AttrTensor("value", modelgen.Tensor("", []int64{8, 4}, gaussian(32, 7))))
	sy := sub.Op("then/mm", "MatMul", []string{"x", "then.w"})
	sub.Output(sy, f32, 1, 4)
	els := modelgen.NewBuilder("else")
	ey := els.Op("else/mm", "MatMul", []string{"x", els.Init("else.w", []int64{8, 4}, gaussian(32, 8))})
	els.Output(ey, f32, 1, 4)

	b := modelgen.NewBuilder("if")
	b.Input("x", f32, 1, 8)
	c := b.Input("cond", onnx.TensorProto_BOOL)
	y := b.Op("if", "If", []string{c}, modelgen.AttrGraph("then_branch", sub.Graph()), modelgen.AttrGraph("else_branch", els.Graph()))
	b.Output(y, f32, 1, 4)
	m := model(t, b)
	run(t, m, "nm")
	for _, name := range []string{"then.w", "else.w"} {
		v := values(t, m, name)
		if !satisfies(v, []int64{8, 4}, 0, 2, 4) {
			t.Errorf("%s is not 2:4: %v", name, v)
		}
	}
	ann, _ := m.Metadata(nm.MetadataKey)
	if ann != `{"else.w":"2:4","then.w":"2:4"}` {
		t.Errorf("annotation %s", ann)
	}
}

func TestAnnotationMerge(t *testing.T) {
	for _, tc := range []struct{ old, want, note string }{
		{"", `{"w":"1:4"}`, ""},
		{`{"earlier":"2:4","w":"2:4"}`, `{"earlier":"2:4","w":"1:4"}`, ""},
		{`{"nested":{"a":1}}`, `{"nested":{"a":1},"w":"1:4"}`, ""},
		{`not json`, `{"w":"1:4"}`, "not a JSON object"},
		{`["w"]`, `{"w":"1:4"}`, "not a JSON object"},
	} {
		m, _ := single(t, "MatMul", []any{1, 8}, []int64{8, 4}, []any{1, 4})
		if tc.old != "" {
			m.SetMetadata(nm.MetadataKey, tc.old)
		}
		rep := run(t, m, "nm(n=1,m=4)")
		got, _ := m.Metadata(nm.MetadataKey)
		if got != tc.want {
			t.Errorf("old %s: annotation %s, want %s", tc.old, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("annotation %s is not JSON", got)
		}
		if notes := strings.Join(rep.Notes, "; "); tc.note != "" && !strings.Contains(notes, tc.note) {
			t.Errorf("old %s: notes %q, want one about %q", tc.old, notes, tc.note)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct{ pipeline, want string }{
		{"nm(n=4,m=4)", "pass nm: n=4 is out of range"},
		{"nm(n=0)", "pass nm: n=0 is out of range"},
		{"nm(n=1,m=1)", "pass nm: m=1 is out of range"},
		{"nm(m=two)", "nm: option m wants an integer"},
		{"nm(ops=Gather)", `pass nm: ops: nm does not handle "Gather"`},
		{"nm(k=3)", `pass nm has no option "k"`},
	} {
		m, _ := single(t, "MatMul", []any{1, 8}, []int64{8, 4}, []any{1, 4})
		_, err := runErr(m, tc.pipeline)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.pipeline, err, tc.want)
		}
	}
}

func TestMLPAcceptance(t *testing.T) {
	for _, transB := range []bool{false, true} {
		opts := modelgen.MLPOptions{Dim: 64, Hidden: 192, Blocks: 2, Seed: 5, TransB: transB}
		m, err := graph.FromProto(modelgen.MLP(opts), nil)
		if err != nil {
			t.Fatal(err)
		}
		rep := run(t, m, "nm(n=2,m=4)")
		var ann map[string]string
		text, _ := m.Metadata(nm.MetadataKey)
		if err := json.Unmarshal([]byte(text), &ann); err != nil {
			t.Fatalf("annotation %q: %v", text, err)
		}
		weights := []string{"block0.fc1.weight", "block0.fc2.weight", "block1.fc1.weight", "block1.fc2.weight", "head.weight"}
		if len(ann) != len(weights) || rep.TensorsTouched != len(weights) {
			t.Errorf("transB=%v: annotation %v, touched %d; want the %d weights", transB, ann, rep.TensorsTouched, len(weights))
		}
		for _, name := range weights {
			v := values(t, m, name)
			dims := rep.Tensors[0].Shape
			for _, tr := range rep.Tensors {
				if tr.Name == name {
					dims = tr.Shape
				}
			}
			axis := 0
			if transB {
				axis = 1
			}
			if !satisfies(v, dims, axis, 2, 4) || ann[name] != "2:4" {
				t.Errorf("transB=%v: %s is not 2:4 along axis %d, or not annotated (%q)", transB, name, axis, ann[name])
			}
		}
	}
}

// TestGolden checks the dump, weights and annotation of a tiny model before
// and after nm against testdata/tiny.golden (go test -update rewrites it).
func TestGolden(t *testing.T) {
	b := modelgen.NewBuilder("tiny")
	x := b.Input("x", f32, 1, 4)
	h := b.Op("fc", "MatMul", []string{x, b.Init("fc.w", []int64{4, 4}, gaussian(16, 21))})
	h = b.Op("proj", "Gemm", []string{h, b.Init("proj.w", []int64{4, 4}, gaussian(16, 22))}, modelgen.AttrInt("transB", 1))
	b.Output(h, f32, 1, 4)
	m := model(t, b)
	var out strings.Builder
	dump := func(title string) {
		fmt.Fprintf(&out, "== %s\n%s", title, m.Graph.DumpString())
		for _, name := range []string{"fc.w", "proj.w"} {
			fmt.Fprintf(&out, "%s = %v\n", name, values(t, m, name))
		}
		ann, _ := m.Metadata(nm.MetadataKey)
		fmt.Fprintf(&out, "%s: %s\n", nm.MetadataKey, ann)
	}
	dump("before")
	run(t, m, "nm(n=2,m=4)")
	dump("after nm(n=2,m=4)")
	passtest.Golden(t, "tiny.golden", out.String(), *update)
}
