package prunechannels

import (
	"fmt"
	"math"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/channels"
)

// PruneChannels removes the channels of least weight norm from every
// group the analysis can shrink.
var PruneChannels = &passes.Pass{
	Name: "prune-channels",
	Doc:  "structured pruning: remove the channels of smallest weight norm from each coupled group, shrinking every tensor that holds them",
	Options: []passes.Option{
		{Name: "ratio", Kind: passes.Float, Default: "0.5", Doc: "fraction of each group's channels to remove, in [0,1)"},
		{Name: "norm", Kind: passes.Enum, Default: "l1", Values: []string{"l1", "l2"}, Doc: "how a channel is ranked: L1 or L2 norm of its slices in all the group's weights"},
		{Name: "min-channels", Kind: passes.Int, Default: "1", Doc: "never leave a group with fewer channels"},
		{Name: "round-to", Kind: passes.Int, Default: "1", Doc: "round the kept channel count up to a multiple of this (8 suits vector units)"},
		{Name: "include", Kind: passes.List, Doc: "only groups whose producing node or weight matches one of these globs"},
		{Name: "exclude", Kind: passes.List, Doc: "leave alone groups whose producing node or weight matches one of these globs"},
	},
	Run:   runPrune,
	Check: checkPrune,
}

func init() { passes.Register(PruneChannels) }

// checkPrune validates prune-channels' options together.
func checkPrune(args passes.Args) error {
	ratio := args.Float("ratio")
	if ratio < 0 || ratio >= 1 || math.IsNaN(ratio) {
		return fmt.Errorf("ratio must be in [0,1), got %g", ratio)
	}
	if minCh := args.Int("min-channels"); minCh < 1 {
		return fmt.Errorf("min-channels must be at least 1, got %d", minCh)
	}
	if roundTo := args.Int("round-to"); roundTo < 1 {
		return fmt.Errorf("round-to must be at least 1, got %d", roundTo)
	}
	return nil
}

func runPrune(ctx *passes.Context, m *graph.Model, args passes.Args) error {
	if err := checkPrune(args); err != nil {
		return err
	}
	ratio := args.Float("ratio")
	minCh, roundTo := args.Int("min-channels"), args.Int("round-to")
	sel := passes.Selection{Include: args.List("include"), Exclude: args.List("exclude")}
	an, err := channels.Analyze(m)
	if err != nil {
		return err
	}
	remove := map[*channels.Group][]int64{}
	var reports []channels.GroupReport
	for _, g := range an.Groups {
		rep := channels.GroupReport{Name: g.Name, Before: g.Size, After: g.Size}
		switch {
		case g.Reason != "":
			rep.Reason = g.Reason
		case !selected(sel, g):
			rep.Reason = "not selected by include/exclude"
		}
		if rep.Reason == "" {
			keep := keepCount(g.Size, ratio, minCh, roundTo)
			if keep >= g.Size {
				rep.Reason = fmt.Sprintf("%d channels: nothing to remove at ratio %g (min-channels %d, round-to %d)", g.Size, ratio, minCh, roundTo)
			} else {
				scores, err := channelNorms(g, args.String("norm") == "l2")
				if err != nil {
					return fmt.Errorf("group %s: %w", g.Name, err)
				}
				remove[g] = weakest(scores, g.Size-keep)
				rep.After = keep
			}
		}
		if rep.Reason != "" {
			ctx.Skip(g.Name, "%s", rep.Reason)
		} else {
			ctx.Note("group %s: %d -> %d channels", g.Name, rep.Before, rep.After)
		}
		reports = append(reports, rep)
	}
	if err := an.Remove(remove); err != nil {
		return err
	}
	ctx.Set("groups", reports)
	ctx.Set("groups_pruned", len(remove))
	ctx.Report.TensorsTouched += countMembers(remove)
	return nil
}

func countMembers(remove map[*channels.Group][]int64) int {
	seen := map[*graph.Value]bool{}
	for g := range remove {
		for _, m := range g.Members {
			seen[m.Value] = true
		}
	}
	return len(seen)
}

// keepCount is how many of size channels stay.
func keepCount(size int64, ratio float64, minCh, roundTo int64) int64 {
	keep := size - int64(math.Floor(ratio*float64(size)+1e-9))
	if roundTo > 1 {
		keep = (keep + roundTo - 1) / roundTo * roundTo
	}
	return min(size, max(keep, minCh))
}

// selected applies include/exclude to a group's producing nodes and
// weights.
func selected(sel passes.Selection, g *channels.Group) bool {
	if len(sel.Include) == 0 && len(sel.Exclude) == 0 {
		return true
	}
	var names []string
	for _, m := range g.Members {
		if m.Role == channels.Source {
			names = append(names, m.Value.Name, m.Node.Name())
		}
	}
	match := func(pats []string) bool {
		for _, p := range pats {
			for _, n := range names {
				if n != "" && passes.Glob(p, n) {
					return true
				}
			}
		}
		return false
	}
	if len(sel.Include) > 0 && !match(sel.Include) {
		return false
	}
	return !match(sel.Exclude)
}

// weakest returns the k channels of lowest score, sorted by index (ties go
// to the lower index).
func weakest(scores []float64, k int64) []int64 {
	idx := make([]int64, len(scores))
	for i := range idx {
		idx[i] = int64(i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	out := append([]int64(nil), idx[:k]...)
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// channelNorms scores each channel of g by the L1 norm (or L2, when l2)
// of its slices in all the group's weights (source, sink and through
// members), summed.
func channelNorms(g *channels.Group, l2 bool) ([]float64, error) {
	scores := make([]float64, g.Size)
	for _, m := range g.Members {
		if m.Role == channels.Param {
			continue
		}
		per, err := channels.AxisSums(m.Value, m.Axis, l2)
		if err != nil {
			return nil, err
		}
		for c := int64(0); c < g.Size; c++ {
			for j := int64(0); j < m.Block; j++ {
				i := m.Offset + c*m.Block + j
				if i >= int64(len(per)) {
					return nil, fmt.Errorf("%s: index %d beyond axis %d", m.Value.Name, i, m.Axis)
				}
				scores[c] += per[i]
			}
		}
	}
	if l2 {
		for i := range scores {
			scores[i] = math.Sqrt(scores[i])
		}
	}
	return scores, nil
}
