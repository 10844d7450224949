package quantize

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/internal/parallel"
	"github.com/onnxopt/onnxopt/internal/qformat"
	"github.com/onnxopt/onnxopt/onnx"
)

// qtype is an integer type weights or activations are stored in.
type qtype struct {
	name     string
	min, max int32
	bits     int
	signed   bool
	onnx     int32 // TensorProto data type
}

var qtypes = map[string]qtype{
	"int8":  {"int8", -128, 127, 8, true, int32(onnx.TensorProto_INT8)},
	"uint8": {"uint8", 0, 255, 8, false, int32(onnx.TensorProto_UINT8)},
	"int4":  {"int4", -8, 7, 4, true, int32(onnx.TensorProto_INT4)},
	"uint4": {"uint4", 0, 15, 4, false, int32(onnx.TensorProto_UINT4)},
}

// params returns the scale and zero point that map the range [lo, hi]
// onto t. The range is widened to include 0, so that 0 is exact. A
// symmetric range is centred on 0: signed types get zero point 0 and
// unsigned ones the middle of their range. For 8-bit types the largest
// magnitude maps to ±(max - zero point) (±127, as ONNX Runtime's quantizer
// does). For 4-bit types it maps to the most negative code, -8, as ONNX
// Runtime's blockwise quantizer (MLAS) does, so that all 16 codes are used:
// when the extreme is positive the scale is negative (extreme / -8), and
// the opposite extreme, when as large, saturates at +7. An empty range
// gets scale 1.
func params(lo, hi float32, t qtype, symmetric bool) (scale float32, zp int32) {
	lo, hi = min(lo, 0), max(hi, 0)
	if symmetric {
		if !t.signed {
			zp = (t.max + 1) / 2
		}
		a := max(-lo, hi)
		if a == 0 || isBad(a) {
			return 1, zp
		}
		if t.bits == 4 {
			neg := float64(zp - t.min) // 8
			if hi > -lo {
				return float32(-float64(hi) / neg), zp
			}
			return float32(float64(a) / neg), zp
		}
		return float32(float64(a) / float64(t.max-zp)), zp
	}
	if hi == lo || isBad(hi-lo) {
		return 1, clamp(0, t)
	}
	scale = float32((float64(hi) - float64(lo)) / float64(t.max-t.min))
	zp = clamp(int32(math.RoundToEven(float64(t.min)-float64(lo)/float64(scale))), t)
	return scale, zp
}

func isBad(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }

// quantize maps x to t as ONNX QuantizeLinear does: round half to even of
// x/scale, plus the zero point, saturated to t's range.
func quantize(x, scale float32, zp int32, t qtype) int32 {
	r := math.RoundToEven(float64(x / scale))
	if math.IsNaN(r) {
		return clamp(zp, t)
	}
	r = max(min(r, 1<<20), -1<<20) // saturates below anyway; keeps the conversion defined
	return clamp(int32(r)+zp, t)
}

func clamp(q int32, t qtype) int32 { return max(t.min, min(t.max, q)) }

// channelRanges returns the minimum and maximum of w along axis of dims
// (one entry per index of that axis), or a single overall entry when axis
// is negative.
func channelRanges(w []float32, dims []int64, axis int) (lo, hi []float32) {
	c, inner := 1, 1
	if axis >= 0 {
		c = int(dims[axis])
		for _, d := range dims[axis+1:] {
			inner *= int(d)
		}
	}
	lo, hi = make([]float32, c), make([]float32, c)
	for i := range lo {
		lo[i], hi[i] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for i, x := range w {
		k := (i / inner) % c
		lo[k], hi[k] = min(lo[k], x), max(hi[k], x)
	}
	return lo, hi
}

// quantized is a tensor quantized along one axis (or per tensor).
type quantized struct {
	q     []int32   // codes, in the tensor's layout
	scale []float32 // one per channel (one in all for per-tensor)
	zp    []int32
	axis  int // -1 for per-tensor
}

// quantizeTensor quantizes w (shape dims) to t, per channel along axis or
// per tensor when axis < 0, with float32 scales.
func quantizeTensor(w []float32, dims []int64, axis int, t qtype, symmetric bool) (*quantized, error) {
	return quantizeTensorAs(w, dims, axis, t, symmetric, tFloat)
}

// quantizeTensorAs is quantizeTensor with scales stored in the float type
// st: each scale is rounded to st before the codes are computed, so the
// codes match the scale the runtime multiplies by.
func quantizeTensorAs(w []float32, dims []int64, axis int, t qtype, symmetric bool, st int32) (*quantized, error) {
	for i, x := range w {
		if isBad(x) {
			return nil, fmt.Errorf("element %d is %v: cannot quantize a tensor holding NaN or infinity", i, x)
		}
	}
	lo, hi := channelRanges(w, dims, axis)
	r := &quantized{q: make([]int32, len(w)), scale: make([]float32, len(lo)), zp: make([]int32, len(lo)), axis: axis}
	for k := range lo {
		r.scale[k], r.zp[k] = params(lo[k], hi[k], t, symmetric)
		r.scale[k] = storableScale(r.scale[k], st)
	}
	c, inner := 1, 1
	if axis >= 0 {
		c = int(dims[axis])
		for _, d := range dims[axis+1:] {
			inner *= int(d)
		}
	}
	for i, x := range w {
		k := (i / inner) % c
		r.q[i] = quantize(x, r.scale[k], r.zp[k], t)
	}
	return r, nil
}

// blocked is a [K, N] matrix quantized in blocks of `block` rows along K,
// one scale (and zero point) per block and column.
type blocked struct {
	k, n, block, nb int
	q               []int32   // [K, N] codes
	scale           []float32 // [nb, N]
	zp              []int32   // [nb, N]
}

// quantizeBlocked quantizes w, a [K, N] matrix (row-major) when kMajor, or
// an [N, K] one otherwise, in blocks along K, with scales rounded to the
// float type st they are stored in.
func quantizeBlocked(w []float32, k, n, block int, kMajor bool, t qtype, symmetric bool, st int32) (*blocked, error) {
	at := func(kk, nn int) float32 {
		if kMajor {
			return w[kk*n+nn]
		}
		return w[nn*k+kk]
	}
	nb := (k + block - 1) / block
	b := &blocked{k: k, n: n, block: block, nb: nb, q: make([]int32, k*n), scale: make([]float32, nb*n), zp: make([]int32, nb*n)}
	// Blocks write disjoint codes, scales and zero points: they run on
	// every core (a 7B model's weights are billions of elements).
	errs := make([]error, nb)
	parallel.For(nb, 0, func(bi int) {
		k0, k1 := bi*block, min(k, (bi+1)*block)
		for nn := 0; nn < n; nn++ {
			lo, hi := float32(0), float32(0)
			for kk := k0; kk < k1; kk++ {
				x := at(kk, nn)
				if isBad(x) {
					errs[bi] = fmt.Errorf("element [%d,%d] is %v: cannot quantize a tensor holding NaN or infinity", kk, nn, x)
					return
				}
				lo, hi = min(lo, x), max(hi, x)
			}
			s, z := params(lo, hi, t, symmetric)
			s = storableScale(s, st)
			b.scale[bi*n+nn], b.zp[bi*n+nn] = s, z
			for kk := k0; kk < k1; kk++ {
				b.q[kk*n+nn] = quantize(at(kk, nn), s, z, t)
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// matMulNBits returns the MatMulNBits inputs for b (see
// qformat.MatMulNBits.Encode): B packed uint8 [N, nb, block/2], scales
// [N*nb], and packed zero points (nil when every zero point is
// MatMulNBits' default 8). Signed codes are shifted to unsigned by adding
// 8, in place: b's codes are spent (a copy would double a 7B layer's
// int32 codes).
func (b *blocked) matMulNBits(signed bool) (packed []byte, scales []float32, zps []byte, err error) {
	if signed {
		for i := range b.q {
			b.q[i] += 8
		}
		for i := range b.zp {
			b.zp[i] += 8
		}
	}
	f := qformat.MatMulNBits{K: b.k, N: b.n, Bits: 4, Block: b.block}
	return f.Encode(b.q, b.scale, b.zp)
}
