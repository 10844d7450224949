package units

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"100MB": 100 << 20, "1GB": 1 << 30, "2.5GB": 5 << 29, "512kib": 512 << 10, "4G": 4 << 30,
		"1048576": 1 << 20, "3 MiB": 3 << 20, "1g": 1 << 30, "64B": 64, "0": 0, " 1TB ": 1 << 40, "64KB": 64 << 10,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "1XB", "abc", "NaN", "inf", "1e30GB"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, got)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 20: "3.00 MiB", 5 << 29: "2.50 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
