package deadneurons

import (
	"fmt"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/passes"
	"github.com/onnxopt/onnxopt/passes/channels"
)

// DeadNeurons removes channels that cannot influence the output.
var DeadNeurons = &passes.Pass{
	Name: "dead-neurons",
	Doc:  "remove neurons that cannot influence the output (zero incoming or outgoing weights), folding constant ones into the next bias",
	Run:  runDead,
}

func init() { passes.Register(DeadNeurons) }

// deadKind says why a channel is dead.
type deadKind int

const (
	zeroOut   deadKind = iota // every weight reading it is zero
	zeroConst                 // zero incoming weights; its value is 0 where it is read
	folded                    // zero incoming weights; its constant value went into the next bias
)

func runDead(ctx *passes.Context, m *graph.Model, _ passes.Args) error {
	an, err := channels.Analyze(m)
	if err != nil {
		return err
	}
	// Phase 1: find dead channels and fold constant ones into the next
	// layers' biases (which may add bias tensors and Add nodes).
	dead := map[*graph.Value][]int64{} // keyed by the group's first source weight
	var counts [3]int
	var reports []channels.GroupReport
	folds := newFolder(an.Graph)
	for _, g := range an.Groups {
		if g.Reason != "" {
			ctx.Skip(g.Name, "%s", g.Reason)
			continue
		}
		key := channels.FirstSource(g)
		if key == nil {
			continue
		}
		chans, kinds, why, err := findDead(an, g, folds)
		if err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
		for _, w := range why {
			ctx.Note("group %s: %s", g.Name, w)
		}
		if len(chans) == 0 {
			continue
		}
		if int64(len(chans)) >= g.Size {
			// Keep one channel: a layer of width zero is not valid ONNX.
			chans = chans[1:]
			kinds = kinds[1:]
		}
		for _, k := range kinds {
			counts[k]++
		}
		dead[key] = chans
		reports = append(reports, channels.GroupReport{Name: g.Name, Before: g.Size, After: g.Size - int64(len(chans))})
	}
	if err := folds.apply(); err != nil {
		return err
	}
	// Phase 2: analyze the (possibly changed) graph again and remove.
	an, err = channels.Analyze(m)
	if err != nil {
		return err
	}
	remove := map[*channels.Group][]int64{}
	for _, g := range an.Groups {
		if ch, ok := dead[channels.FirstSource(g)]; ok && g.Reason == "" {
			remove[g] = ch
			delete(dead, channels.FirstSource(g))
		}
	}
	if len(dead) > 0 {
		return fmt.Errorf("internal: %d groups changed while folding constants", len(dead))
	}
	if err := an.Remove(remove); err != nil {
		return err
	}
	if err := m.Graph.Sort(); err != nil {
		return err
	}
	for _, r := range reports {
		ctx.Note("group %s: %d -> %d channels", r.Name, r.Before, r.After)
	}
	ctx.Set("groups", reports)
	ctx.Set("dead_zero_outgoing", counts[zeroOut])
	ctx.Set("dead_zero_incoming", counts[zeroConst])
	ctx.Set("dead_constant_folded", counts[folded])
	return nil
}

// findDead returns g's dead channels and why each is dead; constant
// channels are queued in f for folding. why lists channels that look dead
// but are kept, with the reason.
func findDead(an *channels.Analysis, g *channels.Group, f *folder) (chans []int64, kinds []deadKind, why []string, err error) {
	sums := map[*graph.Value]map[int][]float64{}
	sliceZero := func(m channels.Member, c int64) (bool, error) {
		if sums[m.Value] == nil {
			sums[m.Value] = map[int][]float64{}
		}
		per := sums[m.Value][m.Axis]
		if per == nil {
			if per, err = channels.AxisSums(m.Value, m.Axis, false); err != nil {
				return false, err
			}
			sums[m.Value][m.Axis] = per
		}
		for j := int64(0); j < m.Block; j++ {
			if i := m.Offset + c*m.Block + j; i >= int64(len(per)) {
				return false, fmt.Errorf("%s: index %d beyond axis %d", m.Value.Name, i, m.Axis)
			}
			if per[m.Offset+c*m.Block+j] != 0 {
				return false, nil
			}
		}
		return true, nil
	}
	all := func(role channels.Role, c int64) (bool, int, error) {
		n := 0
		for _, m := range g.Members {
			if m.Role != role {
				continue
			}
			n++
			z, err := sliceZero(m, c)
			if err != nil || !z {
				return false, n, err
			}
		}
		return true, n, nil
	}
	for c := int64(0); c < g.Size; c++ {
		out, nOut, err := all(channels.Sink, c)
		if err != nil {
			return nil, nil, nil, err
		}
		if nOut == 0 {
			return nil, nil, nil, nil // the channels are read by nothing we know
		}
		if out {
			chans, kinds = append(chans, c), append(kinds, zeroOut)
			continue
		}
		in, _, err := all(channels.Source, c)
		if err != nil {
			return nil, nil, nil, err
		}
		if !in {
			continue
		}
		at, reason := constantChannel(an, g, c)
		if reason != "" {
			why = append(why, fmt.Sprintf("channel %d has zero incoming weights but is kept: %s", c, reason))
			continue
		}
		zero := true
		for _, k := range at {
			zero = zero && k == 0
		}
		if zero {
			chans, kinds = append(chans, c), append(kinds, zeroConst)
			continue
		}
		if reason := f.canFold(g, at); reason != "" {
			why = append(why, fmt.Sprintf("channel %d is a constant but is kept: %s", c, reason))
			continue
		}
		if err := f.fold(g, c, at); err != nil {
			return nil, nil, nil, err
		}
		chans, kinds = append(chans, c), append(kinds, folded)
	}
	return chans, kinds, why, nil
}
