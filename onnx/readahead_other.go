//go:build !linux

package onnx

import "os"

// readAhead is a no-op where posix_fadvise is not available.
func readAhead(*os.File, int64, int64) {}
