package diff

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onnxopt/onnxopt/internal/testenv"
)

// chromium returns the headless browser the HTML tests use.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	testenv.Missing(t, "chromium (Debian package chromium, installed by `make setup`)")
	return ""
}

// headless runs chromium on a file:// URL with extra flags and returns
// stdout and stderr (where --enable-logging=stderr puts console messages).
func headless(t *testing.T, browser, page string, flags ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0"}, flags...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, browser, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleLine matches chromium's log lines for the page's console messages.
var consoleLine = regexp.MustCompile(`(?m)^.*CONSOLE.*$|^.*Uncaught.*$`)

func TestHTMLPageRendersInABrowser(t *testing.T) {
	browser := chromium(t)
	a, b := mlp(t), mlp(t)
	for _, w := range matMulWeights(b)[1:] {
		pruneHalf(t, w)
	}
	var first string
	for _, n := range b.Graph.Nodes {
		if n.OpType() == "MatMul" {
			first = n.Input(1).Name
			quantizeInt8(t, b, n)
			break
		}
	}
	r := mustCompare(t, a, b)
	if err := r.AddHistograms([]string{first}, 0); err != nil {
		t.Fatal(err)
	}
	// Per-layer error as RunOutputs would record it.
	for i, n := range a.Graph.Nodes {
		rel, abs := 1e-3*float64(i+1), 1e-2*float64(i+1)
		r.Layers = append(r.Layers, &ValueError{Name: n.Output(0).Name, Op: n.OpType(), Index: i, RelL2: &rel, MaxAbsErr: &abs})
	}
	page := filepath.Join(t.TempDir(), "report <&>.html")
	if err := r.WriteHTMLFile(page); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"http://", "https://", "<link", "src="} {
		if strings.Contains(strings.ReplaceAll(string(raw), `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("page is not self-contained: it contains %q", banned)
		}
	}

	dom, logs := headless(t, browser, page, "--dump-dom")
	for _, id := range []string{"plot-sparsity", "plot-bytes", "plot-hist-0", "plot-layer-error"} {
		if !regexp.MustCompile(`<svg[^>]*id="` + id + `"`).MatchString(dom) {
			t.Errorf("rendered page lacks the SVG plot %s", id)
		}
	}
	if n := strings.Count(dom, `class="bar"`); n < 10 {
		t.Errorf("plots have %d bars", n)
	}
	for _, id := range []string{"summary", "tensors", "nodes", "ops", "layers"} {
		if !strings.Contains(dom, `<table id="`+id+`"`) && !strings.Contains(dom, `id="`+id+`"`) {
			t.Errorf("rendered page lacks table %s", id)
		}
	}
	if !strings.Contains(dom, first) || !strings.Contains(dom, "DequantizeLinear") {
		t.Errorf("rendered page lacks the quantized weight %s or its node", first)
	}
	// The page logs one benign line; seeing it proves console capture
	// works, so the absence of errors means something.
	var sawReady bool
	for _, line := range consoleLine.FindAllString(logs, -1) {
		switch {
		case strings.Contains(line, "onnxopt diff: page ready"):
			sawReady = true
		case strings.Contains(line, "Uncaught") || strings.Contains(line, "ERROR:CONSOLE") || strings.Contains(line, ":ERROR:") && strings.Contains(line, "CONSOLE"):
			t.Errorf("console error: %s", line)
		}
	}
	if !sawReady {
		t.Errorf("the page's console message was not captured; logs:\n%s", logs)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	headless(t, browser, page, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is %d bytes, not a rendered page", len(png))
	}
	if dir := os.Getenv("ONNXOPT_KEEP_SCREENSHOT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "diff-report.png"), png, 0o644)
		_ = os.WriteFile(filepath.Join(dir, "diff-report.html"), raw, 0o644)
	}
}
