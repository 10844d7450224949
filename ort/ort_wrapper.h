// Declarations of the C functions github.com/yalue/onnxruntime_go compiles
// in (its onnxruntime_wrapper.c), shared by the cgo files of package ort.
#ifndef ONNXOPT_ORT_WRAPPER_H
#define ONNXOPT_ORT_WRAPPER_H

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

#endif
