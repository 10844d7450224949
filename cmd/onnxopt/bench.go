package main

import (
	"encoding/json"

	"github.com/onnxopt/onnxopt/ort"
	"github.com/onnxopt/onnxopt/verify"
	"github.com/spf13/cobra"
)

func init() { register(newBenchCmd) }

func newBenchCmd() *cobra.Command {
	var (
		rf      runtimeFlags
		jsonOut bool
		runs    int
		warmup  int
	)
	cmd := &cobra.Command{
		Use:   "bench [flags] MODEL...",
		Short: "Time models through ONNX Runtime, with ratios against the first",
		Long: `bench creates an ONNX Runtime session for each MODEL, timing it, then runs
the models on the same generated inputs (fixed --seed; dynamic dimensions
from --shape, else 1) and reports the median, 10th and 90th percentile run
latency, and each model's median as a ratio of the first model's.

Runs are interleaved: each round runs every model once, starting from a
different model each round, so that a noisy machine slows them all alike
and the ratios stay fair. Only ONNX Runtime's run is timed.`,
		Example: `  onnxopt bench model.onnx pruned.onnx quantized.onnx
  onnxopt bench --runs 100 --threads 1 --shape x=1x3x640x640 det.onnx det-int8.onnx
  onnxopt bench --json model.onnx`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("bench takes one or more models (see 'onnxopt bench --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, shapes, err := rf.options()
			if err != nil {
				return err
			}
			if runs < 1 || warmup < 0 {
				return usageErrorf("--runs must be at least 1 and --warmup at least 0")
			}
			var first []ort.InputSpec
			for i, path := range args {
				m, err := loadModel(path)
				if err != nil {
					return err
				}
				if i == 0 {
					first = ort.InputSpecs(m.ToProto())
				}
			}
			noteDefaulted(cmd, first, shapes)
			results, err := verify.Bench(args, verify.BenchConfig{
				Options: opts, Shapes: shapes, Seed: rf.seed, Runs: runs, Warmup: warmup,
			})
			if err != nil {
				return runError(err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(struct {
					Runs   int                  `json:"runs"`
					Warmup int                  `json:"warmup"`
					Models []verify.BenchResult `json:"models"`
				}{runs, warmup, results})
			} else {
				err = verify.WriteBenchText(out, results)
			}
			return withCode(exitFailure, err)
		},
	}
	rf.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&jsonOut, "json", false, "print the results as JSON")
	f.IntVar(&runs, "runs", 20, "timed runs per model")
	f.IntVar(&warmup, "warmup", 3, "untimed runs per model before timing")
	return cmd
}
