//go:build cgo

package ort

// Feeding inputs to a session, running it, and copying ONNX Runtime's
// outputs into Go values at each type's real element size (see ort.go).

/*
#include "ort_wrapper.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func (s *ortSession) prepare(inputs []Value) (prepared, error) {
	f := &ortFeed{s: s}
	for i, v := range inputs {
		if _, ok := v.(None); ok {
			continue // an absent optional input is simply not fed
		}
		ov, err := f.value(v)
		if err != nil {
			f.release()
			return nil, fmt.Errorf("input %q: %v", s.in[i].Name, err)
		}
		f.names = append(f.names, s.inNames[i])
		f.values = append(f.values, ov)
	}
	return f, nil
}

// value converts v to an OrtValue owned by f.
func (f *ortFeed) value(v Value) (*C.OrtValue, error) {
	var ov *C.OrtValue
	switch v := v.(type) {
	case *Tensor:
		if err := v.Check(); err != nil {
			return nil, err
		}
		var shape *C.int64_t
		if len(v.Shape) > 0 {
			shape = (*C.int64_t)(unsafe.Pointer(&v.Shape[0]))
		}
		if v.DType == String {
			if err := status(C.CreateTensorAsOrtValue(shape, C.int64_t(len(v.Shape)), C.int(String), &ov)); err != nil {
				return nil, err
			}
			f.owned = append(f.owned, ov)
			if len(v.Strings) > 0 {
				cs := make([]*C.char, len(v.Strings))
				for i, s := range v.Strings {
					cs[i] = C.CString(s)
				}
				err := status(C.FillStringTensor(ov, &cs[0], C.size_t(len(cs))))
				for _, p := range cs {
					C.free(unsafe.Pointer(p))
				}
				if err != nil {
					return nil, err
				}
			}
			return ov, nil
		}
		// ONNX Runtime keeps a pointer to the data, so it lives in C memory
		// until the value is released.
		buf := C.malloc(C.size_t(len(v.Raw) + 1))
		f.mem = append(f.mem, buf)
		if len(v.Raw) > 0 {
			C.memcpy(buf, unsafe.Pointer(&v.Raw[0]), C.size_t(len(v.Raw)))
		}
		err := status(C.CreateOrtTensorWithShape(buf, C.size_t(len(v.Raw)), shape, C.int64_t(len(v.Shape)),
			runtimeState.mem, C.int(v.DType), &ov))
		if err != nil {
			return nil, err
		}
		f.owned = append(f.owned, ov)
		return ov, nil
	case Sequence:
		if len(v) == 0 {
			return nil, fmt.Errorf("ONNX Runtime's C API cannot create an empty sequence")
		}
		elems := make([]*C.OrtValue, len(v))
		for i, e := range v {
			ev, err := f.value(e)
			if err != nil {
				return nil, fmt.Errorf("sequence element %d: %v", i, err)
			}
			elems[i] = ev
		}
		if err := status(C.CreateOrtValue(&elems[0], C.size_t(len(elems)), C.int(KindSequence), &ov)); err != nil {
			return nil, err
		}
		f.owned = append(f.owned, ov)
		return ov, nil
	}
	return nil, fmt.Errorf("unsupported value %s", Describe(v))
}

func (f *ortFeed) release() {
	for _, v := range f.owned {
		C.ReleaseOrtValue(v)
	}
	for _, p := range f.mem {
		C.free(p)
	}
	f.owned, f.mem, f.values, f.names = nil, nil, nil, nil
}

func (f *ortFeed) run() error {
	outs, err := f.exec()
	for _, v := range outs {
		if v != nil {
			C.ReleaseOrtValue(v)
		}
	}
	return err
}

// exec runs the session; ONNX Runtime allocates every output. The caller
// releases the outputs.
func (f *ortFeed) exec() ([]*C.OrtValue, error) {
	s := f.s
	if s.s == nil {
		return nil, fmt.Errorf("session is closed")
	}
	outs := make([]*C.OrtValue, len(s.outNames))
	var inPtr **C.OrtValue
	var namePtr **C.char
	if len(f.values) > 0 { // a model may have no inputs at all
		inPtr, namePtr = &f.values[0], &f.names[0]
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("the model has no outputs")
	}
	err := status(C.RunOrtSession(s.s, inPtr, namePtr, C.int(len(f.values)), &outs[0], &s.outNames[0], C.int(len(outs))))
	if err != nil {
		for _, v := range outs {
			if v != nil {
				C.ReleaseOrtValue(v)
			}
		}
		return nil, fmt.Errorf("ONNX Runtime failed to run the model: %v", err)
	}
	return outs, nil
}

func (s *ortSession) run(inputs []Value, fetch bool) ([]Value, error) {
	p, err := s.prepare(inputs)
	if err != nil {
		return nil, err
	}
	f := p.(*ortFeed)
	defer f.release()
	if !fetch {
		return nil, f.run()
	}
	outs, err := f.exec()
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, v := range outs {
			C.ReleaseOrtValue(v)
		}
	}()
	vals := make([]Value, len(outs))
	for i, ov := range outs {
		if vals[i], err = goValue(ov); err != nil {
			return nil, fmt.Errorf("output %q: %v", s.out[i].Name, err)
		}
	}
	return vals, nil
}

// goValue copies an OrtValue into Go memory.
func goValue(ov *C.OrtValue) (Value, error) {
	if ov == nil {
		return None{}, nil
	}
	var kind C.int
	if err := status(C.GetValueType(ov, &kind)); err != nil {
		return nil, err
	}
	switch Kind(kind) {
	case KindTensor:
		return goTensor(ov)
	case KindSequence:
		var n C.size_t
		if err := status(C.GetValueCount(ov, &n)); err != nil {
			return nil, err
		}
		seq := make(Sequence, int(n))
		for i := range seq {
			var ev *C.OrtValue
			if err := status(C.GetValue(ov, C.int(i), &ev)); err != nil {
				return nil, fmt.Errorf("sequence element %d: %v", i, err)
			}
			v, err := goValue(ev)
			C.ReleaseOrtValue(ev)
			if err != nil {
				return nil, fmt.Errorf("sequence element %d: %v", i, err)
			}
			seq[i] = v
		}
		return seq, nil
	case KindOptional:
		// An optional that holds a value reports the value's own kind.
		return None{}, nil
	}
	return nil, fmt.Errorf("unsupported output kind %v", Kind(kind))
}

// goTensor copies a tensor OrtValue, sized by its real element type.
func goTensor(ov *C.OrtValue) (*Tensor, error) {
	var tsi *C.OrtTensorTypeAndShapeInfo
	if err := status(C.GetTensorTypeAndShape(ov, &tsi)); err != nil {
		return nil, err
	}
	dt, shape, err := tensorInfo(tsi)
	C.ReleaseTensorTypeAndShapeInfo(tsi)
	if err != nil {
		return nil, err
	}
	if !dt.known() {
		return nil, fmt.Errorf("unsupported element type %d", int(dt))
	}
	t := &Tensor{DType: dt, Shape: shape}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	if dt == String {
		t.Strings = make([]string, n)
		if n == 0 {
			return t, nil
		}
		var size C.size_t
		if err := status(C.GetStringTensorDataLength(ov, &size)); err != nil {
			return nil, err
		}
		if size == 0 {
			return t, nil // all empty
		}
		buf := make([]byte, int(size))
		offs := make([]C.size_t, n)
		if err := status(C.GetStringTensorContent(ov, unsafe.Pointer(&buf[0]), size, &offs[0], C.size_t(n))); err != nil {
			return nil, err
		}
		for i := range t.Strings {
			end := len(buf)
			if i+1 < n {
				end = int(offs[i+1])
			}
			t.Strings[i] = string(buf[int(offs[i]):end])
		}
		return t, nil
	}
	size := dt.storageBytes(n)
	if size == 0 {
		t.Raw = []byte{}
		return t, nil
	}
	var data unsafe.Pointer
	if err := status(C.GetTensorMutableData(ov, &data)); err != nil {
		return nil, err
	}
	t.Raw = make([]byte, size)
	copy(t.Raw, unsafe.Slice((*byte)(data), size))
	return t, nil
}
