package ort

import (
	"errors"
	"fmt"
	"strings"
)

// RuntimeInfo describes the loaded ONNX Runtime.
type RuntimeInfo struct {
	Version string // e.g. "1.30.0"
	Library string // the shared library loaded
}

// Options configure a Session.
type Options struct {
	// EP is the execution provider: "cpu" (the default when empty) or
	// "cuda". An unavailable provider is an error, never a silent fallback.
	EP string
	// Threads is ONNX Runtime's intra-op thread count; 0 lets it choose.
	Threads int
	// ExternalDataDir is the folder that holds a model's external data
	// files, for OpenBytes (Open uses the model file's folder).
	ExternalDataDir string
}

// validate checks the options that can be checked without a runtime.
func (o Options) validate() error {
	switch strings.ToLower(o.EP) {
	case "", "cpu", "cuda":
	default:
		return fmt.Errorf("unknown execution provider %q (want cpu or cuda)", o.EP)
	}
	if o.Threads < 0 {
		return fmt.Errorf("thread count %d is negative", o.Threads)
	}
	return nil
}

// Kind is what sort of value an input or output holds.
type Kind int

// The kinds of values, numbered as ONNX Runtime's ONNXType.
const (
	KindUnknown Kind = iota
	KindTensor
	KindSequence
	KindMap
	KindOpaque
	KindSparseTensor
	KindOptional
)

func (k Kind) String() string {
	return [...]string{"unknown", "tensor", "sequence", "map", "opaque", "sparse tensor", "optional"}[k]
}

// ValueInfo describes one input or output of a session as ONNX Runtime
// sees it.
type ValueInfo struct {
	Name  string
	Kind  Kind
	DType DType   // element type, for tensors
	Shape []int64 // -1 marks a dynamic dimension; for tensors
}

func (v ValueInfo) String() string {
	if v.Kind != KindTensor {
		return fmt.Sprintf("%s (%v)", v.Name, v.Kind)
	}
	return fmt.Sprintf("%s %v%v", v.Name, v.DType, v.Shape)
}

// Session runs one model through ONNX Runtime. Run may be called from
// several goroutines at once.
type Session struct {
	name            string
	impl            backend
	inputs, outputs []ValueInfo
}

// backend is a runtime's side of a session (see ort.go).
type backend interface {
	// run runs the model on inputs (one per session input, None where an
	// optional input is absent) and returns its outputs, or just discards
	// them when fetch is false (for timing).
	run(inputs []Value, fetch bool) ([]Value, error)
	// prepare converts inputs into the runtime's form once, for repeated
	// runs that time the model alone.
	prepare(inputs []Value) (prepared, error)
	close()
}

// prepared holds inputs already in the runtime's form.
type prepared interface {
	run() error
	release()
}

// Open creates a session for the model file at path. ONNX Runtime reads the
// file itself, so external data next to the model is found.
func Open(path string, opts Options) (*Session, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	b, in, out, err := openBackend(path, nil, opts)
	if err != nil {
		return nil, modelError(path, err)
	}
	return &Session{name: path, impl: b, inputs: in, outputs: out}, nil
}

// OpenBytes creates a session for an encoded model. Set
// opts.ExternalDataDir when the model has external data.
func OpenBytes(model []byte, opts Options) (*Session, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(model) == 0 {
		return nil, fmt.Errorf("empty model")
	}
	b, in, out, err := openBackend("", model, opts)
	if err != nil {
		return nil, modelError("in-memory model", err)
	}
	return &Session{name: "in-memory model", impl: b, inputs: in, outputs: out}, nil
}

// modelError names the model in err, unless err is about the runtime
// itself.
func modelError(name string, err error) error {
	var le *LibraryError
	if errors.As(err, &le) || errors.Is(err, ErrNoCgo) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Name is how errors name the session's model: its path, or "in-memory
// model".
func (s *Session) Name() string { return s.name }

// Inputs describes the inputs the model needs (graph inputs that are also
// initializers are not among them).
func (s *Session) Inputs() []ValueInfo { return s.inputs }

// Outputs describes the model's outputs.
func (s *Session) Outputs() []ValueInfo { return s.outputs }

// Run runs the model: inputs holds one value per entry of Inputs, in that
// order (None for an absent optional input). It returns one value per
// entry of Outputs.
func (s *Session) Run(inputs []Value) ([]Value, error) {
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	out, err := s.impl.run(inputs, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return out, nil
}

// Close releases the session.
func (s *Session) Close() error {
	if s.impl != nil {
		s.impl.close()
		s.impl = nil
	}
	return nil
}

// checkInputs reports inputs that cannot be fed to the session, naming the
// input and what the model wants.
func (s *Session) checkInputs(inputs []Value) error {
	if len(inputs) != len(s.inputs) {
		names := make([]string, len(s.inputs))
		for i, in := range s.inputs {
			names[i] = in.Name
		}
		return fmt.Errorf("%s: the model has %d inputs (%s), got %d values", s.name, len(s.inputs), strings.Join(names, ", "), len(inputs))
	}
	for i, v := range inputs {
		info := s.inputs[i]
		switch v := v.(type) {
		case *Tensor:
			if err := v.Check(); err != nil {
				return fmt.Errorf("%s: input %q: %v", s.name, info.Name, err)
			}
			if info.Kind == KindTensor && v.DType != info.DType {
				return fmt.Errorf("%s: input %q is %v, got %s", s.name, info.Name, info, Describe(v))
			}
		case Sequence, None:
		default:
			return fmt.Errorf("%s: input %q: unsupported value %s", s.name, info.Name, Describe(v))
		}
	}
	return nil
}

// Prepared holds inputs converted into the runtime's form once, so that
// repeated runs time the model alone (see verify.Bench).
type Prepared struct{ p prepared }

// Prepare checks inputs as Run does and converts them for repeated runs.
// Release the result when done.
func (s *Session) Prepare(inputs []Value) (*Prepared, error) {
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	p, err := s.impl.prepare(inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return &Prepared{p}, nil
}

// Run runs the model on the prepared inputs, discarding the outputs.
func (p *Prepared) Run() error { return p.p.run() }

// Release frees the converted inputs.
func (p *Prepared) Release() { p.p.release() }
