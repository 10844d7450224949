package calib

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

// source yields calibration samples one at a time, so that only one
// sample's inputs are in memory.
type source struct {
	n      int
	sample func(i int) ([]ort.Value, error)
}

// source returns the samples cfg names for a model with these inputs.
// Every input must be a tensor (calibration feeds tensors only).
func (c Config) source(specs []ort.InputSpec) (*source, error) {
	for _, s := range specs {
		if s.Kind != ort.KindTensor {
			return nil, fmt.Errorf("calibration: input %q is %s; only tensor inputs can be calibrated", s.Name, ort.TypeString(s.Type))
		}
	}
	if c.Source == Random || c.Source == "" {
		n := max(c.Samples, 1)
		return &source{n: n, sample: func(i int) ([]ort.Value, error) {
			v, err := ort.GenerateInputs(specs, c.Shapes, c.Seed, i)
			if err != nil {
				return nil, fmt.Errorf("calibration inputs: %w (use calib=DIR)", err)
			}
			return v, nil
		}}, nil
	}
	sets, err := ort.TestDataSets(c.Source)
	if err != nil {
		return nil, fmt.Errorf("calib: %w", err)
	}
	if c.Samples > 0 && len(sets) > c.Samples {
		sets = sets[:c.Samples]
	}
	return &source{n: len(sets), sample: func(i int) ([]ort.Value, error) {
		return readSample(sets[i], specs)
	}}, nil
}

// readSample reads one folder of input_N.pb files and checks that each
// file names an input of the model (when it names one at all) and that
// its element type and shape fit that input.
func readSample(dir string, specs []ort.InputSpec) ([]ort.Value, error) {
	if err := checkNames(dir, specs); err != nil {
		return nil, err
	}
	vals, err := ort.ReadInputDir(dir, specs)
	if err != nil {
		return nil, fmt.Errorf("calibration sample %s: %w", dir, err)
	}
	if len(vals) != 1 {
		return nil, fmt.Errorf("calibration sample %s: want one sample of input_N.pb files, found %d", dir, len(vals))
	}
	for i, v := range vals[0] {
		s := specs[i]
		t, ok := v.(*ort.Tensor)
		if !ok {
			return nil, fmt.Errorf("calibration sample %s: input %q is %s, want a tensor", dir, s.Name, ort.Describe(v))
		}
		if t.DType != s.DType {
			return nil, fmt.Errorf("calibration sample %s: input %q is %v, but the model takes %s", dir, s.Name, t.DType, ort.TypeString(s.Type))
		}
		if s.Dims == nil {
			continue
		}
		fits := len(t.Shape) == len(s.Dims)
		for k := 0; fits && k < len(s.Dims); k++ {
			fits = s.Dims[k].Size < 0 || s.Dims[k].Size == t.Shape[k]
		}
		if !fits {
			return nil, fmt.Errorf("calibration sample %s: input %q has shape %v, but the model takes %s", dir, s.Name, t.Shape, ort.TypeString(s.Type))
		}
	}
	return vals[0], nil
}

// checkNames refuses input_N.pb files whose stored name is not an input of
// the model (ort.ReadInputDir would fall back to the file's position).
func checkNames(dir string, specs []ort.InputSpec) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("calib: %w", err)
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "input_") || !strings.HasSuffix(e.Name(), ".pb") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("calib: %w", err)
		}
		p, err := onnx.DecodeTensor(b)
		if err != nil {
			return fmt.Errorf("calibration sample %s: %v", path, err)
		}
		if n := p.GetName(); n != "" && !slices.Contains(names, n) {
			return fmt.Errorf("calibration sample %s: tensor %q is not an input of the model (it takes %s)", path, n, strings.Join(names, ", "))
		}
	}
	return nil
}
