// Package units prints and parses byte sizes, the one place for the units
// onnxopt's flags and reports use (binary: 1 KB = 1 KiB = 1024 bytes).
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HumanBytes prints a byte count with a binary unit.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ParseBytes parses a byte size such as "100MB", "2.5GB", "512KiB", "4G"
// or "1048576" (case and spaces before the unit do not matter). Units are
// binary: 1 KB = 1 KiB = 1024 bytes, 1 GB = 2^30. Zero is allowed;
// negative, empty and overflowing sizes are errors.
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q: want a number with an optional unit, such as 1MB or 4GB", s)
	}
	return int64(v * float64(mult)), nil
}
