package prune

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
)

// TestHalfKeysMatchDecoded: selecting on 16-bit bit patterns through a key
// table cuts exactly what selecting on their float32 values cuts (same
// cut, same ties, same counts), and apply16 zeroes those elements' bytes
// and leaves every other bit.
func TestHalfKeysMatchDecoded(t *testing.T) {
	decode := map[onnx.TensorProto_DataType]func(uint16) float32{
		onnx.TensorProto_FLOAT16:  onnx.Float16ToFloat32,
		onnx.TensorProto_BFLOAT16: onnx.BFloat16ToFloat32,
	}
	for dt, dec := range decode {
		tab := keysOf(int32(dt))
		r := rand.New(rand.NewPCG(uint64(dt), 2))
		const n = 3000
		h := make([]uint16, n)
		for i := range h {
			switch r.IntN(4) {
			case 0: // every pattern: subnormals, ±0, infinities, NaNs
				h[i] = uint16(r.IntN(1 << 16))
			case 1: // ties
				h[i] = uint16(r.IntN(4)) | uint16(r.IntN(2))<<15
			default: // weights near 1e-2
				h[i] = uint16(r.IntN(1<<9)) + 0x2000 | uint16(r.IntN(2))<<15
			}
		}
		v := make([]float32, n)
		for i, x := range h {
			v[i] = dec(x)
			if tab[x&0x7FFF] != key(v[i]) {
				t.Fatalf("%s: key of %#04x is %#x, want %#x", dt, x, tab[x&0x7FFF], key(v[i]))
			}
		}
		for _, k := range []int64{1, n / 3, n / 2, n} {
			var c16, c32 []*chunk
			for off := 0; off < n; off += 700 {
				end := min(off+700, n)
				c16 = append(c16, &chunk{h: h[off:end], tab: tab})
				c32 = append(c32, &chunk{v: v[off:end]})
			}
			got, want := selectSmallest(c16, k, 2), selectSmallest(c32, k, 2)
			if got != want {
				t.Fatalf("%s k=%d: cut %+v, want %+v", dt, k, got, want)
			}
			for i := range c16 {
				a, b := c16[i], c32[i]
				if a.zeros != b.zeros || a.below != b.below || a.eq != b.eq || a.quota != b.quota {
					t.Fatalf("%s k=%d chunk %d: counts %d/%d/%d/%d, want %d/%d/%d/%d", dt, k, i,
						a.zeros, a.below, a.eq, a.quota, b.zeros, b.below, b.eq, b.quota)
				}
				raw := make([]byte, 2*len(a.h))
				for j, x := range a.h {
					raw[2*j], raw[2*j+1] = byte(x), byte(x>>8)
				}
				apply16(raw, a.h, tab, got.t, a.quota)
				vals := append([]float32(nil), b.v...)
				apply(vals, want.t, b.quota)
				for j, x := range onnx.BytesAsUint16s(raw) {
					if zeroed := vals[j] == 0 && !sameBits(vals[j], b.v[j]); zeroed != (x == 0 && x != a.h[j]) || !zeroed && x != a.h[j] {
						t.Fatalf("%s k=%d: element %#04x became %#04x; float32 path %v -> %v", dt, k, a.h[j], x, b.v[j], vals[j])
					}
				}
			}
			for i := range c16 {
				c16[i].countBelow(got.t)
				c32[i].countBelow(want.t)
				if c16[i].zeros != c32[i].zeros || c16[i].below != c32[i].below {
					t.Fatalf("%s: countBelow differs in chunk %d", dt, i)
				}
			}
		}
	}
}
