package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onnxopt/onnxopt/internal/synthdata"
	"github.com/onnxopt/onnxopt/ort"
)

func newGenInputsCmd() *cobra.Command {
	var (
		out, shape, name string
		samples          int
		seed             int64
	)
	c := &cobra.Command{
		Use:   "inputs KIND -o DIR [--samples N] [--seed S] [--shape 1x3x48x192] [--name x]",
		Short: "Write realistic model inputs (rendered text for PP-OCR, a wake-word feature proxy) as ONNX test data",
		Long: `inputs draws calibration or evaluation inputs and writes them as ONNX
test data, DIR/test_data_set_N/input_0.pb, the layout calib=DIR and
verify --inputs DIR read. Draw calibration and evaluation sets with
different seeds. Give --shape when the model's input differs from the
kind's default (openWakeWord models take 24 or 25 frames: --shape 1x25x96
for hello_deepa). Kinds:

` + kindList(),
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("-o DIR is required")
			}
			k, err := synthdata.Lookup(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			var dims []int64
			if shape != "" {
				if _, dims, err = ort.ParseShape("input=" + shape); err != nil {
					return usageErrorf("--shape: %v", err)
				}
			}
			if name == "" {
				name = k.Input
			}
			ss, err := synthdata.Generate(k.Name, dims, samples, seed)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if err := synthdata.WriteDir(out, name, ss); err != nil {
				return withCode(exitFailure, err)
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d %s samples of shape %v, seed %d\n", out, len(ss), k.Name, ss[0].Shape, seed)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "folder to write (required; must not hold test data yet)")
	c.Flags().IntVar(&samples, "samples", 8, "number of samples")
	c.Flags().Int64Var(&seed, "seed", 1, "seed (use different seeds for calibration and evaluation)")
	c.Flags().StringVar(&shape, "shape", "", "input shape such as 1x3x320x320 (default: the kind's)")
	c.Flags().StringVar(&name, "name", "", "input name stored in the files (default: the kind's model input)")
	return c
}

func kindList() string {
	var b strings.Builder
	for _, n := range synthdata.Kinds() {
		k, _ := synthdata.Lookup(n)
		fmt.Fprintf(&b, "  %-10s %v  %s\n", n, k.Shape, k.Doc)
	}
	return b.String()
}
