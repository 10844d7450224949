package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Float16 and bfloat16 conversions. Float32 to a 16-bit type rounds to
// nearest, ties to even; values beyond float16's range become infinities
// (clamp first to keep them finite); NaN stays NaN (its payload's top
// bits kept, quiet when they are all zero). Widening to float32 is exact,
// so a 16-bit value converted to float32 and back is bit-identical.

// MaxFloat16 is the largest finite float16 value.
const MaxFloat16 = 65504

// Float16ToFloat32 returns the float32 value of IEEE binary16 bits h.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1F
	m := uint32(h) & 0x3FF
	switch e {
	case 0x1F: // infinity, NaN
		return math.Float32frombits(sign | 0x7F800000 | m<<13)
	case 0:
		if m == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: m * 2^-24, exact in float32.
		f := float32(m) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	}
	return math.Float32frombits(sign | (e+112)<<23 | m<<13)
}

// Float32ToFloat16 returns the IEEE binary16 bits nearest to f.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7FFFFFFF
	switch {
	case abs > 0x7F800000: // NaN
		m := uint16(abs>>13) & 0x3FF
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7C00 | m
	case abs >= 0x477FF000: // rounds to 65520 or more: infinity
		return sign | 0x7C00
	case abs >= 0x38800000: // normal float16 (exponent >= -14)
		// Rebias the exponent and round the 13 dropped mantissa bits; a
		// carry out of the mantissa correctly bumps the exponent.
		r := abs - 0x38000000 + 0xFFF + (abs>>13)&1
		return sign | uint16(r>>13)
	case abs < 0x33000000: // below half the smallest subnormal (2^-25): zero
		return sign
	}
	// Subnormal float16: the value is m * 2^-24 with m in [0, 1024].
	e := abs >> 23
	m := abs&0x7FFFFF | 0x800000
	shift := 126 - e // 14 - (e - 127) + 1 - 1: places 2^-24 at bit 0
	r := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || rem == half && r&1 == 1 {
		r++
	}
	return sign | uint16(r)
}

// BFloat16ToFloat32 returns the float32 value of bfloat16 bits b.
func BFloat16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// Float32ToBFloat16 returns the bfloat16 bits nearest to f.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7FFFFFFF > 0x7F800000 { // NaN: keep it NaN after truncation
		h := uint16(b >> 16)
		if h&0x7F == 0 {
			h |= 0x40
		}
		return h
	}
	return uint16((b + 0x7FFF + (b>>16)&1) >> 16)
}

// IsFloatWeight reports whether Float32sOf can read a tensor of type dt
// and SetFloats can write one: float32, float16, bfloat16 and float64.
func IsFloatWeight(dt int32) bool {
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT, TensorProto_FLOAT16, TensorProto_BFLOAT16, TensorProto_DOUBLE:
		return true
	}
	return false
}

// DecodeFloats converts little-endian raw data of a float type (see
// IsFloatWeight) into dst, which must hold len(raw)/size elements.
func DecodeFloats(dt int32, dst []float32, raw []byte) error {
	size := ElemBits(dt) / 8
	if !IsFloatWeight(dt) || len(raw) != size*len(dst) {
		return fmt.Errorf("cannot decode %d bytes of %s into %d floats", len(raw), DataTypeName(dt), len(dst))
	}
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case TensorProto_DOUBLE:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case TensorProto_FLOAT16:
		Float16sToFloat32s(dst, raw)
	case TensorProto_BFLOAT16:
		raw = raw[:2*len(dst)]
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	}
	return nil
}

// EncodeFloats converts v to little-endian raw data of a float type (see
// IsFloatWeight), rounding once.
func EncodeFloats(dt int32, v []float32) ([]byte, error) {
	if !IsFloatWeight(dt) {
		return nil, fmt.Errorf("cannot encode floats as %s", DataTypeName(dt))
	}
	out := make([]byte, len(v)*ElemBits(dt)/8)
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT:
		copy(out, Float32sAsBytes(v))
	case TensorProto_DOUBLE:
		for i, x := range v {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(float64(x)))
		}
	case TensorProto_FLOAT16:
		Float32sToFloat16s(out, v)
	case TensorProto_BFLOAT16:
		Float32sToBFloat16s(out, v)
	}
	return out, nil
}

// Float16sToFloat32s converts little-endian float16 bytes src into dst
// (len(src) must be 2*len(dst)).
func Float16sToFloat32s(dst []float32, src []byte) {
	s := BytesAsUint16s(src[:2*len(dst)])
	s = s[:len(dst)]
	for i, x := range s {
		h := uint32(x)
		e := h & 0x7C00
		if e != 0 && e != 0x7C00 { // normal: the common case, no branches
			dst[i] = math.Float32frombits((h&0x8000)<<16 | (h&0x7FFF)<<13 + 112<<23)
			continue
		}
		dst[i] = Float16ToFloat32(uint16(h))
	}
}

// Float32sToFloat16s converts src into little-endian float16 bytes dst
// (len(dst) must be 2*len(src)), rounding to nearest even.
func Float32sToFloat16s(dst []byte, src []float32) { float32sToFloat16s(dst, src, false) }

// Float32sToFloat16sClamped is Float32sToFloat16s with finite values
// beyond ±65504 stored as ±65504 instead of rounding to infinity (or, just
// above 65504, down to it); it returns how many values were beyond.
func Float32sToFloat16sClamped(dst []byte, src []float32) (clamped int) {
	return float32sToFloat16s(dst, src, true)
}

func float32sToFloat16s(dst []byte, src []float32, clamp bool) (clamped int) {
	dst = dst[:2*len(src)]
	if len(src) == 0 {
		return 0
	}
	d := BytesAsUint16s(dst)
	aliased := &d[0] == (*uint16)(unsafe.Pointer(&dst[0]))
	d = d[:len(src)] // no bounds checks in the loop
	for i, f := range src {
		b := math.Float32bits(f)
		abs := b & 0x7FFFFFFF
		switch {
		case abs-0x38800000 <= 0x477FE000-0x38800000: // a normal float16 up to 65504
			d[i] = uint16(b>>16)&0x8000 | uint16((abs-0x38000000+0xFFF+(abs>>13)&1)>>13)
		case clamp && abs > 0x477FE000 && abs < 0x7F800000:
			d[i] = uint16(b>>16)&0x8000 | 0x7BFF
			clamped++
		default:
			d[i] = Float32ToFloat16(f)
		}
	}
	if !aliased { // a misaligned dst on a processor that needs alignment
		for i, h := range d {
			binary.LittleEndian.PutUint16(dst[2*i:], h)
		}
	}
	return clamped
}

// Float32sToBFloat16s converts src into little-endian bfloat16 bytes dst
// (len(dst) must be 2*len(src)), rounding to nearest even.
func Float32sToBFloat16s(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, x := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToBFloat16(x))
	}
}

// BytesAsUint16s views little-endian 16-bit data (float16, bfloat16) as
// uint16 bit patterns without copying when b is 2-byte aligned or the
// processor loads unaligned values natively, and copies otherwise.
func BytesAsUint16s(b []byte) []uint16 {
	n := len(b) / 2
	if n == 0 {
		return []uint16{}
	}
	if unalignedOK || uintptr(unsafe.Pointer(&b[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}
