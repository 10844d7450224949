package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onnxopt/onnxopt/internal/synthdata"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/ort"
)

func newGenInputsCmd() *cobra.Command {
	var (
		out, shape, name, model string
		samples                 int
		seed                    int64
	)
	c := &cobra.Command{
		Use:   "inputs KIND -o DIR [--model M.onnx] [--shape 1x3x48x192] [--name x] [--samples N] [--seed S]",
		Short: "Write realistic model inputs (rendered text for PP-OCR, a wake-word feature proxy) as ONNX test data",
		Long: `inputs draws calibration or evaluation inputs and writes them as ONNX
test data, DIR/test_data_set_N/input_0.pb, the layout calib=DIR and
verify --inputs DIR read. Draw calibration and evaluation sets with
different seeds. --model takes the input's name and fixed sizes from the
model the data is for (openWakeWord models take 24 or 25 frames, not the
kind's default 16); --shape sets the sizes (with --model: of a model with
dynamic sizes), --name the name. Kinds:

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
			if model != "" {
				if name, dims, err = modelInput(model, name, k.Shape); err != nil {
					return err
				}
			}
			if shape != "" {
				var given []int64
				if _, given, err = ort.ParseShape("input=" + shape); err != nil {
					return usageErrorf("--shape: %v", err)
				}
				if dims != nil && len(given) != len(dims) {
					return usageErrorf("--shape %s has rank %d, the model's input %q rank %d", shape, len(given), name, len(dims))
				}
				dims = given
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
	c.Flags().StringVar(&model, "model", "", "model the inputs are for: its input's name and fixed sizes (symbolic ones take the kind's)")
	return c
}

// modelInput returns the name (unless name is given) and shape of the
// input of the model at path that data of rank len(def) feeds: its fixed
// sizes, and def's where a size is symbolic.
func modelInput(path, name string, def []int64) (string, []int64, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return "", nil, withCode(exitFailure, err)
	}
	var cands []string
	for _, in := range ort.InputSpecs(m) {
		cands = append(cands, fmt.Sprintf("%s (rank %d)", in.Name, len(in.Dims)))
		if (name != "" && in.Name != name) || len(in.Dims) != len(def) {
			continue
		}
		dims := make([]int64, len(def))
		for i, d := range in.Dims {
			dims[i] = def[i]
			if d.Size > 0 {
				dims[i] = d.Size
			}
		}
		return in.Name, dims, nil
	}
	return "", nil, usageErrorf("--model %s: no input of rank %d to feed (inputs: %s)", path, len(def), strings.Join(cands, ", "))
}

func kindList() string {
	var b strings.Builder
	for _, n := range synthdata.Kinds() {
		k, _ := synthdata.Lookup(n)
		fmt.Fprintf(&b, "  %-10s %v  %s\n", n, k.Shape, k.Doc)
	}
	return b.String()
}
