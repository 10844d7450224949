package passtest

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/synthdata"
)

// RealisticSet writes n samples of a synthdata kind drawn with seed to a
// test-data folder (the calib=DIR and verify InputDir layout) and returns
// it. Draw calibration and evaluation sets with different seeds.
func RealisticSet(t testing.TB, kind string, shape []int64, n int, seed int64) string {
	t.Helper()
	ss, err := synthdata.Generate(kind, shape, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d", kind, seed))
	k, _ := synthdata.Lookup(kind)
	if err := synthdata.WriteDir(dir, k.Input, ss); err != nil {
		t.Fatal(err)
	}
	return dir
}
