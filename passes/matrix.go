package passes

import "fmt"

// Matrix is a weight tensor seen as a Rows x Cols matrix without copying
// it: rows are output channels (batch entries times output channels for a
// batched MatMul weight, tokens for Gather), columns the reduced features,
// flattened as Taps x Features with the input feature innermost. So M
// consecutive columns inside one run of Features are M consecutive input
// features at one kernel tap, the groups N:M sparsity uses; a row is what
// one output channel reads, the unit of per-channel quantization, Wanda's
// scores and GPTQ's rows.
//
// Column col is input feature col%Features at kernel tap col/Features (the
// kernel axes flattened row-major); a GPTQ-style Hessian must order its
// im2col features the same way (Feature gives the data channel).
//
// Index maps (row, col) to the flat (row-major) index of the tensor and Pos
// maps back; ToRows and FromRows copy the whole matrix out and in.
type Matrix struct {
	Rows, Cols int
	// Features is the length of one run of input features (K of a MatMul,
	// C/group of a Conv or ConvTranspose); 0 for Gather, which reduces
	// nothing. Cols is Features times the kernel taps.
	Features int
	// FeatureStride is the flat distance between consecutive features of a
	// run: Index(r, c+1) - Index(r, c) when c+1 is in c's run.
	FeatureStride int
	// Groups is the number of conv groups; row r is in group
	// r / (Rows/Groups).
	Groups int
	// rows and cols are the mixed-radix digits of a row and a column,
	// outer to inner; together they are the tensor's axes (an axis split
	// in two for ConvTranspose's groups), so every flat index is one
	// (row, col).
	rows, cols []digit
}

// digit is one factor of a row or column index: its size and the flat
// stride it moves by.
type digit struct{ size, stride int }

// Matrix returns the matrix view of a weight of shape dims with these axes.
func (a Axes) Matrix(dims []int64) Matrix {
	stride := make([]int, len(dims))
	s := 1
	for i := len(dims) - 1; i >= 0; i-- {
		stride[i] = s
		s *= int(dims[i])
	}
	m := Matrix{Groups: a.Groups}
	if m.Groups < 1 {
		m.Groups = 1
	}
	for _, ax := range a.Batch {
		m.rows = append(m.rows, digit{int(dims[ax]), stride[ax]})
	}
	if a.FeatureGrouped && a.Groups > 1 {
		per := int(dims[a.Feature]) / a.Groups
		m.rows = append(m.rows, digit{a.Groups, per * stride[a.Feature]})
	}
	if a.Out >= 0 {
		m.rows = append(m.rows, digit{int(dims[a.Out]), stride[a.Out]})
	}
	for _, ax := range a.Cols {
		d := digit{int(dims[ax]), stride[ax]}
		if ax == a.Feature {
			if a.FeatureGrouped {
				d.size /= m.Groups
			}
			m.Features, m.FeatureStride = d.size, d.stride
		}
		m.cols = append(m.cols, d)
	}
	m.Rows, m.Cols = product(m.rows), product(m.cols)
	return m
}

func product(ds []digit) int {
	p := 1
	for _, d := range ds {
		p *= d.size
	}
	return p
}

// Index returns the flat index of element (row, col); both must be in
// range. It is RowIndex(row) + ColIndex(col).
func (m Matrix) Index(row, col int) int {
	return split(m.rows, row) + split(m.cols, col)
}

// RowIndex returns the flat index of the first element of row: loops over
// many elements add it to ColIndex instead of calling Index for each.
func (m Matrix) RowIndex(row int) int { return split(m.rows, row) }

// ColIndex returns the flat offset of column col within any row.
func (m Matrix) ColIndex(col int) int { return split(m.cols, col) }

func split(ds []digit, i int) int {
	flat := 0
	for k := len(ds) - 1; k >= 0; k-- {
		d := ds[k]
		flat += i % d.size * d.stride
		i /= d.size
	}
	return flat
}

// Pos returns the (row, col) of flat index i, the inverse of Index.
func (m Matrix) Pos(i int) (row, col int) {
	return join(m.rows, i), join(m.cols, i)
}

func join(ds []digit, flat int) int {
	i := 0
	for _, d := range ds {
		i = i*d.size + flat/d.stride%d.size
	}
	return i
}

// Feature returns the index along the data input's feature axis (a
// channel of X, groups included) that column col of row row multiplies;
// -1 for Gather.
func (m Matrix) Feature(row, col int) int {
	per := m.Rows / m.Groups
	if m.Features == 0 || per == 0 {
		return -1
	}
	return row/per*m.Features + col%m.Features
}

// ToRows copies w, the weight's values, into a new row-major Rows x Cols
// slice.
func (m Matrix) ToRows(w []float32) ([]float32, error) {
	if len(w) != m.Rows*m.Cols {
		return nil, fmt.Errorf("%d values for a %dx%d weight matrix", len(w), m.Rows, m.Cols)
	}
	out := make([]float32, len(w))
	for r := 0; r < m.Rows; r++ {
		base := split(m.rows, r)
		for c := 0; c < m.Cols; c++ {
			out[r*m.Cols+c] = w[base+split(m.cols, c)]
		}
	}
	return out, nil
}

// FromRows writes the row-major Rows x Cols matrix rows back into w, the
// weight's values, the inverse of ToRows.
func (m Matrix) FromRows(w, rows []float32) error {
	if len(w) != m.Rows*m.Cols || len(rows) != len(w) {
		return fmt.Errorf("%d values and a %d-value matrix for a %dx%d weight matrix", len(w), len(rows), m.Rows, m.Cols)
	}
	for r := 0; r < m.Rows; r++ {
		base := split(m.rows, r)
		for c := 0; c < m.Cols; c++ {
			w[base+split(m.cols, c)] = rows[r*m.Cols+c]
		}
	}
	return nil
}
