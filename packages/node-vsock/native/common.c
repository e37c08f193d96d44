/* Argument parsing and result helpers shared by the native files (see common.h). */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

void nv_throw_last_status(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  const char* message = (info != NULL && info->error_message != NULL) ? info->error_message : "N-API call failed";
  napi_throw_error(env, "ERR_NODE_VSOCK_NAPI", message);
}

bool nv_get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, napi_value* this_arg) {
  size_t argc = want;
  NV_CALL(env, napi_get_cb_info(env, info, &argc, argv, this_arg, NULL), false);
  /* N-API fills missing arguments with undefined, so argc < want needs no special case here. */
  return true;
}

/* Reads an integral number in [min, max]; the callers' ranges all fit a double exactly. */
static bool arg_integer(napi_env env, napi_value value, const char* name, double min, double max, double* out) {
  napi_valuetype type;
  NV_CALL(env, napi_typeof(env, value, &type), false);
  if (type != napi_number) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  double number;
  NV_CALL(env, napi_get_value_double(env, value, &number), false);
  if (!(number >= min && number <= max) || floor(number) != number) {
    char message[128];
    snprintf(message, sizeof message, "%s must be an integer in [%.0f, %.0f]", name, min, max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = number;
  return true;
}

bool nv_arg_fd(napi_env env, napi_value value, const char* name, int* out) {
  double number;
  if (!arg_integer(env, value, name, 0, 2147483647.0, &number)) return false;
  *out = (int)number;
  return true;
}

bool nv_arg_u32(napi_env env, napi_value value, const char* name, uint32_t* out) {
  double number;
  if (!arg_integer(env, value, name, 0, 4294967295.0, &number)) return false;
  *out = (uint32_t)number;
  return true;
}

bool nv_arg_buffer(napi_env env, napi_value value, const char* name, void** data, size_t* length) {
  bool is_buffer = false;
  NV_CALL(env, napi_is_buffer(env, value, &is_buffer), false);
  if (!is_buffer) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a Buffer or Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  NV_CALL(env, napi_get_buffer_info(env, value, data, length), false);
  return true;
}

napi_value nv_number(napi_env env, double value) {
  napi_value result;
  NV_CALL(env, napi_create_double(env, value, &result), NULL);
  return result;
}

napi_value nv_syscall_result(napi_env env, long rc) {
  return nv_number(env, rc >= 0 ? (double)rc : (double)-errno);
}

bool nv_set_number(napi_env env, napi_value obj, const char* name, double value) {
  napi_value number = nv_number(env, value);
  if (number == NULL) return false;
  NV_CALL(env, napi_set_named_property(env, obj, name, number), false);
  return true;
}

bool nv_export_function(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  NV_CALL(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn), false);
  NV_CALL(env, napi_set_named_property(env, exports, name, fn), false);
  return true;
}
