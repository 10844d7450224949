package quantize

import (
	"fmt"
	"math"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/passes/calib"
)

// histBins is the resolution of the histograms percentile and entropy
// calibration use.
const histBins = 2048

// calibrate runs the model on the calibration samples with vals exposed as
// extra outputs and returns an activation range per value. Samples are
// read and run one at a time, so memory stays bounded; percentile and
// entropy take a second pass to fill histograms over the first pass's
// ranges.
func (q *quantizer) calibrate(vals []*graph.Value) (lo, hi []float32, err error) {
	names := make([]string, len(vals))
	index := map[string]int{}
	for k, v := range vals {
		names[k] = v.Name
		index[v.Name] = k
	}
	cfg := q.cfg.calib
	cfg.Threads = q.ctx.Threads
	c, err := calib.Open(q.m, cfg, names)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	each := func(fn func(k int, x []float32)) error {
		return c.Each(func(i int, name string, t *ort.Tensor) error {
			x, err := floatValues(t)
			if err != nil {
				return fmt.Errorf("calibration: %s: %w", name, err)
			}
			fn(index[name], x)
			if index[name] == len(vals)-1 {
				q.ctx.Tick(int64(i+1), int64(c.Samples()))
			}
			return nil
		})
	}
	lo, hi = make([]float32, len(vals)), make([]float32, len(vals))
	for k := range lo {
		lo[k], hi[k] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	err = each(func(k int, x []float32) {
		for _, f := range x {
			if !isBad(f) {
				lo[k], hi[k] = min(lo[k], f), max(hi[k], f)
			}
		}
	})
	if err != nil || q.cfg.method == "minmax" {
		return lo, hi, err
	}
	hists := make([][]float64, len(vals))
	for k := range hists {
		hists[k] = make([]float64, histBins)
	}
	// percentile: values over [lo, hi]; entropy: magnitudes over [0, amax].
	edges := func(k int) (float64, float64) {
		if q.cfg.method == "entropy" {
			return 0, math.Max(-float64(lo[k]), float64(hi[k]))
		}
		return float64(lo[k]), float64(hi[k])
	}
	err = each(func(k int, x []float32) {
		a, z := edges(k)
		if z <= a {
			return
		}
		w := (z - a) / histBins
		for _, f := range x {
			v := float64(f)
			if q.cfg.method == "entropy" {
				v = math.Abs(v)
			}
			i := int((v - a) / w)
			hists[k][max(0, min(histBins-1, i))]++
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for k := range vals {
		a, z := edges(k)
		if z <= a {
			continue
		}
		w := (z - a) / histBins
		if q.cfg.method == "percentile" {
			l, h := percentileRange(hists[k], q.cfg.percentile)
			lo[k], hi[k] = float32(a+float64(l)*w), float32(a+float64(h+1)*w)
		} else {
			t := float32(float64(entropyThreshold(hists[k], -float64(lo[k])/w)+1) * w)
			lo[k], hi[k] = max(lo[k], -t), min(hi[k], t)
		}
	}
	return lo, hi, nil
}

// percentileRange returns the first and last histogram bins that keep p
// percent of the values, dropping (100-p)/2 percent from each tail.
func percentileRange(h []float64, p float64) (int, int) {
	var total float64
	for _, c := range h {
		total += c
	}
	tail := total * (100 - p) / 200
	l, acc := 0, 0.0
	for l < len(h)-1 && acc+h[l] <= tail {
		acc += h[l]
		l++
	}
	r, acc := len(h)-1, 0.0
	for r > l && acc+h[r] <= tail {
		acc += h[r]
		r--
	}
	return l, r
}

// entropyThreshold picks the histogram bin (of magnitudes) at which to
// clip so that the quantized distribution is closest to the original in KL
// divergence, as TensorRT's entropy calibration does. neg is the extent of
// negative values, in bins: TensorRT's 128 levels are what a symmetric
// range gets of the 256 uint8 codes, but a range clipped to [-min(neg, t),
// t] spends 255·t/(t+min(neg, t)) of them on magnitudes up to t (all of
// them after a Relu).
func entropyThreshold(h []float64, neg float64) int {
	const minLevels = 128
	best, bestKL := len(h)-1, math.Inf(1)
	p := make([]float64, len(h))
	qd := make([]float64, len(h))
	var outliers float64
	for _, c := range h {
		outliers += c
	}
	for i := 0; i < minLevels; i++ {
		outliers -= h[i]
	}
	for i := minLevels; i <= len(h); i++ {
		if i > minLevels {
			outliers -= h[i-1]
		}
		if i%16 != 0 && i != len(h) {
			continue // candidates every 16 bins are fine enough
		}
		levels := int(math.Round(255 * float64(i) / (float64(i) + max(0, min(neg, float64(i))))))
		copy(p, h[:i])
		p[i-1] += outliers
		// Merge h[:i] into levels chunks, spread each back over its
		// non-empty bins.
		for j := 0; j < levels; j++ {
			s, e := j*i/levels, (j+1)*i/levels
			var sum, nz float64
			for b := s; b < e; b++ {
				sum += h[b]
				if h[b] > 0 {
					nz++
				}
			}
			for b := s; b < e; b++ {
				qd[b] = 0
				if h[b] > 0 {
					qd[b] = sum / nz
				}
			}
		}
		kl := klDivergence(p[:i], qd[:i])
		if kl < bestKL {
			best, bestKL = i-1, kl
		}
	}
	return best
}

func klDivergence(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		pi, qi := p[i]/sp, q[i]/sq
		if qi == 0 {
			qi = 1e-12 // the clipped tail bin may have no quantized mass
		}
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// floatValues returns a captured float tensor's values as float32 (a view
// for float32, decoded for float16 and bfloat16).
func floatValues(t *ort.Tensor) ([]float32, error) {
	switch t.DType {
	case ort.Float32:
		return onnx.BytesAsFloat32s(t.Raw), nil
	case ort.DType(onnx.TensorProto_FLOAT16), ort.DType(onnx.TensorProto_BFLOAT16):
		x := make([]float32, t.Len())
		if err := onnx.DecodeFloats(int32(t.DType), x, t.Raw); err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, fmt.Errorf("a %s tensor, not a float one", onnx.DataTypeName(int32(t.DType)))
}
