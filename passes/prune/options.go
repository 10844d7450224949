package prune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/oneshot"
)

// Ops lists the op types whose weights prune can select.
var Ops = []string{"MatMul", "Gemm", "Conv", "ConvTranspose", "Gather"}

// config is a checked set of options.
type config struct {
	sparsity  float64 // with !useThreshold
	global    bool
	threshold float32 // with useThreshold
	useThresh bool
	sel       passes.Selection
	method    oneshot.Config // magnitude, or a calibrated method (calibrated.go)
}

func configure(a passes.Args) (config, error) {
	var c config
	hasS, hasT := a.Has("sparsity"), a.Has("threshold")
	switch {
	case hasS == hasT:
		return c, fmt.Errorf("give exactly one of sparsity= or threshold=")
	case hasS:
		c.sparsity = a.Float("sparsity")
		if !(c.sparsity >= 0 && c.sparsity < 1) {
			return c, fmt.Errorf("sparsity=%s is out of range: want 0 <= sparsity < 1", a.String("sparsity"))
		}
	case hasT:
		t := a.Float("threshold")
		if !(t >= 0) || math.IsInf(t, 0) {
			return c, fmt.Errorf("threshold=%s is not a finite number >= 0", a.String("threshold"))
		}
		c.threshold, c.useThresh = float32(t), true
	}
	switch s := a.String("scope"); s {
	case "", "tensor":
	case "global":
		if c.useThresh {
			return c, fmt.Errorf("scope=global applies to sparsity=, not to threshold= (a threshold is the same for every tensor)")
		}
		c.global = true
	}
	c.sel.Ops = a.List("ops")
	for _, op := range c.sel.Ops {
		if !slices.Contains(Ops, op) {
			return c, fmt.Errorf("ops: prune does not handle %q (it handles %s)", op, strings.Join(Ops, ", "))
		}
	}
	c.sel.Include = a.List("include")
	c.sel.Exclude = a.List("exclude")
	c.sel.MinElements = a.Int("min-elements")
	if c.sel.MinElements < 0 {
		return c, fmt.Errorf("min-elements=%d is negative", c.sel.MinElements)
	}
	return c, configureMethod(a, &c)
}
