package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/onnxopt/onnxopt/inspect"
	"github.com/onnxopt/onnxopt/internal/units"
	"github.com/spf13/cobra"
)

func init() { register(newInspectCmd) }

func newInspectCmd() *cobra.Command {
	var asJSON bool
	var top int
	cmd := &cobra.Command{
		Use:   "inspect [--json] MODEL",
		Short: "Summarize a model: versions, inputs, outputs, ops, parameters, bytes, sparsity",
		Long: `inspect prints a model's IR and opset versions, producer, inputs and outputs
with types and shapes, op counts (subgraphs included), parameter count (all
initializers, sparse ones included), bytes of weights by data type, and for
each constant tensor its data type, shape, sparsity (fraction of exact
zeros) and size. --json prints the same as one JSON object.`,
		Example: `  onnxopt inspect model.onnx
  onnxopt inspect --json model.onnx | jq .params`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("inspect takes one MODEL, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := loadModel(args[0])
			if err != nil {
				return err
			}
			s, err := inspect.Model(m)
			if err != nil {
				return withCode(exitFailure, fmt.Errorf("%s: %w", args[0], err))
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printSummary(cmd.OutOrStdout(), args[0], s, top)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&top, "tensors", 20, "largest tensors, and quantized layers, to list in text output (0: all)")
	return cmd
}

func printSummary(w io.Writer, path string, s *inspect.Summary, top int) {
	fmt.Fprintf(w, "%s\n", path)
	var opsets []string
	for d, v := range s.Opsets {
		opsets = append(opsets, fmt.Sprintf("%s %d", d, v))
	}
	sort.Strings(opsets)
	fmt.Fprintf(w, "  IR version %d, opsets: %s\n", s.IRVersion, strings.Join(opsets, ", "))
	if s.Producer != "" {
		fmt.Fprintf(w, "  producer: %s %s\n", s.Producer, s.ProducerVersion)
	}
	for _, io := range s.Inputs {
		fmt.Fprintf(w, "  input  %s: %s%v\n", io.Name, io.DType, io.Shape)
	}
	for _, io := range s.Outputs {
		fmt.Fprintf(w, "  output %s: %s%v\n", io.Name, io.DType, io.Shape)
	}
	var ops []string
	for _, op := range s.SortedOps() {
		ops = append(ops, fmt.Sprintf("%s %d", op, s.Ops[op]))
	}
	fmt.Fprintf(w, "  %d nodes: %s\n", s.Nodes, strings.Join(ops, ", "))
	var dts []string
	for dt, b := range s.Bytes {
		dts = append(dts, fmt.Sprintf("%s %s", dt, units.HumanBytes(b)))
	}
	sort.Strings(dts)
	fmt.Fprintf(w, "  %d parameters, %s of constants (%s)\n", s.Params, units.HumanBytes(s.TotalBytes), strings.Join(dts, ", "))
	if len(s.Sparsity) > 0 {
		var keys []string
		for k := range s.Sparsity {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "  sparsity annotations (onnxopt.sparsity):\n")
		for _, k := range keys {
			fmt.Fprintf(w, "    %s: %s\n", k, s.Sparsity[k])
		}
	}
	printQuantized(w, s.Quantized, top)
	tensors := append([]inspect.Tensor(nil), s.Tensors...)
	sort.SliceStable(tensors, func(i, j int) bool { return tensors[i].Bytes > tensors[j].Bytes })
	shown := len(tensors)
	if top > 0 && shown > top {
		shown = top
	}
	if shown == 0 {
		return
	}
	fmt.Fprintf(w, "  tensors (largest %d of %d):\n", shown, len(tensors))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "    name\tdtype\tshape\tsparsity\tbytes\tkind\n")
	for _, t := range tensors[:shown] {
		fmt.Fprintf(tw, "    %s\t%s\t%v\t%.1f%%\t%s\t%s\n", t.Name, t.DType, t.Shape, 100*t.Sparsity, units.HumanBytes(t.Bytes), t.Kind)
	}
	tw.Flush()
}

// printQuantized lists the nodes reading integer weights (at most top).
func printQuantized(w io.Writer, layers []inspect.QuantizedLayer, top int) {
	if len(layers) == 0 {
		return
	}
	shown := len(layers)
	if top > 0 && shown > top {
		shown = top
	}
	fmt.Fprintf(w, "  quantized layers (%d of %d):\n", shown, len(layers))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "    node\top\tweight\tshape\tdtype\tblock\tscales\taccuracy\tbytes\n")
	for _, l := range layers[:shown] {
		block, acc := "-", "-"
		if l.Block > 0 {
			block = fmt.Sprint(l.Block)
		}
		if l.AccuracyLevel != nil {
			acc = fmt.Sprint(*l.AccuracyLevel)
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\n", l.Node, l.Op, l.Weight, l.Shape, l.DType, block, l.ScaleDType, acc, units.HumanBytes(l.Bytes))
	}
	tw.Flush()
}
