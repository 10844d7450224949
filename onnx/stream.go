package onnx

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// streamMin is the raw_data size from which EncodeTo writes an initializer's
// bytes straight from its buffer instead of copying them into the encoding.
const streamMin = 64 << 10

// EncodeTo writes the canonical encoding of m (the bytes Encode returns)
// to w without building it in memory: the raw data of the main graph's
// large initializers is written from the tensors' own buffers, so writing a
// 1 GB model needs no second gigabyte.
func EncodeTo(w io.Writer, m *ModelProto) error {
	if n := proto.Size(m); n > MaxProtoSize {
		return fmt.Errorf("model encodes to %d bytes, over protobuf's 2 GB limit: store large tensors as external data (--external-threshold)", n)
	}
	g := m.GetGraph()
	if g == nil || !hasLargeRaw(g) {
		b, err := Encode(m)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	opts := proto.MarshalOptions{Deterministic: true}

	// The model without its graph, split where field 7 belongs.
	shell := shallowModel(m)
	mb, err := opts.Marshal(shell)
	if err != nil {
		return err
	}
	mcut := splitAt(mb, 7)

	// The graph without initializers, split where field 5 belongs.
	gshell := shallowGraph(g)
	gb, err := opts.Marshal(gshell)
	if err != nil {
		return err
	}
	gcut := splitAt(gb, 5)

	type part struct {
		head, raw, tail []byte // tensor = head + raw_data field + tail
	}
	parts := make([]part, len(g.Initializer))
	graphLen := len(gb)
	for i, t := range g.Initializer {
		if len(t.RawData) < streamMin {
			b, err := opts.Marshal(t)
			if err != nil {
				return err
			}
			parts[i] = part{head: b}
			graphLen += protowire.SizeTag(5) + protowire.SizeBytes(len(b))
			continue
		}
		raw := t.RawData
		t.RawData = nil
		b, err := opts.Marshal(t)
		t.RawData = raw
		if err != nil {
			return err
		}
		cut := splitAt(b, 9)
		parts[i] = part{head: b[:cut], raw: raw, tail: b[cut:]}
		tlen := len(b) + protowire.SizeTag(9) + protowire.SizeBytes(len(raw))
		graphLen += protowire.SizeTag(5) + protowire.SizeBytes(tlen)
	}

	var hdr []byte
	write := func(b []byte) error { _, err := w.Write(b); return err }
	if err := write(mb[:mcut]); err != nil {
		return err
	}
	hdr = protowire.AppendTag(hdr[:0], 7, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(graphLen))
	if err := write(hdr); err != nil {
		return err
	}
	if err := write(gb[:gcut]); err != nil {
		return err
	}
	for _, p := range parts {
		tlen := len(p.head) + len(p.tail)
		if p.raw != nil {
			tlen += protowire.SizeTag(9) + protowire.SizeBytes(len(p.raw))
		}
		hdr = protowire.AppendTag(hdr[:0], 5, protowire.BytesType)
		hdr = protowire.AppendVarint(hdr, uint64(tlen))
		if err := write(hdr); err != nil {
			return err
		}
		if err := write(p.head); err != nil {
			return err
		}
		if p.raw != nil {
			hdr = protowire.AppendTag(hdr[:0], 9, protowire.BytesType)
			hdr = protowire.AppendVarint(hdr, uint64(len(p.raw)))
			if err := write(hdr); err != nil {
				return err
			}
			if err := write(p.raw); err != nil {
				return err
			}
			if err := write(p.tail); err != nil {
				return err
			}
		}
	}
	if err := write(gb[gcut:]); err != nil {
		return err
	}
	return write(mb[mcut:])
}

func hasLargeRaw(g *GraphProto) bool {
	for _, t := range g.Initializer {
		if len(t.RawData) >= streamMin {
			return true
		}
	}
	return false
}

// splitAt returns the offset in a canonical encoding where field number
// num would go: before the first field with a larger number, or before
// the unknown fields that follow the known ones (where numbers drop).
func splitAt(b []byte, num protowire.Number) int {
	off := 0
	last := protowire.Number(0)
	for off < len(b) {
		n, typ, tl := protowire.ConsumeTag(b[off:])
		if tl < 0 || n > num || n < last {
			return off
		}
		vl := protowire.ConsumeFieldValue(n, typ, b[off+tl:])
		if vl < 0 {
			return off
		}
		last = n
		off += tl + vl
	}
	return off
}

// shallowModel returns m without its graph (sharing everything else).
func shallowModel(m *ModelProto) *ModelProto {
	c := &ModelProto{
		IrVersion: m.IrVersion, OpsetImport: m.OpsetImport, ProducerName: m.ProducerName,
		ProducerVersion: m.ProducerVersion, Domain: m.Domain, ModelVersion: m.ModelVersion,
		DocString: m.DocString, MetadataProps: m.MetadataProps, TrainingInfo: m.TrainingInfo,
		Functions: m.Functions, Configuration: m.Configuration,
	}
	c.ProtoReflect().SetUnknown(m.ProtoReflect().GetUnknown())
	return c
}

// shallowGraph returns g without its initializers (sharing everything else).
func shallowGraph(g *GraphProto) *GraphProto {
	c := &GraphProto{
		Node: g.Node, Name: g.Name, SparseInitializer: g.SparseInitializer, DocString: g.DocString,
		Input: g.Input, Output: g.Output, ValueInfo: g.ValueInfo,
		QuantizationAnnotation: g.QuantizationAnnotation, MetadataProps: g.MetadataProps,
	}
	c.ProtoReflect().SetUnknown(g.ProtoReflect().GetUnknown())
	return c
}
