/* Module registration: each file contributes its functions and constants to one exports object. */
#include "common.h"

NAPI_MODULE_INIT() {
  if (!nv_init_io(env, exports) || !nv_init_poll(env, exports) || !nv_init_vsock(env, exports) ||
      !nv_init_fdpass(env, exports) || !nv_init_peercred(env, exports))
    return NULL;
  return exports;
}
