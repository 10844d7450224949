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
	// Run transforms m in place. It reports what it did through ctx.
	Run func(ctx *Context, m *graph.Model, opts Args) error
	// Streams is set when the pass holds a few tensors at a time, never
	// the model's weights (it Releases each tensor after use, or reads
	// none), so it can run on a model larger than memory.
	Streams bool
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

// check validates a textual value for the option.
func (o Option) check(v string) error {
	switch o.Kind {
	case Float:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("wants a number, got %q", v)
		}
	case Int:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("wants an integer, got %q", v)
		}
	case Bool:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("wants true or false, got %q", v)
		}
	case Enum:
		for _, x := range o.Values {
			if x == v {
				return nil
			}
		}
		return fmt.Errorf("wants one of %s, got %q", strings.Join(o.Values, "|"), v)
	}
	return nil
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
			if err := o.check(o.Default); err != nil {
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

// Args are the option values of one pass in a pipeline, defaults filled in.
type Args struct {
	pass *Pass
	vals map[string]string
}

// Has reports whether the option has a value (given or default).
func (a Args) Has(name string) bool { _, ok := a.vals[name]; return ok }

func (a Args) get(name string) string {
	if _, ok := a.vals[name]; !ok {
		for _, o := range a.pass.Options {
			if o.Name == name {
				return ""
			}
		}
		panic(fmt.Sprintf("passes: %s has no option %q", a.pass.Name, name))
	}
	return a.vals[name]
}

// Float returns a Float option's value (0 when unset).
func (a Args) Float(name string) float64 {
	f, _ := strconv.ParseFloat(a.get(name), 64)
	return f
}

// Int returns an Int option's value (0 when unset).
func (a Args) Int(name string) int64 {
	i, _ := strconv.ParseInt(a.get(name), 10, 64)
	return i
}

// Bool returns a Bool option's value (false when unset).
func (a Args) Bool(name string) bool {
	b, _ := strconv.ParseBool(a.get(name))
	return b
}

// String returns an option's text.
func (a Args) String(name string) string { return a.get(name) }

// List returns a List option's names (nil when unset).
func (a Args) List(name string) []string {
	s := a.get(name)
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
