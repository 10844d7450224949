package obs

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// newLowRankFactor factors the dampened Hessian of a layer calibrated on
// k ≤ c/4 rows, which is diagonal plus rank k: H = D + G·Gᵀ with
// G = √(2/k)·Xᵀ (c×k, rows in the sweep's order) and D the dampening
// (1 + add on dead features, add elsewhere). The reverse Cholesky factor V
// (H = V·Vᵀ) then never needs to be formed: working from the last block
// to the first, the Schur complement left of the columns ≥ b is
// D + G·M·Gᵀ with M = N⁻¹, N = I + Σ_{later blocks} G_bᵀ·D_b⁻¹·G_b
// (Woodbury), so block b's diagonal is the reverse Cholesky factor V_bb of
// D_b + G_b·N⁻¹·G_bᵀ and the blocks above it are V[<b, b] = G[<b]·P_bᵀ
// with P_b = V_bb⁻¹·G_b·N⁻¹. N only gains positive terms, so no precision
// is lost to cancellation. The cost is a few k×k and nb×nb
// factorizations per block instead of one c×c, and the sweep's lazy
// update runs through k columns instead of up to c.
func newLowRankFactor(h *Hessian, dead []bool, add float64, perm []int, block int) (*factor, error) {
	c, k := h.cols, h.n
	s := math.Sqrt(2 / float64(k))
	g := make([]float64, c*k)
	d := make([]float64, c)
	for p := range c {
		j := p
		if perm != nil {
			j = perm[p]
		}
		d[p] = add
		if dead[j] {
			d[p] = 1 + add // G's row is zero: the feature never fired
		}
		for r := range k {
			g[p*k+r] = s * float64(h.x[r*c+j])
		}
	}
	nblocks := (c + block - 1) / block
	f := &factor{c: c, block: block, perm: perm, dead: dead, diag: make([]float32, c),
		inv: make([][]float32, nblocks), k: k, g: toFloat32(g), pu: make([][]float32, nblocks)}
	n := mat.NewSymDense(k, nil)
	for i := range k {
		n.SetSym(i, i, 1)
	}
	for b := nblocks - 1; b >= 0; b-- {
		i1 := b * block
		nb := min(block, c-i1)
		gb := mat.NewDense(nb, k, g[i1*k:(i1+nb)*k])
		var chn mat.Cholesky
		if !chn.Factorize(n) {
			return nil, fmt.Errorf("low-rank Hessian factor at column %d is %w", i1, errIndefinite)
		}
		var y mat.Dense // N⁻¹·G_bᵀ, k×nb
		if err := chn.SolveTo(&y, gb.T()); err != nil {
			return nil, fmt.Errorf("low-rank Hessian factor at column %d: %w", i1, err)
		}
		var e mat.Dense // G_b·N⁻¹·G_bᵀ
		e.Mul(gb, &y)
		rev := mat.NewSymDense(nb, nil) // J·(D_b + e)·J, J reversing the order
		for a := range nb {
			i := nb - 1 - a
			for bb := a; bb < nb; bb++ {
				j := nb - 1 - bb
				x := (e.At(i, j) + e.At(j, i)) / 2
				if i == j {
					x += d[i1+i]
				}
				rev.SetSym(a, bb, x)
			}
		}
		var che mat.Cholesky
		if !che.Factorize(rev) {
			return nil, fmt.Errorf("Hessian block at column %d is %w after dampening; use a larger damp", i1, errIndefinite)
		}
		var ut mat.TriDense
		che.UTo(&ut)
		u := mat.NewTriDense(nb, mat.Upper, nil) // V_bb, then U_bb = V_bb⁻¹
		for i := range nb {
			for j := i; j < nb; j++ {
				u.SetTri(i, j, ut.At(nb-1-j, nb-1-i))
			}
			f.diag[i1+i] = float32(1 / u.At(i, i))
		}
		if err := u.InverseTri(u); err != nil {
			return nil, fmt.Errorf("inverting the Cholesky block at column %d: %w", i1, err)
		}
		f.inv[b] = upperFloat32(u)
		// P_bᵀ·U_bb = N⁻¹·G_bᵀ·U_bbᵀ·U_bb = y·(U_bbᵀ·U_bb).
		var utu, pu mat.Dense
		utu.Mul(u.T(), u)
		pu.Mul(&y, &utu)
		f.pu[b] = toFloat32(pu.RawMatrix().Data)
		gs := mat.NewDense(nb, k, nil) // D_b^(-1/2)·G_b
		for i := range nb {
			for r := range k {
				gs.Set(i, r, gb.At(i, r)/math.Sqrt(d[i1+i]))
			}
		}
		n.SymRankK(n, 1, gs.T())
	}
	return f, nil
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// upperFloat32 returns the upper triangle of t row-major in float32.
func upperFloat32(t *mat.TriDense) []float32 {
	n, _ := t.Dims()
	out := make([]float32, n*n)
	for i := range n {
		for j := i; j < n; j++ {
			out[i*n+j] = float32(t.At(i, j))
		}
	}
	return out
}
