package passes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Step is one pass of a pipeline with the options written for it.
type Step struct {
	Pass *Pass
	// Given lists the options as written, in order.
	Given []KV
	// args holds the parsed values; NewStep sets it.
	args *Args
}

// KV is one option as written.
type KV struct{ Key, Value string }

// Args returns the step's option values with defaults filled in, as
// parsed by NewStep. A step built by hand is parsed now; values that do
// not parse are then left unset (Run reports them).
func (s Step) Args() Args {
	a, _ := s.parsedArgs()
	return a
}

// parsedArgs returns the step's parsed options, parsing a step built by
// hand.
func (s Step) parsedArgs() (Args, error) {
	if s.args != nil {
		return *s.args, nil
	}
	a, err := parseArgs(s.Pass, s.Given)
	if err != nil {
		return Args{pass: s.Pass, vals: map[string]any{}, text: map[string]string{}}, err
	}
	return a, nil
}

// Streams reports whether the step can run on a streamed model (see
// Pass.Streams and Pass.StreamsWith).
func (s Step) Streams() bool {
	if s.Pass.StreamsWith != nil {
		return s.Pass.StreamsWith(s.Args())
	}
	return s.Pass.Streams
}

// NeedsRuntime reports whether the step calls ONNX Runtime when it runs.
func (s Step) NeedsRuntime() bool {
	return s.Pass.NeedsRuntime != nil && s.Pass.NeedsRuntime(s.Args())
}

// Pipeline is an ordered list of steps.
type Pipeline []Step

// String prints the pipeline in the text syntax; parsing the result gives
// the same pipeline.
func (p Pipeline) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Pass.Name)
		if len(s.Given) > 0 {
			b.WriteByte('(')
			for j, kv := range s.Given {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(kv.Key)
				b.WriteByte('=')
				b.WriteString(quoteValue(kv.Value))
			}
			b.WriteByte(')')
		}
	}
	return b.String()
}

func quoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, ",()=\" \t\n") {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`) + `"`
	}
	return v
}

// NewStep builds a step from a pass name and options, checking each.
func NewStep(name string, given []KV) (Step, error) {
	p, ok := Lookup(name)
	if !ok {
		return Step{}, fmt.Errorf("unknown pass %q (see 'onnxopt passes')", name)
	}
	seen := map[string]bool{}
	for _, kv := range given {
		if p.option(kv.Key) == nil {
			return Step{}, fmt.Errorf("pass %s has no option %q (options: %s)", name, kv.Key, optionNames(p))
		}
		if seen[kv.Key] {
			return Step{}, fmt.Errorf("pass %s: option %s given twice", name, kv.Key)
		}
		seen[kv.Key] = true
	}
	args, err := parseArgs(p, given)
	if err != nil {
		return Step{}, fmt.Errorf("pass %s: %w", name, err)
	}
	if p.Check != nil {
		if err := p.Check(args); err != nil {
			return Step{}, fmt.Errorf("pass %s: %w", name, err)
		}
	}
	return Step{Pass: p, Given: given, args: &args}, nil
}

func optionNames(p *Pass) string {
	if len(p.Options) == 0 {
		return "none"
	}
	var names []string
	for _, o := range p.Options {
		names = append(names, o.Name)
	}
	return strings.Join(names, ", ")
}

// Parse reads a pipeline in the text syntax:
//
//	name(key=value,...),name,...
//
// Values may be double-quoted to hold ',', '(', ')', '=' or spaces. Errors
// name the culprit and its position.
func Parse(text string) (Pipeline, error) {
	if !utf8.ValidString(text) {
		for i := range text {
			if r, size := utf8.DecodeRuneInString(text[i:]); r == utf8.RuneError && size <= 1 {
				return nil, fmt.Errorf("pipeline column %d: not valid UTF-8 text", i+1)
			}
		}
	}
	ps := &parser{s: text}
	var p Pipeline
	ps.space()
	if ps.eof() {
		return nil, fmt.Errorf("empty pipeline")
	}
	for {
		ps.space()
		start := ps.i
		name := ps.ident()
		if name == "" {
			return nil, ps.errorf("expected a pass name")
		}
		var given []KV
		ps.space()
		if ps.peek() == '(' {
			ps.i++
			ps.space()
			if ps.peek() == ')' {
				ps.i++
			} else {
				for {
					ps.space()
					key := ps.ident()
					if key == "" {
						return nil, ps.errorf("expected an option name in %s(...)", name)
					}
					ps.space()
					if ps.peek() != '=' {
						return nil, ps.errorf("expected '=' after option %s of %s", key, name)
					}
					ps.i++
					ps.space()
					val, err := ps.value()
					if err != nil {
						return nil, err
					}
					given = append(given, KV{key, val})
					ps.space()
					if ps.peek() == ',' {
						ps.i++
						continue
					}
					if ps.peek() == ')' {
						ps.i++
						break
					}
					return nil, ps.errorf("expected ',' or ')' in the options of %s", name)
				}
			}
		}
		step, err := NewStep(name, given)
		if err != nil {
			return nil, fmt.Errorf("at column %d: %w", start+1, err)
		}
		p = append(p, step)
		ps.space()
		if ps.eof() {
			return p, nil
		}
		if ps.peek() != ',' {
			return nil, ps.errorf("expected ',' between passes")
		}
		ps.i++
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool { return p.i >= len(p.s) }
func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}
func (p *parser) space() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}
func (p *parser) errorf(format string, args ...any) error {
	found := "end of text"
	if !p.eof() {
		found = fmt.Sprintf("%q", p.s[p.i:p.i+1])
	}
	return fmt.Errorf("pipeline column %d: %s, found %s", p.i+1, fmt.Sprintf(format, args...), found)
}

func (p *parser) ident() string {
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *parser) value() (string, error) {
	if p.peek() == '"' {
		p.i++
		var b strings.Builder
		for !p.eof() {
			c := p.s[p.i]
			p.i++
			switch c {
			case '\\':
				if p.eof() {
					return "", p.errorf("unfinished escape in a quoted value")
				}
				b.WriteByte(p.s[p.i])
				p.i++
			case '"':
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", p.errorf("unterminated quoted value")
	}
	start := p.i
	for !p.eof() && !strings.ContainsRune(",()= \t\n\"", rune(p.s[p.i])) {
		p.i++
	}
	if p.i == start {
		return "", p.errorf("expected a value")
	}
	return p.s[start:p.i], nil
}
