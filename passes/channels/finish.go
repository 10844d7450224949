package channels

import (
	"fmt"
	"sort"

	"github.com/onnxopt/onnxopt/graph"
)

// class gathers the dimensions of one union-find root.
type class struct {
	dims      []int
	members   []Member
	values    []ValueDim
	dw        []*graph.Node
	rs        []reshapeEntry
	reasons   []string
	sources   []*graph.Node
	derived   []seg // where a derived class's indices come from
	first     int   // earliest source position, for ordering
	size      int64
	sizeClash string
}

// maxDerivedDepth bounds how many derived dimensions (Concat, Flatten or
// Reshape outputs whose indices come from other dimensions) may nest; a
// deeper nest is an error.
const maxDerivedDepth = 65

// finish turns the union-find classes into groups: derived classes hand
// their members to the classes their indices come from, and each other
// class becomes a Group, with the reason it is left alone if any.
func (a *analyzer) finish(order []*graph.Node) (*Analysis, error) {
	classes, roots := a.gather(len(order))
	for _, r := range roots {
		if c := classes[r]; len(c.derived) > 0 {
			if err := a.passOn(classes, c); err != nil {
				return nil, fmt.Errorf("channel analysis: %w", err)
			}
		}
	}
	an := &Analysis{Graph: a.g, Order: order, shapes: a.shapes}
	sort.Slice(roots, func(i, j int) bool {
		ci, cj := classes[roots[i]], classes[roots[j]]
		if ci.first != cj.first {
			return ci.first < cj.first
		}
		return roots[i] < roots[j]
	})
	for _, r := range roots {
		if c := classes[r]; len(c.derived) == 0 {
			an.Groups = append(an.Groups, c.group())
		}
	}
	return an, nil
}

// gather collects what each dimension brought into the class of its
// union-find root; roots lists the classes in order of first sight.
func (a *analyzer) gather(nodes int) (classes map[int]*class, roots []int) {
	classes = map[int]*class{}
	for id := range a.dims {
		r := a.find(id)
		c := classes[r]
		if c == nil {
			c = &class{first: nodes + 1, size: -1}
			classes[r] = c
			roots = append(roots, r)
		}
		k := a.dims[id]
		c.dims = append(c.dims, id)
		c.members = append(c.members, a.members[id]...)
		c.values = append(c.values, ValueDim{Value: k.v, Slice: Slice{Axis: k.axis, Block: 1}})
		c.dw = append(c.dw, a.dw[id]...)
		c.rs = append(c.rs, a.rs[id]...)
		c.reasons = append(c.reasons, a.reasons[id]...)
		for _, s := range a.sources[id] {
			c.sources = append(c.sources, s)
			c.first = min(c.first, a.pos[s])
		}
		for s := range a.segs[id] {
			c.derived = append(c.derived, s)
		}
		s := a.size(k.v, k.axis)
		if len(a.segs[id]) == 0 {
			if c.size < 0 {
				c.size = s
			} else if s != c.size && c.sizeClash == "" {
				c.sizeClash = fmt.Sprintf("%s has %d channels where others have %d", k.v.Name, s, c.size)
			}
		}
	}
	return classes, roots
}

// part is a place inside a derived dimension that holds a base class's
// channels: channel c is at [offset+c*block, offset+(c+1)*block).
type part struct {
	c             *class
	offset, block int64
}

// passOn gives derived class c's members and values to the classes its
// indices come from, at their offsets, or the reason c is left alone.
func (a *analyzer) passOn(classes map[int]*class, c *class) error {
	why := ""
	switch {
	case len(c.reasons) > 0:
		why = c.reasons[0]
	case len(c.sources) > 0:
		why = "a Concat or Flatten output is also produced by " + c.sources[0].String()
	case len(c.dw) > 0 || len(c.rs) > 0:
		why = "a Concat or Flatten output meets a depthwise Conv or a Reshape"
	}
	parts, err := a.resolve(classes, c, c, 0, map[*class]bool{})
	if err != nil {
		return err
	}
	for _, p := range parts {
		base := p.c
		if why != "" {
			base.reasons = append(base.reasons, "its channels pass through a Concat or Flatten whose output is left alone: "+why)
			continue
		}
		compose := func(s Slice) Slice {
			return Slice{Axis: s.Axis, Offset: s.Offset + p.offset*s.Block, Block: p.block * s.Block}
		}
		for _, m := range c.members {
			m.Slice = compose(m.Slice)
			base.members = append(base.members, m)
		}
		for _, v := range c.values {
			v.Slice = compose(v.Slice)
			base.values = append(base.values, v)
		}
	}
	return nil
}

// resolve returns where the base classes sit inside c, a class that top
// derives from depth steps down; onPath holds the classes between them.
func (a *analyzer) resolve(classes map[int]*class, top, c *class, depth int, onPath map[*class]bool) ([]part, error) {
	if len(c.derived) == 0 {
		return []part{{c, 0, 1}}, nil
	}
	if onPath[c] {
		return nil, fmt.Errorf("the channels of %s are derived from themselves through %s", top.name(), c.name())
	}
	if depth >= maxDerivedDepth {
		return nil, fmt.Errorf("the channels of %s pass through more than %d nested Concat, Flatten or Reshape outputs (the last one looked at is %s)", top.name(), maxDerivedDepth, c.name())
	}
	onPath[c] = true
	defer delete(onPath, c)
	var out []part
	for _, s := range c.derived {
		sub, err := a.resolve(classes, top, classes[a.find(s.from)], depth+1, onPath)
		if err != nil {
			return nil, err
		}
		for _, p := range sub {
			out = append(out, part{p.c, s.offset + p.offset*s.block, p.block * s.block})
		}
	}
	return out, nil
}

// name names a class by its first value and that value's producer.
func (c *class) name() string {
	v := c.values[0].Value
	if p, _ := v.Producer(); p != nil {
		return fmt.Sprintf("value %s (output of %s)", v.Name, p)
	}
	return "value " + v.Name
}

// group makes a Group of base class c, with the reason it is left alone.
func (c *class) group() *Group {
	g := &Group{Size: c.size, Members: dedupMembers(c.members), Values: dedupValues(c.values), Depthwise: uniqueNodes(c.dw), Reshapes: c.rs}
	if len(c.sources) > 0 {
		g.Name = c.sources[0].Name()
		if g.Name == "" {
			g.Name = c.sources[0].String()
		}
	} else {
		g.Name = c.values[0].Value.Name
	}
	switch {
	case len(c.reasons) > 0:
		g.Reason = c.reasons[0]
	case c.sizeClash != "":
		g.Reason = c.sizeClash
	case len(c.sources) == 0:
		g.Reason = "no weight produces these channels"
	case c.size < 1:
		g.Reason = "the channel count is unknown"
	default:
		g.Reason = sharedMember(g)
	}
	return g
}

// sharedMember returns a reason when a member constant is used by more
// nodes than the group accounts for (a weight shared with another layer).
func sharedMember(g *Group) string {
	seen := map[*graph.Value]bool{}
	for _, m := range g.Members {
		if seen[m.Value] {
			continue
		}
		seen[m.Value] = true
		if len(m.Value.Uses()) != 1 {
			return fmt.Sprintf("constant %s is shared by %d uses", m.Value.Name, len(m.Value.Uses()))
		}
	}
	return ""
}

func dedupMembers(ms []Member) []Member {
	type key struct {
		v *graph.Value
		s Slice
	}
	seen := map[key]bool{}
	var out []Member
	for _, m := range ms {
		if k := (key{m.Value, m.Slice}); !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

func dedupValues(vs []ValueDim) []ValueDim {
	seen := map[ValueDim]bool{}
	var out []ValueDim
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
