package synthdata

import (
	"math"
	"math/rand/v2"
)

// Structure of the wake-word feature proxy: fixed, so every seed draws
// from one distribution.
const (
	wakeStructureSeed = 0x5eed
	wakeRank          = 8    // latent factors shared by the 96 features
	wakeRho           = 0.85 // frame-to-frame correlation of the factors
	wakeNoise         = 0.5  // share of per-feature independent noise
)

// wakeStructure is the proxy's fixed mean, per-feature scale and loadings.
type wakeStructure struct {
	feats   int
	mean    []float64
	scale   []float64
	loading []float64 // feats x wakeRank
}

func newWakeStructure(feats int) wakeStructure {
	rng := rand.New(rand.NewPCG(wakeStructureSeed, uint64(feats)))
	s := wakeStructure{feats: feats, mean: make([]float64, feats), scale: make([]float64, feats), loading: make([]float64, feats*wakeRank)}
	for j := range feats {
		s.mean[j] = rng.NormFloat64()
		s.scale[j] = math.Exp(0.6 * rng.NormFloat64()) // uneven feature scales
		for k := range wakeRank {
			// Leading factors carry more variance, as in real embeddings.
			s.loading[j*wakeRank+k] = rng.NormFloat64() / math.Sqrt(float64(wakeRank)) / (1 + 0.3*float64(k))
		}
	}
	return s
}

// wakeSample draws [1, frames, feats]: latent factors follow an AR(1)
// process in time (started from its stationary law, plus a per-sample
// offset standing in for speaker and channel), mapped through the fixed
// loadings, plus independent noise, then shifted and scaled per feature.
func wakeSample(rng *rand.Rand, shape []int64) Sample {
	frames, feats := int(shape[1]), int(shape[2])
	st := newWakeStructure(feats)
	z := make([]float64, wakeRank)
	offset := make([]float64, wakeRank)
	for k := range z {
		z[k] = rng.NormFloat64()
		offset[k] = 0.5 * rng.NormFloat64()
	}
	innov := math.Sqrt(1 - wakeRho*wakeRho)
	out := make([]float32, frames*feats)
	for t := range frames {
		if t > 0 {
			for k := range z {
				z[k] = wakeRho*z[k] + innov*rng.NormFloat64()
			}
		}
		for j := range feats {
			v := 0.0
			for k := range wakeRank {
				v += st.loading[j*wakeRank+k] * (z[k] + offset[k])
			}
			v += wakeNoise * rng.NormFloat64()
			out[t*feats+j] = float32(st.mean[j] + st.scale[j]*v)
		}
	}
	return Sample{Input: out, Label: -1}
}
