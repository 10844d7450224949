package verify

import (
	"fmt"
	"github.com/onnxopt/onnxopt/ort"
	"strings"

	"github.com/onnxopt/onnxopt/onnx"
)

// Config says how Verify runs and judges two models.
type Config struct {
	Options   ort.Options // how sessions run (execution provider, threads)
	Tolerance Tolerance   // when outputs pass
	// InputDir holds test data in the ONNX layout (see ort.ReadInputDir);
	// when empty, Samples random samples are generated from Seed.
	InputDir string
	Shapes   ort.Shapes // sizes of dynamic dimensions of generated inputs
	Samples  int        // generated samples; 0 means 1
	Seed     int64
	// ReferenceInputs and CandidateInputs, when set, are the models'
	// input specs (ort.InputSpecs) from a caller that has read the models
	// already; Verify then does not read the files again.
	ReferenceInputs, CandidateInputs []ort.InputSpec
}

// Report is the outcome of Verify.
type Report struct {
	Pass      bool      `json:"pass"`
	Outputs   []*Diff   `json:"outputs"`
	Samples   int       `json:"samples"`
	Reference string    `json:"reference"`
	Candidate string    `json:"candidate"`
	Tolerance Tolerance `json:"tolerance"`
	Runtime   string    `json:"runtime"` // e.g. "ONNX Runtime 1.30.0 (cpu)"
}

// Verify runs the reference and candidate models on the same inputs and
// compares every output. Outputs are paired by name, or by position when
// the names differ and the counts agree. A returned error means a model
// could not be read, loaded or run; differences beyond tolerance are in
// the report (Pass false).
func Verify(reference, candidate string, cfg Config) (*Report, error) {
	specs, err := inputSpecs(reference, cfg.ReferenceInputs)
	if err != nil {
		return nil, err
	}
	var samples [][]ort.Value
	if cfg.InputDir != "" {
		if samples, err = ort.ReadInputDir(cfg.InputDir, specs); err != nil {
			// The folder is the caller's setting: one that is missing or
			// does not fit the model is a usage error, as calib=DIR is.
			return nil, &ort.ConfigError{Err: fmt.Errorf("reading inputs: %w (onnxopt gen inputs KIND --model MODEL writes a set a model takes)", err)}
		}
	} else {
		n := max(cfg.Samples, 1)
		for i := 0; i < n; i++ {
			vals, err := ort.GenerateInputs(specs, cfg.Shapes, cfg.Seed, i)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", reference, err)
			}
			samples = append(samples, vals)
		}
	}
	candSpecs, err := inputSpecs(candidate, cfg.CandidateInputs)
	if err != nil {
		return nil, err
	}
	if err := sameInputs(specs, candSpecs, reference, candidate); err != nil {
		return nil, err
	}
	ref, err := ort.Open(reference, cfg.Options)
	if err != nil {
		return nil, err
	}
	defer ref.Close()
	cand, err := ort.Open(candidate, cfg.Options)
	if err != nil {
		return nil, err
	}
	defer cand.Close()
	refIn, err := arrangeInputs(ref, specs, "")
	if err != nil {
		return nil, err
	}
	candIn, err := arrangeInputs(cand, specs, "the reference's ")
	if err != nil {
		return nil, err
	}

	rep := &Report{Samples: len(samples), Reference: reference, Candidate: candidate, Tolerance: cfg.Tolerance}
	if info, err := ort.LoadRuntime(); err == nil {
		ep := cfg.Options.EP
		if ep == "" {
			ep = "cpu"
		}
		rep.Runtime = fmt.Sprintf("ONNX Runtime %s (%s)", info.Version, ep)
	}
	pairs, unpaired := pairOutputs(ref.Outputs(), cand.Outputs())
	for _, p := range pairs {
		rep.Outputs = append(rep.Outputs, &Diff{Name: p.name})
	}
	for _, sample := range samples {
		refOut, err := ref.Run(pick(sample, refIn))
		if err != nil {
			return nil, err
		}
		candOut, err := cand.Run(pick(sample, candIn))
		if err != nil {
			return nil, err
		}
		for i, p := range pairs {
			rep.Outputs[i].Add(refOut[p.ref], candOut[p.cand], cfg.Tolerance)
		}
	}
	rep.Pass = true
	for _, d := range rep.Outputs {
		rep.Pass = rep.Pass && d.Pass
	}
	for _, u := range unpaired {
		rep.Outputs = append(rep.Outputs, &Diff{Name: u, Problems: []string{"no matching output in the other model"}})
		rep.Pass = false
	}
	return rep, nil
}

// arrangeInputs maps each session input to the index of the spec whose
// value feeds it: by name, else by position when no name matches and the
// counts agree.
func arrangeInputs(s *ort.Session, specs []ort.InputSpec, whose string) ([]int, error) {
	idx := make([]int, len(s.Inputs()))
	byName := map[string]int{}
	for i, sp := range specs {
		byName[sp.Name] = i
	}
	matched := 0
	for i, in := range s.Inputs() {
		j, ok := byName[in.Name]
		if !ok {
			idx[i] = -1
			continue
		}
		idx[i] = j
		matched++
	}
	if matched == len(idx) {
		return idx, nil
	}
	if matched == 0 && len(idx) == len(specs) {
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var names []string
	for _, sp := range specs {
		names = append(names, sp.Name)
	}
	for i, j := range idx {
		if j < 0 {
			return nil, fmt.Errorf("%s: input %q is not among %sinputs (%s)", s.Name(), s.Inputs()[i].Name, whose, strings.Join(names, ", "))
		}
	}
	return idx, nil
}

func pick(vals []ort.Value, idx []int) []ort.Value {
	out := make([]ort.Value, len(idx))
	for i, j := range idx {
		out[i] = vals[j]
	}
	return out
}

type outputPair struct {
	name      string
	ref, cand int
}

// pairOutputs pairs outputs by name, or by position when no name matches
// and the counts agree; it also returns the outputs left unpaired.
func pairOutputs(ref, cand []ort.ValueInfo) (pairs []outputPair, unpaired []string) {
	byName := map[string]int{}
	for i, c := range cand {
		byName[c.Name] = i
	}
	used := map[int]bool{}
	for i, r := range ref {
		if j, ok := byName[r.Name]; ok {
			pairs = append(pairs, outputPair{r.Name, i, j})
			used[j] = true
		}
	}
	if len(pairs) == 0 && len(ref) == len(cand) {
		for i := range ref {
			name := ref[i].Name
			if cand[i].Name != name {
				name += " / " + cand[i].Name
			}
			pairs = append(pairs, outputPair{name, i, i})
		}
		return pairs, nil
	}
	for _, r := range ref {
		if _, ok := byName[r.Name]; !ok {
			unpaired = append(unpaired, "reference output "+r.Name)
		}
	}
	for j, c := range cand {
		if !used[j] {
			unpaired = append(unpaired, "candidate output "+c.Name)
		}
	}
	return pairs, unpaired
}

// sameInputs refuses to compare models whose inputs cannot take the same
// values: an input of one missing from the other, or a different element
// type or a different fixed size, named in the error.
func sameInputs(ref, cand []ort.InputSpec, refName, candName string) error {
	byName := map[string]ort.InputSpec{}
	for _, c := range cand {
		byName[c.Name] = c
	}
	for i, r := range ref {
		c, ok := byName[r.Name]
		if !ok {
			if len(ref) != len(cand) {
				return fmt.Errorf("the models take different inputs: %s has %d, %s has %d", refName, len(ref), candName, len(cand))
			}
			c = cand[i] // paired by position, as outputs are
		}
		if r.Kind != c.Kind || r.DType != c.DType {
			return fmt.Errorf("the models take different inputs: %q is %s in %s but %q is %s in %s",
				r.Name, ort.TypeString(r.Type), refName, c.Name, ort.TypeString(c.Type), candName)
		}
		if len(r.Dims) > 0 && len(c.Dims) > 0 {
			if len(r.Dims) != len(c.Dims) {
				return fmt.Errorf("the models take different inputs: %q has rank %d in %s but %d in %s", r.Name, len(r.Dims), refName, len(c.Dims), candName)
			}
			for k := range r.Dims {
				if a, b := r.Dims[k].Size, c.Dims[k].Size; a > 0 && b > 0 && a != b {
					return fmt.Errorf("the models take different inputs: dimension %d of %q is %d in %s but %d in %s",
						k, r.Name, a, refName, b, candName)
				}
			}
		}
	}
	return nil
}

// inputSpecs returns known, or else reads the model at path for its input
// specs.
func inputSpecs(path string, known []ort.InputSpec) ([]ort.InputSpec, error) {
	if known != nil {
		return known, nil
	}
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ort.InputSpecs(m), nil
}
