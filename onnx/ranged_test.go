package onnx_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// BenchmarkExternalReads reads every external tensor of a 64 MiB model
// once, the whole side file at once (the default) against one positioned
// read per tensor (range mode, which streaming uses).
func BenchmarkExternalReads(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "m.onnx")
	o := modelgen.MLPForBytes(64<<20, modelgen.MLPOptions{})
	if err := modelgen.WriteMLP(path, o, true); err != nil {
		b.Fatal(err)
	}
	p, err := onnx.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var ext []*onnx.TensorProto
	var total int64
	onnx.WalkTensors(p, func(t *onnx.TensorProto, _ onnx.TensorSite) {
		if t.IsExternal() {
			ext = append(ext, t)
			n, _ := t.Elements()
			total += 4 * n
		}
	})
	for _, ranged := range []bool{false, true} {
		b.Run(fmt.Sprintf("ranged=%v", ranged), func(b *testing.B) {
			b.SetBytes(total)
			for range b.N {
				s := onnx.NewExternalStore(dir)
				s.SetRangeReads(ranged)
				for _, t := range ext {
					v, err := s.Bytes(t)
					if err != nil {
						b.Fatal(err)
					}
					if ranged {
						s.Release(int64(len(v)))
					}
				}
				s.Close()
			}
		})
	}
}
