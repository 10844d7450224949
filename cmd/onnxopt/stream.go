package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/units"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// loadForRun loads the model run will transform within limit bytes of
// memory (0: no limit). A model whose external data does not fit is
// streamed (weights read, changed and written one at a time) when every
// pass of the pipeline can stream, and refused with the passes that
// cannot otherwise; force streams it either way. A streamed model is
// ready to be written to out with *wopts; the caller must Close it. When
// the input has external data and no threshold was given (ExternalThreshold
// 0 and !thresholdSet), large tensors the passes make go to the side file
// too (defaultExternalThreshold): wopts is updated.
func loadForRun(in, out string, limit int64, force bool, p passes.Pipeline, wopts *onnx.WriteOptions, thresholdSet bool) (m *graph.Model, streamed bool, err error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, false, withCode(exitFailure, err)
	}
	// The model file itself (graph and inline tensors) is always in memory.
	if limit > 0 && !st.IsDir() && st.Size() > limit {
		return nil, false, withCode(exitFailure, tooBig(in, st.Size(), 0, limit))
	}
	proto, err := onnx.ReadFile(in)
	if err != nil {
		return nil, false, withCode(exitFailure, err)
	}
	ext := externalBytes(proto)
	if ext > 0 && !thresholdSet && wopts.ExternalThreshold == 0 {
		wopts.ExternalThreshold = defaultExternalThreshold
	}
	fits := limit <= 0 || st.Size()+ext <= limit
	if force {
		if cannot := unstreamable(p); len(cannot) > 0 {
			return nil, false, usageErrorf("--stream: pass %s cannot stream (it holds every weight at once, or runs the model through ONNX Runtime); leave --stream out", strings.Join(cannot, ", "))
		}
	}
	if !fits {
		if ext == 0 {
			return nil, false, withCode(exitFailure, tooBig(in, st.Size(), ext, limit))
		}
		if cannot := unstreamable(p); len(cannot) > 0 {
			return nil, false, withCode(exitFailure, fmt.Errorf("%s needs %s of memory (%s of external data), over --max-memory %s, and pass %s cannot stream (it holds every weight at once): give a larger --max-memory (0: no limit) or leave it out",
				in, units.HumanBytes(st.Size()+ext), units.HumanBytes(ext), units.HumanBytes(limit), strings.Join(cannot, ", ")))
		}
	}
	m, err = graph.FromOwnedProto(proto, onnx.NewExternalStore(filepath.Dir(in)))
	if err != nil {
		return nil, false, withCode(exitFailure, fmt.Errorf("%s: %w", in, err))
	}
	if err := m.Graph.Check(); err != nil {
		return nil, false, withCode(exitFailure, fmt.Errorf("%s: %w", in, err))
	}
	if force || !fits {
		if err := m.Stream(out, *wopts); err != nil {
			m.Close()
			return nil, false, withCode(exitFailure, err)
		}
		m.Store.SetHoldBudget(streamBudget(limit, st.Size()))
		limitHeap(limit)
		return m, true, nil
	}
	return m, false, nil
}

// defaultExternalThreshold is where new tensors go to the side file when
// the input keeps its weights in one and --external-threshold is not
// given: a model too large for one protobuf file stays writable after
// passes that replace its weights (quantize, convert-float), and a
// streamed run can move them out of memory as they are made.
const defaultExternalThreshold = 1 << 20

// maxInFlight caps the weights a streamed pass holds at once: more does
// not make a pass bound by reading and writing any faster, and the
// garbage collector may keep up to as much again.
const maxInFlight = 1 << 30

// streamBudget is the bytes of weights a streamed pass may hold at once:
// a quarter of what --max-memory leaves beside the model file (the
// collector's slack and the output's buffers take their share), at most
// maxInFlight.
func streamBudget(limit, modelFile int64) int64 {
	if limit <= 0 {
		return maxInFlight
	}
	return max(min((limit-modelFile)/4, maxInFlight), 1)
}

// limitHeap makes the garbage collector keep the heap within most of
// --max-memory while a model is streamed: a pass's scratch copies of a
// large weight (transposes, codes) are garbage soon after, and by default
// the collector lets the heap grow to twice what is live before it runs.
// GOMEMLIMIT, when set, wins.
func limitHeap(limit int64) {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit / 10 * 8)
}

// unstreamable lists, once each, the passes of p that hold the model.
func unstreamable(p passes.Pipeline) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range p {
		if !s.Streams() && !seen[s.Pass.Name] {
			seen[s.Pass.Name] = true
			out = append(out, s.Pass.Name)
		}
	}
	return out
}

// streamNote tells the user why the model is streamed.
func streamNote(in string, limit int64, forced bool) string {
	if forced {
		return "onnxopt: streaming " + in + " (--stream): weights are read, changed and written one at a time"
	}
	return fmt.Sprintf("onnxopt: %s does not fit in --max-memory %s: streaming it, weights read, changed and written one at a time", in, units.HumanBytes(limit))
}
