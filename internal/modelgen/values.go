package modelgen

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"unsafe"
)

// chunkLen is how many values one PCG stream draws. A tensor's values are
// drawn chunk by chunk, each chunk seeded by (seed, tensor name, chunk
// index), so any chunk-aligned range can be drawn on its own.
const chunkLen = 1 << 16

// normal describes a tensor drawn as mean + std*N(0,1), deterministically.
type normal struct {
	mean, std float32
	abs       bool   // keep |value| (for variances)
	seed      uint64 // mixed model seed
	stream    uint64 // hash of the tensor name
}

// newNormal returns the distribution of the tensor called name in a model
// seeded by seed.
func newNormal(seed int64, name string, mean, std float32) normal {
	h := fnv.New64a()
	h.Write([]byte(name))
	return normal{mean: mean, std: std, seed: splitmix64(uint64(seed)), stream: h.Sum64()}
}

// fill sets dst to the values first, first+1, ... of the tensor; first must
// be a multiple of chunkLen. Large ranges are drawn on all CPUs.
func (d normal) fill(dst []float32, first int64) {
	if first%chunkLen != 0 {
		panic("modelgen: fill must start at a chunk boundary")
	}
	chunks := (len(dst) + chunkLen - 1) / chunkLen
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		d.fillChunks(dst, first)
		return
	}
	per := (chunks + workers - 1) / workers * chunkLen
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		wg.Go(func() { d.fillChunks(dst[lo:hi], first+int64(lo)) })
	}
	wg.Wait()
}

func (d normal) fillChunks(dst []float32, first int64) {
	var src rand.PCG
	r := rand.New(&src)
	for off := 0; off < len(dst); off += chunkLen {
		chunk := uint64(first+int64(off)) / chunkLen
		src.Seed(d.seed, splitmix64(d.stream^chunk*0x9e3779b97f4a7c15))
		for i := off; i < min(off+chunkLen, len(dst)); i++ {
			v := d.mean + d.std*float32(r.NormFloat64())
			if d.abs && v < 0 {
				v = -v
			}
			dst[i] = v
		}
	}
}

// splitmix64 scrambles x so that nearby seeds give unrelated streams.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// littleEndian reports whether this machine stores numbers as ONNX raw_data
// does, so float32 slices can be written without conversion.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// float32Bytes returns f as little-endian bytes; on little-endian machines
// the result shares f's memory.
func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
	}
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// numElements is the product of dims.
func numElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}
