package prune

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// naiveSmallest returns, for each position of the concatenated values,
// whether it is among the k smallest magnitudes, ties broken by position:
// the definition selectSmallest must meet, computed by sorting.
func naiveSmallest(vals []float32, k int) []bool {
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(vals[idx[a]]) < key(vals[idx[b]]) })
	out := make([]bool, len(vals))
	for _, i := range idx[:k] {
		out[i] = true
	}
	return out
}

// awkward returns n values mixing signs, ties, zeros, -0, subnormals,
// infinities and NaN.
func awkward(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		switch r.IntN(10) {
		case 0:
			v[i] = 0
		case 1:
			v[i] = float32(math.Copysign(0, -1))
		case 2:
			v[i] = float32(r.IntN(4)) * 0.25 // many ties
		case 3:
			v[i] = -float32(r.IntN(4)) * 0.25
		case 4:
			v[i] = math.Float32frombits(uint32(r.IntN(100))) // subnormal
		case 5:
			v[i] = float32(r.IntN(3)-1) * float32(math.Inf(1))
		case 6:
			if r.IntN(4) == 0 {
				v[i] = float32(math.NaN())
				break
			}
			fallthrough
		default:
			v[i] = float32(r.NormFloat64())
		}
	}
	return v
}

func TestSelectSmallestMatchesSort(t *testing.T) {
	for _, tc := range []struct {
		n, chunk, threads int
	}{
		{1, 1, 1}, {7, 3, 2}, {100, 100, 1}, {1000, 64, 3}, {5000, 777, 4}, {4096, 4096, 2},
	} {
		vals := awkward(tc.n, uint64(tc.n))
		for _, k := range []int{1, tc.n / 3, tc.n / 2, tc.n - 1, tc.n} {
			if k < 1 {
				continue
			}
			var chunks []*chunk
			for off := 0; off < tc.n; off += tc.chunk {
				chunks = append(chunks, &chunk{v: vals[off:min(off+tc.chunk, tc.n)]})
			}
			c := selectSmallest(chunks, int64(k), tc.threads)
			got := make([]float32, 0, tc.n)
			for _, ch := range chunks {
				cp := append([]float32(nil), ch.v...)
				apply(cp, c.t, ch.quota)
				got = append(got, cp...)
			}
			want := naiveSmallest(vals, k)
			for i := range vals {
				zeroed := got[i] == 0 && !(vals[i] == 0)
				if vals[i] != 0 && zeroed != want[i] {
					t.Fatalf("n=%d chunk=%d threads=%d k=%d: element %d (%v) zeroed=%v, want %v", tc.n, tc.chunk, tc.threads, k, i, vals[i], zeroed, want[i])
				}
				if !want[i] && !sameBits(got[i], vals[i]) {
					t.Fatalf("n=%d k=%d: element %d changed from %v to %v but is not among the k smallest", tc.n, k, i, vals[i], got[i])
				}
			}
			// The counts the pass reports agree with what apply did.
			var changes int64
			for _, ch := range chunks {
				changes += ch.changes(c.t)
			}
			var nonzeroWanted int64
			for i := range vals {
				if want[i] && vals[i] != 0 {
					nonzeroWanted++
				}
			}
			if changes != nonzeroWanted {
				t.Fatalf("n=%d k=%d: changes()=%d, but %d nonzero elements are among the k smallest", tc.n, k, changes, nonzeroWanted)
			}
		}
	}
}

func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func TestKeyOrdersMagnitudes(t *testing.T) {
	ordered := []float32{0, 1e-45, 1e-40, 1e-30, 0.02, 0.5, 1, 3e38, float32(math.Inf(1)), float32(math.NaN())}
	for i := 1; i < len(ordered); i++ {
		for _, sign := range []float32{1, -1} {
			if !(key(ordered[i-1]) < key(sign*ordered[i])) {
				t.Errorf("key(%v) = %#x is not below key(%v) = %#x", ordered[i-1], key(ordered[i-1]), sign*ordered[i], key(sign*ordered[i]))
			}
		}
	}
	if key(float32(math.Copysign(0, -1))) != 0 {
		t.Errorf("key(-0) = %#x, want 0", key(float32(math.Copysign(0, -1))))
	}
}
