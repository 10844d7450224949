package calib

import (
	"fmt"
	"os"
	"strings"

	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes"
)

// Config says where calibration samples come from. Configure builds it
// from a pass's options; a caller may also fill it directly.
type Config struct {
	// Source is "random" (seeded random inputs, as `onnxopt verify`
	// makes them) or a folder of ONNX test data: test_data_set_N
	// sub-folders of input_N.pb files, one sample each, or a single folder
	// of input_N.pb files (one sample).
	Source string
	// Samples is the number of random samples, or the most sample folders
	// read from Source.
	Samples int
	// Seed draws the random samples (sample i uses seed Seed, stream i).
	Seed int64
	// Shapes sizes the dynamic dimensions of random inputs, by input name
	// or symbolic dimension name.
	Shapes ort.Shapes
	// Threads is ONNX Runtime's intra-op thread count (0: its choice);
	// passes set it from passes.Context.Threads.
	Threads int
}

// Random is Config.Source for seeded random samples.
const Random = "random"

// DefaultSamples is how many random samples calibrate when samples= is not
// given (a calib folder is read whole).
const DefaultSamples = 8

// Options returns the calibration options, for a pass to append to its
// own: calib, samples, seed and shapes. Defaults: random, 8 samples, seed 1;
// with a folder, every sample in it unless samples= is given.
func Options() []passes.Option {
	return []passes.Option{
		{Name: "calib", Kind: passes.String, Default: Random, Doc: "calibration samples: 'random', or a folder of ONNX test data (test_data_set_N/input_N.pb, one sample per folder, or one folder of input_N.pb)"},
		{Name: "samples", Kind: passes.Int, Doc: "calibration: how many samples: random ones (default 8), or the most read from the calib folder (default all)"},
		{Name: "seed", Kind: passes.Int, Default: "1", Doc: "calibration, calib=random: seed of the random samples"},
		{Name: "shapes", Kind: passes.List, Doc: "calibration, calib=random: sizes of dynamic dimensions, by input or dimension name, e.g. x:1x3x48x192|batch:8 (or x=1x3x48x192, quoted); an unsized batch (the first axis) is 1, other dynamic dimensions must be given"},
	}
}

// Configure reads and checks the options Options declares. The calib
// folder must exist; whether its data fits the model is checked when the
// model is known (Config.Check, Open).
func Configure(a passes.Args) (Config, error) {
	c := Config{
		Source:  a.String("calib"),
		Samples: int(a.Int("samples")),
		Seed:    a.Int("seed"),
		Shapes:  ort.Shapes{},
	}
	if c.Source == "" {
		c.Source = Random
	}
	switch {
	case !a.Has("samples") && c.Source == Random:
		c.Samples = DefaultSamples
	case !a.Has("samples"):
		c.Samples = 0 // the whole folder
	case c.Samples < 1:
		return Config{}, fmt.Errorf("samples=%d: need at least one calibration sample", c.Samples)
	}
	for _, s := range a.List("shapes") {
		name, dims, err := ParseShape(s)
		if err != nil {
			return Config{}, fmt.Errorf("shapes: %w", err)
		}
		c.Shapes[name] = dims
	}
	if c.Source != Random {
		st, err := os.Stat(c.Source)
		if err != nil {
			return Config{}, fmt.Errorf("calib: %w", err)
		}
		if !st.IsDir() {
			return Config{}, fmt.Errorf("calib: %s is not a folder (want 'random' or a folder of ONNX test data)", c.Source)
		}
	}
	return c, nil
}

// ParseShape parses one shapes= entry: NAME=DIMS as `onnxopt verify
// --shape` takes it (ort.ParseShape), or NAME:DIMS, which needs no quotes
// in a pipeline. The last '=' (or, with none, the last ':') separates the
// name, so names holding ':' work in the first form.
func ParseShape(s string) (string, []int64, error) {
	if !strings.Contains(s, "=") {
		if i := strings.LastIndex(s, ":"); i >= 0 {
			s = s[:i] + "=" + s[i+1:]
		}
	}
	return ort.ParseShape(s)
}

// Check refuses settings that cannot calibrate a model with these inputs,
// before a pass changes anything: with random samples, an input with a
// dynamic dimension other than the first (the batch) that Shapes does not
// size (generated at size 1, an image model would be calibrated on 1x1
// images, whose activations are nothing like real ones), or a Shapes key
// the model does not have; with a folder, a first sample that does not
// fit the inputs.
func (c Config) Check(specs []ort.InputSpec) error {
	if c.Source != Random {
		src, err := c.source(specs)
		if err != nil {
			return err
		}
		_, err = src.sample(0)
		return err
	}
	if err := c.Shapes.Check(specs); err != nil {
		return fmt.Errorf("shapes: %w", err)
	}
	for _, s := range specs {
		if _, ok := c.Shapes[s.Name]; ok {
			continue
		}
		var dyn []string
		for i, d := range s.Dims {
			if i > 0 && d.Size < 0 && len(c.Shapes[d.Param]) != 1 {
				name := d.Param
				if name == "" {
					name = "?"
				}
				dyn = append(dyn, fmt.Sprintf("%d (%s)", i, name))
			}
		}
		if len(dyn) > 0 {
			return fmt.Errorf("calib=random: input %q has dynamic dimensions %s with no size; give them with shapes= (for example shapes=%s:%s) or calibrate on real samples with calib=DIR",
				s.Name, strings.Join(dyn, ", "), s.Name, exampleShape(s.Dims))
		}
	}
	return nil
}

// exampleShape writes dims as AxBxC, with 1 for the batch and 224 for other
// dynamic dimensions.
func exampleShape(dims []ort.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		switch {
		case d.Size >= 0:
			parts[i] = fmt.Sprint(d.Size)
		case i == 0:
			parts[i] = "1"
		default:
			parts[i] = "224"
		}
	}
	return strings.Join(parts, "x")
}
