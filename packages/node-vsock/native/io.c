/*
 * Plain descriptor operations on non-blocking sockets: read, send, write, shutdown, accept, listen,
 * SO_ERROR, close, dup, and socketpair/pipe (test fixtures and fd-passing helpers).
 *
 * Every call here is non-blocking by construction (O_NONBLOCK sockets or MSG_DONTWAIT), so it is
 * safe on the JS thread; readiness comes from the libuv poll handle in poll.c.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The three byte-moving calls differ only in the syscall. */
enum byte_op { OP_READ, OP_SEND, OP_WRITE };

static napi_value byte_io(napi_env env, napi_callback_info info, enum byte_op op) {
  napi_value argv[2];
  int fd;
  void* data;
  size_t length;
  if (!nv_get_args(env, info, 2, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_buffer(env, argv[1], "buffer", &data, &length))
    return NULL;
  ssize_t rc;
  do {
    switch (op) {
      case OP_READ: rc = read(fd, data, length); break;
      case OP_SEND: rc = send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT); break;
      default: rc = write(fd, data, length); break;
    }
  } while (rc < 0 && errno == EINTR);
  return nv_syscall_result(env, rc);
}

/* read(fd, buffer) -> bytes read (0 at EOF) | -errno */
static napi_value io_read(napi_env env, napi_callback_info info) { return byte_io(env, info, OP_READ); }

/* send(fd, buffer) -> bytes written (may be partial) | -errno. MSG_NOSIGNAL: a peer that went away
 * must show up as EPIPE on this socket, not as a process-wide SIGPIPE. */
static napi_value io_send(napi_env env, napi_callback_info info) { return byte_io(env, info, OP_SEND); }

/* write(fd, buffer) -> bytes written (may be partial) | -errno: for descriptors that are not sockets
 * (a character device opened O_NONBLOCK, such as a virtio-serial port). */
static napi_value io_write(napi_env env, napi_callback_info info) { return byte_io(env, info, OP_WRITE); }

/* shutdown(fd, how) -> 0 | -errno; how is SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2). */
static napi_value io_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t how;
  if (!nv_get_args(env, info, 2, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_u32(env, argv[1], "how", &how))
    return NULL;
  return nv_syscall_result(env, shutdown(fd, (int)how));
}

/* accept(fd) -> new fd (non-blocking, close-on-exec) | -errno (EAGAIN when nobody is waiting). */
static napi_value io_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  int rc;
  do rc = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (rc < 0 && errno == EINTR);
  return nv_syscall_result(env, rc);
}

/* listen(fd, backlog) -> 0 | -errno */
static napi_value io_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t backlog;
  if (!nv_get_args(env, info, 2, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd) ||
      !nv_arg_u32(env, argv[1], "backlog", &backlog))
    return NULL;
  return nv_syscall_result(env, listen(fd, backlog > 65535 ? 65535 : (int)backlog));
}

/* socketError(fd) -> 0 | -errno: the pending SO_ERROR, which is how a non-blocking connect reports
 * its outcome once the socket polls writable (or libuv reports POLLERR). */
static napi_value io_socket_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  int value = 0;
  socklen_t length = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) < 0) return nv_number(env, -errno);
  return nv_number(env, -value);
}

/* close(fd) -> 0 | -errno. EINTR is not retried: on Linux the descriptor is gone either way, and a
 * retry could close a descriptor another thread has just been given. */
static napi_value io_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  int rc = close(fd);
  if (rc < 0 && errno == EINTR) rc = 0;
  return nv_syscall_result(env, rc);
}

/* dupCloexec(fd) -> new fd | -errno. Used to poll a descriptor libuv already watches (a net.Socket's
 * fd): libuv allows one watcher per descriptor number, not per open file. */
static napi_value io_dup_cloexec(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!nv_get_args(env, info, 1, argv, NULL) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  return nv_syscall_result(env, fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

/* Returns [a, b] for a two-descriptor syscall result, or -errno. */
static napi_value fd_pair_result(napi_env env, int rc, const int fds[2]) {
  if (rc < 0) return nv_number(env, -errno);
  napi_value pair;
  napi_value a = NULL, b = NULL;
  if (napi_create_array_with_length(env, 2, &pair) != napi_ok || (a = nv_number(env, fds[0])) == NULL ||
      (b = nv_number(env, fds[1])) == NULL || napi_set_element(env, pair, 0, a) != napi_ok ||
      napi_set_element(env, pair, 1, b) != napi_ok) {
    /* The caller never sees these descriptors, so they must not outlive this call. */
    close(fds[0]);
    close(fds[1]);
    nv_throw_last_status(env);
    return NULL;
  }
  return pair;
}

/* socketPair() -> [fd, fd] | -errno: a connected AF_UNIX stream pair, non-blocking, close-on-exec. */
static napi_value io_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2] = {-1, -1};
  int rc = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
  return fd_pair_result(env, rc, fds);
}

/* pipe() -> [readFd, writeFd] | -errno, close-on-exec (blocking, like a shell pipe). */
static napi_value io_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2] = {-1, -1};
  int rc = pipe2(fds, O_CLOEXEC);
  return fd_pair_result(env, rc, fds);
}

bool nv_init_io(napi_env env, napi_value exports) {
  return nv_export_function(env, exports, "read", io_read) && nv_export_function(env, exports, "send", io_send) &&
         nv_export_function(env, exports, "write", io_write) &&
         nv_export_function(env, exports, "shutdown", io_shutdown) &&
         nv_export_function(env, exports, "accept", io_accept) &&
         nv_export_function(env, exports, "listen", io_listen) &&
         nv_export_function(env, exports, "socketError", io_socket_error) &&
         nv_export_function(env, exports, "close", io_close) &&
         nv_export_function(env, exports, "dupCloexec", io_dup_cloexec) &&
         nv_export_function(env, exports, "socketPair", io_socket_pair) &&
         nv_export_function(env, exports, "pipe", io_pipe);
}
