package onnx_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"google.golang.org/protobuf/proto"
)

// TestEncodeToMatchesEncode checks that the streaming encoder writes
// exactly the canonical encoding, for models with large initializers
// (streamed), small ones (copied), metadata and unknown fields.
func TestEncodeToMatchesEncode(t *testing.T) {
	for _, opts := range []modelgen.MLPOptions{
		{Dim: 8, Hidden: 16, Blocks: 1, Seed: 3},    // nothing large: plain path
		{Dim: 256, Hidden: 512, Blocks: 2, Seed: 4}, // 512 KiB weights: streamed
	} {
		m := modelgen.MLP(opts)
		m.MetadataProps = append(m.MetadataProps, &onnx.StringStringEntryProto{Key: proto.String("k"), Value: proto.String("v")})
		m.Graph.ProtoReflect().SetUnknown([]byte{0xa8, 0x1f, 0x01}) // field 501 varint 1
		want, err := onnx.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := onnx.EncodeTo(&buf, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("dim %d: EncodeTo wrote %d bytes that differ from Encode's %d", opts.Dim, buf.Len(), len(want))
		}
	}
}

// TestMappedReadAliasesAndRoundTrips reads a model through the mapped path
// and checks it decodes to the same model, with raw data that aliases the
// mapping and can be changed without touching the file.
func TestMappedReadAliasesAndRoundTrips(t *testing.T) {
	defer onnx.SetAliasMin(1)()
	m := modelgen.MLP(modelgen.MLPOptions{Dim: 256, Hidden: 512, Blocks: 1, Seed: 5})
	path := filepath.Join(t.TempDir(), "m.onnx")
	want, _ := onnx.Encode(m)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Fatal("mapped read decoded a different model")
	}
	// Change a weight in place: the file must not change.
	got.Graph.Initializer[0].RawData[0] ^= 0xff
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, want) {
		t.Fatal("writing to a mapped tensor changed the input file")
	}
}
