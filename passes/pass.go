// Package passes is onnxopt's pass framework: a Pass is a value with a
// name, a one-line doc and typed options; passes are registered by name;
// a Pipeline is a list of passes with options, written as text
// ("prune(sparsity=0.5,scope=global),nm(n=2,m=4),dce") or as a YAML file;
// Run executes a pipeline over a model, checks the IR after every pass,
// times each pass and gathers their statistics into a Report.
//
// Each pass lives in its own sub-package; passes/all registers them all.
package passes

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxopt/onnxopt/graph"
)

// Pass is one transformation of a model.
type Pass struct {
	Name    string
	Doc     string // one line: what the pass does
	Options []Option
	// Check, when set, validates option values together (ranges, options
	// that exclude each other) when the pipeline is parsed, so a mistake
	// is a usage error reported before any model is read.
	Check func(opts Args) error
	// NeedsRuntime, when set, reports whether a run with these options
	// calls ONNX Runtime (e.g. to calibrate), so that drivers and tests
	// can tell in advance; nil means never.
	NeedsRuntime func(opts Args) bool
	// NeedsReference says the pass reads the model as it entered the
	// pipeline (Context.Reference), e.g. to fit changed layers back to the
	// original. Run keeps a copy-on-write clone only when some step sets
	// it, so other pipelines pay nothing.
	NeedsReference bool
	// Run transforms m in place. It reports what it did through ctx.
	Run func(ctx *Context, m *graph.Model, opts Args) error
	// Streams is set when the pass holds a few tensors at a time, never
	// the model's weights (it Releases each tensor after use, or reads
	// none), so it can run on a model larger than memory.
	Streams bool
	// StreamsWith, when set, decides Streams for the options given (a
	// pass that streams in some modes only, e.g. quantize's weight-only
	// path but not its calibrated ones); Streams is then ignored.
	StreamsWith func(opts Args) bool
}

// OptionKind is the type of an option's value.
type OptionKind int

const (
	Float  OptionKind = iota // a number
	Int                      // an integer
	Bool                     // true or false
	String                   // free text
	Enum                     // one of Option.Values
	List                     // names separated by '|', e.g. MatMul|Gemm
)

func (k OptionKind) String() string {
	return [...]string{"float", "int", "bool", "string", "enum", "list"}[k]
}

// Option describes one option of a pass.
type Option struct {
	Name    string
	Kind    OptionKind
	Default string // as written in a pipeline; "" means unset
	Values  []string
	Doc     string
}

// parse reads a textual value of the option into its typed form: float64
// (Float), int64 (Int), bool (Bool), []string (List) or the text itself
// (String, Enum).
func (o Option) parse(v string) (any, error) {
	switch o.Kind {
	case Float:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("wants a number, got %q", v)
		}
		return f, nil
	case Int:
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("wants an integer, got %q", v)
		}
		return i, nil
	case Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("wants true or false, got %q", v)
		}
		return b, nil
	case Enum:
		for _, x := range o.Values {
			if x == v {
				return v, nil
			}
		}
		return nil, fmt.Errorf("wants one of %s, got %q", strings.Join(o.Values, "|"), v)
	case List:
		if v == "" {
			return []string(nil), nil
		}
		return strings.Split(v, "|"), nil
	}
	return v, nil
}

var registry = map[string]*Pass{}

// Register adds a pass to the registry; it panics on a duplicate name or
// an empty doc (a programming error caught at start-up).
func Register(p *Pass) {
	if p.Name == "" || p.Doc == "" || p.Run == nil {
		panic("passes: pass needs a name, a doc and a Run function")
	}
	if _, dup := registry[p.Name]; dup {
		panic("passes: pass registered twice: " + p.Name)
	}
	for _, o := range p.Options {
		if o.Default != "" {
			if _, err := o.parse(o.Default); err != nil {
				panic(fmt.Sprintf("passes: %s option %s default: %v", p.Name, o.Name, err))
			}
		}
	}
	registry[p.Name] = p
}

// Lookup returns the registered pass called name.
func Lookup(name string) (*Pass, bool) {
	p, ok := registry[name]
	return p, ok
}

// All returns every registered pass, sorted by name.
func All() []*Pass {
	out := make([]*Pass, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Args are the option values of one pass in a pipeline, defaults filled
// in, each parsed once into its typed form when the step is built
// (NewStep), so reading one never fails.
type Args struct {
	pass  *Pass
	vals  map[string]any    // typed values (see Option.parse)
	text  map[string]string // the same values as written
	given map[string]bool   // options the pipeline set (not defaults)
}

// parseArgs fills in defaults and parses every value of given for p;
// an error names the option.
func parseArgs(p *Pass, given []KV) (Args, error) {
	a := Args{pass: p, vals: map[string]any{}, text: map[string]string{}, given: map[string]bool{}}
	set := func(o *Option, v string) error {
		x, err := o.parse(v)
		if err != nil {
			return fmt.Errorf("option %s %v", o.Name, err)
		}
		a.vals[o.Name], a.text[o.Name] = x, v
		return nil
	}
	for i := range p.Options {
		if o := &p.Options[i]; o.Default != "" {
			if err := set(o, o.Default); err != nil {
				return Args{}, err
			}
		}
	}
	for _, kv := range given {
		o := p.option(kv.Key)
		if o == nil {
			return Args{}, fmt.Errorf("no option %q (options: %s)", kv.Key, optionNames(p))
		}
		if err := set(o, kv.Value); err != nil {
			return Args{}, err
		}
		a.given[o.Name] = true
	}
	return a, nil
}

// option returns p's option called name, or nil.
func (p *Pass) option(name string) *Option {
	for i := range p.Options {
		if p.Options[i].Name == name {
			return &p.Options[i]
		}
	}
	return nil
}

// Given reports whether the pipeline set the option (a default does not
// count).
func (a Args) Given(name string) bool {
	a.value(name)
	return a.given[name]
}

// Unused returns an error naming the first of names the pipeline set,
// saying it has no effect unless what (e.g. "method=sparsegpt"): an
// option that would be silently ignored is refused instead. nil when
// none was set.
func (a Args) Unused(unless string, names ...string) error {
	for _, n := range names {
		if a.Given(n) {
			return fmt.Errorf("%s= has no effect without %s", n, unless)
		}
	}
	return nil
}

// Has reports whether the option has a value (given or default).
func (a Args) Has(name string) bool { _, ok := a.vals[name]; return ok }

// value returns the option's typed value, nil when unset; asking for an
// option the pass does not declare is a programming error and panics.
func (a Args) value(name string) any {
	v, ok := a.vals[name]
	if !ok && a.pass.option(name) == nil {
		panic(fmt.Sprintf("passes: %s has no option %q", a.pass.Name, name))
	}
	return v
}

// Float returns a Float (or Int) option's value (0 when unset).
func (a Args) Float(name string) float64 {
	switch v := a.value(name).(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}

// Int returns an Int option's value (0 when unset).
func (a Args) Int(name string) int64 {
	i, _ := a.value(name).(int64)
	return i
}

// Bool returns a Bool option's value (false when unset).
func (a Args) Bool(name string) bool {
	b, _ := a.value(name).(bool)
	return b
}

// String returns an option's text as written ("" when unset).
func (a Args) String(name string) string {
	a.value(name)
	return a.text[name]
}

// List returns a List option's names (nil when unset).
func (a Args) List(name string) []string {
	l, _ := a.value(name).([]string)
	return l
}

// PositiveFloats returns a List option's entries as numbers, each > 0 and
// finite (candidate dampenings or ridges, say); nil when unset.
func (a Args) PositiveFloats(name string) ([]float64, error) {
	var out []float64
	for _, s := range a.List(name) {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s=: %q is not a positive number", name, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// Texts returns every option that has a value, as written, by name.
func (a Args) Texts() map[string]string {
	out := make(map[string]string, len(a.text))
	for k, v := range a.text {
		out[k] = v
	}
	return out
}
