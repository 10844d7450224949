package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
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

// loadModelWithin loads a model as loadModel does, first checking that it
// fits in limit bytes of memory (0: no limit): the file size before
// reading it, then the file plus its external tensors' sizes before
// building the IR, so that a model that cannot fit fails early with a
// clear message instead of being killed.
func loadModelWithin(path string, limit int64) (*graph.Model, error) {
	if limit <= 0 {
		return loadModel(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, withCode(exitFailure, err)
	}
	if !st.IsDir() && st.Size() > limit {
		return nil, withCode(exitFailure, tooBig(path, st.Size(), 0, limit))
	}
	p, err := onnx.ReadFile(path)
	if err != nil {
		return nil, withCode(exitFailure, err)
	}
	if ext := externalBytes(p); st.Size()+ext > limit {
		return nil, withCode(exitFailure, tooBig(path, st.Size(), ext, limit))
	}
	m, err := graph.FromOwnedProto(p, onnx.NewExternalStore(filepath.Dir(path)))
	if err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("%s: %w", path, err))
	}
	if err := m.Graph.Check(); err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("%s: %w", path, err))
	}
	return m, nil
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
