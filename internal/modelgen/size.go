package modelgen

import (
	"math"
)

// MLPForBytes returns base with Dim, Hidden and Blocks chosen so that the
// weights total about target bytes (within 1% from about 10 MB up, 2% from
// 1 MB). A
// nonzero Dim or Blocks in base is kept; Hidden is then solved for. Without
// a Dim, Dim is the power of two that gives 8 to 32 blocks of Hidden ≈ 4*Dim
// (512 for 100 MB, 2048 for 1 GB and 2.5 GB).
func MLPForBytes(target int64, base MLPOptions) MLPOptions {
	o := base
	if o.Classes == 0 {
		o.Classes = 10
	}
	if o.Dim == 0 {
		o.Dim = 16
		for o.Dim < 8192 && 4*o.Dim*o.Dim*32*8 <= target {
			o.Dim *= 2
		}
	}
	ln := int64(0)
	if o.LayerNorm {
		ln = 2 * o.Dim
	}
	floats := float64(target)/4 - float64(o.Dim*o.Classes)
	if o.Blocks == 0 {
		h := 4 * o.Dim
		o.Blocks = max(1, int(math.Round(floats/float64(2*o.Dim*h+h+o.Dim+ln))))
	}
	// Per block: Hidden*(2*Dim+1) + Dim + ln floats. Round Hidden to the
	// coarsest multiple of 64, 32, 16 or 8 whose step stays under 1% of the
	// target (8 at least), so that weights split evenly into quantization
	// and N:M blocks.
	perBlock := floats/float64(o.Blocks) - float64(o.Dim+ln)
	exact := perBlock / float64(2*o.Dim+1)
	step := int64(64)
	for step > 8 && float64(o.Blocks)*float64(step)*float64(2*o.Dim+1) > floats/100 {
		step /= 2
	}
	o.Hidden = max(step, int64(math.Round(exact/float64(step)))*step)
	return o
}
