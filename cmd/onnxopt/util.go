package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/onnxopt/onnxopt/internal/units"
)

// parseSize reads an optional size flag such as 64KB, 1MB or 2.5GB ("" is
// 0); see units.ParseBytes.
func parseSize(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return units.ParseBytes(s)
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// plural writes n and noun, with an s unless n is 1: "1 more reason",
// "3 more reasons".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
