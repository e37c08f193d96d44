import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CharDevice } from './char-device';

// A FIFO opened read-write stands in for a virtio-serial port: same non-blocking read/write/poll paths.
describe('CharDevice', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'node-vsock-chardev-'));
    execFileSync('mkfifo', [path.join(dir, 'port')]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads nothing for now without blocking, then what was written once the poll says readable', async () => {
    const dev = CharDevice.open(path.join(dir, 'port'));
    try {
      const buf = Buffer.alloc(16);
      expect(dev.read(buf)).toBe('again');
      const readable = new Promise<void>((resolve) => dev.onReady((r) => r && resolve()));
      dev.watch(true, false);
      expect(dev.write(Buffer.from('hello'))).toBe(5);
      await readable;
      expect(dev.read(buf)).toBe(5);
      expect(buf.subarray(0, 5).toString()).toBe('hello');
      dev.watch(false, false);
    } finally {
      dev.close();
    }
  });

  it('writes only what fits and says so with 0 once the device is full', () => {
    const dev = CharDevice.open(path.join(dir, 'port'));
    try {
      const big = Buffer.alloc(1 << 20);
      let total = 0;
      for (;;) {
        const n = dev.write(big);
        if (n === 0) break;
        total += n;
      }
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(big.length);
    } finally {
      dev.close();
    }
  });

  it('refuses a path that does not exist', () => {
    expect(() => CharDevice.open(path.join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});
