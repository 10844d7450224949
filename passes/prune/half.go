package prune

import (
	"math"
	"sync"

	"github.com/onnxopt/onnxopt/onnx"
)

// keyTable maps the 15 magnitude bits of a 16-bit float (its bits with the
// sign cleared, which already sort like its magnitudes) to the key of the
// same value as a float32, so 16-bit weights are ranked with float32 ones
// without being decoded.
type keyTable [1 << 15]uint32

var (
	float16Keys = sync.OnceValue(func() *keyTable {
		var t keyTable
		for h := range t {
			t[h] = key(onnx.Float16ToFloat32(uint16(h)))
		}
		return &t
	})
	bfloat16Keys = sync.OnceValue(func() *keyTable {
		var t keyTable
		for h := range t {
			t[h] = key(math.Float32frombits(uint32(h) << 16))
		}
		return &t
	})
)

// keysOf returns the key table of a 16-bit float type, or nil.
func keysOf(dt int32) *keyTable {
	switch onnx.TensorProto_DataType(dt) {
	case onnx.TensorProto_FLOAT16:
		return float16Keys()
	case onnx.TensorProto_BFLOAT16:
		return bfloat16Keys()
	}
	return nil
}

// The loops below are select.go's, over 16-bit bit patterns h and their
// key table.

func histogramFirst16(hist []int64, h []uint16, tab *keyTable, shift uint) (zeros int64) {
	for _, x := range h {
		k := tab[x&0x7FFF]
		if k == 0 {
			zeros++
		}
		hist[k>>shift]++
	}
	return zeros
}

func histogram16(hist []int64, h []uint16, tab *keyTable, prefix, mask uint32, shift uint, dm uint32) {
	for _, x := range h {
		if k := tab[x&0x7FFF]; k&mask == prefix {
			hist[(k>>shift)&dm]++
		}
	}
}

func countBelow16(h []uint16, tab *keyTable, t uint32) (zeros, below int64) {
	for _, x := range h {
		k := tab[x&0x7FFF]
		if k == 0 {
			zeros++
		}
		if k < t {
			below++
		}
	}
	return zeros, below
}

// apply16 zeroes, in the little-endian 16-bit data dst, the elements of h
// (the same values, possibly the same memory) below t and the first quota
// equal to t.
func apply16(dst []byte, h []uint16, tab *keyTable, t uint32, quota int64) {
	dst = dst[:2*len(h)]
	for i, x := range h {
		k := tab[x&0x7FFF]
		if k < t || k == t && quota > 0 {
			if k == t {
				quota--
			}
			dst[2*i], dst[2*i+1] = 0, 0
		}
	}
}
