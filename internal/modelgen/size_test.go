package modelgen

import (
	"math"
	"testing"
)

func TestMLPForBytes(t *testing.T) {
	for _, tc := range []struct {
		target int64
		base   MLPOptions
	}{
		{1 << 20, MLPOptions{}},
		{10 << 20, MLPOptions{Rank3: true}},
		{100 << 20, MLPOptions{}},
		{100 << 20, MLPOptions{LayerNorm: true, Classes: 1000}},
		{1 << 30, MLPOptions{}},
		{5 << 29, MLPOptions{}}, // 2.5 GiB
		{1 << 30, MLPOptions{Dim: 1024}},
		{1 << 30, MLPOptions{Blocks: 3}},
	} {
		o := MLPForBytes(tc.target, tc.base)
		got := o.WeightBytes()
		if diff := math.Abs(float64(got-tc.target)) / float64(tc.target); diff > 0.05 {
			t.Errorf("MLPForBytes(%d, %+v) = %+v: %d bytes, %.1f%% off", tc.target, tc.base, o, got, 100*diff)
		}
		if tc.base.Dim != 0 && o.Dim != tc.base.Dim || tc.base.Blocks != 0 && o.Blocks != tc.base.Blocks {
			t.Errorf("MLPForBytes(%d, %+v) changed Dim or Blocks: %+v", tc.target, tc.base, o)
		}
		if o.Hidden%8 != 0 || o.Blocks < 1 {
			t.Errorf("MLPForBytes(%d, %+v) = %+v", tc.target, tc.base, o)
		}
	}
}

// TestMLPForBytesActual builds a model from MLPForBytes and measures it.
func TestMLPForBytesActual(t *testing.T) {
	const target = 4 << 20
	o := MLPForBytes(target, MLPOptions{Seed: 3})
	got := checkRawSizes(t, MLP(o).Graph)
	if got != o.WeightBytes() || math.Abs(float64(got-target)) > 0.05*target {
		t.Errorf("%+v: %d bytes of weights, WeightBytes %d, target %d", o, got, o.WeightBytes(), target)
	}
}
