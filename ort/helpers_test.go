package ort

import (
	"encoding/binary"
	"math"
)

// f32 builds a float32 tensor.
func f32(shape []int64, v ...float32) *Tensor {
	t := &Tensor{DType: Float32, Shape: shape, Raw: make([]byte, 4*len(v))}
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Raw[4*i:], math.Float32bits(x))
	}
	return t
}
