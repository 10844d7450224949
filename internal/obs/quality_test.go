package obs

import "testing"

// The planted problem: 64 outputs, 256 features, 1024 calibration rows;
// errors are measured on 512 held-out rows drawn with another seed.
func planted(t *testing.T) (h *Hessian, w Weight, heldOut []float32) {
	l := newLayer(256, 1)
	h = hessianOf(t, l.sample(1024, 2), 256)
	return h, randomWeight(64, 256, 4), l.sample(512, 3)
}

func TestUnstructuredQuality(t *testing.T) {
	h, w, x := planted(t)
	p := Pattern{Sparsity: 0.5}
	mag := outputError(x, w, magnitude(w, p))
	sg, err := SparseGPT(h, w, p, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sgr, err := SparseGPT(h, w, Pattern{Sparsity: 0.5, Scope: Row}, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wa, err := Wanda(h, w, p)
	if err != nil {
		t.Fatal(err)
	}
	esg, esgr, ewa := outputError(x, w, sg), outputError(x, w, sgr), outputError(x, w, wa)
	t.Logf("50%%: magnitude %.4f, wanda %.4f (%.2fx), sparsegpt per layer %.4f (%.2fx), per row %.4f (%.2fx)",
		mag, ewa, ewa/mag, esg, esg/mag, esgr, esgr/mag)
	if esg > mag/3 || esgr > mag/3 {
		t.Errorf("sparsegpt error %.4f (per row %.4f) > 1/3 of magnitude's %.4f", esg, esgr, mag)
	}
	if z := zeros(sg.Data); z != len(sg.Data)/2 {
		t.Fatalf("sparsegpt has %d zeros, want %d", z, len(sg.Data)/2)
	}
	if ewa > mag/2 {
		t.Errorf("wanda error %.4f > 1/2 of magnitude's %.4f", ewa, mag)
	}
	for r := range w.Rows {
		if z := zeros(sgr.Row(r)); z != 128 {
			t.Fatalf("sparsegpt per row: row %d has %d zeros, want 128", r, z)
		}
		if z := zeros(wa.Row(r)); z != 128 {
			t.Fatalf("wanda row %d has %d zeros, want 128", r, z)
		}
	}
}

func TestNMQuality(t *testing.T) {
	h, w, x := planted(t)
	p := Pattern{N: 2, M: 4}
	mag := outputError(x, w, magnitude(w, p))
	sg, err := SparseGPT(h, w, p, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wa, err := Wanda(h, w, p)
	if err != nil {
		t.Fatal(err)
	}
	esg, ewa := outputError(x, w, sg), outputError(x, w, wa)
	t.Logf("2:4: magnitude %.4f, wanda %.4f (%.2fx), sparsegpt %.4f (%.2fx)", mag, ewa, ewa/mag, esg, esg/mag)
	if esg > mag/2 {
		t.Errorf("sparsegpt 2:4 error %.4f > 1/2 of magnitude's %.4f", esg, mag)
	}
	for _, out := range []Weight{sg, wa} {
		for i := 0; i < len(out.Data); i += 4 {
			if z := zeros(out.Data[i : i+4]); z != 2 {
				t.Fatalf("group at %d has %d zeros, want 2", i, z)
			}
		}
	}
}

func TestGPTQQuality(t *testing.T) {
	h, w, x := planted(t)
	for _, o := range []QuantOptions{
		{Bits: 4, Group: 32},
		{Bits: 4, Group: 32, Symmetric: true},
		{Bits: 4, Group: 32, ActOrder: true},
	} {
		rtn, err := RTN(w, o)
		if err != nil {
			t.Fatal(err)
		}
		gq, err := GPTQ(h, w, o, SweepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		er, eg := outputError(x, w, rtn.Dequantized), outputError(x, w, gq.Dequantized)
		t.Logf("%+v: rtn %.4f, gptq %.4f (%.2fx)", o, er, eg, eg/er)
		if eg > 0.7*er {
			t.Errorf("%+v: gptq error %.4f > 0.7x rtn's %.4f", o, eg, er)
		}
	}
}
