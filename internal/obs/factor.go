package obs

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// DefaultDamp is the dampening used when an option leaves Damp at 0: this
// fraction of the mean diagonal of H is added to its diagonal.
const DefaultDamp = 0.01

// errIndefinite says that a dampened Hessian could not be factored (too
// little dampening for too few calibration rows).
var errIndefinite = errors.New("not positive definite")

// DefaultBlockSize is the number of columns one lazy batch update covers.
const DefaultBlockSize = 128

// factor is the optimal-brain-surgeon view of a damped Hessian, with its
// columns in a chosen order: H = V·Vᵀ with V upper triangular. Then
// U = V⁻¹ is the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU) that the
// papers' sweep uses; row j of U is the update that removing column j
// after columns < j applies to columns > j, and U_jj² = [H_{≥j}⁻¹]_jj.
// Keeping V instead of U spares the inversion of a C×C matrix: the sweep
// only needs U's diagonal blocks, which are inverted block by block.
type factor struct {
	c     int
	block int
	perm  []int     // perm[k]: the original column at position k; nil: identity
	dead  []bool    // dead[j]: feature j (original order) was never active
	v     []float32 // c×c row-major, upper triangle
	diag  []float32 // U_jj = 1/V_jj
	inv   [][]float32
	// Low-rank form (when the Hessian kept its k ≤ c/4 rows; v is nil):
	// H = D + G·Gᵀ with G c×k, and V's blocks above the diagonal are
	// V[<b, b] = G[<b]·P_bᵀ. g holds G row-major; pu[b] = P_bᵀ·U_bb (k×nb),
	// the whole lazy update of block b from the running product (W−Q)·G.
	k  int
	g  []float32
	pu [][]float32
}

// newFactor dampens H (dead features get H_jj = 1 first, then
// damp·mean(diag H) is added to the diagonal), reorders it by perm and
// factors it. block is the sweep's block size.
func newFactor(h *Hessian, damp float64, perm []int, block int) (*factor, error) {
	c := h.cols
	if damp == 0 {
		damp = DefaultDamp
	}
	if damp < 0 {
		return nil, fmt.Errorf("damp %v is negative", damp)
	}
	scale := 2 / float64(h.n)
	// The damp is a fraction of the mean diagonal over the features that
	// carry data: columns that are never active (dead inputs, or the
	// padding a 4-bit Conv's blocks add) get H_jj = 1 for the solve but do
	// not count, so the damp keeps the scale of the layer's activations
	// however much padding there is (the reference code averages their
	// 1s in).
	dead := make([]bool, c)
	for j := range c {
		dead[j] = !h.cs.active(j)
	}
	add := damp * h.liveMeanDiag()
	at := func(k int) int { return k }
	if perm != nil {
		at = func(k int) int { return perm[k] }
	}
	if h.lowRank {
		return newLowRankFactor(h, dead, add, perm, block)
	}
	// The reversed matrix J·H·J (J reverses the order): its Cholesky factor
	// L̃ (lower) gives H = V·Vᵀ with V = J·L̃·J upper triangular.
	xtx := h.gram()
	rev := make([]float64, c*c)
	for a := range c {
		i := at(c - 1 - a)
		for b := a; b < c; b++ {
			j := at(c - 1 - b)
			var x float64
			if i == j {
				x = h.diag(i) + add
				if dead[i] {
					x = 1 + add
				}
			} else if !dead[i] && !dead[j] {
				x = xtx[min(i, j)*c+max(i, j)] * scale
			}
			rev[a*c+b] = x
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(c, rev)) {
		return nil, fmt.Errorf("Hessian of %d features is %w after dampening by %v; use a larger damp", c, errIndefinite, damp)
	}
	rev = nil
	var ut mat.TriDense // J·H·J = ŨᵀŨ, so L̃ = Ũᵀ and V[i,j] = Ũ[c-1-j, c-1-i]
	ch.UTo(&ut)
	raw := ut.RawTriangular()
	f := &factor{c: c, block: block, perm: perm, dead: dead, v: make([]float32, c*c), diag: make([]float32, c)}
	v64 := func(i, j int) float64 { return raw.Data[(c-1-j)*raw.Stride+(c-1-i)] }
	forChunks(c, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := i; j < c; j++ {
				f.v[i*c+j] = float32(v64(i, j))
			}
			f.diag[i] = float32(1 / v64(i, i))
		}
	})
	// U's diagonal blocks: the inverses of V's, computed in float64.
	for i1 := 0; i1 < c; i1 += block {
		nb := min(block, c-i1)
		t := mat.NewTriDense(nb, mat.Upper, nil)
		for i := range nb {
			for j := i; j < nb; j++ {
				t.SetTri(i, j, v64(i1+i, i1+j))
			}
		}
		if err := t.InverseTri(t); err != nil {
			return nil, fmt.Errorf("inverting the Cholesky block at column %d: %w", i1, err)
		}
		u := make([]float32, nb*nb)
		for i := range nb {
			for j := i; j < nb; j++ {
				u[i*nb+j] = float32(t.At(i, j))
			}
		}
		f.inv = append(f.inv, u)
	}
	return f, nil
}
