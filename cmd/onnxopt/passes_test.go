package main

import (
	"strings"
	"testing"
)

// TestPassesNamed: `onnxopt passes NAME...` shows those passes only; an
// unknown name is a usage error listing the passes.
func TestPassesNamed(t *testing.T) {
	code, stdout, stderr := runCaptured(t, "passes", "nm", "repair")
	if code != exitOK || !strings.HasPrefix(stdout, "nm\n") || !strings.Contains(stdout, "\nrepair\n") || strings.Contains(stdout, "\nprune\n") {
		t.Errorf("passes nm repair: exit %d, %q, %q", code, stdout, stderr)
	}
	code, _, stderr = runCaptured(t, "passes", "bogus")
	if code != exitUsage || !strings.Contains(stderr, `no pass "bogus"`) || !strings.Contains(stderr, "prune") {
		t.Errorf("passes bogus: exit %d, %q", code, stderr)
	}
}
