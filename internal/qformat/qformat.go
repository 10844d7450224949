// Package qformat encodes and decodes the packed layouts of quantized
// weights: sub-byte integer codes packed low bits first (ONNX INT4/UINT4
// and INT2/UINT2 tensors), and com.microsoft.MatMulNBits' blocked weight,
// scales and packed zero points. The quantize pass writes these layouts
// and diff reads them back; both go through this package.
package qformat

import "fmt"

// Pack stores codes of bits bits (2, 4 or 8) in bytes, the first code in
// the lowest bits; a short last byte is padded with zero bits. Codes are
// masked to bits (two's complement for negative ones).
func Pack(q []int32, bits int) []byte {
	per := 8 / bits
	mask := int32(1)<<bits - 1
	b := make([]byte, (len(q)+per-1)/per)
	for i, v := range q {
		b[i/per] |= byte(v&mask) << (bits * (i % per))
	}
	return b
}

// Unpack reads n codes of bits bits (2, 4 or 8) packed by Pack, sign
// extending them when signed.
func Unpack(b []byte, n int, bits int, signed bool) []int64 {
	per := 8 / bits
	mask := int64(1)<<bits - 1
	half := int64(1) << (bits - 1)
	out := make([]int64, n)
	for i := range out {
		q := int64(b[i/per]>>(bits*(i%per))) & mask
		if signed && q >= half {
			q -= 2 * half
		}
		out[i] = q
	}
	return out
}

// MatMulNBits is the shape of a com.microsoft.MatMulNBits weight: a
// [K, N] matrix quantized in blocks of Block rows along K, stored as
// B uint8 [N, ceil(K/Block), Block*Bits/8] (codes low bits first along K),
// scales [N*ceil(K/Block)] and zero points packed uint8
// [N*ceil(ceil(K/Block)*Bits/8)] (absent: 2^(Bits-1) each).
type MatMulNBits struct{ K, N, Bits, Block int }

// Check refuses shapes this package cannot encode or decode.
func (f MatMulNBits) Check() error {
	if f.K <= 0 || f.N <= 0 || f.Block <= 0 || (f.Bits != 2 && f.Bits != 4 && f.Bits != 8) || f.Block*f.Bits%8 != 0 {
		return fmt.Errorf("unsupported MatMulNBits shape K=%d N=%d bits=%d block_size=%d", f.K, f.N, f.Bits, f.Block)
	}
	return nil
}

// Blocks returns the blocks per column, ceil(K/Block).
func (f MatMulNBits) Blocks() int { return (f.K + f.Block - 1) / f.Block }

// BBytes returns the size of B.
func (f MatMulNBits) BBytes() int { return f.N * f.Blocks() * f.Block * f.Bits / 8 }

// ZeroRowBytes returns the bytes of packed zero points per column: each
// column starts on a byte.
func (f MatMulNBits) ZeroRowBytes() int { return (f.Blocks()*f.Bits + 7) / 8 }

// DefaultZero is the zero point MatMulNBits assumes without the input.
func (f MatMulNBits) DefaultZero() int32 { return 1 << (f.Bits - 1) }

// Encode lays out a blocked quantization of the [K, N] matrix: codes [K, N]
// (unsigned, in [0, 2^Bits)), scale and zero [Blocks, N], as MatMulNBits'
// B, scales and packed zero points. Rows past K in the last block hold the
// block's zero point (they dequantize to 0). zps is nil when every zero
// point is the default.
func (f MatMulNBits) Encode(codes []int32, scale []float32, zero []int32) (b []byte, scales []float32, zps []byte, err error) {
	if err := f.Check(); err != nil {
		return nil, nil, nil, err
	}
	nb := f.Blocks()
	if len(codes) != f.K*f.N || len(scale) != nb*f.N || len(zero) != nb*f.N {
		return nil, nil, nil, fmt.Errorf("MatMulNBits K=%d N=%d block_size=%d: %d codes, %d scales, %d zero points", f.K, f.N, f.Block, len(codes), len(scale), len(zero))
	}
	all := make([]int32, f.N*nb*f.Block)
	scales = make([]float32, f.N*nb)
	perRow := f.ZeroRowBytes() * 8 / f.Bits
	zcodes := make([]int32, f.N*perRow)
	allDefault := true
	for n := 0; n < f.N; n++ {
		for blk := 0; blk < nb; blk++ {
			z := zero[blk*f.N+n]
			allDefault = allDefault && z == f.DefaultZero()
			zcodes[n*perRow+blk] = z
			scales[n*nb+blk] = scale[blk*f.N+n]
			for j := 0; j < f.Block; j++ {
				c := z
				if k := blk*f.Block + j; k < f.K {
					c = codes[k*f.N+n]
				}
				all[(n*nb+blk)*f.Block+j] = c
			}
		}
	}
	b = Pack(all, f.Bits)
	if !allDefault {
		zps = Pack(zcodes, f.Bits)
	}
	return b, scales, zps, nil
}

// Code returns the code of element [k, n] of the weight from B.
func (f MatMulNBits) Code(b []byte, k, n int) int32 {
	blk, j := k/f.Block, k%f.Block
	bit := (n*f.Blocks()+blk)*f.Block*f.Bits + j*f.Bits
	return int32(b[bit/8]>>(bit%8)) & (1<<f.Bits - 1)
}

// PackedZero returns the zero point of block blk of column n from packed
// zero points.
func (f MatMulNBits) PackedZero(zps []byte, n, blk int) int32 {
	bit := blk * f.Bits
	return int32(zps[n*f.ZeroRowBytes()+bit/8]>>(bit%8)) & (1<<f.Bits - 1)
}

// Decode returns the [K, N] float weight (code - zero) * scale from B and
// scales [N*Blocks]; zero gives block blk's zero point of column n (nil:
// the default).
func (f MatMulNBits) Decode(b []byte, scales []float32, zero func(n, blk int) float32) ([]float32, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	nb := f.Blocks()
	if len(b) != f.BBytes() {
		return nil, fmt.Errorf("B has %d bytes, want N*ceil(K/block)*block*bits/8 = %d", len(b), f.BBytes())
	}
	if len(scales) != f.N*nb {
		return nil, fmt.Errorf("%d scales, want N*ceil(K/block) = %d", len(scales), f.N*nb)
	}
	if zero == nil {
		z := float32(f.DefaultZero())
		zero = func(int, int) float32 { return z }
	}
	out := make([]float32, f.K*f.N)
	for n := 0; n < f.N; n++ {
		for k := 0; k < f.K; k++ {
			blk := k / f.Block
			out[k*f.N+n] = (float32(f.Code(b, k, n)) - zero(n, blk)) * scales[n*nb+blk]
		}
	}
	return out, nil
}
