package diff

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
)

// ValueError is how far a value of the second model is from its
// counterpart in the first, over the samples run.
type ValueError struct {
	Name      string   `json:"name"`                 // in the first model
	AfterName string   `json:"after_name,omitempty"` // in the second, when renamed
	Op        string   `json:"op,omitempty"`         // producing op in the first model
	Index     int      `json:"index"`                // topological position of the producer
	MaxAbsErr *float64 `json:"max_abs_err"`
	RelL2     *float64 `json:"rel_l2"`
	Cosine    *float64 `json:"cosine"`
	Top1      *float64 `json:"top1_agree,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// RunOptions configure RunOutputs.
type RunOptions struct {
	Session ort.Options
	Shapes  ort.Shapes // sizes of dynamic input dimensions
	Samples int        // random input samples; 0 means 1
	Seed    int64
	// PerLayer also compares matched intermediate values, exposed as extra
	// outputs in temporary copies of both models; at most MaxLayers of
	// them (0: 64), spread evenly over the graph.
	PerLayer  bool
	MaxLayers int
}

// valuePair is a value of each model to compare.
type valuePair struct {
	a, b  *graph.Value
	op    string
	index int
}

// RunOutputs runs both models (read from pathA and pathB, the files the
// result was computed from) through ONNX Runtime on the same random inputs
// and fills in Outputs, and with PerLayer, Layers.
func (r *Result) RunOutputs(pathA, pathB string, opts RunOptions) error {
	var outs []valuePair
	for i, va := range r.a.Graph.Outputs {
		if vb := r.matching.ValueAB[va]; vb != nil && contains(r.b.Graph.Outputs, vb) {
			outs = append(outs, valuePair{a: va, b: vb, index: i})
		}
	}
	if len(outs) == 0 {
		return fmt.Errorf("no output of %s has a counterpart in %s", r.Before, r.After)
	}
	var layers []valuePair
	runA, runB := pathA, pathB
	if opts.PerLayer {
		var err error
		if layers, err = r.layerPairs(opts.MaxLayers); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "onnxopt-diff-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if runA, err = exposeValues(pathA, filepath.Join(dir, "before.onnx"), layers, true); err != nil {
			return fmt.Errorf("%s: %w", pathA, err)
		}
		if runB, err = exposeValues(pathB, filepath.Join(dir, "after.onnx"), layers, false); err != nil {
			return fmt.Errorf("%s: %w", pathB, err)
		}
	}
	sa, err := ort.Open(runA, opts.Session)
	if err != nil {
		return fmt.Errorf("%s: %w", pathA, err)
	}
	defer sa.Close()
	sb, err := ort.Open(runB, opts.Session)
	if err != nil {
		return fmt.Errorf("%s: %w", pathB, err)
	}
	defer sb.Close()

	specs := ort.InputSpecs(r.a.ToProto())
	feedA, err := r.arrange(sa, specs, true)
	if err != nil {
		return fmt.Errorf("%s: %w", pathA, err)
	}
	feedB, err := r.arrange(sb, specs, false)
	if err != nil {
		return fmt.Errorf("%s: %w", pathB, err)
	}
	all := append(append([]valuePair{}, outs...), layers...)
	diffs := make([]*verify.Diff, len(all))
	idxA, idxB := outputIndex(sa), outputIndex(sb)
	for s := 0; s < max(opts.Samples, 1); s++ {
		in, err := ort.GenerateInputs(specs, opts.Shapes, opts.Seed, s)
		if err != nil {
			return fmt.Errorf("%s: %w", pathA, err)
		}
		oa, err := sa.Run(pickValues(in, feedA))
		if err != nil {
			return fmt.Errorf("running %s: %w", pathA, err)
		}
		ob, err := sb.Run(pickValues(in, feedB))
		if err != nil {
			return fmt.Errorf("running %s: %w", pathB, err)
		}
		for i, p := range all {
			ia, okA := idxA[p.a.Name]
			ib, okB := idxB[p.b.Name]
			if !okA || !okB {
				return fmt.Errorf("value %q / %q is not an output of the session", p.a.Name, p.b.Name)
			}
			if diffs[i] == nil {
				diffs[i] = &verify.Diff{Name: p.a.Name}
			}
			diffs[i].Add(oa[ia], ob[ib], verify.DefaultTolerance)
		}
	}
	r.Outputs, r.Layers = nil, nil
	for i, p := range all {
		e := &ValueError{Name: p.a.Name, Op: p.op, Index: p.index, Problems: diffs[i].Problems}
		if p.b.Name != p.a.Name {
			e.AfterName = p.b.Name
		}
		e.MaxAbsErr, e.RelL2, e.Cosine, e.Top1 = finite(diffs[i].MaxAbsErr), finite(diffs[i].RelL2), finite(diffs[i].Cosine), diffs[i].Top1Agree
		if i < len(outs) {
			r.Outputs = append(r.Outputs, e)
		} else {
			r.Layers = append(r.Layers, e)
		}
	}
	return nil
}

// layerPairs picks matched intermediate values of the main graph: the
// first output of each matched node (Constant nodes and graph outputs
// aside), in topological order, at most limit of them spread evenly.
func (r *Result) layerPairs(limit int) ([]valuePair, error) {
	if limit <= 0 {
		limit = 64
	}
	order, err := r.a.Graph.Toposort()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Before, err)
	}
	var all []valuePair
	for i, na := range order {
		nb := r.matching.NodeAB[na]
		if nb == nil || na.OpType() == "Constant" || na.Output(0) == nil || nb.Output(0) == nil {
			continue
		}
		va, vb := na.Output(0), nb.Output(0)
		if r.matching.ValueAB[va] != vb || va.IsOutput() || vb.IsOutput() || !isTensorValue(va) || !isTensorValue(vb) {
			continue
		}
		all = append(all, valuePair{a: va, b: vb, op: opKey(na), index: i})
	}
	if len(all) <= limit {
		return all, nil
	}
	picked := make([]valuePair, 0, limit)
	for k := 0; k < limit; k++ {
		picked = append(picked, all[k*len(all)/limit])
	}
	return picked, nil
}

// isTensorValue reports whether v is a tensor, or of unknown type.
func isTensorValue(v *graph.Value) bool {
	t := v.Type()
	return t == nil || t.GetTensorType() != nil
}

// exposeValues writes a copy of the model at path to out with the chosen
// values added as graph outputs.
func exposeValues(path, out string, pairs []valuePair, first bool) (string, error) {
	m, err := graph.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, p := range pairs {
		name := p.b.Name
		if first {
			name = p.a.Name
		}
		v := m.Graph.Lookup(name)
		if v == nil {
			return "", fmt.Errorf("value %q not found", name)
		}
		m.Graph.Outputs = append(m.Graph.Outputs, v)
	}
	if err := m.WriteFile(out, onnx.WriteOptions{}); err != nil {
		return "", err
	}
	return out, nil
}

// arrange maps each session input to the index of the spec (an input of
// the first model) that feeds it: by name, or through the matching.
func (r *Result) arrange(s *ort.Session, specs []ort.InputSpec, first bool) ([]int, error) {
	byName := map[string]int{}
	for i, sp := range specs {
		byName[sp.Name] = i
	}
	out := make([]int, len(s.Inputs()))
	for i, in := range s.Inputs() {
		name := in.Name
		if !first {
			if vb := r.b.Graph.Lookup(name); vb != nil && r.matching.ValueBA[vb] != nil {
				name = r.matching.ValueBA[vb].Name
			}
		}
		j, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("input %q has no counterpart among the first model's inputs", in.Name)
		}
		out[i] = j
	}
	return out, nil
}

func pickValues(vals []ort.Value, idx []int) []ort.Value {
	out := make([]ort.Value, len(idx))
	for i, j := range idx {
		out[i] = vals[j]
	}
	return out
}

func outputIndex(s *ort.Session) map[string]int {
	m := map[string]int{}
	for i, o := range s.Outputs() {
		m[o.Name] = i
	}
	return m
}
