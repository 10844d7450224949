package passes

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseFile reads a pipeline file: YAML (or JSON) of the form
//
//	passes:
//	  - prune: {sparsity: 0.5, scope: global}
//	  - nm: {n: 2, m: 4}
//	  - dce
//
// the same passes and options as the text syntax, as data.
func ParseFile(path string) (Pipeline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParseYAML(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseYAML parses a pipeline file's content (see ParseFile).
func ParseYAML(b []byte) (Pipeline, error) {
	var doc struct {
		Passes yaml.Node `yaml:"passes"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not a pipeline file: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Passes.Kind != yaml.SequenceNode {
		if doc.Passes.Kind == 0 {
			return nil, fmt.Errorf("the pipeline file has no 'passes' list")
		}
		return nil, fmt.Errorf("line %d: 'passes' must be a list (each item '- name' or '- name: {options}')", doc.Passes.Line)
	}
	if len(doc.Passes.Content) == 0 {
		return nil, fmt.Errorf("the pipeline file has no 'passes' list (it is empty)")
	}
	var p Pipeline
	for i, item := range doc.Passes.Content {
		item := *item
		var name string
		var given []KV
		switch item.Kind {
		case yaml.ScalarNode:
			name = item.Value
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return nil, fmt.Errorf("passes[%d] (line %d): want one pass name mapped to its options", i, item.Line)
			}
			name = item.Content[0].Value
			opts := item.Content[1]
			switch opts.Kind {
			case yaml.MappingNode:
				for k := 0; k+1 < len(opts.Content); k += 2 {
					val := opts.Content[k+1]
					var text string
					switch val.Kind {
					case yaml.ScalarNode:
						text = val.Value
					case yaml.SequenceNode:
						for j, e := range val.Content {
							if j > 0 {
								text += "|"
							}
							text += e.Value
						}
					default:
						return nil, fmt.Errorf("passes[%d] (line %d): option %s must be a value or a list", i, val.Line, opts.Content[k].Value)
					}
					given = append(given, KV{opts.Content[k].Value, text})
				}
			case yaml.ScalarNode:
				if opts.Tag != "!!null" {
					return nil, fmt.Errorf("passes[%d] (line %d): options of %s must be a mapping", i, opts.Line, name)
				}
			default:
				return nil, fmt.Errorf("passes[%d] (line %d): options of %s must be a mapping", i, opts.Line, name)
			}
		default:
			return nil, fmt.Errorf("passes[%d] (line %d): want a pass name or {name: {options}}", i, item.Line)
		}
		step, err := NewStep(name, given)
		if err != nil {
			return nil, fmt.Errorf("passes[%d] (line %d): %w", i, item.Line, err)
		}
		p = append(p, step)
	}
	return p, nil
}

// YAML prints the pipeline as a pipeline file.
func (p Pipeline) YAML() string {
	s := "passes:\n"
	for _, st := range p {
		if len(st.Given) == 0 {
			s += "  - " + st.Pass.Name + "\n"
			continue
		}
		s += "  - " + st.Pass.Name + ": {"
		for i, kv := range st.Given {
			if i > 0 {
				s += ", "
			}
			s += kv.Key + ": " + strconv.Quote(kv.Value)
		}
		s += "}\n"
	}
	return s
}
