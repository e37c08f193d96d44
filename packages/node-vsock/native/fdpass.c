/*
 * SCM_RIGHTS descriptor passing over connected AF_UNIX stream sockets.
 *
 *   sendFds(fd, data, fds[])          -> bytes sent | -errno
 *   recvFds(fd, buffer, maxFds)       -> { bytes, fds[], truncated } | -errno
 *
 * Both use MSG_DONTWAIT, so they never block whatever the descriptor's mode (a caller may hand
 * in a raw, blocking fd); EAGAIN is for the caller to wait on (poll.c). Received descriptors are
 * close-on-exec from the start (MSG_CMSG_CLOEXEC), so a concurrent spawn cannot inherit them.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel's per-message limit (SCM_MAX_FD in include/net/scm.h). */
#define NV_MAX_FDS 253

/* Control buffer big enough for NV_MAX_FDS descriptors, aligned for struct cmsghdr. */
typedef union {
  struct cmsghdr align;
  char bytes[CMSG_SPACE(sizeof(int) * NV_MAX_FDS)];
} nv_control;

/* Reads a JS array of descriptors into fds; throws and returns -1 on bad input. */
static int read_fd_array(napi_env env, napi_value array, int* fds) {
  bool is_array = false;
  uint32_t count = 0;
  NV_CALL(env, napi_is_array(env, array, &is_array), -1);
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fds must be an array of descriptors");
    return -1;
  }
  NV_CALL(env, napi_get_array_length(env, array, &count), -1);
  if (count == 0 || count > NV_MAX_FDS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fds must hold 1 to 253 descriptors");
    return -1;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    NV_CALL(env, napi_get_element(env, array, i, &element), -1);
    if (!nv_arg_fd(env, element, "fds[i]", &fds[i])) return -1;
  }
  return (int)count;
}

static napi_value fdpass_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  void* data;
  size_t length;
  int fds[NV_MAX_FDS];
  if (!nv_get_args(env, info, 3, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_buffer(env, argv[1], "data", &data, &length))
    return NULL;
  /* A stream socket carries ancillary data only alongside at least one byte of real data. */
  if (length == 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "data must hold at least one byte");
    return NULL;
  }
  int count = read_fd_array(env, argv[2], fds);
  if (count < 0) return NULL;

  nv_control control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count)};
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
  memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)count);

  ssize_t rc;
  do rc = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (rc < 0 && errno == EINTR);
  return nv_syscall_result(env, rc);
}

static void close_all(const int* fds, size_t count) {
  for (size_t i = 0; i < count; i++) close(fds[i]);
}

/* Builds { bytes, fds, truncated }; on failure closes the descriptors, which nobody else holds. */
static napi_value recv_result(napi_env env, ssize_t bytes, const int* fds, size_t count, bool truncated) {
  napi_value result, array, flag;
  if (napi_create_object(env, &result) != napi_ok || !nv_set_number(env, result, "bytes", (double)bytes) ||
      napi_create_array_with_length(env, count, &array) != napi_ok ||
      napi_get_boolean(env, truncated, &flag) != napi_ok ||
      napi_set_named_property(env, result, "truncated", flag) != napi_ok)
    goto fail;
  for (size_t i = 0; i < count; i++) {
    napi_value number = nv_number(env, fds[i]);
    if (number == NULL || napi_set_element(env, array, (uint32_t)i, number) != napi_ok) goto fail;
  }
  if (napi_set_named_property(env, result, "fds", array) != napi_ok) goto fail;
  return result;
fail:
  close_all(fds, count);
  nv_throw_last_status(env);
  return NULL;
}

static napi_value fdpass_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  void* data;
  size_t length;
  uint32_t max_fds;
  if (!nv_get_args(env, info, 3, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_buffer(env, argv[1], "buffer", &data, &length) || !nv_arg_u32(env, argv[2], "maxFds", &max_fds))
    return NULL;
  if (length == 0 || max_fds == 0 || max_fds > NV_MAX_FDS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "buffer must be non-empty and maxFds in [1, 253]");
    return NULL;
  }

  nv_control control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * max_fds)};
  ssize_t rc;
  do rc = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return nv_number(env, -errno);

  /* Collect every SCM_RIGHTS block (a message may carry more than one, and other control types
   * such as credentials may sit beside them). */
  int fds[NV_MAX_FDS];
  size_t count = 0;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int received;
      memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof received);
      if (count < NV_MAX_FDS) fds[count++] = received;
      else close(received); /* cannot happen with our control buffer size; never leak regardless */
    }
  }
  /* MSG_CTRUNC: more descriptors were sent than fit; the kernel closed the excess. The caller
   * gets what did arrive so it can close them and report the truncation. */
  return recv_result(env, rc, fds, count, (msg.msg_flags & MSG_CTRUNC) != 0);
}

bool nv_init_fdpass(napi_env env, napi_value exports) {
  return nv_export_function(env, exports, "sendFds", fdpass_send) &&
         nv_export_function(env, exports, "recvFds", fdpass_recv) &&
         nv_set_number(env, exports, "MAX_FDS_PER_MESSAGE", NV_MAX_FDS);
}
