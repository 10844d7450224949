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
#include "ort_wrapper.h"
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
