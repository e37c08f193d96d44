/*
 * SO_PEERCRED: who is on the other end of a connected AF_UNIX socket (Node has no API for it).
 *
 *   peerCredentials(fd)  -> { pid, uid, gid } | -errno
 *
 * The kernel records the peer's credentials at connect()/socketpair() time, so the answer does not
 * change if the peer later drops privileges or passes the socket on.
 */
#include "common.h"

#include <errno.h>
#include <sys/socket.h>

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  struct ucred cred;
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0) return nv_syscall_result(env, -1);
  napi_value result;
  NV_CALL(env, napi_create_object(env, &result), NULL);
  if (!nv_set_number(env, result, "pid", cred.pid) || !nv_set_number(env, result, "uid", cred.uid) ||
      !nv_set_number(env, result, "gid", cred.gid))
    return NULL;
  return result;
}

bool nv_init_peercred(napi_env env, napi_value exports) {
  return nv_export_function(env, exports, "peerCredentials", peer_credentials);
}
