package obs

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMarkSmallestMatchesSort compares the selection with a full sort
// under the same order (score, then index; NaN first), on scores with many
// ties.
func TestMarkSmallestMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 0))
	for trial := range 500 {
		n := 1 + r.IntN(40)
		score := make([]float64, n)
		for i := range score {
			switch r.IntN(10) {
			case 0:
				score[i] = math.NaN()
			case 1, 2, 3:
				score[i] = float64(r.IntN(3))
			default:
				score[i] = r.Float64()
			}
		}
		k := r.IntN(n + 2)
		mask := make([]bool, n)
		markSmallest(score, k, mask, make([]int, n))
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(score[a], score[b]) })
		want := make([]bool, n)
		for _, i := range order[:min(max(k, 0), n)] {
			want[i] = true
		}
		if !slices.Equal(mask, want) {
			t.Fatalf("trial %d: k=%d of %v: mask %v, want %v", trial, k, score, mask, want)
		}
	}
}
