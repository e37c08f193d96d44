// A character device (a virtio-serial port in the guest) opened non-blocking, read and written with
// single syscalls on the JS thread whenever libuv's poll says it is ready. Node's fs streams would
// send every read and write through the thread pool instead, and a virtio-serial port moves at most
// one 4 KiB buffer per read and 32 KiB per write: under TCG those pool round trips, not the bytes,
// set the channel's speed. The caller owns the policy (sessions, reconnection); this owns the fd.
import { closeSync, constants, openSync } from 'node:fs';
import { E, errnoError } from './errors';
import { FdWatcher } from './fd-watcher';
import { native } from './native';

/** What a read found: bytes (> 0), nothing for now ('again'), or no peer on the other side ('hangup'). */
export type CharDeviceRead = number | 'again' | 'hangup';

export class CharDevice {
  private readonly watcher: FdWatcher;
  private handler: (readable: boolean, writable: boolean) => void = () => undefined;

  private constructor(fd: number) {
    try {
      this.watcher = new FdWatcher(fd, (status, events) => {
        const b = native();
        // An error or hangup is reported as readable: the read that follows says what happened.
        if (status < 0) this.handler(true, false);
        else this.handler((events & (b.POLL_READABLE | b.POLL_DISCONNECT)) !== 0, (events & b.POLL_WRITABLE) !== 0);
      });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Opens `path` read-write and non-blocking (libuv adds O_CLOEXEC). */
  static open(path: string): CharDevice {
    return new CharDevice(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
  }

  /** Called when what `watch` asked for is ready. */
  onReady(handler: (readable: boolean, writable: boolean) => void): void {
    this.handler = handler;
  }

  /** Sets what to wait for; nothing is watched (and the loop is not held) when both are false. */
  watch(readable: boolean, writable: boolean): void {
    this.watcher.want(readable, writable);
  }

  /** One read into `buffer`. Errors other than EAGAIN throw. */
  read(buffer: Uint8Array): CharDeviceRead {
    const n = native().read(this.watcher.fd, buffer);
    if (n > 0) return n;
    if (n === 0) return 'hangup';
    if (n === E.AGAIN) return 'again';
    throw errnoError(n, 'read');
  }

  /** One write of (a prefix of) `data`: the bytes written, 0 when the device is full for now. */
  write(data: Uint8Array): number {
    const n = native().write(this.watcher.fd, data);
    if (n >= 0) return n;
    if (n === E.AGAIN) return 0;
    throw errnoError(n, 'write');
  }

  /** Stops watching and closes the descriptor. Idempotent. */
  close(): void {
    this.watcher.close();
  }
}
