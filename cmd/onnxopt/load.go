package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/spf13/cobra"
)

// loadModel reads a model into the IR and checks it, with errors that name
// the file and the problem (exit code 1).
func loadModel(path string) (*graph.Model, error) {
	m, err := graph.ReadFile(path)
	if err != nil {
		return nil, withCode(exitFailure, err)
	}
	if err := m.Graph.Check(); err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("%s: %w", path, err))
	}
	return m, nil
}

// sameFile reports whether a and b name the same file (b may not exist).
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(sa, sb)
	}
	aa, _ := filepath.Abs(a)
	bb, _ := filepath.Abs(b)
	return aa == bb
}

// output is a file a command will write, named by the flag that chose it.
type output struct{ flag, path string }

// checkOutputs refuses, before any work, outputs that would overwrite one
// of the input models or each other, and outputs that name a folder.
// allowInput lists flags permitted to name an input (run -o --in-place).
func checkOutputs(inputs []string, outs []output, allowInput ...string) error {
	for i, o := range outs {
		if o.path == "" {
			continue
		}
		if st, err := os.Stat(o.path); err == nil && st.IsDir() {
			return usageErrorf("%s %s is a folder; give a file name", o.flag, o.path)
		}
		for _, in := range inputs {
			if sameFile(in, o.path) && !slices.Contains(allowInput, o.flag) {
				if o.flag == "-o" {
					return usageErrorf("-o %s is the input model; pass --in-place to overwrite it", o.path)
				}
				return usageErrorf("%s %s is an input model: it would be overwritten", o.flag, o.path)
			}
		}
		for _, p := range outs[:i] {
			if p.path != "" && sameFile(p.path, o.path) {
				return usageErrorf("%s and %s name the same file %s", p.flag, o.flag, o.path)
			}
		}
	}
	return nil
}

// noteDefaulted tells the user (on stderr) which dynamic dimensions of the
// generated inputs were given size 1 because no --shape set them: timing
// or comparing a 1x3x1x1 image is rarely what was meant.
func noteDefaulted(cmd *cobra.Command, specs []ort.InputSpec, shapes ort.Shapes) {
	if d := ort.Defaulted(specs, shapes); len(d) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "onnxopt: note: dynamic dimensions set to 1 (use --shape to size them): %s\n", strings.Join(d, ", "))
	}
}
