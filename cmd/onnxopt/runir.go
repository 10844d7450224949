package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
)

// irPrinter returns the passes.RunOptions.AfterPass hook behind
// --print-ir-after: after each step running the named pass (every step for
// "all") it writes a header line and the model's graph.Dump to w. An empty
// name gives nil (no dumps); a pass the pipeline does not run is a usage
// error.
func irPrinter(name string, p passes.Pipeline, w io.Writer) (func(int, passes.Step, *graph.Model) error, error) {
	if name == "" {
		return nil, nil
	}
	if name != "all" {
		found := false
		var names []string
		for _, s := range p {
			found = found || s.Pass.Name == name
			names = append(names, s.Pass.Name)
		}
		if !found {
			in := "it is empty"
			if len(names) > 0 {
				in = "it runs " + strings.Join(names, ", ")
			}
			return nil, usageErrorf("--print-ir-after: pass %q is not in the pipeline (%s; or give all)", name, in)
		}
	}
	return func(i int, step passes.Step, m *graph.Model) error {
		if name != "all" && step.Pass.Name != name {
			return nil
		}
		if _, err := fmt.Fprintf(w, "// IR after pass %d of %d: %s\n", i+1, len(p), passes.Pipeline{step}); err != nil {
			return err
		}
		m.Graph.Dump(w)
		return nil
	}, nil
}

// withReproducer adds to the error of a failed pass an onnxopt run
// command line that reproduces it: the input model and the pipeline up to
// and including the failing pass (the passes before it made the model it
// failed on).
func withReproducer(err error, in, out string, p passes.Pipeline) error {
	var pe *passes.PassError
	if !errors.As(err, &pe) || pe.Step >= len(p) {
		return err
	}
	cmd := fmt.Sprintf("onnxopt run %s -o %s -p %s", shellQuote(in), shellQuote(out), shellQuote(p[:pe.Step+1].String()))
	return fmt.Errorf("%w; to reproduce: %s", err, cmd)
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path and pipeline characters.
func shellQuote(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./:=,+@%", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
