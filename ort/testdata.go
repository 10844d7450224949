package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
)

// ReadInputDir reads input samples in the ONNX test-data layout: dir holds
// input_0.pb, input_1.pb, ... (one sample), or test_data_set_N folders
// that each do (one sample per folder). Each sample has one value per
// spec, in specs order.
func ReadInputDir(dir string, specs []InputSpec) ([][]Value, error) {
	sets, err := TestDataSets(dir)
	if err != nil {
		return nil, err
	}
	var samples [][]Value
	for _, set := range sets {
		vals, err := readValues(set, "input", specs, true)
		if err != nil {
			return nil, err
		}
		if err := fitsSpecs(set, vals, specs); err != nil {
			return nil, err
		}
		samples = append(samples, vals)
	}
	return samples, nil
}

// fitsSpecs checks that values read for a model are tensors of its
// inputs' element types, ranks and fixed sizes, so that data made for
// another model is refused naming the input, not by ONNX Runtime.
func fitsSpecs(dir string, vals []Value, specs []InputSpec) error {
	for i, v := range vals {
		s := specs[i]
		if s.Kind != KindTensor {
			continue
		}
		t, ok := v.(*Tensor)
		if !ok {
			return fmt.Errorf("%s: input %q is %s, want a tensor", dir, s.Name, Describe(v))
		}
		if t.DType != s.DType {
			return fmt.Errorf("%s: input %q is %v, but the model takes %s", dir, s.Name, t.DType, TypeString(s.Type))
		}
		if s.Dims == nil {
			continue
		}
		fits := len(t.Shape) == len(s.Dims)
		for k := 0; fits && k < len(s.Dims); k++ {
			fits = s.Dims[k].Size < 0 || s.Dims[k].Size == t.Shape[k]
		}
		if !fits {
			return fmt.Errorf("%s: input %q has shape %v, but the model takes %s", dir, s.Name, t.Shape, TypeString(s.Type))
		}
	}
	return nil
}

// ReadTestDataSet reads one test_data_set_N folder of the ONNX backend
// suite for model m: inputs in InputSpecs order, expected outputs in graph
// output order.
func ReadTestDataSet(dir string, m *onnx.ModelProto) (inputs, outputs []Value, err error) {
	if inputs, err = readValues(dir, "input", InputSpecs(m), false); err != nil {
		return nil, nil, err
	}
	if outputs, err = readValues(dir, "output", OutputSpecs(m), false); err != nil {
		return nil, nil, err
	}
	return inputs, outputs, nil
}

// TestDataSets returns dir's test_data_set_N folders in numeric order, or
// dir itself when it has none.
func TestDataSets(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type set struct {
		n    int
		path string
	}
	var sets []set
	for _, e := range ents {
		if n, ok := numbered(e.Name(), "test_data_set_", ""); ok && e.IsDir() {
			sets = append(sets, set{n, filepath.Join(dir, e.Name())})
		}
	}
	if len(sets) == 0 {
		return []string{dir}, nil
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].n < sets[j].n })
	paths := make([]string, len(sets))
	for i, s := range sets {
		paths[i] = s.path
	}
	return paths, nil
}

// numbered parses names like prefix + N + suffix.
func numbered(name, prefix, suffix string) (int, bool) {
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	n, err := strconv.Atoi(name[len(prefix) : len(name)-len(suffix)])
	return n, err == nil && n >= 0
}

// readValues reads dir/PREFIX_N.pb for N = 0, 1, ... and assigns each file
// to a spec: by the name stored in the file when it names one, else by
// position. A spec left without a file is an error, except an optional,
// which is None.
func readValues(dir, prefix string, specs []InputSpec, strict bool) ([]Value, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	count := 0
	for _, e := range ents {
		if _, ok := numbered(e.Name(), prefix+"_", ".pb"); ok {
			count++
		}
	}
	if count == 0 && len(specs) > 0 {
		return nil, fmt.Errorf("%s has no %s_N.pb files", dir, prefix)
	}
	if count > len(specs) {
		return nil, fmt.Errorf("%s has %d %s files, but the model has %d %ss", dir, count, prefix, len(specs), prefix)
	}
	byName := map[string]int{}
	for i, s := range specs {
		byName[s.Name] = i
	}
	vals := make([]Value, len(specs))
	for k := 0; k < count; k++ {
		path := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, k))
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		// Decode as the spec at this position first; the name inside the
		// file may then point at another spec, whose type decides.
		v, name, err := DecodeValue(b, specs[k].Type)
		if _, ok := byName[name]; strict && name != "" && !ok {
			names := make([]string, len(specs))
			for i, s := range specs {
				names[i] = s.Name
			}
			return nil, fmt.Errorf("%s: tensor %q is not an input of the model (it takes %s)", path, name, strings.Join(names, ", "))
		}
		target := k
		if j, ok := byName[name]; ok && name != "" && j != k {
			target = j
			v, _, err = DecodeValue(b, specs[j].Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if t, ok := v.(*Tensor); ok && t.DType == Uint16 && specs[target].DType == BFloat16 {
			// The backend suite stores bfloat16 data as its uint16 bits
			// (numpy has no bfloat16); the bits are the same.
			t.DType = BFloat16
		}
		if vals[target] != nil {
			return nil, fmt.Errorf("%s: %s %q has data in two files", path, prefix, specs[target].Name)
		}
		vals[target] = v
	}
	for i, v := range vals {
		if v != nil {
			continue
		}
		if specs[i].Kind != KindOptional {
			return nil, fmt.Errorf("%s: no data for %s %q", dir, prefix, specs[i].Name)
		}
		vals[i] = None{}
	}
	return vals, nil
}
