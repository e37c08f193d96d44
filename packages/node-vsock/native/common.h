/*
 * Shared helpers for the node-vsock native files.
 *
 * Convention: a wrapper of a system call never throws when the call fails; it returns -errno
 * (libuv style) and the TypeScript layer turns that into a Node-style error with .code, because
 * only the caller knows the context worth putting in the message (operation, address), and
 * EAGAIN is an ordinary answer on the hot path, not an exception. Wrappers throw only for
 * programming errors (wrong argument types or ranges).
 */
#ifndef NODE_VSOCK_COMMON_H_
#define NODE_VSOCK_COMMON_H_

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calls an N-API function; on failure throws (unless an exception is pending) and returns ret. */
#define NV_CALL(env, call, ret)           \
  do {                                    \
    if ((call) != napi_ok) {              \
      nv_throw_last_status(env);          \
      return ret;                         \
    }                                     \
  } while (0)

/* Throws an Error describing the last failed N-API call, unless an exception is already pending. */
void nv_throw_last_status(napi_env env);

/* Fetches exactly `want` arguments (missing ones are undefined) and optionally `this`. */
bool nv_get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, napi_value* this_arg);

/* Argument readers: each throws a TypeError/RangeError naming the argument and returns false on bad input. */
bool nv_arg_fd(napi_env env, napi_value value, const char* name, int* out);
bool nv_arg_u32(napi_env env, napi_value value, const char* name, uint32_t* out);
bool nv_arg_buffer(napi_env env, napi_value value, const char* name, void** data, size_t* length);

/* Result makers: return NULL (with an exception pending) if the value cannot be created. */
napi_value nv_number(napi_env env, double value);
/* rc when rc >= 0, else -errno: the usual shape of a syscall wrapper's return value. It reads errno,
 * so call it straight after the failed syscall, before anything that may clobber errno. */
napi_value nv_syscall_result(napi_env env, long rc);
/* Sets obj[name] = value; false with an exception pending on failure. */
bool nv_set_number(napi_env env, napi_value obj, const char* name, double value);

/* Adds a function property to the exports object. */
bool nv_export_function(napi_env env, napi_value exports, const char* name, napi_callback cb);

/* Registration, one per concern (see addon.c). */
bool nv_init_io(napi_env env, napi_value exports);
bool nv_init_poll(napi_env env, napi_value exports);
bool nv_init_vsock(napi_env env, napi_value exports);
bool nv_init_fdpass(napi_env env, napi_value exports);
bool nv_init_peercred(napi_env env, napi_value exports);

#endif /* NODE_VSOCK_COMMON_H_ */
