package calib

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// Capture is an ONNX Runtime session over a model whose outputs are
// replaced by the chosen target values, with the calibration samples that
// feed it. Open it, call Each (as often as needed), Close it.
type Capture struct {
	cfg     Config
	targets []string
	specs   []ort.InputSpec
	src     *source
	sess    *ort.Session
	// where[k] says where target k comes from: >= 0 an output index of
	// sess, < 0 the input -where[k]-1 (a graph input is fed, not run).
	where []int
	// feed[i] is the spec index of session input i.
	feed []int
}

// Open prepares to capture targets, names of values of m's main graph
// (node outputs or graph inputs, not constants), on the calibration
// samples cfg names. The model is encoded once, with its outputs replaced
// by the targets so that ONNX Runtime computes only what they need, and
// read by one session; m is not changed and may be changed after Open
// returns (a caller fitting layer by layer opens a new Capture after each
// change). A folder of samples is checked against the model's inputs
// here (its first sample) and as each sample is read.
func Open(m *graph.Model, cfg Config, targets []string) (*Capture, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("calibration: no values to capture")
	}
	p := m.ToProto()
	c := &Capture{cfg: cfg, targets: targets, specs: ort.InputSpecs(p)}
	inputIndex := map[string]int{}
	for i, s := range c.specs {
		inputIndex[s.Name] = i
	}
	var outs []*onnx.ValueInfoProto
	outIndex := map[string]int{}
	var types map[*graph.Value]int32 // inferred, for values of unknown type
	for _, name := range targets {
		if _, dup := outIndex[name]; dup {
			return nil, fmt.Errorf("calibration: value %q is listed twice", name)
		}
		if i, ok := inputIndex[name]; ok {
			outIndex[name] = -i - 1
			continue
		}
		v := m.Graph.Lookup(name)
		switch {
		case v == nil || v.Graph() != m.Graph:
			return nil, fmt.Errorf("calibration: the model's main graph has no value %q", name)
		case v.IsConstant():
			return nil, fmt.Errorf("calibration: %q is a constant, not an activation", name)
		}
		et, err := captureType(m, v, &types)
		if err != nil {
			return nil, err
		}
		n := name
		outIndex[name] = len(outs)
		outs = append(outs, &onnx.ValueInfoProto{Name: &n, Type: &onnx.TypeProto{
			Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: &et}}}})
	}
	src, err := cfg.source(c.specs)
	if err != nil {
		return nil, err
	}
	c.src = src
	if cfg.Source != Random {
		if _, err := src.sample(0); err != nil {
			return nil, err
		}
	}
	for _, name := range targets {
		c.where = append(c.where, outIndex[name])
	}
	if len(outs) == 0 {
		return c, nil // every target is an input: nothing to run
	}
	p.Graph.Output = outs
	b, err := onnx.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("calibration: encoding the model: %w", err)
	}
	opts := ort.Options{Threads: cfg.Threads}
	if m.Store != nil {
		opts.ExternalDataDir = m.Store.Dir()
	}
	s, err := ort.OpenBytes(b, opts)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	c.sess = s
	for _, in := range s.Inputs() {
		i, ok := inputIndex[in.Name]
		if !ok {
			s.Close()
			return nil, fmt.Errorf("calibration: ONNX Runtime wants input %q, which the model does not list", in.Name)
		}
		c.feed = append(c.feed, i)
	}
	// Find each output by name rather than trust the order.
	pos := map[string]int{}
	for i, o := range s.Outputs() {
		pos[o.Name] = i
	}
	for k, name := range targets {
		if c.where[k] >= 0 {
			i, ok := pos[name]
			if !ok {
				s.Close()
				return nil, fmt.Errorf("calibration: ONNX Runtime does not list %q among the outputs it was asked for", name)
			}
			c.where[k] = i
		}
	}
	return c, nil
}

// captureType is the element type to declare for captured value v: its
// own, else the one inferred from the ops producing it (a float16 model's
// activations are float16), else float32, the activations this package
// is for. types caches the inference across calls.
func captureType(m *graph.Model, v *graph.Value, types *map[*graph.Value]int32) (int32, error) {
	if et := v.ElemType(); et != 0 {
		return et, nil
	}
	if *types == nil {
		ts, err := graph.ElemTypes(m.Graph)
		if err != nil {
			return 0, fmt.Errorf("calibration: inferring the type of %q: %w", v.Name, err)
		}
		*types = ts
	}
	if et := (*types)[v]; et != 0 {
		return et, nil
	}
	return int32(onnx.TensorProto_FLOAT), nil
}

// Samples is the number of calibration samples Each runs.
func (c *Capture) Samples() int { return c.src.n }

// Targets returns the captured value names, in Open's order.
func (c *Capture) Targets() []string { return c.targets }

// Each runs every calibration sample through the model, in order, and
// calls fn for each target of that sample, in Open's order, with the
// captured tensor (for float activations, Rows gives the [rows,
// features] view). The tensor is fn's to keep, but keeping it is what
// makes memory grow: at most one sample's inputs and target tensors are
// held by Each at a time. An error from fn stops Each and is returned.
func (c *Capture) Each(fn func(sample int, target string, x *ort.Tensor) error) error {
	for i := 0; i < c.src.n; i++ {
		ts, err := c.run(i)
		if err != nil {
			return err
		}
		for k, name := range c.targets {
			if err := fn(i, name, ts[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// run runs calibration sample i and returns the targets' tensors, in
// Open's order.
func (c *Capture) run(i int) ([]*ort.Tensor, error) {
	in, err := c.src.sample(i)
	if err != nil {
		return nil, err
	}
	var out []ort.Value
	if c.sess != nil {
		feed := make([]ort.Value, len(c.feed))
		for k, j := range c.feed {
			feed[k] = in[j]
		}
		if out, err = c.sess.Run(feed); err != nil {
			return nil, fmt.Errorf("calibration sample %d: %w", i, err)
		}
	}
	ts := make([]*ort.Tensor, len(c.targets))
	for k, name := range c.targets {
		var v ort.Value
		if w := c.where[k]; w >= 0 {
			v = out[w]
		} else {
			v = in[-w-1]
		}
		t, ok := v.(*ort.Tensor)
		if !ok {
			return nil, fmt.Errorf("calibration: %q is %s, not a tensor", name, ort.Describe(v))
		}
		ts[k] = t
	}
	return ts, nil
}

// Pair runs every calibration sample through two models that share the
// target value names — ref, the model before a pass compressed it, and m,
// the model being compressed — and calls fn for each target of each
// sample with both models' tensors, sample by sample, so that at most one
// sample's targets of each model are held at a time. It is what fitting a
// compressed layer to the original layer's outputs needs: the cross
// products of the two models' inputs of the layer ([obs.Cross]).
func Pair(ref, m *graph.Model, cfg Config, targets []string, fn func(sample int, target string, ref, cur *ort.Tensor) error) error {
	rc, err := Open(ref, cfg, targets)
	if err != nil {
		return fmt.Errorf("original model: %w", err)
	}
	defer rc.Close()
	c, err := Open(m, cfg, targets)
	if err != nil {
		return err
	}
	defer c.Close()
	if rc.Samples() != c.Samples() {
		return fmt.Errorf("calibration: %d samples for the original model, %d for the compressed one", rc.Samples(), c.Samples())
	}
	for i := 0; i < c.Samples(); i++ {
		rs, err := rc.run(i)
		if err != nil {
			return fmt.Errorf("original model: %w", err)
		}
		cs, err := c.run(i)
		if err != nil {
			return err
		}
		for k, name := range targets {
			if err := fn(i, name, rs[k], cs[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the session.
func (c *Capture) Close() error {
	if c.sess != nil {
		return c.sess.Close()
	}
	return nil
}
