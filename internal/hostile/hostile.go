// Package hostile writes a corpus of malformed and malicious ONNX models:
// files that are not models, structures that break the IR's invariants,
// tensors whose data contradicts their shapes or claims terabytes, and
// external data that tries to leave the model's folder. Tests feed every
// case to every command and require a clear error, never a crash.
package hostile

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
)

// Case is one hostile model: Path is the file to give a command (in a
// folder of its own, beside any side files), Want a substring of the
// error every command must report for it.
type Case struct {
	Name string
	Path string
	Want string
}

// Outside is the file, in the corpus folder but outside every case's
// folder, that the external-data escapes point at.
const Outside = "outside.bin"

// Corpus writes every case under dir (one folder per case) and returns
// them in a fixed order.
func Corpus(dir string) ([]Case, error) {
	if err := os.WriteFile(filepath.Join(dir, Outside), make([]byte, 1024), 0o644); err != nil {
		return nil, err
	}
	var cases []Case
	for _, g := range generators {
		caseDir := filepath.Join(dir, g.name)
		if err := os.MkdirAll(caseDir, 0o755); err != nil {
			return nil, err
		}
		path := filepath.Join(caseDir, "model.onnx")
		if err := g.write(path); err != nil {
			return nil, fmt.Errorf("hostile case %s: %w", g.name, err)
		}
		cases = append(cases, Case{Name: g.name, Path: path, Want: g.want})
	}
	return cases, nil
}

type generator struct {
	name, want string
	write      func(path string) error
}

var generators = []generator{
	{"empty-file", "empty input", func(p string) error { return os.WriteFile(p, nil, 0o644) }},
	{"random-bytes", "not an ONNX model", func(p string) error {
		b := make([]byte, 4096)
		rand.New(rand.NewSource(1)).Read(b)
		return os.WriteFile(p, b, 0o644)
	}},
	{"text-file", "not an ONNX model", func(p string) error {
		return os.WriteFile(p, []byte("ir_version: 8\ngraph { node { op_type: \"Relu\" } }\n"), 0o644)
	}},
	{"folder", "is a folder", func(p string) error { return os.Mkdir(p, 0o755) }},
	{"truncated", "truncated or corrupt", writeTruncated},
	{"bitflip-tag", "truncated or corrupt", func(p string) error {
		// The graph field's wire type 2 (bytes) becomes 6, which does not exist.
		return writeEdited(p, func(b []byte, graphTag int) { b[graphTag] ^= 0x04 })
	}},
	{"bitflip-length", "truncated or corrupt", func(p string) error {
		// The graph's length grows past the end of the file.
		return writeEdited(p, func(b []byte, graphTag int) { b[graphTag+1] ^= 0x40 })
	}},
	{"bitflip-name", `"act.ond"`, func(p string) error {
		// Relu's input "act.one" becomes "act.ond", which nothing defines.
		return writeEdited(p, func(b []byte, _ int) {
			i := bytes.LastIndex(b, []byte("act.one"))
			b[i+6] ^= 0x01
		})
	}},
	{"no-graph", "no graph", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { m.Graph = nil })
	}},
	{"ir-version-zero", "ir_version is 0", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { m.IrVersion = proto.Int64(0) })
	}},
	{"shape-overflow", "too many elements", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { weight(m).Dims = []int64{1 << 40, 1 << 40} })
	}},
	{"shape-terabytes", "over onnxopt's limit", func(p string) error {
		// 2^40 floats: 4 TiB that must never be allocated.
		return writeModel(p, func(m *onnx.ModelProto) { weight(m).Dims = []int64{1 << 20, 1 << 20} })
	}},
	{"shape-negative", "negative dimension", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { weight(m).Dims = []int64{4, -4} })
	}},
	{"raw-data-short", "raw_data has 60 bytes", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { w := weight(m); w.RawData = w.RawData[:60] })
	}},
	{"raw-data-long", "raw_data has 68 bytes", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { w := weight(m); w.RawData = append(w.RawData, 1, 2, 3, 4) })
	}},
	{"typed-data-count", "float_data has 15 values", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			w := weight(m)
			w.RawData, w.FloatData = nil, make([]float32, 15)
		})
	}},
	{"unknown-data-type", "unknown data type", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { weight(m).DataType = proto.Int32(999) })
	}},
	{"external-absolute", "is absolute", func(p string) error {
		abs, err := filepath.Abs(filepath.Join(filepath.Dir(p), "..", Outside))
		if err != nil {
			return err
		}
		return writeExternal(p, abs, 0, 64)
	}},
	{"external-dotdot", "leaves the model's folder", func(p string) error {
		return writeExternal(p, "../"+Outside, 0, 64)
	}},
	{"external-dotdot-inner", "leaves the model's folder", func(p string) error {
		return writeExternal(p, "sub/../../"+Outside, 0, 64)
	}},
	{"external-symlink", "through a symbolic link", func(p string) error {
		if err := os.Symlink(filepath.Join("..", Outside), filepath.Join(filepath.Dir(p), "weights.bin")); err != nil {
			return err
		}
		return writeExternal(p, "weights.bin", 0, 64)
	}},
	{"external-offset-past-end", "past the end", func(p string) error {
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "weights.bin"), make([]byte, 100), 0o644); err != nil {
			return err
		}
		return writeExternal(p, "weights.bin", 1<<40, 64)
	}},
	{"external-short-file", "past the end", func(p string) error {
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "weights.bin"), make([]byte, 40), 0o644); err != nil {
			return err
		}
		return writeExternal(p, "weights.bin", 0, 64)
	}},
	{"external-missing-file", "no such file", func(p string) error {
		return writeExternal(p, "weights.bin", 0, 64)
	}},
	{"external-terabytes", "over onnxopt's limit", func(p string) error {
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "weights.bin"), make([]byte, 64), 0o644); err != nil {
			return err
		}
		return writeModel(p, func(m *onnx.ModelProto) {
			w := weight(m)
			w.RawData, w.Dims = nil, []int64{1 << 20, 1 << 20}
			w.DataLocation = onnx.TensorProto_EXTERNAL.Enum()
			w.ExternalData = entries("location", "weights.bin", "offset", "0")
		})
	}},
	{"cycle", "cycle", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			g := m.Graph
			g.Node = append(g.Node,
				&onnx.NodeProto{Name: proto.String("a"), OpType: proto.String("Relu"), Input: []string{"loop.b"}, Output: []string{"loop.a"}},
				&onnx.NodeProto{Name: proto.String("b"), OpType: proto.String("Relu"), Input: []string{"loop.a"}, Output: []string{"loop.b"}})
			g.Output = append(g.Output, &onnx.ValueInfoProto{Name: proto.String("loop.b")})
		})
	}},
	{"dangling-input", `"ghost" of`, func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { m.Graph.Node[1].Input = []string{"ghost"} })
	}},
	{"undefined-output", "never computed", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			m.Graph.Output = append(m.Graph.Output, &onnx.ValueInfoProto{Name: proto.String("nowhere")})
		})
	}},
	{"duplicate-producer", "two producers", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &onnx.NodeProto{OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}})
		})
	}},
	{"duplicate-initializer", "two initializers", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, proto.Clone(weight(m)).(*onnx.TensorProto))
		})
	}},
	{"subgraph-undefined-outer", `"outer.ghost"`, func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			body := &onnx.GraphProto{
				Name:   proto.String("then"),
				Node:   []*onnx.NodeProto{{OpType: proto.String("Relu"), Input: []string{"outer.ghost"}, Output: []string{"t"}}},
				Output: []*onnx.ValueInfoProto{{Name: proto.String("t")}},
			}
			addIf(m, body, body)
		})
	}},
	{"nesting-deep", fmt.Sprintf("nested more than %d deep", onnx.MaxNesting), func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { addIf(m, nested(onnx.MaxNesting+6), nested(1)) })
	}},
	{"nesting-past-decoder", "truncated or corrupt", func(p string) error {
		// Deeper than the decoder's recursion limit: refused while parsing.
		return writeModel(p, func(m *onnx.ModelProto) { addIf(m, nested(4*onnx.MaxNesting), nested(1)) })
	}},
	{"attributes-huge-list", "two attributes named", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			n := m.Graph.Node[1]
			for i := 0; i < 30000; i++ {
				n.Attribute = append(n.Attribute, modelgen.AttrInt("alpha", int64(i)))
			}
		})
	}},
	{"attribute-length-claim", "truncated or corrupt", writeLengthClaim},
	{"non-utf8-node-name", "not valid UTF-8", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) { m.Graph.Node[0].Name = proto.String("mm\xff\xfe") })
	}},
	{"non-utf8-value-name", "not valid UTF-8", func(p string) error {
		return writeModel(p, func(m *onnx.ModelProto) {
			m.Graph.Node[1].Output[0] = "y\xc3\x28"
			m.Graph.Output[0].Name = proto.String("y\xc3\x28")
		})
	}},
}

// base returns the model every structural case starts from:
// y = Relu(MatMul(x, W)) with W a 4x4 float32 initializer in raw_data.
func base() *onnx.ModelProto {
	b := modelgen.NewBuilder("hostile")
	x := b.Input("x", onnx.TensorProto_FLOAT, 1, 4)
	w := b.InitNormal("W", []int64{4, 4}, 0, 1)
	b.Node("MatMul", []string{x, w}, []string{"act.one"}).Name = proto.String("mm")
	b.Node("Relu", []string{"act.one"}, []string{"y"}).Name = proto.String("relu")
	b.Output("y", onnx.TensorProto_FLOAT, 1, 4)
	return b.Model(17)
}

func weight(m *onnx.ModelProto) *onnx.TensorProto { return m.Graph.Initializer[0] }

// writeModel writes base() changed by edit, encoded without validation.
func writeModel(path string, edit func(*onnx.ModelProto)) error {
	m := base()
	edit(m)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeEdited writes the encoding of base() after edit changed its bytes;
// graphTag is the offset of the model's graph field tag.
func writeEdited(path string, edit func(b []byte, graphTag int)) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(base())
	if err != nil {
		return err
	}
	tag := -1
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return protowire.ParseError(n)
		}
		if num == 7 {
			tag = i
			break
		}
		m := protowire.ConsumeFieldValue(num, typ, b[i+n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		i += n + m
	}
	if tag < 0 {
		return fmt.Errorf("no graph field")
	}
	edit(b, tag)
	return os.WriteFile(path, b, 0o644)
}

// writeTruncated writes the first bytes of a valid model, cut inside a
// field so that decoding fails.
func writeTruncated(path string) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(base())
	if err != nil {
		return err
	}
	for n := len(b) * 2 / 3; n > 1; n-- {
		if _, err := onnx.Decode(b[:n]); err != nil && strings.Contains(err.Error(), "truncated or corrupt") {
			return os.WriteFile(path, b[:n], 0o644)
		}
	}
	return fmt.Errorf("no truncation fails to decode")
}

// writeLengthClaim writes a model whose node carries an attribute claiming
// a terabyte-long packed list of ints.
func writeLengthClaim(path string) error {
	var attr []byte
	attr = protowire.AppendTag(attr, 1, protowire.BytesType) // name
	attr = protowire.AppendString(attr, "axes")
	attr = protowire.AppendTag(attr, 8, protowire.BytesType) // ints, packed
	attr = protowire.AppendVarint(attr, 1<<40)
	attr = append(attr, 1, 2, 3)
	var node []byte
	node = protowire.AppendTag(node, 4, protowire.BytesType) // op_type
	node = protowire.AppendString(node, "Relu")
	node = protowire.AppendTag(node, 5, protowire.BytesType) // attribute
	node = protowire.AppendBytes(node, attr)
	var graph []byte
	graph = protowire.AppendTag(graph, 1, protowire.BytesType) // node
	graph = protowire.AppendBytes(graph, node)
	var model []byte
	model = protowire.AppendTag(model, 1, protowire.VarintType) // ir_version
	model = protowire.AppendVarint(model, 8)
	model = protowire.AppendTag(model, 7, protowire.BytesType) // graph
	model = protowire.AppendBytes(model, graph)
	return os.WriteFile(path, model, 0o644)
}

// writeExternal writes base() with W moved to external data at location.
func writeExternal(path, location string, offset, length int64) error {
	return writeModel(path, func(m *onnx.ModelProto) {
		w := weight(m)
		w.RawData = nil
		w.DataLocation = onnx.TensorProto_EXTERNAL.Enum()
		w.ExternalData = entries("location", location, "offset", fmt.Sprint(offset), "length", fmt.Sprint(length))
	})
}

func entries(kv ...string) []*onnx.StringStringEntryProto {
	var out []*onnx.StringStringEntryProto
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &onnx.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return out
}

// addIf appends an If node on a constant condition whose branches are
// then and els, and makes its output a graph output.
func addIf(m *onnx.ModelProto, then, els *onnx.GraphProto) {
	g := m.Graph
	g.Initializer = append(g.Initializer, &onnx.TensorProto{Name: proto.String("cond"), DataType: proto.Int32(int32(onnx.TensorProto_BOOL)), Int32Data: []int32{1}})
	g.Node = append(g.Node, &onnx.NodeProto{
		Name: proto.String("if"), OpType: proto.String("If"), Input: []string{"cond"}, Output: []string{"if.out"},
		Attribute: []*onnx.AttributeProto{modelgen.AttrGraph("then_branch", then), modelgen.AttrGraph("else_branch", els)},
	})
	g.Output = append(g.Output, &onnx.ValueInfoProto{Name: proto.String("if.out")})
}

// nested returns a branch graph holding depth-1 more levels of If.
func nested(depth int) *onnx.GraphProto {
	leaf := &onnx.GraphProto{
		Name:   proto.String("leaf"),
		Node:   []*onnx.NodeProto{{OpType: proto.String("Identity"), Input: []string{"x"}, Output: []string{"out"}}},
		Output: []*onnx.ValueInfoProto{{Name: proto.String("out")}},
	}
	g := leaf
	for i := 1; i < depth; i++ {
		g = &onnx.GraphProto{
			Name: proto.String(fmt.Sprintf("level%d", i)),
			Node: []*onnx.NodeProto{{
				OpType: proto.String("If"), Input: []string{"cond"}, Output: []string{"out"},
				Attribute: []*onnx.AttributeProto{modelgen.AttrGraph("then_branch", g), modelgen.AttrGraph("else_branch", leaf)},
			}},
			Output: []*onnx.ValueInfoProto{{Name: proto.String("out")}},
		}
	}
	return g
}
