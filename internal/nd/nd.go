// Package nd holds small array helpers shared by passes and diff: shape
// broadcasting, Transpose permutations and 2-D transposes.
package nd

import "fmt"

// Broadcast returns the multidirectional (numpy-style) broadcast of two
// shapes, or an error when a dimension differs and neither is 1. A
// negative size is unknown (a symbolic dimension): with 1 or with another
// unknown size it stays unknown, and with a known size it is -1 too, as
// the result depends on the run.
func Broadcast(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := 0; i < r; i++ {
		da, db := int64(1), int64(1)
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		case da < 0 || db < 0:
			out[i] = -1
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// Transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func Transpose[T any](x []T, rows, cols int) []T {
	t := make([]T, len(x))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = x[r*cols+c]
		}
	}
	return t
}

// Perm returns the permutation of a Transpose of a rank-r tensor: perm
// itself, or when it is nil the reversal of the axes (ONNX's default), or
// an error when it is not a permutation of [0, r).
func Perm(perm []int64, r int) ([]int64, error) {
	if r < 0 {
		return nil, fmt.Errorf("the rank is unknown")
	}
	if perm == nil {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
		return perm, nil
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
	}
	return perm, nil
}
