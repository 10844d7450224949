package diff

import (
	"encoding/json"
	"fmt"
	"github.com/onnxopt/onnxopt/internal/units"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the result as one indented JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes a concise summary: totals first, then each changed
// item. Identical models print nothing. limit caps each list (0: all).
func (r *Result) WriteText(w io.Writer, limit int) error {
	if r.Empty() && len(r.Outputs) == 0 {
		return nil
	}
	ew := &errWriter{w: w}
	a, b := r.Summary.Before, r.Summary.After
	ew.printf("--- %s\n+++ %s\n", r.Before, r.After)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\tbefore\tafter\n")
	fmt.Fprintf(tw, "params\t%d\t%d\n", a.Params, b.Params)
	fmt.Fprintf(tw, "bytes\t%s\t%s\n", units.HumanBytes(a.Bytes), units.HumanBytes(b.Bytes))
	fmt.Fprintf(tw, "sparsity\t%.1f%%\t%.1f%%\n", 100*a.Sparsity, 100*b.Sparsity)
	fmt.Fprintf(tw, "nodes\t%d\t%d\n", a.Nodes, b.Nodes)
	for _, op := range unionKeys(a.Ops, b.Ops) {
		if a.Ops[op] != b.Ops[op] {
			fmt.Fprintf(tw, "  %s\t%d\t%d\n", op, a.Ops[op], b.Ops[op])
		}
	}
	tw.Flush()
	s := r.Summary
	ew.printf("nodes: %d added, %d removed, %d changed; tensors: %d added, %d removed, %d changed (%d quantized)\n",
		s.NodesAdded, s.NodesRemoved, s.NodesChanged, s.TensorsAdded, s.TensorsRemoved, s.TensorsChanged, s.Quantized)

	for _, list := range []struct {
		title string
		items []Change
	}{{"inputs and outputs", r.IO}, {"opsets", r.Opsets}, {"metadata", r.Metadata}} {
		if len(list.items) == 0 {
			continue
		}
		ew.printf("\n%s:\n", list.title)
		for _, c := range list.items {
			ew.printf("  %s: %s → %s\n", c.Key, orDash(c.Before), orDash(c.After))
		}
	}
	var changed []*TensorDiff
	for _, t := range r.Tensors {
		if t.Status != "same" || len(t.Changes) > 0 {
			changed = append(changed, t)
		}
	}
	if len(changed) > 0 {
		ew.printf("\ntensors:\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  \tname\tbefore\tafter\tsparsity\tmax|Δ|\trel\tnote\n")
		for i, t := range changed {
			if limit > 0 && i == limit {
				fmt.Fprintf(tw, "  …\t%d more\n", len(changed)-limit)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", statusMark(t.Status), t.Name, t.Before.brief(), t.After.brief(),
				sparsityChange(t), optNum(t.MaxAbsDiff), optNum(t.RelChange), strings.Join(t.Changes, "; "))
		}
		tw.Flush()
	}
	nodeList := func(title, mark string, refs []NodeRef) {
		if len(refs) == 0 {
			return
		}
		ew.printf("\nnodes %s:\n", title)
		for i, n := range refs {
			if limit > 0 && i == limit {
				ew.printf("  … %d more\n", len(refs)-limit)
				break
			}
			ew.printf("  %s %s %s(%s)\n", mark, n.Label(), n.Op, strings.Join(n.Inputs, ", "))
		}
	}
	nodeList("removed", "-", r.Nodes.Removed)
	nodeList("added", "+", r.Nodes.Added)
	if len(r.Nodes.Changed) > 0 {
		ew.printf("\nnodes changed:\n")
		for i, c := range r.Nodes.Changed {
			if limit > 0 && i == limit {
				ew.printf("  … %d more\n", len(r.Nodes.Changed)-limit)
				break
			}
			ew.printf("  ~ %s (%s): %s\n", c.Before.Label(), c.Before.Op, strings.Join(c.Changes, "; "))
		}
	}
	r.writeErrors(ew, limit)
	return ew.err
}

func (r *Result) writeErrors(ew *errWriter, limit int) {
	for _, list := range []struct {
		title string
		items []*ValueError
	}{{"outputs", r.Outputs}, {"intermediate values (matched, in order)", r.Layers}} {
		if len(list.items) == 0 {
			continue
		}
		ew.printf("\n%s:\n", list.title)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  name\top\tmax|Δ|\trel L2\tcosine\ttop-1\n")
		for i, e := range list.items {
			if limit > 0 && i == limit && len(list.items) > limit+1 {
				fmt.Fprintf(tw, "  …\t%d more\n", len(list.items)-limit)
				break
			}
			top := "-"
			if e.Top1 != nil {
				top = fmt.Sprintf("%.1f%%", 100**e.Top1)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Name, orDash(e.Op), optNum(e.MaxAbsErr), optNum(e.RelL2), optNum(e.Cosine), top)
		}
		tw.Flush()
	}
}

func (t *TensorInfo) brief() string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%s%v %s", t.DType, t.Shape, units.HumanBytes(t.Bytes))
}

func sparsityChange(t *TensorDiff) string {
	switch {
	case t.Before != nil && t.After != nil:
		return fmt.Sprintf("%.1f%% → %.1f%%", 100*t.Before.Sparsity, 100*t.After.Sparsity)
	case t.Before != nil:
		return fmt.Sprintf("%.1f%%", 100*t.Before.Sparsity)
	case t.After != nil:
		return fmt.Sprintf("%.1f%%", 100*t.After.Sparsity)
	}
	return "-"
}

func statusMark(s string) string {
	switch s {
	case "added":
		return "+"
	case "removed":
		return "-"
	case "changed":
		return "~"
	}
	return "="
}

func optNum(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g", *f)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
