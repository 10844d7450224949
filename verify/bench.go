package verify

import (
	"fmt"
	"github.com/onnxopt/onnxopt/ort"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/onnxopt/onnxopt/onnx"
)

// BenchConfig says how Bench times models.
type BenchConfig struct {
	Options ort.Options // how sessions run (execution provider, threads)
	Shapes  ort.Shapes  // sizes of dynamic dimensions of the generated inputs
	Seed    int64
	Runs    int // timed runs per model; 0 means 20
	Warmup  int // untimed runs per model first
}

// BenchResult is the timing of one model.
type BenchResult struct {
	Model   string        `json:"model"`
	Session time.Duration `json:"-"` // session creation
	Median  time.Duration `json:"-"`
	P10     time.Duration `json:"-"`
	P90     time.Duration `json:"-"`
	Runs    int           `json:"runs"`
	// Ratio is Median over the first model's Median.
	Ratio float64 `json:"ratio"`

	SessionMS float64 `json:"session_ms"`
	MedianMS  float64 `json:"median_ms"`
	P10MS     float64 `json:"p10_ms"`
	P90MS     float64 `json:"p90_ms"`
}

// Bench times session creation and runs of each model on the same
// generated inputs (same seed and shapes; models with the same inputs get
// the same values). Runs are interleaved: each round runs every model once,
// starting from a different model each round, so that a noisy machine
// slows them all alike and the ratios stay fair. Only the runtime's run is
// timed, not input conversion or output copies.
func Bench(models []string, cfg BenchConfig) ([]BenchResult, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("no models to time")
	}
	runs := cfg.Runs
	if runs <= 0 {
		runs = 20
	}
	results := make([]BenchResult, len(models))
	feeds := make([]*ort.Prepared, len(models))
	defer func() {
		for _, f := range feeds {
			if f != nil {
				f.Release()
			}
		}
	}()
	if _, err := ort.LoadRuntime(); err != nil {
		return nil, err // not part of any session's creation time
	}
	var sessions []*ort.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for i, path := range models {
		m, err := onnx.ReadFile(path)
		if err != nil {
			return nil, err
		}
		specs := ort.InputSpecs(m)
		vals, err := ort.GenerateInputs(specs, cfg.Shapes, cfg.Seed, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		start := time.Now()
		s, err := ort.Open(path, cfg.Options)
		if err != nil {
			return nil, err
		}
		results[i] = BenchResult{Model: path, Session: time.Since(start), Runs: runs}
		sessions = append(sessions, s)
		idx, err := arrangeInputs(s, specs, "")
		if err != nil {
			return nil, err
		}
		in := pick(vals, idx)
		if feeds[i], err = s.Prepare(in); err != nil {
			return nil, err
		}
	}
	times := make([][]time.Duration, len(models))
	for round := 0; round < cfg.Warmup+runs; round++ {
		for k := range models {
			i := (round + k) % len(models)
			start := time.Now()
			if err := feeds[i].Run(); err != nil {
				return nil, fmt.Errorf("%s: %w", models[i], err)
			}
			if round >= cfg.Warmup {
				times[i] = append(times[i], time.Since(start))
			}
		}
	}
	for i := range results {
		r := &results[i]
		sort.Slice(times[i], func(a, b int) bool { return times[i][a] < times[i][b] })
		r.Median, r.P10, r.P90 = quantile(times[i], 0.5), quantile(times[i], 0.1), quantile(times[i], 0.9)
		r.Ratio = float64(r.Median) / float64(results[0].Median)
		r.SessionMS, r.MedianMS = ms(r.Session), ms(r.Median)
		r.P10MS, r.P90MS = ms(r.P10), ms(r.P90)
	}
	return results, nil
}

// quantile interpolates linearly between the sorted samples around q.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[lo]
	}
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(frac*float64(sorted[lo+1]-sorted[lo]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteBenchText writes bench results as a table with ratios against the
// first model.
func WriteBenchText(w io.Writer, results []BenchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tSESSION\tMEDIAN\tP10\tP90\tRUNS\tRATIO\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.3fx\t\n", r.Model, dur(r.Session), dur(r.Median),
			dur(r.P10), dur(r.P90), r.Runs, r.Ratio)
	}
	return tw.Flush()
}

// dur formats a duration with about three significant digits.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", ms(d))
	}
	return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
}
