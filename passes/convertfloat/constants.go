package convertfloat

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// findBeyond scans every source constant once, in parallel, for finite
// values beyond the float16 range.
func (c *converter) findBeyond() {
	var ts []*graph.Tensor
	c.m.Graph.Walk(func(g *graph.Graph) {
		for _, v := range g.Initializers {
			ts = append(ts, v.Tensor)
		}
		for _, n := range g.Nodes {
			if n.OpType() == "Constant" && n.Domain() == "" && len(n.Outputs()) == 1 && n.Output(0).Const() != nil {
				ts = append(ts, n.Output(0).Const())
			}
		}
	})
	ts = slices.DeleteFunc(ts, func(t *graph.Tensor) bool { return t == nil || !c.source(t.DataType()) })
	found := make([]bool, len(ts))
	passes.Parallel(len(ts), c.threads, func(i int) {
		found[i] = beyondFloat16(ts[i])
		// Streaming, the bytes leave memory until converted (read only:
		// releasing unchanged bytes cannot fail).
		_ = ts[i].Release()
	})
	c.beyond = map[*graph.Tensor]bool{}
	for i, t := range ts {
		if found[i] {
			c.beyond[t] = true
		}
	}
}

// beyondFloat16 reports whether a finite value of t is beyond ±65504.
func beyondFloat16(t *graph.Tensor) bool {
	v, err := t.Floats()
	if err != nil {
		return false
	}
	for _, x := range v {
		// |x| in (65504, +Inf): the bits of |x| between theirs.
		if math.Float32bits(x)&0x7FFFFFFF-0x477FE001 < 0x7F800000-0x477FE001 {
			return true
		}
	}
	return false
}

// chunkElems is the size of the pieces convertTensors splits tensors
// into, so that one large tensor still spreads over all cores.
const chunkElems = 1 << 18

// convertTensors stores ts in the target type, clamping float16 overflow
// to ±65504. Large models spend the pass's time here: the tensors are
// converted in chunks on every core, each read once.
// convertAll converts todo: all at once, in parallel pieces, when the
// model is in memory; streaming, a tensor at a time per thread within the
// store's budget, each released (written to the output) once converted.
func (c *converter) convertAll(todo []*graph.Tensor) error {
	if c.m.Store == nil || !c.m.Store.Streaming() {
		return c.convertTensors(todo)
	}
	errs := make([]error, len(todo))
	size := func(i int) int64 { return 2 * todo[i].Bytes() }
	passes.ParallelWithin(len(todo), c.threads, passes.StreamBudget(c.m), size, func(i int) {
		errs[i] = c.convertTensors(todo[i : i+1])
		if err := todo[i].Release(); errs[i] == nil {
			errs[i] = err
		}
	})
	return errors.Join(errs...)
}

func (c *converter) convertTensors(ts []*graph.Tensor) error {
	vals := make([][]float32, len(ts))
	outs := make([][]byte, len(ts))
	errs := make([]error, len(ts))
	size := onnx.ElemBits(c.to) / 8
	// Floats is a view for float32 and decodes the 16-bit types.
	passes.Parallel(len(ts), c.threads, func(i int) {
		v, err := ts[i].Floats()
		if err != nil {
			errs[i] = fmt.Errorf("constant %q: %w", ts[i].Name(), err)
			return
		}
		vals[i], outs[i] = v, make([]byte, size*len(v))
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	type piece struct{ t, off, end int }
	var pieces []piece
	for i, v := range vals {
		for off := 0; off < len(v); off += chunkElems {
			pieces = append(pieces, piece{i, off, min(off+chunkElems, len(v))})
		}
	}
	passes.Parallel(len(pieces), c.threads, func(j int) {
		p := pieces[j]
		src, dst := vals[p.t][p.off:p.end], outs[p.t][size*p.off:size*p.end]
		switch c.to {
		case tFloat16:
			if n := onnx.Float32sToFloat16sClamped(dst, src); n > 0 {
				c.clamped.Add(int64(n))
			}
		case tBFloat:
			onnx.Float32sToBFloat16s(dst, src)
		default:
			copy(dst, onnx.Float32sAsBytes(src))
		}
	})
	for i, t := range ts {
		to := c.to
		t.Proto.DataType = &to
		t.SetRaw(outs[i])
	}
	return nil
}
