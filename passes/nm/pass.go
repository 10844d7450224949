package nm

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/oneshot"
)

// MetadataKey is the model metadata_props key that records which tensors
// are N:M sparse: a JSON object mapping tensor names to "N:M".
const MetadataKey = "onnxopt.sparsity"

// Ops lists the op types whose weights nm can sparsify.
var Ops = []string{"MatMul", "Gemm", "Conv", "ConvTranspose"}

// Pass makes weights N:M sparse (see the package doc).
var Pass = &passes.Pass{
	Name: "nm",
	Doc:  "N:M structured sparsity: keep the N largest of every M weights along the input-channel axis",
	Options: append([]passes.Option{
		{Name: "n", Kind: passes.Int, Default: "2", Doc: "weights kept in every group (1 <= n < m)"},
		{Name: "m", Kind: passes.Int, Default: "4", Doc: "group size along the reduction axis"},
		{Name: "ops", Kind: passes.List, Default: strings.Join(Ops, "|"), Doc: "op types whose weight input is sparsified"},
		{Name: "include", Kind: passes.List, Doc: "only tensors or nodes whose name matches one of these globs"},
		{Name: "exclude", Kind: passes.List, Doc: "leave tensors or nodes whose name matches one of these globs"},
	}, oneshot.Options()...),
	NeedsRuntime: oneshot.Calibrated,
	Run:          run,
	StreamsWith:  func(a passes.Args) bool { return !oneshot.Calibrated(a) }, // calibrated methods run the model in ONNX Runtime
	Check:        check,
}

func init() { passes.Register(Pass) }

// job is one eligible weight.
type job struct {
	w       *passes.Weight
	axes    passes.Axes   // how its first use reads it
	mat     passes.Matrix // the weight as [output channels, features]
	zeros   int64         // before
	changed int64
	err     error
}

// check validates the options together.
func check(a passes.Args) error {
	n, mm := a.Int("n"), a.Int("m")
	if mm < 2 || mm > 1<<16 {
		return fmt.Errorf("m=%d is out of range: want 2 <= m <= 65536", mm)
	}
	if n < 1 || n >= mm {
		return fmt.Errorf("n=%d is out of range: want 1 <= n < m (m=%d)", n, mm)
	}
	for _, op := range a.List("ops") {
		if !slices.Contains(Ops, op) {
			return fmt.Errorf("ops: nm does not handle %q (it handles %s)", op, strings.Join(Ops, ", "))
		}
	}
	if a.Given("mask") {
		return fmt.Errorf("mask= ranks unstructured sparsity; nm's groups of m are the mask")
	}
	_, err := oneshot.Configure(a)
	return err
}

func run(ctx *passes.Context, m *graph.Model, a passes.Args) error {
	if err := check(a); err != nil {
		return err
	}
	n, mm := a.Int("n"), a.Int("m")
	sel := passes.Selection{Ops: a.List("ops"), Include: a.List("include"), Exclude: a.List("exclude")}
	pattern := fmt.Sprintf("%d:%d", n, mm)
	ws := passes.FindWeights(m, sel, func(name, reason string) { ctx.Skip(name, "%s", reason) })
	var jobs []*job
	seen := map[*onnx.TensorProto]bool{}
	for _, w := range ws {
		if seen[w.Tensor.Proto] {
			continue
		}
		seen[w.Tensor.Proto] = true
		a, mat, err := eligible(w, mm)
		if err != nil {
			ctx.Skip(w.Value.Name, "%v", err)
			continue
		}
		jobs = append(jobs, &job{w: w, axes: a, mat: mat})
	}
	if len(jobs) == 0 {
		ctx.Note("no weight is eligible for %s sparsity", pattern)
		return nil
	}
	if oc, _ := oneshot.Configure(a); oc.Method != oneshot.Magnitude {
		return runCalibrated(ctx, m, jobs, int(n), int(mm), oc)
	}
	var total int64
	for _, j := range jobs {
		total += j.w.Tensor.Bytes()
	}
	prog := passes.NewWeightProgress(ctx, total)
	size := func(i int) int64 { return jobs[i].w.Tensor.Bytes() }
	passes.ParallelWithin(len(jobs), ctx.Threads, passes.StreamBudget(m), size, func(i int) {
		j := jobs[i]
		j.run(int(n), int(mm))
		// Done with the weight: in streaming mode its bytes leave memory.
		if err := j.w.Tensor.Release(); err != nil && j.err == nil {
			j.err = fmt.Errorf("weight %q: %w", j.w.Value.Name, err)
		}
		prog.Add(size(i))
	})
	var names []string
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
		total, _ := j.w.Tensor.Elements()
		tr := passes.TensorReport{
			Name:   j.w.Value.Name,
			Shape:  j.w.Tensor.Dims(),
			DType:  passes.DTypeOf(j.w.Tensor),
			Detail: fmt.Sprintf("%s along axis %d, zeroed %d of %d", pattern, j.axes.Feature, j.changed, total),
		}
		if total > 0 {
			tr.SparsityBefore = float64(j.zeros) / float64(total)
			tr.SparsityAfter = float64(j.zeros+j.changed) / float64(total)
		}
		ctx.Tensor(tr)
		if j.changed > 0 {
			ctx.Report.TensorsTouched++
			ctx.Report.WeightsZeroed += j.changed
		}
		names = append(names, j.w.Value.Name)
	}
	return annotate(ctx, m, names, pattern)
}

// annotate records in the model's metadata that the named tensors are
// N:M sparse with pattern, merged with what an earlier run wrote.
func annotate(ctx *passes.Context, m *graph.Model, names []string, pattern string) error {
	annotation := map[string]any{}
	if old, ok := m.Metadata(MetadataKey); ok {
		if err := json.Unmarshal([]byte(old), &annotation); err != nil || annotation == nil {
			ctx.Note("the existing %s metadata is not a JSON object; it is replaced", MetadataKey)
			annotation = map[string]any{}
		}
	}
	for _, name := range names {
		annotation[name] = pattern
	}
	b, err := json.Marshal(annotation)
	if err != nil {
		return fmt.Errorf("writing the %s metadata: %w", MetadataKey, err)
	}
	m.SetMetadata(MetadataKey, string(b))
	ctx.Set("pattern", pattern)
	return nil
}

// eligible returns the layout to sparsify w along, or why it cannot be.
func eligible(w *passes.Weight, m int64) (passes.Axes, passes.Matrix, error) {
	dims := w.Tensor.Dims()
	var first passes.Axes
	var mat passes.Matrix
	for i, u := range w.Uses {
		l, ok := passes.LayoutOf(u)
		if !ok {
			return passes.Axes{}, passes.Matrix{}, fmt.Errorf("nm does not handle %s", u)
		}
		a, err := l.Axes(u, dims)
		if err != nil {
			return passes.Axes{}, passes.Matrix{}, err
		}
		um := a.Matrix(dims)
		if a.Feature < 0 || int64(um.Features)%m != 0 {
			return passes.Axes{}, passes.Matrix{}, fmt.Errorf("reduction size %d along axis %d (for %s) is not a multiple of m=%d", um.Features, a.Feature, u, m)
		}
		if i == 0 {
			first, mat = a, um
		} else if a.Feature != first.Feature {
			return passes.Axes{}, passes.Matrix{}, fmt.Errorf("conflicting layouts: %s reduces it along axis %d, %s along axis %d", w.Uses[0], first.Feature, u, a.Feature)
		}
	}
	return first, mat, nil
}

// run sparsifies the job's tensor, copying it only when something changes.
// A float32 tensor is changed in place; other float types are sparsified
// in their decoded copy and written back in their own type.
func (j *job) run(n, m int) {
	v, err := j.w.Tensor.Floats()
	if err != nil {
		j.err = fmt.Errorf("weight %q: %w", j.w.Value.Name, err)
		return
	}
	dims := j.w.Tensor.Dims()
	want := int64(1)
	for _, d := range dims {
		want *= d
	}
	if int64(len(v)) != want {
		j.err = fmt.Errorf("weight %q: %d values for shape %v", j.w.Value.Name, len(v), dims)
		return
	}
	for _, x := range v {
		if x == 0 {
			j.zeros++
		}
	}
	s := sparsifier{n: n, m: m, mat: j.mat}
	if s.run(v, false) == 0 {
		return // already N:M sparse: keep the tensor's bytes as they are
	}
	f32 := j.w.Tensor.DataType() == int32(onnx.TensorProto_FLOAT)
	if f32 {
		if v, err = j.w.Tensor.MutableFloat32s(); err != nil {
			j.err = fmt.Errorf("weight %q: %w", j.w.Value.Name, err)
			return
		}
	}
	j.changed = s.run(v, true)
	if !f32 {
		if err := j.w.Tensor.SetFloats(v); err != nil {
			j.err = fmt.Errorf("weight %q: %w", j.w.Value.Name, err)
		}
	}
}
