package calib

import (
	"fmt"

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

// readSample reads one folder of input_N.pb files; ort.ReadInputDir
// checks that each file names an input of the model (when it names one at
// all) and that its element type and shape fit that input.
func readSample(dir string, specs []ort.InputSpec) ([]ort.Value, error) {
	vals, err := ort.ReadInputDir(dir, specs)
	if err != nil {
		return nil, fmt.Errorf("calibration sample %w", err)
	}
	if len(vals) != 1 {
		return nil, fmt.Errorf("calibration sample %s: want one sample of input_N.pb files, found %d", dir, len(vals))
	}
	return vals[0], nil
}
