package quantize

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/onnxopt/onnxopt/internal/qformat"
)

func TestParams(t *testing.T) {
	for _, c := range []struct {
		typ       string
		lo, hi    float32
		symmetric bool
		scale     float32
		zp        int32
	}{
		{"int8", -1, 0.5, true, 1.0 / 127, 0},
		{"int8", -0.5, 2.54, true, 0.02, 0},
		{"uint8", -1, 0.5, true, 1.0 / 127, 128},
		{"int8", -1, 0.5, false, 1.5 / 255, -128 + 170}, // -128 - (-1)/(1.5/255) = 42
		{"uint8", -1, 0.5, false, 1.5 / 255, 170},
		{"uint8", 0.5, 2, false, 2.0 / 255, 0}, // widened to include 0
		{"uint8", -2, -1, false, 2.0 / 255, 255},
		{"int4", -0.8, 0.35, true, 0.1, 0},   // -0.8 -> -8
		{"uint4", -0.8, 0.35, true, 0.1, 8},  // -0.8 -> 0 (-8 from the zero point)
		{"int4", -0.35, 0.8, true, -0.1, 0},  // positive extreme: negative scale, 0.8 -> -8
		{"uint4", -0.35, 0.8, true, -0.1, 8}, // 0.8 -> 0
		{"int4", -0.8, 0.8, true, 0.1, 0},    // tie: -0.8 -> -8, 0.8 saturates at 7
		{"uint4", -1, 0.5, false, 0.1, 10},
		{"int4", -1, 0.5, false, 0.1, 2},
		{"int8", 0, 0, true, 1, 0},   // empty range
		{"uint8", 0, 0, false, 1, 0}, // empty range
		{"uint4", 0, 0, true, 1, 8},
	} {
		s, z := params(c.lo, c.hi, qtypes[c.typ], c.symmetric)
		if math.Abs(float64(s-c.scale)) > 1e-7 || z != c.zp {
			t.Errorf("params(%v, %v, %s, symmetric=%v) = %v, %d; want %v, %d", c.lo, c.hi, c.typ, c.symmetric, s, z, c.scale, c.zp)
		}
	}
}

func TestQuantizeRoundingAndSaturation(t *testing.T) {
	for _, c := range []struct {
		typ   string
		x     float32
		scale float32
		zp    int32
		want  int32
	}{
		{"int8", 0.5, 1, 0, 0},  // half to even
		{"int8", 1.5, 1, 0, 2},  // half to even
		{"int8", 2.5, 1, 0, 2},  // half to even
		{"int8", -0.5, 1, 0, 0}, // half to even
		{"int8", -1.5, 1, 0, -2},
		{"int8", -2.5, 1, 0, -2},
		{"int8", 2.6, 1, 0, 3},
		{"int8", 1000, 1, 0, 127},
		{"int8", -1000, 1, 0, -128},
		{"int8", 1e30, 1e-30, 0, 127}, // +Inf quotient saturates
		{"uint8", 300, 1, 0, 255},
		{"uint8", -3, 1, 0, 0},
		{"uint8", 2.5, 1, 128, 130},
		{"uint8", -200, 1, 128, 0},
		{"int4", 7.4, 1, 0, 7},
		{"int4", 7.5, 1, 0, 7}, // rounds to 8, saturates
		{"int4", -9, 1, 0, -8},
		{"int4", 0.25, 0.1, 0, 2}, // 2.5 -> 2
		{"uint4", 16, 1, 0, 15},
		{"uint4", -1, 1, 8, 7},
		{"uint4", -20, 1, 8, 0},
		{"uint4", float32(math.NaN()), 1, 8, 8},
	} {
		if got := quantize(c.x, c.scale, c.zp, qtypes[c.typ]); got != c.want {
			t.Errorf("quantize(%v, %v, %d, %s) = %d, want %d", c.x, c.scale, c.zp, c.typ, got, c.want)
		}
	}
}

func TestPacking(t *testing.T) {
	for _, c := range []struct {
		q    []int32
		want []byte
	}{
		{[]int32{1, 2}, []byte{0x21}},
		{[]int32{-1, -8, 7}, []byte{0x8F, 0x07}}, // int4 two's complement; odd count pads the high nibble with 0
		{[]int32{15, 0, 3, 12}, []byte{0x0F, 0xC3}},
		{nil, []byte{}},
	} {
		if got := qformat.Pack(c.q, 4); !bytes.Equal(got, c.want) {
			t.Errorf("Pack(%v) = % x, want % x", c.q, got, c.want)
		}
	}
	if got := qformat.Pack([]int32{-128, -1, 0, 127, 255}, 8); !bytes.Equal(got, []byte{0x80, 0xFF, 0x00, 0x7F, 0xFF}) {
		t.Errorf("Pack(8 bits) = % x", got)
	}
}

func TestQuantizeTensorPerChannel(t *testing.T) {
	// [K=2, N=3], per column (axis 1), int8 symmetric.
	w := []float32{
		1.27, -0.5, 0,
		-0.635, 0.25, 0,
	}
	r, err := quantizeTensor(w, []int64{2, 3}, 1, qtypes["int8"], true)
	if err != nil {
		t.Fatal(err)
	}
	wantScale := []float32{0.01, 0.5 / 127, 1}
	for i := range wantScale {
		if math.Abs(float64(r.scale[i]-wantScale[i])) > 1e-9 {
			t.Errorf("scale[%d] = %v, want %v", i, r.scale[i], wantScale[i])
		}
	}
	// -0.635/0.01 = -63.5 -> -64 (half to even); 0.25/(0.5/127) = 63.5 -> 64.
	if want := []int32{127, -127, 0, -64, 64, 0}; !slices.Equal(r.q, want) {
		t.Errorf("codes %v, want %v", r.q, want)
	}
	if !allZero(r.zp) {
		t.Errorf("symmetric int8 zero points %v, want zeros", r.zp)
	}
	// Per tensor, uint8 asymmetric: one scale over [-0.635, 1.27].
	r, err = quantizeTensor(w, []int64{2, 3}, -1, qtypes["uint8"], false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.scale) != 1 || math.Abs(float64(r.scale[0])-1.905/255) > 1e-8 || r.zp[0] != 85 {
		t.Errorf("per-tensor uint8 scale %v zp %v, want [%v] [85]", r.scale, r.zp, 1.905/255)
	}
	if _, err := quantizeTensor([]float32{1, float32(math.Inf(1))}, []int64{2}, -1, qtypes["int8"], true); err == nil {
		t.Error("quantizing +Inf succeeded; want an error")
	}
}

func TestMatMulNBitsLayout(t *testing.T) {
	// K=20 (not a multiple of the block 16), N=2; column 0 ramps, column 1
	// is constant.
	k, n := 20, 2
	w := make([]float32, k*n)
	for kk := 0; kk < k; kk++ {
		w[kk*n] = float32(kk - 8)
		w[kk*n+1] = 0.5
	}
	b, err := quantizeBlocked(w, k, n, 16, true, qtypes["uint4"], true, tFloat)
	if err != nil {
		t.Fatal(err)
	}
	if b.nb != 2 {
		t.Fatalf("nb = %d, want 2", b.nb)
	}
	// Column 0 block 0 holds -8..7: -8 maps to code -8, scale 1 (every
	// value exact). Block 1 holds 8..11: 11 maps to -8, scale -11/8.
	if got, want := b.scale[0], float32(1); got != want {
		t.Errorf("scale[block 0, col 0] = %v, want %v", got, want)
	}
	if got, want := b.scale[n], float32(-11.0/8); got != want {
		t.Errorf("scale[block 1, col 0] = %v, want %v", got, want)
	}
	packed, scales, zps, _ := b.matMulNBits(false)
	if len(packed) != n*2*8 || len(scales) != n*2 {
		t.Fatalf("packed %d bytes, %d scales; want %d, %d", len(packed), len(scales), n*2*8, n*2)
	}
	if zps != nil {
		t.Errorf("symmetric zero points should be left to MatMulNBits' default 8, got % x", zps)
	}
	// Column 0, block 0: codes x+8 for x = -8, -7: 0, 1; x = 6, 7: 14, 15.
	if packed[0] != 0x10 || packed[7] != 0xFE {
		t.Errorf("block 0 bytes % x, want 10 .. fe", packed[:8])
	}
	// Column 0, block 1 holds 8..11 (x/(-11/8) = -5.82, -6.55, -7.27, -8:
	// codes 2, 1, 1, 0) then 12 padding codes equal to the zero point.
	blk := packed[8:16]
	if !bytes.Equal(blk[:2], []byte{0x12, 0x01}) || blk[2] != 0x88 || blk[7] != 0x88 {
		t.Errorf("block 1 bytes % x, want 12 01 88 .. 88", blk)
	}
	// Column 1 is constant 0.5: scale -0.5/8, code 0 everywhere but padding.
	if packed[16] != 0x00 || scales[2] != float32(-0.5/8) {
		t.Errorf("column 1: byte % x scale %v", packed[16], scales[2])
	}

	// Asymmetric: zero points packed per row, two blocks in one byte.
	b, err = quantizeBlocked(w, k, n, 16, true, qtypes["uint4"], false, tFloat)
	if err != nil {
		t.Fatal(err)
	}
	_, _, zps, _ = b.matMulNBits(false)
	// col 0: block 0 [-8, 7] -> scale 1, zp 8; block 1 [0, 11] -> zp 0.
	// col 1: [0, 0.5] -> zp 0 for both blocks.
	if !bytes.Equal(zps, []byte{0x08, 0x00}) {
		t.Errorf("zero points % x, want 08 00", zps)
	}
	// Three blocks: odd count, each row starts a fresh byte.
	b, err = quantizeBlocked(make([]float32, 48*1), 48, 1, 16, true, qtypes["int4"], false, tFloat)
	if err != nil {
		t.Fatal(err)
	}
	b.zp[0], b.zp[1], b.zp[2] = -1, 0, 1
	_, _, zps, _ = b.matMulNBits(true)
	if !bytes.Equal(zps, []byte{0x87, 0x09}) {
		t.Errorf("odd-block zero points % x, want 87 09", zps)
	}
}
