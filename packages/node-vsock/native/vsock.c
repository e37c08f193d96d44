/*
 * AF_VSOCK sockets: create, connect (non-blocking), bind, connect timeout, addresses, local CID.
 *
 * Sockets are always created SOCK_NONBLOCK | SOCK_CLOEXEC: connect returns EINPROGRESS and the
 * outcome arrives through poll + SO_ERROR (io.c), accept never blocks, and no descriptor leaks
 * into child processes (the agent spawns crun, the shim spawns QEMU).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
/* After sys/socket.h, which it needs for sa_family_t. */
#include <linux/vm_sockets.h>

static void vsock_address(struct sockaddr_vm* address, uint32_t cid, uint32_t port) {
  memset(address, 0, sizeof *address);
  address->svm_family = AF_VSOCK;
  address->svm_cid = cid;
  address->svm_port = port;
}

/* Reads (fd, cid, port) arguments. */
static bool vsock_args(napi_env env, napi_callback_info info, int* fd, uint32_t* cid, uint32_t* port) {
  napi_value argv[3];
  return nv_get_args(env, info, 3, argv, NULL) && nv_arg_fd(env, argv[0], "fd", fd) &&
         nv_arg_u32(env, argv[1], "cid", cid) && nv_arg_u32(env, argv[2], "port", port);
}

/* vsockSocket() -> fd | -errno (EAFNOSUPPORT without vsock support in the kernel). */
static napi_value vsock_socket(napi_env env, napi_callback_info info) {
  (void)info;
  return nv_syscall_result(env, socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

/* vsockConnect(fd, cid, port) -> 0 | -EINPROGRESS | -errno (ENODEV: no transport for that CID). */
static napi_value vsock_connect(napi_env env, napi_callback_info info) {
  int fd;
  uint32_t cid, port;
  if (!vsock_args(env, info, &fd, &cid, &port)) return NULL;
  struct sockaddr_vm address;
  vsock_address(&address, cid, port);
  int rc = connect(fd, (struct sockaddr*)&address, sizeof address);
  /* An interrupted non-blocking connect carries on in the background, like EINPROGRESS. */
  if (rc < 0 && errno == EINTR) return nv_number(env, -EINPROGRESS);
  return nv_syscall_result(env, rc);
}

/* vsockBind(fd, cid, port) -> 0 | -errno */
static napi_value vsock_bind(napi_env env, napi_callback_info info) {
  int fd;
  uint32_t cid, port;
  if (!vsock_args(env, info, &fd, &cid, &port)) return NULL;
  struct sockaddr_vm address;
  vsock_address(&address, cid, port);
  return nv_syscall_result(env, bind(fd, (struct sockaddr*)&address, sizeof address));
}

/* vsockSetConnectTimeout(fd, ms) -> 0 | -errno. The kernel abandons a vsock connect after its own
 * timeout (2 s by default), whatever the socket's blocking mode, so a longer caller timeout must
 * be handed to the kernel too or it would never be reached. */
static napi_value vsock_set_connect_timeout(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t ms;
  if (!nv_get_args(env, info, 2, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_u32(env, argv[1], "ms", &ms))
    return NULL;
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  return nv_syscall_result(env, setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof tv));
}

/* {cid, port} for an address from getsockname/getpeername, or -errno. */
static napi_value vsock_name(napi_env env, napi_callback_info info, bool peer) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  struct sockaddr_vm address;
  socklen_t length = sizeof address;
  memset(&address, 0, sizeof address);
  int rc = peer ? getpeername(fd, (struct sockaddr*)&address, &length)
                : getsockname(fd, (struct sockaddr*)&address, &length);
  if (rc < 0) return nv_number(env, -errno);
  if (address.svm_family != AF_VSOCK) return nv_number(env, -EAFNOSUPPORT);
  napi_value result;
  NV_CALL(env, napi_create_object(env, &result), NULL);
  if (!nv_set_number(env, result, "cid", address.svm_cid) || !nv_set_number(env, result, "port", address.svm_port))
    return NULL;
  return result;
}

/* vsockLocalAddress(fd) -> {cid, port} | -errno */
static napi_value vsock_local_address(napi_env env, napi_callback_info info) {
  return vsock_name(env, info, false);
}

/* vsockRemoteAddress(fd) -> {cid, port} | -errno */
static napi_value vsock_remote_address(napi_env env, napi_callback_info info) {
  return vsock_name(env, info, true);
}

/* vsockLocalCid() -> cid | -errno, from the IOCTL_VM_SOCKETS_GET_LOCAL_CID ioctl on /dev/vsock.
 * Only reads an id; it opens no connection. */
static napi_value vsock_local_cid(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nv_number(env, -errno);
  unsigned int cid = 0;
  int rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
  int saved = errno;
  close(fd);
  return nv_number(env, rc < 0 ? -(double)saved : (double)cid);
}

bool nv_init_vsock(napi_env env, napi_value exports) {
  return nv_export_function(env, exports, "vsockSocket", vsock_socket) &&
         nv_export_function(env, exports, "vsockConnect", vsock_connect) &&
         nv_export_function(env, exports, "vsockBind", vsock_bind) &&
         nv_export_function(env, exports, "vsockSetConnectTimeout", vsock_set_connect_timeout) &&
         nv_export_function(env, exports, "vsockLocalAddress", vsock_local_address) &&
         nv_export_function(env, exports, "vsockRemoteAddress", vsock_remote_address) &&
         nv_export_function(env, exports, "vsockLocalCid", vsock_local_cid) &&
         nv_set_number(env, exports, "VMADDR_CID_ANY", VMADDR_CID_ANY) &&
         nv_set_number(env, exports, "VMADDR_CID_HYPERVISOR", VMADDR_CID_HYPERVISOR) &&
         nv_set_number(env, exports, "VMADDR_CID_LOCAL", VMADDR_CID_LOCAL) &&
         nv_set_number(env, exports, "VMADDR_CID_HOST", VMADDR_CID_HOST) &&
         nv_set_number(env, exports, "VMADDR_PORT_ANY", VMADDR_PORT_ANY);
}
