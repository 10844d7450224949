package modelgen

import (
	"reflect"
	"testing"
)

func TestCNN(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts CNNOptions
		ops  map[string]int
	}{
		{
			name: "default",
			opts: CNNOptions{},
			ops: map[string]int{"Conv": 6, "BatchNormalization": 6, "Relu": 5, "Add": 2,
				"GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1},
		},
		{
			name: "depthwise and concat",
			opts: CNNOptions{Channels: 8, Stages: 1, Height: 16, Width: 24, Classes: 4, Depthwise: true, Concat: true},
			ops: map[string]int{"Conv": 8, "BatchNormalization": 8, "Relu": 7, "Add": 1, "Concat": 1,
				"GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.opts.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			m := roundTrip(t, CNN(tc.opts))
			g := m.Graph
			checkWellFormed(t, g)
			checkRawSizes(t, g)
			if got := countOps(g); !reflect.DeepEqual(got, tc.ops) {
				t.Errorf("ops = %v, want %v", got, tc.ops)
			}
			if got, want := shapeOf(g.Input[0]), []any{"batch", int64(3), o.Height, o.Width}; !reflect.DeepEqual(got, want) {
				t.Errorf("input shape %v, want %v", got, want)
			}
			if got, want := shapeOf(g.Output[0]), []any{"batch", o.Classes}; g.Output[0].GetName() != "logits" || !reflect.DeepEqual(got, want) {
				t.Errorf("output %s %v, want logits %v", g.Output[0].GetName(), got, want)
			}
			inits := initializers(t, g)
			last := "block" + string(rune('0'+o.Stages-1))
			c := o.Channels
			for name, dims := range map[string][]int64{
				"stem.conv.weight":                  {c, 3, 3, 3},
				"stem.bn.running_var":               {c},
				last + ".conv1.weight":              {2 * c, c, 3, 3},
				last + ".downsample.conv.weight":    {2 * c, c, 1, 1},
				last + ".downsample.bn.running_var": {2 * c},
				"head.fc.weight":                    {o.Classes, 2 * c},
				"head.fc.bias":                      {o.Classes},
			} {
				if x := inits[name]; x == nil || !reflect.DeepEqual(x.Dims, dims) {
					t.Errorf("%s = %v, want dims %v", name, x, dims)
				}
			}
			for name, x := range inits {
				if len(name) > 12 && name[len(name)-12:] == ".running_var" {
					if mean, _ := stats(t, x.RawData); mean < 0.8 || mean > 1.2 {
						t.Errorf("%s: mean %g, want about 1", name, mean)
					}
				}
			}
			if tc.opts.Depthwise {
				if x := inits["dw.conv_dw.weight"]; x == nil || !reflect.DeepEqual(x.Dims, []int64{2 * c, 1, 3, 3}) {
					t.Errorf("dw.conv_dw.weight = %v", x)
				}
				for _, n := range g.Node {
					if n.GetName() == "dw/conv_dw/Conv" && !reflect.DeepEqual(n.Attribute[len(n.Attribute)-1], AttrInt("group", 2*c)) {
						t.Errorf("depthwise conv attributes: %v", n.Attribute)
					}
				}
			}
		})
	}
}

func TestCNNDeterministic(t *testing.T) {
	opts := CNNOptions{Seed: 5, Depthwise: true, Concat: true}
	if !sameBytes(marshal(t, CNN(opts)), marshal(t, CNN(opts))) {
		t.Fatal("two models with the same seed differ")
	}
}
