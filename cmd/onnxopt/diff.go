package main

import (
	"errors"
	"fmt"

	"github.com/onnxopt/onnxopt/diff"
	"github.com/onnxopt/onnxopt/ort"
	"github.com/spf13/cobra"
)

func init() { register(newDiffCmd) }

func newDiffCmd() *cobra.Command {
	var (
		asJSON, runModels, perLayer, exitCode bool
		htmlPath, ep                          string
		hist, shapes                          []string
		limit, samples, maxLayers             int
		seed                                  int64
	)
	cmd := &cobra.Command{
		Use:   "diff [flags] BEFORE AFTER",
		Short: "Show what changed between two models: nodes, weights, sparsity, quantization, output error",
		Long: `diff compares two models. Nodes are paired by structure, not only by name
(passes rename and insert nodes): by unique name, by the values they produce,
through matched neighbours, and by op type and position in topological order.
It reports nodes added, removed and changed (op type, attributes, inputs),
every constant (initializers dense or sparse, and Constant nodes) with its
data type, shape, bytes and sparsity before and after, the largest and the
relative difference of same-shape float weights, weights replaced by
quantized ones (DequantizeLinear, DynamicQuantizeMatMul, MatMulNBits,
GatherBlockQuantized, ConvInteger) with the error of their reconstruction,
float weights converted to float16/bfloat16 with their rounding error, and
changes to graph inputs and outputs, opsets and metadata.

The default output is a terminal summary, totals first; identical models
print nothing. --json prints one JSON object (summary, nodes, tensors,
metadata, ...). --html FILE writes a self-contained page with sortable
tables and plots: sparsity and bytes per layer, weight histograms (--hist,
default the largest weights) and, with --per-layer, the error per layer.

--run runs both models through ONNX Runtime on the same random inputs and
reports the error of each output; --per-layer also compares matched
intermediate values to show where the error grows.

Exit status: 0, or 1 with --exit-code when the models differ; 1 when a
model cannot be read or run; 2 for usage errors.`,
		Example: `  onnxopt diff model.onnx pruned.onnx
  onnxopt diff --json model.onnx int8.onnx | jq '.tensors[] | select(.quantized)'
  onnxopt diff --run --per-layer --html report.html model.onnx int8.onnx`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("diff takes two models, BEFORE and AFTER; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || samples < 0 || maxLayers < 0 {
				return usageErrorf("--limit, --samples and --max-layers must not be negative")
			}
			sh := ort.Shapes{}
			for _, s := range shapes {
				name, dims, err := ort.ParseShape(s)
				if err != nil {
					return usageErrorf("--shape %s: %v", s, err)
				}
				sh[name] = dims
			}
			if err := checkOutputs(args, []output{{"--html", htmlPath}}); err != nil {
				return err
			}
			a, err := loadModel(args[0])
			if err != nil {
				return err
			}
			b, err := loadModel(args[1])
			if err != nil {
				return err
			}
			r, err := diff.Compare(a, b, args[0], args[1])
			if err != nil {
				return withCode(exitFailure, err)
			}
			if runModels || perLayer {
				opts := diff.RunOptions{Session: ort.Options{EP: ep}, Shapes: sh, Samples: samples, Seed: seed, PerLayer: perLayer, MaxLayers: maxLayers}
				if err := r.RunOutputs(args[0], args[1], opts); err != nil {
					return withCode(exitFailure, err)
				}
			}
			if htmlPath != "" {
				if err := r.AddHistograms(hist, 3); err != nil {
					return usageErrorf("%v", err)
				}
				if err := r.WriteHTMLFile(htmlPath); err != nil {
					return withCode(exitFailure, err)
				}
			} else if len(hist) > 0 {
				return usageErrorf("--hist needs --html")
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = r.WriteJSON(out)
			} else {
				err = r.WriteText(out, limit)
			}
			if err != nil {
				return withCode(exitFailure, err)
			}
			if exitCode && !r.Empty() {
				return withCode(exitFailure, errors.New(differMessage(r)))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&htmlPath, "html", "", "write an HTML report with plots to `FILE`")
	f.StringArrayVar(&hist, "hist", nil, "weight to plot a histogram of in the HTML report (repeatable; default the 3 largest)")
	f.BoolVar(&runModels, "run", false, "run both models through ONNX Runtime and compare their outputs")
	f.BoolVar(&perLayer, "per-layer", false, "also compare matched intermediate values (implies --run)")
	f.IntVar(&maxLayers, "max-layers", 64, "intermediate values compared by --per-layer, spread over the graph")
	f.IntVar(&samples, "samples", 1, "random input samples for --run")
	f.Int64Var(&seed, "seed", 0, "seed of the random inputs")
	f.StringArrayVar(&shapes, "shape", nil, "size of a dynamic input dimension, as NAME=1x3x224x224 or DIM=4 (repeatable)")
	f.StringVar(&ep, "ep", "cpu", "ONNX Runtime execution provider: cpu or cuda")
	f.BoolVar(&exitCode, "exit-code", false, "exit with status 1 when the models differ")
	f.IntVar(&limit, "limit", 50, "items listed per section in text output (0: all)")
	return cmd
}

func differMessage(r *diff.Result) string {
	s := r.Summary
	return fmt.Sprintf("the models differ (%d nodes added, %d removed, %d changed; %d tensors added, %d removed, %d changed)",
		s.NodesAdded, s.NodesRemoved, s.NodesChanged, s.TensorsAdded, s.TensorsRemoved, s.TensorsChanged)
}
