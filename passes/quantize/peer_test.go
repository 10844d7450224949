package quantize

import (
	"testing"

	"github.com/onnxopt/onnxopt/graph"
	"github.com/onnxopt/onnxopt/onnx"
	"github.com/onnxopt/onnxopt/passes"
)

// ortDynamicPeer returns a copy of p quantized the way ONNX Runtime's own
// dynamic quantizer does it: the "ORT quantize_dynamic pattern", the
// graph onnxruntime.quantization.quantize_dynamic(model, out,
// weight_type=wtype) builds (onnxruntime/python/tools/quantization,
// operators/conv.py, class ConvInteger) after its recommended
// pre-processing (quant_pre_process, whose graph optimisation fuses
// Conv+BatchNormalization). For each Conv with a constant weight:
//
//	x ─► DynamicQuantizeLinear ─► ConvInteger(x_q, W_q, x_zp, W_zp) ─► Cast(FLOAT) ─► Mul ─► Add(Reshape(bias, [1,-1,1,1]))
//	                    x_scale ─► Mul(x_scale, W_scale) ──────────────────────────────┘
//
// with W quantized per tensor (ConvInteger's quantizer never goes per
// channel): int8 symmetric over [-127, 127] (QInt8, the default) or uint8
// asymmetric (QUInt8). Gemm is not in its dynamic op list and stays float.
// Python's onnxruntime is not installable here, so the pattern is rebuilt.
//
// ONNX Runtime's quantizer does not handle float16 models (DynamicQuantizeLinear
// takes float32 only); to run the same pattern on one, Casts to float32
// are added around it and the bias is given in float32, as onnxopt does.
func ortDynamicPeer(t testing.TB, p *onnx.ModelProto, wtype string) *onnx.ModelProto {
	t.Helper()
	m, err := graph.FromProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &passes.Context{Report: &passes.PassReport{}}
	q := &quantizer{ctx: ctx, m: m, cfg: &config{typ: qtypes[wtype]}, cache: map[cacheKey]*graph.Value{}}
	g := m.Graph
	for _, n := range append([]*graph.Node(nil), g.Nodes...) {
		if n.OpType() != "Conv" || n.Input(1).Const() == nil {
			continue
		}
		if err := q.foldBN(n); err != nil { // quant_pre_process
			t.Fatal(err)
		}
		x, wv, b, y := n.Input(0), n.Input(1), n.Input(2), n.Output(0)
		wt := wv.Const()
		dt := wt.DataType()
		w, err := wt.Floats()
		if err != nil {
			t.Fatal(err)
		}
		typ := qtypes[wtype]
		r, err := quantizeTensor(w, wt.Dims(), -1, typ, typ.signed)
		if err != nil {
			t.Fatal(err)
		}
		name := n.Name()
		const why = "peer"
		x32 := q.castTo(g, x, dt, tFloat, why)
		dql := g.NewNode("DynamicQuantizeLinear", name+"/dql", []*graph.Value{x32}, []string{x.Name + "_q", x.Name + "_s", x.Name + "_zp"})
		wq := newInit(g, wv.Name+"_quantized", typ.onnx, wt.Dims(), bytes8(r.q))
		ws := floatInit(g, wv.Name+"_scale", nil, r.scale)
		wz := newInit(g, wv.Name+"_zero_point", typ.onnx, nil, bytes8(r.zp))
		var attrs []*onnx.AttributeProto
		for _, a := range n.Proto.GetAttribute() {
			attrs = append(attrs, a)
		}
		ci := g.NewNode("ConvInteger", name+"_quant", []*graph.Value{dql.Output(0), wq, dql.Output(2), wz}, []string{y.Name + "_output_quantized"}, attrs...)
		cast := g.NewNode("Cast", name+"_cast", []*graph.Value{ci.Output(0)}, []string{y.Name + "_cast_output"}, attrInt("to", int64(tFloat)))
		smul := g.NewNode("Mul", name+"_quant_scales_mul", []*graph.Value{dql.Output(1), ws}, []string{name + "_quant_scales_mul:0"})
		if b == nil {
			rewrite(n, "Mul", "", name+"_quant_output_scale_mul", []*graph.Value{cast.Output(0), smul.Output(0)})
		} else {
			bf, err := b.Const().Floats()
			if err != nil {
				t.Fatal(err)
			}
			shape := make([]int64, len(wt.Dims()))
			for i := range shape {
				shape[i] = 1
			}
			shape[1] = -1
			rs := g.NewNode("Reshape", name+"_bias_reshape", []*graph.Value{floatInit(g, b.Name+"_float32", b.Const().Dims(), bf), int64Init(g, y.Name+"_bias_reshape_shape", shape)}, []string{y.Name + "_bias_reshape_output"})
			mul := g.NewNode("Mul", name+"_quant_output_scale_mul", []*graph.Value{cast.Output(0), smul.Output(0)}, []string{y.Name + "quant_scaled_output"})
			rewrite(n, "Add", "", y.Name+"_bias_add", []*graph.Value{mul.Output(0), rs.Output(0)})
		}
		if dt != tFloat {
			if err := q.castAfter(y, dt, why); err != nil {
				t.Fatal(err)
			}
		}
		if err := cleanup(wv, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Sort(); err != nil {
		t.Fatal(err)
	}
	if err := m.Graph.Check(); err != nil {
		t.Fatalf("peer graph: %v", err)
	}
	return m.ToProto()
}
