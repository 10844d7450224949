package modelgen

import (
	"math"
	"strconv"
	"testing"

	"github.com/onnxopt/onnxopt/onnx"
)

// llamaReference is a plain forward pass of the model Llama(o) describes,
// in float64, reading the weights from m by name and computing everything
// else (rotary angles, mask, repetition of KV heads) on its own. ids holds
// one prompt per row, all of one length; the result is the logits [batch,
// seq, Vocab], flattened.
func llamaReference(t *testing.T, m *onnx.ModelProto, o LlamaOptions, ids [][]int64) []float64 {
	t.Helper()
	o = o.Defaults()
	w := map[string][]float32{}
	for _, x := range m.Graph.Initializer {
		if x.GetDataType() == int32(onnx.TensorProto_FLOAT) {
			v, err := onnx.Float32s(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			w[x.GetName()] = v
		}
	}
	get := func(name string) []float32 {
		v, ok := w[name]
		if !ok {
			t.Fatalf("the model has no weight %s", name)
		}
		return v
	}
	H, hd, nH, nKV := int(o.Hidden), int(o.HeadDim), int(o.Heads), int(o.KVHeads)
	var logits []float64
	for _, prompt := range ids {
		S := len(prompt)
		x := make([][]float64, S)
		embed := get("embed_tokens.weight")
		for s, id := range prompt {
			x[s] = widen(embed[int(id)*H : (int(id)+1)*H])
		}
		for i := range o.Layers {
			p := "layers." + strconv.Itoa(i) + "."
			h := refNorm(x, get(p+"input_layernorm.weight"), o.Eps)
			q := refLinear(h, get(p+"self_attn.q_proj.weight"), nH*hd)
			k := refLinear(h, get(p+"self_attn.k_proj.weight"), nKV*hd)
			v := refLinear(h, get(p+"self_attn.v_proj.weight"), nKV*hd)
			refRope(q, hd, o.RopeTheta)
			refRope(k, hd, o.RopeTheta)
			ctx := make([][]float64, S)
			for s := range S {
				ctx[s] = make([]float64, nH*hd)
				for head := range nH {
					g := head / (nH / nKV)
					qv := q[s][head*hd : (head+1)*hd]
					scores := make([]float64, s+1) // causal: positions 0..s
					top := math.Inf(-1)
					for u := range s + 1 {
						scores[u] = dot(qv, k[u][g*hd:(g+1)*hd]) / math.Sqrt(float64(hd))
						top = max(top, scores[u])
					}
					var sum float64
					for u := range scores {
						scores[u] = math.Exp(scores[u] - top)
						sum += scores[u]
					}
					for u := range scores {
						for d := range hd {
							ctx[s][head*hd+d] += scores[u] / sum * v[u][g*hd+d]
						}
					}
				}
			}
			addTo(x, refLinear(ctx, get(p+"self_attn.o_proj.weight"), H))
			h = refNorm(x, get(p+"post_attention_layernorm.weight"), o.Eps)
			gate := refLinear(h, get(p+"mlp.gate_proj.weight"), int(o.Intermediate))
			up := refLinear(h, get(p+"mlp.up_proj.weight"), int(o.Intermediate))
			for s := range gate {
				for j, g := range gate[s] {
					gate[s][j] = g / (1 + math.Exp(-g)) * up[s][j]
				}
			}
			addTo(x, refLinear(gate, get(p+"mlp.down_proj.weight"), H))
		}
		h := refNorm(x, get("norm.weight"), o.Eps)
		V := int(o.Vocab)
		for s := range S {
			for tok := range V {
				var z float64
				for j := range H {
					if o.Untied {
						z += h[s][j] * float64(get("lm_head.weight")[j*V+tok])
					} else {
						z += h[s][j] * float64(embed[tok*H+j])
					}
				}
				logits = append(logits, z)
			}
		}
	}
	return logits
}

func refNorm(x [][]float64, w []float32, eps float32) [][]float64 {
	y := make([][]float64, len(x))
	for s, row := range x {
		var ms float64
		for _, v := range row {
			ms += v * v
		}
		r := math.Sqrt(ms/float64(len(row)) + float64(eps))
		y[s] = make([]float64, len(row))
		for j, v := range row {
			y[s][j] = v / r * float64(w[j])
		}
	}
	return y
}

// refLinear multiplies each row of x by w [len(row), out].
func refLinear(x [][]float64, w []float32, out int) [][]float64 {
	y := make([][]float64, len(x))
	for s, row := range x {
		y[s] = make([]float64, out)
		for i, v := range row {
			for j := range out {
				y[s][j] += v * float64(w[i*out+j])
			}
		}
	}
	return y
}

// refRope rotates each head of each row x[pos] in place: pairs (i, i+hd/2)
// turn by the angle pos·theta^(-2i/hd).
func refRope(x [][]float64, hd int, theta float64) {
	half := hd / 2
	for pos, row := range x {
		for base := 0; base < len(row); base += hd {
			for i := range half {
				angle := float64(pos) * math.Pow(theta, -float64(2*i)/float64(hd))
				s, c := math.Sincos(angle)
				a, b := row[base+i], row[base+i+half]
				row[base+i], row[base+i+half] = a*c-b*s, b*c+a*s
			}
		}
	}
}

func addTo(x, y [][]float64) {
	for s := range x {
		for j := range x[s] {
			x[s][j] += y[s][j]
		}
	}
}

func dot(a, b []float64) float64 {
	var z float64
	for i := range a {
		z += a[i] * b[i]
	}
	return z
}

func widen(v []float32) []float64 {
	y := make([]float64, len(v))
	for i, f := range v {
		y[i] = float64(f)
	}
	return y
}
