package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/onnxopt/onnxopt/graph"
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
