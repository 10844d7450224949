package onnx

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// aliasMin is the file size from which ReadFile reads the file into one
// buffer and lets large initializers alias it instead of copying them.
var aliasMin int64 = 64 << 20

// readMapped decodes a large model file without copying the raw data of
// the main graph's large initializers: the file is read once into memory
// the program owns (see readWhole), the model is decoded from a copy of
// everything but those bytes, and each such tensor's raw_data then points
// into the buffer, so passes change tensors in place with no second copy.
func readMapped(path string, size int64) (*ModelProto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readWhole(f, size) // tensors alias it
	if err != nil {
		return nil, err
	}
	stripped, raws, ok := stripRawData(data)
	if !ok {
		return Decode(data)
	}
	m, err := Decode(stripped)
	if err != nil {
		return nil, err
	}
	inits := m.GetGraph().GetInitializer()
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		if i >= len(inits) {
			return nil, fmt.Errorf("%w: initializer %d lost while decoding", ErrNotModel, i)
		}
		inits[i].RawData = raw
	}
	return m, nil
}

// stripRawData re-encodes a model without the raw_data of the main
// graph's large initializers and returns those byte ranges, by initializer
// index. ok is false for encodings it does not handle (a repeated graph
// field, malformed data): the caller then decodes normally.
func stripRawData(b []byte) (out []byte, raws [][]byte, ok bool) {
	graphSeen := false
	for off := 0; off < len(b); {
		num, typ, tl := protowire.ConsumeTag(b[off:])
		if tl < 0 {
			return nil, nil, false
		}
		vl := protowire.ConsumeFieldValue(num, typ, b[off+tl:])
		if vl < 0 {
			return nil, nil, false
		}
		field := b[off : off+tl+vl]
		off += tl + vl
		if num != 7 || typ != protowire.BytesType {
			out = append(out, field...)
			continue
		}
		if graphSeen {
			return nil, nil, false
		}
		graphSeen = true
		g, _ := protowire.ConsumeBytes(b[off-vl:])
		var gout []byte
		gout, raws, ok = stripGraph(g)
		if !ok {
			return nil, nil, false
		}
		out = protowire.AppendTag(out, 7, protowire.BytesType)
		out = protowire.AppendBytes(out, gout)
	}
	return out, raws, graphSeen
}

func stripGraph(g []byte) (out []byte, raws [][]byte, ok bool) {
	for off := 0; off < len(g); {
		num, typ, tl := protowire.ConsumeTag(g[off:])
		if tl < 0 {
			return nil, nil, false
		}
		vl := protowire.ConsumeFieldValue(num, typ, g[off+tl:])
		if vl < 0 {
			return nil, nil, false
		}
		field := g[off : off+tl+vl]
		off += tl + vl
		if num != 5 || typ != protowire.BytesType {
			out = append(out, field...)
			continue
		}
		t, _ := protowire.ConsumeBytes(field[tl:])
		tout, raw, ok := stripTensor(t)
		if !ok {
			return nil, nil, false
		}
		raws = append(raws, raw)
		if raw == nil {
			out = append(out, field...)
			continue
		}
		out = protowire.AppendTag(out, 5, protowire.BytesType)
		out = protowire.AppendBytes(out, tout)
	}
	return out, raws, true
}

// stripTensor removes a large raw_data field (9) from an encoded tensor.
func stripTensor(t []byte) (out, raw []byte, ok bool) {
	count := 0
	for off := 0; off < len(t); {
		num, typ, tl := protowire.ConsumeTag(t[off:])
		if tl < 0 {
			return nil, nil, false
		}
		vl := protowire.ConsumeFieldValue(num, typ, t[off+tl:])
		if vl < 0 {
			return nil, nil, false
		}
		if num == 9 && typ == protowire.BytesType {
			count++
			v, _ := protowire.ConsumeBytes(t[off+tl:])
			if len(v) >= streamMin {
				raw = v[:len(v):len(v)]
				out = append(append(out[:0:0], t[:off]...), t[off+tl+vl:]...)
			}
		}
		off += tl + vl
	}
	if count != 1 || raw == nil {
		return nil, nil, true // nothing to strip (or a merged field: leave it)
	}
	return out, raw, true
}
