//go:build cgo

package ort

// This file runs models through ONNX Runtime. github.com/yalue/onnxruntime_go
// loads the shared library and sets up the process-wide environment; the
// rest goes through the C functions that binding compiles in (its
// onnxruntime_wrapper.c: thin wrappers over the ONNX Runtime C API, global
// symbols in every binary that links the binding), declared below.
//
// The binding's Go layer is avoided for running models because it
// mishandles outputs it allocates: it copies float16, bfloat16 and other
// "custom" outputs with one byte per element (half the data, or too much
// for int4), cannot return rank-0 outputs (its Shape type rejects rank 0),
// rejects zero-element custom tensors, and indexes inputs[0] even when a
// model has no inputs. Here ONNX Runtime allocates every output and the
// bytes are copied out with each type's real size.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtSession OrtSession;
typedef struct OrtValue OrtValue;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtCUDAProviderOptionsV2 OrtCUDAProviderOptionsV2;

// From onnxruntime_go v1.27.0's onnxruntime_wrapper.h (enums passed as int).
OrtStatus *CreateOrtEnv(char *name, OrtEnv **env);
void ReleaseOrtStatus(OrtStatus *status);
const char *GetErrorMessage(OrtStatus *status);
OrtStatus *CreateOrtMemoryInfo(OrtMemoryInfo **mem_info);
OrtStatus *CreateSessionOptions(OrtSessionOptions **o);
void ReleaseSessionOptions(OrtSessionOptions *o);
OrtStatus *AddSessionConfigEntry(OrtSessionOptions *o, char *key, char *value);
OrtStatus *SetIntraOpNumThreads(OrtSessionOptions *o, int n);
OrtStatus *CreateCUDAProviderOptions(OrtCUDAProviderOptionsV2 **o);
void ReleaseCUDAProviderOptions(OrtCUDAProviderOptionsV2 *o);
OrtStatus *AppendExecutionProviderCUDAV2(OrtSessionOptions *o, OrtCUDAProviderOptionsV2 *cuda_options);
OrtStatus *CreateSession(void *model_data, size_t model_data_length, OrtEnv *env, OrtSession **out, OrtSessionOptions *options);
OrtStatus *CreateSessionFromFile(char *model_path, OrtEnv *env, OrtSession **out, OrtSessionOptions *options);
void ReleaseOrtSession(OrtSession *session);
OrtStatus *SessionGetInputCount(OrtSession *session, size_t *result);
OrtStatus *SessionGetOutputCount(OrtSession *session, size_t *result);
OrtStatus *SessionGetInputName(OrtSession *session, size_t i, char **name);
OrtStatus *SessionGetOutputName(OrtSession *session, size_t i, char **name);
OrtStatus *FreeWithDefaultORTAllocator(void *to_free);
OrtStatus *SessionGetInputTypeInfo(OrtSession *session, size_t i, OrtTypeInfo **out);
OrtStatus *SessionGetOutputTypeInfo(OrtSession *session, size_t i, OrtTypeInfo **out);
OrtStatus *GetONNXTypeFromTypeInfo(OrtTypeInfo *info, int *out);
OrtStatus *CastTypeInfoToTensorInfo(OrtTypeInfo *type_info, OrtTensorTypeAndShapeInfo **out);
void ReleaseTypeInfo(OrtTypeInfo *o);
OrtStatus *RunOrtSession(OrtSession *session, OrtValue **inputs, char **input_names, int input_count, OrtValue **outputs, char **output_names, int output_count);
void ReleaseOrtValue(OrtValue *value);
OrtStatus *CreateOrtTensorWithShape(void *data, size_t data_size, int64_t *shape, int64_t shape_size, OrtMemoryInfo *mem_info, int dtype, OrtValue **out);
OrtStatus *CreateTensorAsOrtValue(int64_t *shape, int64_t shape_size, int dtype, OrtValue **out);
OrtStatus *GetTensorTypeAndShape(const OrtValue *value, OrtTensorTypeAndShapeInfo **out);
OrtStatus *GetDimensionsCount(const OrtTensorTypeAndShapeInfo *info, size_t *out);
OrtStatus *GetDimensions(const OrtTensorTypeAndShapeInfo *info, int64_t *dim_values, size_t dim_values_length);
OrtStatus *GetTensorElementType(const OrtTensorTypeAndShapeInfo *info, int *out);
void ReleaseTensorTypeAndShapeInfo(OrtTensorTypeAndShapeInfo *input);
OrtStatus *GetTensorMutableData(OrtValue *value, void **out);
OrtStatus *GetValue(OrtValue *container, int index, OrtValue **dst);
OrtStatus *GetValueType(OrtValue *v, int *out);
OrtStatus *GetValueCount(OrtValue *v, size_t *out);
OrtStatus *CreateOrtValue(OrtValue **in, size_t num_values, int value_type, OrtValue **out);
OrtStatus *FillStringTensor(OrtValue *v, char **strings, size_t num_strings);
OrtStatus *GetStringTensorDataLength(OrtValue *v, size_t *length);
OrtStatus *GetStringTensorContent(OrtValue *v, void *data_buffer, size_t data_size, size_t *offsets_buffer, size_t offsets_length);
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	ortgo "github.com/yalue/onnxruntime_go"
)

// runtimeState is the process-wide ONNX Runtime: loaded once, never
// unloaded (ONNX Runtime cannot be re-initialized in one process).
var runtimeState struct {
	once sync.Once
	err  error
	info RuntimeInfo
	env  *C.OrtEnv
	mem  *C.OrtMemoryInfo
}

// LoadRuntime loads ONNX Runtime (once per process) and describes it. The
// library is looked up as findLibrary says; a failure is a *LibraryError
// when the library is missing.
func LoadRuntime() (RuntimeInfo, error) {
	s := &runtimeState
	s.once.Do(func() { s.err = loadRuntime() })
	return s.info, s.err
}

func loadRuntime() error {
	s := &runtimeState
	lib, tried, err := findLibrary()
	if err != nil {
		return err
	}
	if !ortgo.IsInitialized() {
		ortgo.SetSharedLibraryPath(lib)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelFatal()); err != nil {
			if tried != nil {
				return &LibraryError{Tried: tried, Err: err}
			}
			if strings.Contains(err.Error(), "Error loading ONNX shared library") {
				return &LibraryError{Tried: []string{lib}, Err: err}
			}
			return fmt.Errorf("initializing ONNX Runtime from %s: %v (onnxopt needs ONNX Runtime %s or a compatible release)", lib, err, ORTVersion)
		}
	}
	// ONNX Runtime's environment is a process-wide singleton: asking for
	// one returns the environment the binding created.
	name := C.CString("onnxopt")
	defer C.free(unsafe.Pointer(name))
	if err := status(C.CreateOrtEnv(name, &s.env)); err != nil {
		return fmt.Errorf("ONNX Runtime environment: %v", err)
	}
	if err := status(C.CreateOrtMemoryInfo(&s.mem)); err != nil {
		return fmt.Errorf("ONNX Runtime memory info: %v", err)
	}
	s.info = RuntimeInfo{Version: ortgo.GetVersion(), Library: lib}
	return nil
}

// status converts an OrtStatus to an error and releases it.
func status(st *C.OrtStatus) error {
	if st == nil {
		return nil
	}
	msg := strings.Join(strings.Fields(C.GoString(C.GetErrorMessage(st))), " ")
	C.ReleaseOrtStatus(st)
	return errors.New(msg)
}

// ortSession is an ONNX Runtime session.
type ortSession struct {
	s        *C.OrtSession
	inNames  []*C.char
	outNames []*C.char
	in, out  []ValueInfo
}

func openBackend(path string, model []byte, opts Options) (backend, []ValueInfo, []ValueInfo, error) {
	if _, err := LoadRuntime(); err != nil {
		return nil, nil, nil, err
	}
	var so *C.OrtSessionOptions
	if err := status(C.CreateSessionOptions(&so)); err != nil {
		return nil, nil, nil, err
	}
	defer C.ReleaseSessionOptions(so)
	if opts.Threads > 0 {
		if err := status(C.SetIntraOpNumThreads(so, C.int(opts.Threads))); err != nil {
			return nil, nil, nil, err
		}
	}
	if opts.ExternalDataDir != "" && path == "" {
		k := C.CString("session.model_external_initializers_file_folder_path")
		v := C.CString(opts.ExternalDataDir)
		err := status(C.AddSessionConfigEntry(so, k, v))
		C.free(unsafe.Pointer(k))
		C.free(unsafe.Pointer(v))
		if err != nil {
			return nil, nil, nil, err
		}
	}
	if strings.EqualFold(opts.EP, "cuda") {
		if err := appendCUDA(so); err != nil {
			return nil, nil, nil, err
		}
	}
	s := &ortSession{}
	var err error
	if path != "" {
		cpath := C.CString(path)
		err = status(C.CreateSessionFromFile(cpath, runtimeState.env, &s.s, so))
		C.free(unsafe.Pointer(cpath))
	} else {
		err = status(C.CreateSession(unsafe.Pointer(&model[0]), C.size_t(len(model)), runtimeState.env, &s.s, so))
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ONNX Runtime cannot load the model: %v", err)
	}
	if err := s.Describe(); err != nil {
		s.close()
		return nil, nil, nil, err
	}
	return s, s.in, s.out, nil
}

// appendCUDA adds the CUDA execution provider, or explains why it cannot.
func appendCUDA(so *C.OrtSessionOptions) error {
	var co *C.OrtCUDAProviderOptionsV2
	err := status(C.CreateCUDAProviderOptions(&co))
	if err == nil {
		err = status(C.AppendExecutionProviderCUDAV2(so, co))
		C.ReleaseCUDAProviderOptions(co)
	}
	if err != nil {
		return fmt.Errorf("the CUDA execution provider is not available in ONNX Runtime %s from %s: %v "+
			"(it needs an ONNX Runtime GPU build with its provider libraries next to it, CUDA and cuDNN, and a GPU; use the CPU provider instead)",
			runtimeState.info.Version, runtimeState.info.Library, err)
	}
	return nil
}

// describe fills in the session's input and output names and types.
func (s *ortSession) Describe() error {
	var nIn, nOut C.size_t
	if err := status(C.SessionGetInputCount(s.s, &nIn)); err != nil {
		return err
	}
	if err := status(C.SessionGetOutputCount(s.s, &nOut)); err != nil {
		return err
	}
	for i := 0; i < int(nIn); i++ {
		var name *C.char
		if err := status(C.SessionGetInputName(s.s, C.size_t(i), &name)); err != nil {
			return err
		}
		info := ValueInfo{Name: C.GoString(name)}
		C.FreeWithDefaultORTAllocator(unsafe.Pointer(name))
		var ti *C.OrtTypeInfo
		if err := status(C.SessionGetInputTypeInfo(s.s, C.size_t(i), &ti)); err != nil {
			return err
		}
		err := typeInfo(ti, &info)
		C.ReleaseTypeInfo(ti)
		if err != nil {
			return fmt.Errorf("input %q: %v", info.Name, err)
		}
		s.in = append(s.in, info)
		s.inNames = append(s.inNames, C.CString(info.Name))
	}
	for i := 0; i < int(nOut); i++ {
		var name *C.char
		if err := status(C.SessionGetOutputName(s.s, C.size_t(i), &name)); err != nil {
			return err
		}
		info := ValueInfo{Name: C.GoString(name)}
		C.FreeWithDefaultORTAllocator(unsafe.Pointer(name))
		var ti *C.OrtTypeInfo
		if err := status(C.SessionGetOutputTypeInfo(s.s, C.size_t(i), &ti)); err != nil {
			return err
		}
		err := typeInfo(ti, &info)
		C.ReleaseTypeInfo(ti)
		if err != nil {
			return fmt.Errorf("output %q: %v", info.Name, err)
		}
		s.out = append(s.out, info)
		s.outNames = append(s.outNames, C.CString(info.Name))
	}
	return nil
}

// typeInfo fills in the kind, and for a tensor the element type and shape.
func typeInfo(ti *C.OrtTypeInfo, info *ValueInfo) error {
	var kind C.int
	if err := status(C.GetONNXTypeFromTypeInfo(ti, &kind)); err != nil {
		return err
	}
	info.Kind = Kind(kind)
	if info.Kind != KindTensor {
		return nil
	}
	var tsi *C.OrtTensorTypeAndShapeInfo // owned by ti
	if err := status(C.CastTypeInfoToTensorInfo(ti, &tsi)); err != nil {
		return err
	}
	dt, shape, err := tensorInfo(tsi)
	info.DType, info.Shape = dt, shape
	return err
}

// tensorInfo reads an element type and shape.
func tensorInfo(tsi *C.OrtTensorTypeAndShapeInfo) (DType, []int64, error) {
	var dt C.int
	if err := status(C.GetTensorElementType(tsi, &dt)); err != nil {
		return 0, nil, err
	}
	var rank C.size_t
	if err := status(C.GetDimensionsCount(tsi, &rank)); err != nil {
		return 0, nil, err
	}
	shape := make([]int64, int(rank))
	if rank > 0 {
		if err := status(C.GetDimensions(tsi, (*C.int64_t)(unsafe.Pointer(&shape[0])), rank)); err != nil {
			return 0, nil, err
		}
	}
	return DType(dt), shape, nil
}

func (s *ortSession) close() {
	if s.s != nil {
		C.ReleaseOrtSession(s.s)
		s.s = nil
	}
	for _, p := range append(s.inNames, s.outNames...) {
		C.free(unsafe.Pointer(p))
	}
	s.inNames, s.outNames = nil, nil
}

// ortFeed is a set of inputs converted to OrtValues, with the C memory
// behind them.
type ortFeed struct {
	s      *ortSession
	names  []*C.char     // input names, absent optionals left out
	values []*C.OrtValue // fed values
	owned  []*C.OrtValue // every OrtValue created, sequence elements too
	mem    []unsafe.Pointer
}

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
