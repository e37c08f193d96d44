// Waits for a descriptor that this package does not own to become readable or writable.
import { codedError, errnoError } from './errors';
import { FdWatcher } from './fd-watcher';
import { native } from './native';

/** Builds the error an aborted wait rejects with, shaped like Node's own AbortError. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(codedError('ABORT_ERR', 'The operation was aborted', { cause: signal.reason }), { name: 'AbortError' });
}

/**
 * Resolves once fd is ready (or has an error, which the caller's retried syscall then reports).
 * It polls a close-on-exec duplicate: libuv allows one watcher per descriptor number, and the
 * caller's fd may already be watched by libuv (a net.Socket's). Polling makes the open file
 * non-blocking, which the sockets this is used with already are.
 */
export function waitForFd(fd: number, event: 'readable' | 'writable', signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const b = native();
    const dup = b.dupCloexec(fd);
    if (dup < 0) {
      reject(errnoError(dup, 'dup'));
      return;
    }
    let watcher: FdWatcher;
    const finish = (): void => {
      watcher.close();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      finish();
      reject(abortError(signal!));
    };
    try {
      watcher = new FdWatcher(dup, () => {
        finish();
        resolve();
      });
    } catch (error) {
      b.close(dup);
      reject(error);
      return;
    }
    try {
      watcher.want(event === 'readable', event === 'writable');
    } catch (error) {
      finish();
      reject(error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
