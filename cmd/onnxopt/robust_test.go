package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/internal/hostile"
	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// snapshot describes every file under dir (symbolic links not followed):
// type, size, modification time and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %d", st.Mode(), st.Size(), st.ModTime().UnixNano())
		if st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:])
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkOneLineError requires stderr to be exactly one line, a message from
// onnxopt containing want, with no trace of a panic.
func checkOneLineError(t *testing.T, stderr, want string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Fatalf("stderr holds a panic trace:\n%s", stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, "onnxopt: ") {
		t.Errorf("stderr is not one 'onnxopt: ...' line:\n%s", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not name the problem (%q)", strings.TrimSpace(stderr), want)
	}
}

// sampleStep returns pass p with its default options, giving a sample
// value to options that have no default (prune(sparsity=0.5), ...).
func sampleStep(p *passes.Pass) string {
	// Options are added one at a time, keeping each only if the pass
	// still accepts the set (prune takes sparsity or threshold, not both).
	var given []passes.KV
	for _, o := range p.Options {
		if o.Default != "" {
			continue
		}
		var kv passes.KV
		switch o.Kind {
		case passes.Float:
			kv = passes.KV{Key: o.Name, Value: "0.5"}
		case passes.Enum:
			if len(o.Values) == 0 {
				continue
			}
			kv = passes.KV{Key: o.Name, Value: o.Values[0]}
		default:
			continue
		}
		if _, err := passes.NewStep(p.Name, append(given, kv)); err == nil || len(given) == 0 {
			given = append(given, kv)
		}
	}
	s, err := passes.NewStep(p.Name, given)
	if err != nil {
		panic(fmt.Sprintf("no accepted options for pass %s: %v", p.Name, err))
	}
	return passes.Pipeline{s}.String()
}

// writeTiny writes a small valid model (an MLP with inline weights).
func writeTiny(t *testing.T, path string) {
	t.Helper()
	if err := modelgen.WriteMLP(path, modelgen.MLPOptions{Dim: 8, Hidden: 16, Blocks: 1, Classes: 4}, false); err != nil {
		t.Fatal(err)
	}
}

// hostileCommands returns every command line to try on a hostile model
// at path, with out as the place an output would go and good a valid model.
func hostileCommands(path, out, good string) [][]string {
	cmds := [][]string{
		{"run", path, "-o", out, "-q"},
		{"inspect", path},
		{"inspect", "--json", path},
	}
	for _, p := range passes.All() {
		cmds = append(cmds, []string{"run", "-p", sampleStep(p), path, "-o", out, "-q"})
	}
	cmds = append(cmds,
		[]string{"verify", path, good}, []string{"verify", good, path},
		[]string{"diff", path, good}, []string{"diff", good, path})
	return cmds
}

// TestHostileCorpus gives every hostile model to every command and
// requires exit code 1, a one-line error naming the problem, no output
// file (nor temporary file) and an untouched input.
func TestHostileCorpus(t *testing.T) {
	root := t.TempDir()
	cases, err := hostile.Corpus(filepath.Join(root))
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.onnx")
	writeTiny(t, good)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.onnx")
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			before := snapshot(t, root)
			for _, args := range hostileCommands(c.Path, out, good) {
				code, _, stderr := runCaptured(t, args...)
				if code != exitFailure {
					t.Errorf("onnxopt %s: exit code %d, want %d; stderr:\n%s", strings.Join(args, " "), code, exitFailure, stderr)
					continue
				}
				checkOneLineError(t, stderr, c.Want)
				if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
					t.Errorf("onnxopt %s left %s in the output folder", strings.Join(args, " "), ents[0].Name())
					os.RemoveAll(outDir)
					os.Mkdir(outDir, 0o755)
				}
			}
			if !sameSnapshot(before, snapshot(t, root)) {
				t.Errorf("the corpus changed while commands read it")
			}
		})
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds onnxopt once for the tests that need a separate process.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "onnxopt-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "onnxopt")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestHostileCorpusSubprocess runs the built binary on every hostile model:
// what a user sees is one line, never a goroutine dump.
func TestHostileCorpusSubprocess(t *testing.T) {
	bin := binary(t)
	cases, err := hostile.Corpus(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	for _, c := range cases {
		for _, args := range [][]string{{"run", c.Path, "-o", filepath.Join(outDir, "out.onnx")}, {"inspect", c.Path}} {
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Errorf("%s: onnxopt %s: %v, want exit code 1; stderr:\n%s", c.Name, args[0], err, stderr.String())
				continue
			}
			checkOneLineError(t, stderr.String(), c.Want)
		}
	}
	if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
		t.Errorf("output folder holds %s", ents[0].Name())
	}
}

// TestAtomicWrite checks that onnx.AtomicWrite writes a temporary file in
// the target folder and renames it into place, and that a failed write
// leaves the previous file as it was and no temporary file.
func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.onnx")
	err := onnx.AtomicWrite(path, func(w io.Writer) error {
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), ".out.onnx.tmp-") {
			t.Errorf("while writing, the folder holds %v, want one temporary file", ents)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s exists before the rename", path)
		}
		_, err := w.Write([]byte("first"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = onnx.AtomicWrite(path, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 3<<20)) // past the write buffer
		return errors.New("disk on fire")
	})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("failed write returned %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("a failed write changed %s to %q", path, b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %d files after a failed write, want 1", len(ents))
	}
}

// TestRunOutputNotWritable writes into a "folder" that is a regular file
// (chmod does not stop root, so this is the portable unwritable target).
func TestRunOutputNotWritable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	writeTiny(t, in)
	code, _, stderr := runCaptured(t, "run", in, "-o", filepath.Join(in, "out.onnx"), "-q")
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	checkOneLineError(t, stderr, "not a directory")
}

// TestRunInPlace: -o naming the input (directly or through a symbolic
// link) is refused unless --in-place is given.
func TestRunInPlace(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	writeTiny(t, in)
	link := filepath.Join(dir, "link.onnx")
	if err := os.Symlink("model.onnx", link); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	for _, out := range []string{in, link, filepath.Join(dir, ".", "model.onnx")} {
		code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q")
		if code != exitUsage {
			t.Errorf("-o %s: exit code %d, want 2; stderr:\n%s", out, code, stderr)
		}
		checkOneLineError(t, stderr, "--in-place")
	}
	if !sameSnapshot(before, snapshot(t, dir)) {
		t.Fatal("a refused in-place run changed the folder")
	}
	code, _, stderr := runCaptured(t, "run", "-p", "dce", in, "-o", in, "--in-place", "-q")
	if code != exitOK {
		t.Fatalf("--in-place: exit code %d; stderr:\n%s", code, stderr)
	}
	if _, err := onnx.ReadFile(in); err != nil {
		t.Fatalf("after --in-place: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("after --in-place the folder holds %d files, want 2", len(ents))
	}
}

// TestRunMaxMemory: a model over --max-memory is refused before it is
// read into the IR; bad sizes are usage errors; 0 means no limit.
func TestRunMaxMemory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	writeTiny(t, in)
	out := filepath.Join(dir, "out.onnx")
	code, _, stderr := runCaptured(t, "run", in, "-o", out, "--max-memory", "1KB")
	if code != exitFailure {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	checkOneLineError(t, stderr, "over --max-memory 1.0 KiB")
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused model was written")
	}
	code, _, stderr = runCaptured(t, "run", in, "-o", out, "--max-memory", "lots")
	if code != exitUsage {
		t.Errorf("--max-memory lots: exit code %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, limit := range []string{"0", "1GB"} {
		if code, _, stderr = runCaptured(t, "run", in, "-o", out, "-q", "--max-memory", limit); code != exitOK {
			t.Errorf("--max-memory %s: exit code %d; stderr:\n%s", limit, code, stderr)
		}
	}
	if defaultMaxMemory() <= 0 {
		t.Errorf("no default memory limit could be read from /proc/meminfo")
	}
}

// floatTensors reads a model and returns its float initializers by name.
func floatTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	m, err := graph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, v := range m.Graph.Initializers {
		f, err := v.Tensor.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		out[v.Name] = append([]float32(nil), f...)
	}
	return out
}

// TestExternalDataRoundTripAndPrune: a model with external data round-trips
// into another folder, writing its side file beside the output, and can be
// pruned, in another folder or beside the input, without touching the
// input or its side file.
func TestExternalDataRoundTripAndPrune(t *testing.T) {
	root := t.TempDir()
	inDir := filepath.Join(root, "in")
	os.Mkdir(inDir, 0o755)
	in := filepath.Join(inDir, "model.onnx")
	if err := modelgen.WriteMLP(in, modelgen.MLPOptions{Dim: 16, Hidden: 32, Blocks: 2, Classes: 4}, true); err != nil {
		t.Fatal(err)
	}
	orig := floatTensors(t, in)
	before := snapshot(t, inDir)

	outDir := filepath.Join(root, "out")
	os.Mkdir(outDir, 0o755)
	out := filepath.Join(outDir, "copy.onnx")
	if code, _, stderr := runCaptured(t, "run", in, "-o", out, "-q"); code != exitOK {
		t.Fatalf("round trip: exit code %d; stderr:\n%s", code, stderr)
	}
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 2 {
		t.Errorf("output folder holds %d files, want the model and its side file", len(ents))
	}
	for name, want := range orig {
		if got := floatTensors(t, out)[name]; !slices.Equal(got, want) {
			t.Errorf("tensor %s changed in the round trip", name)
		}
	}
	for _, out := range []string{filepath.Join(outDir, "pruned.onnx"), filepath.Join(inDir, "pruned.onnx")} {
		if code, _, stderr := runCaptured(t, "run", "-p", "prune(sparsity=0.5)", in, "-o", out, "-q"); code != exitOK {
			t.Fatalf("prune: exit code %d; stderr:\n%s", code, stderr)
		}
		pruned := floatTensors(t, out)
		zeroed := 0
		for name, want := range orig {
			got := pruned[name]
			if len(got) != len(want) {
				t.Fatalf("%s: %d values after pruning, want %d", name, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					if got[i] != 0 {
						t.Fatalf("%s[%d]: pruning changed %g to %g, not 0", name, i, want[i], got[i])
					}
					zeroed++
				}
			}
		}
		if zeroed == 0 {
			t.Errorf("-o %s: prune zeroed nothing", out)
		}
		after := snapshot(t, inDir)
		for p, desc := range before {
			if after[p] != desc && !strings.HasPrefix(desc, "d") {
				t.Errorf("-o %s: pruning changed the input's %s", out, filepath.Base(p))
			}
		}
		if got := floatTensors(t, in); !mapsEqual(got, orig) {
			t.Errorf("-o %s: the input model now reads different weights", out)
		}
	}
}

func mapsEqual(a, b map[string][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !slices.Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}

// TestRunDiskFull simulates a full disk with a file-size limit (ulimit -f)
// on a subprocess: the write fails with a one-line error and leaves no
// partial output nor temporary file.
func TestRunDiskFull(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("this test needs sh (for ulimit -f):", err)
	}
	bin := binary(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	if err := modelgen.WriteMLP(in, modelgen.MLPOptions{Dim: 256, Hidden: 1024, Blocks: 2}, false); err != nil {
		t.Fatal(err) // about 4 MB
	}
	outDir := t.TempDir()
	// ulimit -f counts 1024-byte blocks in dash and bash alike: 1 MiB.
	cmd := exec.Command("sh", "-c", `ulimit -f 1024 && exec "$0" "$@"`, bin, "run", in, "-o", filepath.Join(outDir, "out.onnx"), "-q", "--max-memory", "0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("run under ulimit -f: %v, want exit code 1; stderr:\n%s", err, stderr.String())
	}
	checkOneLineError(t, stderr.String(), "file too large")
	if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
		t.Errorf("a failed write left %s", ents[0].Name())
	}
}

// TestRunInterrupted sends SIGINT while the output is being written: the
// run exits with 130 and leaves neither the output nor a temporary file.
func TestRunInterrupted(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "model.onnx")
	opts := modelgen.MLPForBytes(160<<20, modelgen.MLPOptions{})
	if err := modelgen.WriteMLP(in, opts, false); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	stderr := interruptOnceWriting(t, outDir, bin, "run", in, "-o", filepath.Join(outDir, "out.onnx"), "-q", "--max-memory", "0")
	checkOneLineError(t, stderr, "interrupt")
	if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
		t.Errorf("an interrupted run left %s", ents[0].Name())
	}
}

// interruptOnceWriting starts the command name args, sends it SIGINT as
// soon as a file appears in outDir (writing has begun), checks that it
// exits with exitInterrupted and returns its stderr.
func interruptOnceWriting(t *testing.T, outDir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("no output appeared within 2 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("interrupted run: %v, want exit code %d; stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	return stderr.String()
}
