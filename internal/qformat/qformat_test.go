package qformat

import (
	"bytes"
	"math/rand"
	"slices"
	"testing"
)

func TestPackLayout(t *testing.T) {
	for _, c := range []struct {
		q    []int32
		bits int
		want []byte
	}{
		{[]int32{1, 2, 3}, 4, []byte{0x21, 0x03}},
		{[]int32{-1, -8, 7}, 4, []byte{0x8f, 0x07}},
		{[]int32{1, 2, 3, 0, 1}, 2, []byte{0x39, 0x01}},
		{[]int32{-128, 127}, 8, []byte{0x80, 0x7f}},
	} {
		if got := Pack(c.q, c.bits); !bytes.Equal(got, c.want) {
			t.Errorf("Pack(%v, %d) = % x, want % x", c.q, c.bits, got, c.want)
		}
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, bits := range []int{2, 4, 8} {
		for _, signed := range []bool{false, true} {
			lo, hi := int32(0), int32(1)<<bits-1
			if signed {
				lo, hi = -(1 << (bits - 1)), 1<<(bits-1)-1
			}
			for n := 0; n < 11; n++ {
				q := make([]int32, n)
				want := make([]int64, n)
				for i := range q {
					q[i] = lo + r.Int31n(hi-lo+1)
					want[i] = int64(q[i])
				}
				if got := Unpack(Pack(q, bits), n, bits, signed); !slices.Equal(got, want) {
					t.Errorf("bits %d signed %v: %v came back as %v", bits, signed, want, got)
				}
			}
		}
	}
}

// TestMatMulNBitsRoundTrip encodes random blocked codes and checks that
// decoding gives (code - zero) * scale for every element, with default and
// explicit zero points, K a multiple of the block or not.
func TestMatMulNBitsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, f := range []MatMulNBits{{K: 32, N: 3, Bits: 4, Block: 16}, {K: 37, N: 5, Bits: 4, Block: 16}, {K: 8, N: 2, Bits: 4, Block: 32}, {K: 20, N: 3, Bits: 2, Block: 16}} {
		for _, defaultZero := range []bool{true, false} {
			nb := f.Blocks()
			codes := make([]int32, f.K*f.N)
			scale := make([]float32, nb*f.N)
			zero := make([]int32, nb*f.N)
			for i := range codes {
				codes[i] = r.Int31n(1 << f.Bits)
			}
			for i := range scale {
				scale[i] = r.Float32() + 0.1
				zero[i] = f.DefaultZero()
				if !defaultZero {
					zero[i] = r.Int31n(1 << f.Bits)
				}
			}
			b, scales, zps, err := f.Encode(codes, scale, zero)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != f.BBytes() || (zps == nil) != defaultZero {
				t.Fatalf("%+v: B %d bytes (want %d), zero points %v with default zeros %v", f, len(b), f.BBytes(), zps, defaultZero)
			}
			var zeroAt func(n, blk int) float32
			if zps != nil {
				if len(zps) != f.N*f.ZeroRowBytes() {
					t.Fatalf("%+v: %d zero-point bytes, want %d", f, len(zps), f.N*f.ZeroRowBytes())
				}
				zeroAt = func(n, blk int) float32 { return float32(f.PackedZero(zps, n, blk)) }
			}
			w, err := f.Decode(b, scales, zeroAt)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < f.K; k++ {
				for n := 0; n < f.N; n++ {
					i, s := k*f.N+n, (k/f.Block)*f.N+n
					if want := float32(codes[i]-zero[s]) * scale[s]; w[i] != want {
						t.Fatalf("%+v: [%d,%d] = %v, want %v", f, k, n, w[i], want)
					}
				}
			}
			// Padding rows past K hold the zero point.
			if f.K%f.Block != 0 {
				last := (f.N*nb)*f.Block - 1 // the last code of B
				if got := Unpack(b, last+1, f.Bits, false)[last]; got != int64(zero[(nb-1)*f.N+f.N-1]) {
					t.Errorf("%+v: padding code %d, want the zero point %d", f, got, zero[(nb-1)*f.N+f.N-1])
				}
			}
		}
	}
}

func TestMatMulNBitsRefusesBadInput(t *testing.T) {
	if _, _, _, err := (MatMulNBits{K: 16, N: 1, Bits: 3, Block: 16}).Encode(make([]int32, 16), []float32{1}, []int32{0}); err == nil {
		t.Error("3-bit MatMulNBits encoded")
	}
	f := MatMulNBits{K: 16, N: 2, Bits: 4, Block: 16}
	if _, _, _, err := f.Encode(make([]int32, 31), make([]float32, 2), make([]int32, 2)); err == nil {
		t.Error("31 codes for a 16x2 weight encoded")
	}
	if _, err := f.Decode(make([]byte, 15), make([]float32, 2), nil); err == nil {
		t.Error("a short B decoded")
	}
	if _, err := f.Decode(make([]byte, 16), make([]float32, 3), nil); err == nil {
		t.Error("3 scales for 2 blocks decoded")
	}
}
