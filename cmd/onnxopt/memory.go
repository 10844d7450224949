package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/onnxopt/onnxopt/internal/units"
	"github.com/onnxopt/onnxopt/onnx"
)

// defaultMemoryFraction is the share of physical memory --max-memory
// allows by default.
const defaultMemoryFraction = 0.8

// defaultMaxMemory returns the default of --max-memory: 80% of physical
// memory, or 0 (no limit) where /proc/meminfo cannot be read.
func defaultMaxMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return int64(float64(kb<<10) * defaultMemoryFraction)
		}
	}
	return 0
}

// externalBytes sums the sizes that the shapes of external tensors claim,
// saturating rather than overflowing.
func externalBytes(p *onnx.ModelProto) int64 {
	var total int64
	onnx.WalkTensors(p, func(t *onnx.TensorProto, _ onnx.TensorSite) {
		if !t.IsExternal() {
			return
		}
		if t.CheckData() != nil {
			return // reported, more precisely, when the IR is built
		}
		n, _ := t.Elements()
		if b := onnx.StorageBytes(t.GetDataType(), n); b > 1<<62-total {
			total = 1 << 62
		} else if b > 0 {
			total += b
		}
	})
	return total
}

func tooBig(path string, file, ext, limit int64) error {
	detail := units.HumanBytes(file) + " of model file"
	if ext > 0 {
		detail += " + " + units.HumanBytes(ext) + " of external data"
	}
	return fmt.Errorf("%s needs at least %s of memory (%s), over --max-memory %s; give a larger --max-memory (0: no limit)",
		path, units.HumanBytes(file+ext), detail, units.HumanBytes(limit))
}
