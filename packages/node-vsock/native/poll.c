/*
 * Poll: a JS class around one libuv uv_poll_t, the bridge that lets sockets libuv cannot wrap
 * (AF_VSOCK: uv_guess_handle says UNKNOWN) be driven by the event loop instead of blocking calls.
 *
 *   new Poll(fd, callback(status, events))   takes ownership of fd on success
 *   start(events) -> 0 | -errno               (re)sets the event mask; callable repeatedly
 *   stop(), ref(), unref(), close()           close() stops polling, then closes fd
 *
 * Ownership rules that keep descriptors from leaking or being polled after close:
 * - libuv allows one poll handle per descriptor, so the Poll owns its fd and close() is the only
 *   way the fd gets closed; uv_close() runs first because it removes the fd from epoll at once,
 *   while closing a still-registered fd would leave a stale registration behind for any dup.
 * - While started, the JS object is held by a strong reference (like a net handle), so an active
 *   socket is not collected; once stopped it is weak, and a collected Poll closes its fd. The
 *   callback is therefore kept as a property of the Poll object, not behind a reference of its
 *   own: a strong reference to a closure that (through the socket) points back at the Poll would
 *   be a GC root keeping the whole cycle, and the fd, alive forever.
 * - An async cleanup hook closes the handle when the environment (e.g. a worker) shuts down, since
 *   Node refuses to close a loop that still has open handles.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  uv_poll_t handle;                         /* first member: the uv handle pointer is the struct pointer */
  napi_env env;
  napi_ref self;                            /* from napi_wrap: weak when idle, strong while started */
  napi_async_context async;                 /* keeps async_hooks / AsyncLocalStorage context per Poll */
  napi_async_cleanup_hook_handle cleanup;   /* NULL once the uv handle is closed */
  int fd;                                   /* -1 once closed */
  bool started;
  bool closing;                             /* uv_close() called */
  bool handle_closed;                       /* uv close callback ran */
  bool finalized;                           /* JS object collected */
} nv_poll;

static void poll_maybe_free(nv_poll* p) {
  if (p->handle_closed && p->finalized) free(p);
}

static void poll_on_closed(uv_handle_t* handle) {
  nv_poll* p = (nv_poll*)handle;
  p->handle_closed = true;
  if (p->cleanup != NULL) {
    napi_remove_async_cleanup_hook(p->cleanup);
    p->cleanup = NULL;
  }
  poll_maybe_free(p);
}

/* Marks the poll idle and lets the JS object become collectable again. */
static void poll_set_idle(nv_poll* p) {
  if (!p->started) return;
  p->started = false;
  if (!p->finalized) napi_reference_unref(p->env, p->self, NULL);
}

/* Stops polling, unregisters the fd (uv_close does so synchronously), then closes the fd. */
static void poll_close_handle(nv_poll* p) {
  if (p->closing) return;
  p->closing = true;
  uv_close((uv_handle_t*)&p->handle, poll_on_closed);
  if (p->fd >= 0) {
    close(p->fd);
    p->fd = -1;
  }
}

/* Name of the non-enumerable property holding the JS callback. */
#define CALLBACK_PROPERTY "onevent"

static void poll_on_event(uv_poll_t* handle, int status, int events) {
  nv_poll* p = (nv_poll*)handle;
  /* On POLLERR libuv stops the handle itself and reports UV_EBADF; mirror that in our state. */
  if (status < 0) poll_set_idle(p);
  if (p->closing) return;

  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self, callback, argv[2];
  /* While started the reference is strong, so self is always there; checked all the same. */
  if (napi_get_reference_value(env, p->self, &self) == napi_ok && self != NULL &&
      napi_get_named_property(env, self, CALLBACK_PROPERTY, &callback) == napi_ok &&
      napi_create_int32(env, status, &argv[0]) == napi_ok && napi_create_int32(env, events, &argv[1]) == napi_ok) {
    /* napi_make_callback (not napi_call_function) so that nextTick and microtask queues drain and
     * async context is restored, as for any other I/O callback. */
    napi_status rc = napi_make_callback(env, p->async, self, callback, 2, argv, NULL);
    if (rc == napi_pending_exception) {
      /* We are in a libuv callback with no JS caller to catch this: surface it as uncaught. */
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* Environment teardown: close the handle and tell Node when done (poll_on_closed). */
static void poll_on_env_cleanup(napi_async_cleanup_hook_handle hook, void* arg) {
  (void)hook;
  nv_poll* p = arg;
  /* No JS may run now; drop the started state without touching references (finalizers follow). */
  p->started = false;
  poll_close_handle(p);
}

static void poll_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  nv_poll* p = data;
  p->finalized = true;
  napi_delete_reference(env, p->self);
  napi_async_destroy(env, p->async);
  poll_close_handle(p); /* a collected Poll must not leak its fd */
  poll_maybe_free(p);
}

static nv_poll* poll_unwrap(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  napi_value self;
  nv_poll* p = NULL;
  if (!nv_get_args(env, info, want, argv, &self)) return NULL;
  NV_CALL(env, napi_unwrap(env, self, (void**)&p), NULL);
  return p;
}

static napi_value poll_new(napi_env env, napi_callback_info info) {
  napi_value argv[2], self;
  int fd;
  napi_valuetype type;
  if (!nv_get_args(env, info, 2, argv, &self) || !nv_arg_fd(env, argv[0], "fd", &fd)) return NULL;
  NV_CALL(env, napi_typeof(env, argv[1], &type), NULL);
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  uv_loop_t* loop;
  NV_CALL(env, napi_get_uv_event_loop(env, &loop), NULL);

  nv_poll* p = calloc(1, sizeof *p);
  if (p == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  p->env = env;
  p->fd = -1;
  /* uv_poll_init fails early (EEXIST: fd already watched, EPERM: not pollable), before the handle
   * is registered, so nothing needs closing then; the caller keeps the fd. */
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc != 0) {
    free(p);
    char message[96];
    snprintf(message, sizeof message, "uv_poll_init %s", uv_err_name(rc));
    napi_throw_error(env, uv_err_name(rc), message);
    return NULL;
  }
  p->fd = fd;
  p->handle.data = p;

  napi_value name;
  napi_property_descriptor callback = {CALLBACK_PROPERTY, NULL, NULL, NULL, NULL, argv[1], napi_default, NULL};
  if (napi_define_properties(env, self, 1, &callback) != napi_ok ||
      napi_create_string_utf8(env, "node-vsock:Poll", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &p->async) != napi_ok ||
      napi_add_async_cleanup_hook(env, poll_on_env_cleanup, p, &p->cleanup) != napi_ok ||
      napi_wrap(env, self, p, poll_finalize, NULL, &p->self) != napi_ok) {
    /* Construction failed half-way: undo by hand, the finalizer will never run. The fd stays with
     * the caller, as for an init failure. */
    if (p->async != NULL) napi_async_destroy(env, p->async);
    p->fd = -1;
    p->finalized = true;
    p->closing = true;
    uv_close((uv_handle_t*)&p->handle, poll_on_closed);
    nv_throw_last_status(env);
    return NULL;
  }
  return self;
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t events;
  nv_poll* p = poll_unwrap(env, info, 1, argv);
  if (p == NULL || !nv_arg_u32(env, argv[0], "events", &events)) return NULL;
  if (p->closing) return nv_number(env, UV_EBADF);
  if (events & ~(uint32_t)(UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "events has unknown bits");
    return NULL;
  }
  int rc = uv_poll_start(&p->handle, (int)events, poll_on_event);
  if (rc == 0 && !p->started) {
    p->started = true;
    napi_reference_ref(env, p->self, NULL);
  }
  return nv_number(env, rc);
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  nv_poll* p = poll_unwrap(env, info, 0, NULL);
  if (p == NULL) return NULL;
  if (!p->closing) uv_poll_stop(&p->handle);
  poll_set_idle(p);
  return NULL;
}

static napi_value poll_ref(napi_env env, napi_callback_info info) {
  nv_poll* p = poll_unwrap(env, info, 0, NULL);
  if (p != NULL && !p->closing) uv_ref((uv_handle_t*)&p->handle);
  return NULL;
}

static napi_value poll_unref(napi_env env, napi_callback_info info) {
  nv_poll* p = poll_unwrap(env, info, 0, NULL);
  if (p != NULL && !p->closing) uv_unref((uv_handle_t*)&p->handle);
  return NULL;
}

static napi_value poll_close(napi_env env, napi_callback_info info) {
  nv_poll* p = poll_unwrap(env, info, 0, NULL);
  if (p == NULL) return NULL;
  poll_set_idle(p);
  poll_close_handle(p);
  return NULL;
}

/* fd getter: -1 once closed, so JS never uses a number that may already belong to someone else. */
static napi_value poll_get_fd(napi_env env, napi_callback_info info) {
  nv_poll* p = poll_unwrap(env, info, 0, NULL);
  if (p == NULL) return NULL;
  return nv_number(env, p->fd);
}

bool nv_init_poll(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", NULL, poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, poll_stop, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, poll_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, poll_unref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, poll_close, NULL, NULL, NULL, napi_default, NULL},
      {"fd", NULL, NULL, poll_get_fd, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  NV_CALL(env,
          napi_define_class(env, "Poll", NAPI_AUTO_LENGTH, poll_new, NULL, sizeof methods / sizeof methods[0],
                            methods, &cls),
          false);
  NV_CALL(env, napi_set_named_property(env, exports, "Poll", cls), false);
  return nv_set_number(env, exports, "POLL_READABLE", UV_READABLE) &&
         nv_set_number(env, exports, "POLL_WRITABLE", UV_WRITABLE) &&
         nv_set_number(env, exports, "POLL_DISCONNECT", UV_DISCONNECT);
}
