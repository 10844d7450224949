package onnx

import (
	"math"
	"testing"
)

func TestFloat16Table(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3C00},
		{-2, 0xC000},
		{0.5, 0x3800},
		{65504, 0x7BFF},
		{-65504, 0xFBFF},
		{65519.99, 0x7BFF},                                  // just below the tie: rounds down
		{65520, 0x7C00},                                     // the tie rounds to even: infinity
		{1e6, 0x7C00},                                       // overflow
		{float32(math.Inf(1)), 0x7C00},                      // infinity
		{float32(math.Inf(-1)), 0xFC00},                     //
		{6.103515625e-05, 0x0400},                           // smallest normal, 2^-14
		{5.960464477539063e-08, 0x0001},                     // smallest subnormal, 2^-24
		{2.9802322387695312e-08, 0x0000},                    // 2^-25: tie between 0 and 2^-24, to even
		{2.98023259e-08, 0x0001},                            // just above 2^-25
		{8.940696716308594e-08, 0x0002},                     // 1.5 * 2^-24: tie, to even (2)
		{6.0975551605224609e-05, 0x03FF},                    // largest subnormal
		{1 + 1.0/2048, 0x3C00},                              // tie between 1 and 1+2^-10: to even
		{1 + 3.0/2048, 0x3C02},                              // tie: to even (up)
		{1 + 1.0/2048 + 1.0/65536, 0x3C01},                  // above the tie: up
		{2047.0 / 1024 * 32768, 0x7BFF},                     // 65504 again, computed
		{float32(math.Float32frombits(0x7FC00000)), 0x7E00}, // quiet NaN
	}
	for _, c := range cases {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
		var b [2]byte
		Float32sToFloat16s(b[:], []float32{c.f})
		if got := uint16(b[0]) | uint16(b[1])<<8; got != c.want {
			t.Errorf("Float32sToFloat16s(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	// A NaN whose payload lives only in the low bits stays a NaN.
	if h := Float32ToFloat16(math.Float32frombits(0x7F800001)); h&0x7C00 != 0x7C00 || h&0x3FF == 0 {
		t.Errorf("signalling NaN became %#04x", h)
	}
}

// TestFloat16RoundTrip: every float16 bit pattern survives float32 and
// back unchanged, through the scalar and the slice functions.
func TestFloat16RoundTrip(t *testing.T) {
	raw := make([]byte, 2<<16)
	for h := 0; h < 1<<16; h++ {
		raw[2*h], raw[2*h+1] = byte(h), byte(h>>8)
	}
	f := make([]float32, 1<<16)
	Float16sToFloat32s(f, raw)
	back := make([]byte, len(raw))
	Float32sToFloat16s(back, f)
	for h := 0; h < 1<<16; h++ {
		if s := Float16ToFloat32(uint16(h)); math.Float32bits(s) != math.Float32bits(f[h]) {
			t.Fatalf("%#04x: scalar gives %g, slice %g", h, s, f[h])
		}
		if got := Float32ToFloat16(f[h]); got != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f[h], got)
		}
		if got := uint16(back[2*h]) | uint16(back[2*h+1])<<8; got != uint16(h) {
			t.Fatalf("slice: %#04x -> %g -> %#04x", h, f[h], got)
		}
	}
	if v := Float16ToFloat32(0x7BFF); v != MaxFloat16 {
		t.Errorf("0x7bff = %g, want 65504", v)
	}
	if v := Float16ToFloat32(0x0001); v != float32(math.Ldexp(1, -24)) {
		t.Errorf("0x0001 = %g, want 2^-24", v)
	}
}

// TestFloat16Nearest checks rounding against float64 arithmetic for a
// spread of finite float32 bit patterns: the result is a nearest float16, and on a
// tie the even one.
func TestFloat16Nearest(t *testing.T) {
	for b := uint32(0); b < 0x477FF000; b += 4093 { // below 65520, which rounds to infinity
		f := math.Float32frombits(b)
		h := Float32ToFloat16(f)
		x := float64(f)
		got := float64(Float16ToFloat32(h))
		d := math.Abs(got - x)
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7C00 == 0x7C00 {
				continue
			}
			dn := math.Abs(float64(Float16ToFloat32(n)) - x)
			if dn < d || dn == d && n&1 == 0 {
				t.Fatalf("%g rounds to %#04x (%g); %#04x (%g) is nearer or the even tie", f, h, got, n, Float16ToFloat32(n))
			}
		}
		var s [2]byte
		Float32sToFloat16s(s[:], []float32{-f})
		if hs := uint16(s[0]) | uint16(s[1])<<8; hs != h|0x8000 {
			t.Fatalf("slice of %g = %#04x, want %#04x", -f, hs, h|0x8000)
		}
	}
}

func TestBFloat16(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0},
		{1, 0x3F80},
		{-1, 0xBF80},
		{1 + 1.0/256, 0x3F80},             // tie: to even (down)
		{1 + 3.0/256, 0x3F82},             // tie: to even (up)
		{1 + 1.0/256 + 1.0/65536, 0x3F81}, // above the tie
		{float32(math.Inf(1)), 0x7F80},
		{math.MaxFloat32, 0x7F80}, // rounds past the largest bfloat16
		{float32(math.Float32frombits(0x7FC00000)), 0x7FC0},
		{float32(math.Float32frombits(0x00010000)), 0x0001}, // subnormal
	}
	for _, c := range cases {
		if got := Float32ToBFloat16(c.f); got != c.want {
			t.Errorf("Float32ToBFloat16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := Float32ToBFloat16(math.Float32frombits(0x7F800001)); h&0x7F80 != 0x7F80 || h&0x7F == 0 {
		t.Errorf("NaN with a low payload became %#04x", h)
	}
	for h := 0; h < 1<<16; h++ {
		if got := Float32ToBFloat16(BFloat16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, BFloat16ToFloat32(uint16(h)), got)
		}
	}
}

func TestEncodeDecodeFloats(t *testing.T) {
	v := []float32{0, 1.5, -2.25, 1e-3, 3e4}
	for _, dt := range []TensorProto_DataType{TensorProto_FLOAT, TensorProto_FLOAT16, TensorProto_BFLOAT16, TensorProto_DOUBLE} {
		raw, err := EncodeFloats(int32(dt), v)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != len(v)*ElemBits(int32(dt))/8 {
			t.Fatalf("%v: %d bytes", dt, len(raw))
		}
		back := make([]float32, len(v))
		if err := DecodeFloats(int32(dt), back, raw); err != nil {
			t.Fatal(err)
		}
		for i := range v {
			tol := 0.0
			switch dt {
			case TensorProto_FLOAT16:
				tol = 1.0 / 1024
			case TensorProto_BFLOAT16:
				tol = 1.0 / 128
			}
			if d := math.Abs(float64(back[i] - v[i])); d > tol*math.Abs(float64(v[i])) {
				t.Errorf("%v: %g came back as %g", dt, v[i], back[i])
			}
		}
	}
	if _, err := EncodeFloats(int32(TensorProto_INT8), v); err == nil {
		t.Error("encoding floats as int8 did not fail")
	}
	if err := DecodeFloats(int32(TensorProto_FLOAT16), make([]float32, 3), make([]byte, 4)); err == nil {
		t.Error("decoding 4 bytes into 3 float16s did not fail")
	}
}

func BenchmarkFloat32sToFloat16s(b *testing.B) {
	src := make([]float32, 1<<20)
	for i := range src {
		src[i] = float32(math.Sin(float64(i))) * 10
	}
	dst := make([]byte, 2*len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		Float32sToFloat16s(dst, src)
	}
}

func BenchmarkFloat16sToFloat32s(b *testing.B) {
	src := make([]float32, 1<<20)
	for i := range src {
		src[i] = float32(math.Sin(float64(i))) * 10
	}
	raw := make([]byte, 2*len(src))
	Float32sToFloat16s(raw, src)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Float16sToFloat32s(src, raw)
	}
}

// TestFloat32sToFloat16sClamped: finite values beyond ±65504 become
// ±65504 and are counted; everything else converts as Float32ToFloat16.
func TestFloat32sToFloat16sClamped(t *testing.T) {
	inf := float32(math.Inf(1))
	src := []float32{65504, 65505, -65519, 65520, 1e10, -3e38, inf, -inf, float32(math.NaN()), 1, -2, 6e-8, 0}
	want := []uint16{0x7BFF, 0x7BFF, 0xFBFF, 0x7BFF, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x3C00, 0xC000, 0x0001, 0}
	for off := range 2 { // an odd offset: dst not 2-byte aligned
		buf := make([]byte, 2*len(src)+1)
		dst := buf[off : off+2*len(src)]
		if n := Float32sToFloat16sClamped(dst, src); n != 5 {
			t.Errorf("clamped %d values, want 5", n)
		}
		for i, w := range want {
			if got := uint16(dst[2*i]) | uint16(dst[2*i+1])<<8; got != w {
				t.Errorf("offset %d: %g became %#04x, want %#04x", off, src[i], got, w)
			}
		}
	}
}
