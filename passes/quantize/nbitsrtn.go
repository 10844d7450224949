package quantize

import (
	"fmt"

	"github.com/onnxopt/onnxopt/internal/parallel"
	"github.com/onnxopt/onnxopt/internal/qformat"
)

// tileCols is how many columns of a [K, N] weight nbitsRTN gathers at a
// time: a block of rows times tileCols floats stays in the L1 cache.
const tileCols = 64

// nbitsRTN quantizes w ([K, N] when kMajor, else [N, K]) to nearest in
// blocks of block along K, straight into MatMulNBits' layout (B, scales
// [N*blocks], packed zero points or nil when all are the default 8): the
// bytes quantizeBlocked then matMulNBits give, without the int32 codes of
// the whole weight and their copy in between. That path stays for GPTQ,
// whose codes come from the fit; for a 7B model this one is most of the
// pass's work.
func nbitsRTN(w []float32, k, n, block int, kMajor bool, t qtype, symmetric bool, st int32) (packed []byte, scales []float32, zps []byte, err error) {
	f := qformat.MatMulNBits{K: k, N: n, Bits: 4, Block: block}
	if err := f.Check(); err != nil {
		return nil, nil, nil, err
	}
	if len(w) != k*n {
		return nil, nil, nil, fmt.Errorf("weight has %d values, want K*N = %d", len(w), k*n)
	}
	nb := f.Blocks()
	shift := int32(0)
	if t.signed {
		shift = 8 // MatMulNBits' codes are unsigned
	}
	packed = make([]byte, f.BBytes())
	scales = make([]float32, n*nb)
	zero := make([]byte, n*nb) // one zero point per [column, block], packed below
	bb := block / 2            // bytes of one block of codes
	// enc quantizes one block of column nn: vals are its len(vals) <= block
	// values (fewer in the last block, whose other codes hold the zero
	// point and so dequantize to 0).
	enc := func(vals []float32, nn, bi int) error {
		lo, hi := float32(0), float32(0)
		for _, x := range vals {
			lo, hi = min(lo, x), max(hi, x) // NaN propagates; ±Inf ends up here
		}
		if isBad(lo) || isBad(hi) {
			for j, x := range vals {
				if isBad(x) {
					return fmt.Errorf("element [%d,%d] is %v: cannot quantize a tensor holding NaN or infinity", bi*block+j, nn, x)
				}
			}
		}
		s, z := params(lo, hi, t, symmetric)
		s = storableScale(s, st)
		scales[nn*nb+bi] = s
		zero[nn*nb+bi] = byte(z + shift)
		dst := packed[(nn*nb+bi)*bb : (nn*nb+bi+1)*bb]
		code := func(j int) byte {
			if j < len(vals) {
				return byte(quantize4(vals[j], s, z, t)+shift) & 15
			}
			return byte(z+shift) & 15
		}
		for j := range dst {
			dst[j] = code(2*j) | code(2*j+1)<<4
		}
		return nil
	}
	errs := make([]error, max(nb, n))
	if kMajor {
		// Block bi is rows [k0, k1) of the row-major [K, N] weight: gather
		// tileCols columns of it at a time, reading whole rows.
		parallel.For(nb, 0, func(bi int) {
			k0, k1 := bi*block, min(k, (bi+1)*block)
			rows := k1 - k0
			tile := make([]float32, tileCols*rows)
			for c0 := 0; c0 < n; c0 += tileCols {
				cols := min(tileCols, n-c0)
				for j := range rows {
					row := w[(k0+j)*n+c0 : (k0+j)*n+c0+cols]
					for c, x := range row {
						tile[c*rows+j] = x
					}
				}
				for c := range cols {
					if err := enc(tile[c*rows:(c+1)*rows], c0+c, bi); err != nil {
						errs[bi] = err
						return
					}
				}
			}
		})
	} else {
		// Row nn of the [N, K] weight holds column nn's blocks in order.
		parallel.For(n, 0, func(nn int) {
			for bi := range nb {
				if err := enc(w[nn*k+bi*block:nn*k+min(k, (bi+1)*block)], nn, bi); err != nil {
					errs[nn] = err
					return
				}
			}
		})
	}
	for _, err := range errs {
		if err != nil {
			return nil, nil, nil, err
		}
	}
	def := byte(f.DefaultZero())
	for _, z := range zero {
		if z != def {
			zb := f.ZeroRowBytes()
			zps = make([]byte, n*zb)
			for nn := range n {
				for bi := range nb {
					zps[nn*zb+bi/2] |= zero[nn*nb+bi] << (4 * (bi % 2))
				}
			}
			break
		}
	}
	return packed, scales, zps, nil
}

// roundMagic is 1.5 * 2^23: adding and subtracting it rounds a float32 of
// magnitude below 2^22 to an integer, ties to even, in the FPU's rounding.
const roundMagic = 12582912

// quantize4 is quantize for the few codes of 4-bit types: the same result
// (round half to even of x/scale in float32, plus the zero point,
// saturated), rounding without the trip through float64. Quotients out of
// its range (never, for scales from the block's own range) take quantize.
func quantize4(x, scale float32, zp int32, t qtype) int32 {
	v := x / scale
	if !(v > -1<<20 && v < 1<<20) { // NaN too
		return quantize(x, scale, zp, t)
	}
	r := float32(float32(v+roundMagic) - roundMagic)
	return max(t.min, min(t.max, int32(r)+zp))
}
