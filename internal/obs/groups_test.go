package obs

import (
	"math"
	"testing"
)

// depthwise is a planted depthwise layer: 16 groups of one row of 9 taps,
// each group with its own correlated inputs, every fourth channel's
// weights 6 times larger (a channel that matters more).
type depthwise struct {
	hs      []*Hessian
	ws      []Weight
	heldOut [][]float32
}

func newDepthwise(t *testing.T) depthwise {
	const groups, taps = 16, 9
	var d depthwise
	for g := range groups {
		l := newLayer(taps, uint64(40+g))
		d.hs = append(d.hs, hessianOf(t, l.sample(64, uint64(100+g)), taps))
		d.heldOut = append(d.heldOut, l.sample(256, uint64(200+g)))
		w := randomWeight(1, taps, uint64(300+g))
		if g%4 == 0 {
			for j := range w.Data {
				w.Data[j] *= 6
			}
		}
		d.ws = append(d.ws, w)
	}
	return d
}

// layerError is the relative output error of the whole layer on held-out
// inputs: the groups' squared errors added.
func (d depthwise) layerError(out []Weight) float64 {
	num, den := 0.0, 0.0
	for g, w := range d.ws {
		x := d.heldOut[g]
		for i := range len(x) / w.Cols {
			a, b := 0.0, 0.0
			for j, v := range x[i*w.Cols : (i+1)*w.Cols] {
				a += float64(v) * float64(w.Data[j])
				b += float64(v) * float64(out[g].Data[j])
			}
			num += (a - b) * (a - b)
			den += a * a
		}
	}
	return math.Sqrt(num / den)
}

// TestGroupsLayerMask: on a depthwise layer, the per-layer mask ranked
// across groups removes exactly round(s·n) of the layer's n weights while
// channels lose different counts (the large channels fewer than a
// channel's share), and its held-out error is below the per-row mask's
// (every channel losing the same share), for SparseGPT and for Wanda.
func TestGroupsLayerMask(t *testing.T) {
	const s = 0.5
	d := newDepthwise(t)
	n := 0
	for _, w := range d.ws {
		n += len(w.Data)
	}
	norms := make([][]float64, len(d.hs))
	for g, h := range d.hs {
		norms[g] = h.ColumnNorms()
	}
	fits := map[string]func(Scope) ([]Weight, error){
		"sparsegpt": func(sc Scope) ([]Weight, error) {
			return SparseGPTGroups(d.hs, d.ws, Pattern{Sparsity: s, Scope: sc}, SweepOptions{})
		},
		"wanda": func(sc Scope) ([]Weight, error) {
			return WandaGroups(norms, d.ws, Pattern{Sparsity: s, Scope: sc})
		},
	}
	for name, fit := range fits {
		row, err := fit(Row)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := fit(Layer)
		if err != nil {
			t.Fatal(err)
		}
		total, large, counts := 0, 0, map[int]bool{}
		for g, w := range layer {
			z := zeros(w.Data)
			total += z
			counts[z] = true
			if g%4 == 0 {
				large += z
			}
			if zr := zeros(row[g].Data); zr != 4 && zr != 5 {
				t.Fatalf("%s per row: channel %d lost %d of 9", name, g, zr)
			}
		}
		if want := int(math.Round(s * float64(n))); total != want {
			t.Fatalf("%s per layer: %d zeros, want %d", name, total, want)
		}
		if len(counts) < 3 {
			t.Errorf("%s per layer: every channel lost one of %v weights", name, counts)
		}
		if share := 4 * 9 * s; float64(large) >= share/2 {
			t.Errorf("%s per layer: the four large channels lost %d weights (their share is %g)", name, large, share)
		}
		er, el := d.layerError(row), d.layerError(layer)
		t.Logf("%s: held-out error per row %.4f, per layer %.4f", name, er, el)
		if !(el < er/2) {
			t.Errorf("%s: per-layer mask error %.4f is not below half of the per-row mask's %.4f", name, el, er)
		}
	}
}
