package quantize

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxopt/onnxopt/internal/modelgen"
	"github.com/onnxopt/onnxopt/passes"
)

// TestNBitsRTNMatchesGeneralPath checks that the fused 4-bit encoder gives
// the same B, scales and zero points as quantizeBlocked then
// matMulNBits (the path GPTQ's codes take), for both layouts, signed and
// unsigned types, symmetric and not, a K that is not a whole number of
// blocks, N wider than one tile, and float16 scales.
func TestNBitsRTNMatchesGeneralPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		k, n, block int
		kMajor      bool
		typ         string
		sym         bool
		st          int32
	}{
		{70, 130, 32, true, "int4", true, tFloat},
		{70, 130, 32, false, "int4", true, tFloat},
		{64, 65, 16, true, "uint4", false, tFloat},
		{64, 65, 16, false, "int4", false, tFloat16},
		{33, 3, 128, true, "uint4", true, tFloat16},
		{256, 200, 64, true, "int4", true, tFloat},
	} {
		w := make([]float32, c.k*c.n)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 0.02)
			if i%97 == 0 {
				w[i] = 0.3 // outliers: some blocks far from symmetric
			}
		}
		typ := qtypes[c.typ]
		b, err := quantizeBlocked(w, c.k, c.n, c.block, c.kMajor, typ, c.sym, c.st)
		if err != nil {
			t.Fatal(err)
		}
		wantB, wantS, wantZ, err := b.matMulNBits(typ.signed)
		if err != nil {
			t.Fatal(err)
		}
		gotB, gotS, gotZ, err := nbitsRTN(w, c.k, c.n, c.block, c.kMajor, typ, c.sym, c.st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotB, wantB) || !slices.Equal(gotS, wantS) || !bytes.Equal(gotZ, wantZ) {
			t.Errorf("%+v: fused encoding differs (B %v, scales %v, zero points %v equal)", c,
				bytes.Equal(gotB, wantB), slices.Equal(gotS, wantS), bytes.Equal(gotZ, wantZ))
		}
		if c.sym && c.typ == "int4" && gotZ != nil {
			t.Errorf("%+v: symmetric int4 has zero points", c)
		}
		if !c.sym && gotZ == nil {
			t.Errorf("%+v: asymmetric without zero points", c)
		}
	}
}

func TestNBitsRTNRejectsNaN(t *testing.T) {
	for _, kMajor := range []bool{true, false} {
		w := make([]float32, 64*8)
		w[5*8+3] = float32(math.Inf(-1))
		_, _, _, err := nbitsRTN(w, 64, 8, 32, kMajor, qtypes["int4"], true, tFloat)
		if err == nil || !strings.Contains(err.Error(), "infinity") {
			t.Errorf("kMajor %v: error %v, want one about NaN or infinity", kMajor, err)
		}
	}
}

// TestQuantize4MatchesQuantize checks the float32 rounding against
// quantize's float64 one on ties, near-ties and out-of-range quotients.
func TestQuantize4MatchesQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"int4", "uint4"} {
		typ := qtypes[name]
		for i := range 200000 {
			s := float32(0.01 + rng.Float64())
			var x float32
			switch i % 4 {
			case 0: // exact ties k + 0.5
				x = (float32(rng.IntN(40)-20) + 0.5) * s
			case 1: // a float32 step either side of a tie
				x = math.Nextafter32((float32(rng.IntN(40)-20)+0.5)*s, float32(rng.IntN(2)*2-1))
			case 2:
				x = float32(rng.NormFloat64()) * 8 * s
			default: // far out of range, or huge
				x = float32(rng.NormFloat64()) * 1e30
			}
			z := int32(rng.IntN(16)) + typ.min
			if got, want := quantize4(x, s, z, typ), quantize(x, s, z, typ); got != want {
				t.Fatalf("%s: quantize4(%v, %v, %d) = %d, quantize gives %d", name, x, s, z, got, want)
			}
		}
	}
}

// TestReportedMethod: the report names the method that ran (rtn for
// weight-only rounding, minmax for static ranges), not one default for
// all modes; a range method for weight-only rounding is refused.
func TestReportedMethod(t *testing.T) {
	mlp := modelgen.MLP(modelgen.MLPOptions{Dim: 32, Hidden: 64})
	for pipeline, want := range map[string]string{
		"quantize(type=int4)":                      "rtn",
		"quantize(type=int8,mode=weight-only)":     "rtn",
		"quantize(type=int8,mode=dynamic)":         "minmax",
		"quantize(type=int4,block=32,gather=true)": "rtn",
	} {
		_, rep := apply(t, mlp, pipeline)
		if got := rep.Extra["method"]; got != want {
			t.Errorf("%s: report method %v, want %s", pipeline, got, want)
		}
	}
	if _, err := passes.Parse("quantize(type=int4,method=entropy)"); err == nil || !strings.Contains(err.Error(), "method=rtn or gptq") {
		t.Errorf("int4 with method=entropy: %v", err)
	}
}
