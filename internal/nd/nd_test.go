package nd

import (
	"slices"
	"testing"
)

func TestBroadcast(t *testing.T) {
	for _, c := range []struct{ a, b, want []int64 }{
		{[]int64{2, 3}, []int64{3}, []int64{2, 3}},
		{[]int64{2, 1, 4}, []int64{3, 1}, []int64{2, 3, 4}},
		{nil, []int64{5}, []int64{5}},
		{[]int64{1}, []int64{1}, []int64{1}},
		{[]int64{0, 1}, []int64{3}, []int64{0, 3}},
		{[]int64{-1, 3}, []int64{3}, []int64{-1, 3}},
		{[]int64{-1, 3}, []int64{1, 1}, []int64{-1, 3}},
		{[]int64{1, 3}, []int64{-1, 1}, []int64{-1, 3}},
		{[]int64{-1, 3}, []int64{4, 3}, []int64{-1, 3}},
		{[]int64{-1}, []int64{-1}, []int64{-1}},
	} {
		got, err := Broadcast(c.a, c.b)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
	if got, err := Broadcast([]int64{2, 3}, []int64{4}); err == nil {
		t.Errorf("Broadcast([2 3], [4]) = %v, want an error", got)
	}
}

func TestTranspose(t *testing.T) {
	x := []int32{1, 2, 3, 4, 5, 6} // [2, 3]
	if got := Transpose(x, 2, 3); !slices.Equal(got, []int32{1, 4, 2, 5, 3, 6}) {
		t.Errorf("Transpose = %v", got)
	}
	if got := Transpose(Transpose(x, 2, 3), 3, 2); !slices.Equal(got, x) {
		t.Errorf("transposing twice gave %v, want %v", got, x)
	}
}

func TestPerm(t *testing.T) {
	if got, err := Perm(nil, 3); err != nil || !slices.Equal(got, []int64{2, 1, 0}) {
		t.Errorf("default perm for rank 3 = %v, %v; want [2 1 0]", got, err)
	}
	if got, err := Perm([]int64{0, 2, 1}, 3); err != nil || !slices.Equal(got, []int64{0, 2, 1}) {
		t.Errorf("Perm([0 2 1]) = %v, %v", got, err)
	}
	if got, err := Perm(nil, -1); err == nil {
		t.Errorf("Perm(nil, -1) = %v, want an error for the unknown rank", got)
	}
	for _, bad := range [][]int64{{0, 1}, {0, 0, 1}, {0, 1, 3}, {-1, 0, 1}} {
		if got, err := Perm(bad, 3); err == nil {
			t.Errorf("Perm(%v, 3) = %v, want an error", bad, got)
		}
	}
}
