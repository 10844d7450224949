package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressShowsBytesPerPass(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{enabled: true, w: &buf}
	p.update("prune", 0, 0) // what the runner says as a pass starts
	p.updateBytes("prune", 500e6, 1e9)
	if out := buf.String(); !strings.Contains(out, "prune") || !strings.Contains(out, "500 MB/1.0 GB") {
		t.Errorf("bar does not show the pass and its bytes done out of the total: %q", out)
	}
	bar := p.bar
	time.Sleep(150 * time.Millisecond) // past the bar's throttle
	p.update("prune", 3, 4)            // an item count of the same pass
	if p.bar != bar || !p.bytes {
		t.Error("an item count replaced the bar of bytes")
	}
	p.updateBytes("nm", 1e6, 2e6)
	if out := buf.String(); !strings.Contains(out, "nm") || !strings.Contains(out, "1.0/2.0 MB") {
		t.Errorf("the next pass has no bar of its own: %q", out)
	}
	p.done()
}

func TestProgressQuietWhenNotATerminal(t *testing.T) {
	// Tests run with stderr not a terminal (a pipe or a file).
	if p := newProgress(false); p.enabled {
		t.Skip("stderr is a terminal here")
	}
	var buf bytes.Buffer
	p := newProgress(false)
	p.w = &buf
	p.updateBytes("prune", 1, 2)
	p.done()
	if buf.Len() != 0 {
		t.Errorf("progress written when stderr is not a terminal: %q", buf.String())
	}
}
