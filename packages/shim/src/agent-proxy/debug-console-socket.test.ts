import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { ConsoleFrameDecoder, encodeFrame, FrameType, GUEST_FRAMES } from '@kata-ts/protocol/debug-console';
import { silentLogger } from '../framework/logging';
import { serveDebugConsole, type DebugConsoleSocket } from './debug-console-socket';

/** A duplex pair: what the shim writes to `vm` comes out of `guest.written`, and `guest.say` reaches the shim. */
function vmPair(): { vm: Duplex; written: PassThrough; say: (b: Buffer) => void } {
  const toShim = new PassThrough();
  const written = new PassThrough();
  const vm = Duplex.from({ readable: toShim, writable: written });
  return { vm, written, say: (b) => toShim.write(b) };
}

function connect(p: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the socket sent until it closed. */
function readAll(s: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve) => s.once('close', () => resolve(Buffer.concat(chunks))));
}

describe('debug console socket', () => {
  let dir: string;
  let served: DebugConsoleSocket | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-console-'));
  });
  afterEach(async () => {
    await served?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('relays bytes both ways, one session at a time, as a 0600 socket', async () => {
    const pair = vmPair();
    let dials = 0;
    served = await serveDebugConsole(dir, async () => (dials++, pair.vm), silentLogger());
    expect((await fs.stat(served.path)).mode & 0o777).toBe(0o600);
    const client = await connect(served.path);
    const open = encodeFrame({ type: FrameType.OPEN, rows: 24, cols: 80 });
    client.write(open);
    const got = await new Promise<Buffer>((r) => pair.written.once('data', r));
    expect(got).toEqual(open);
    const reply = encodeFrame({ type: FrameType.OUTPUT, data: Buffer.from('# ') });
    pair.say(reply);
    expect(await new Promise<Buffer>((r) => client.once('data', r))).toEqual(reply);

    // A second client while the first is attached: refused with a frame saying why, the VM untouched.
    const second = await connect(served.path);
    const [refusal] = new ConsoleFrameDecoder(GUEST_FRAMES).push(await readAll(second));
    expect(refusal).toEqual({ type: FrameType.ERROR, message: expect.stringContaining('another kata-ts exec session') });
    expect(dials).toBe(1);

    // The client leaving ends the VM side too (the guest then kills its shell).
    const vmClosed = new Promise((r) => pair.vm.once('close', r));
    client.destroy();
    await vmClosed;
  });

  it('says so when the VM has no console port or cannot be reached', async () => {
    served = await serveDebugConsole(dir, async () => undefined, silentLogger());
    const [noPort] = new ConsoleFrameDecoder(GUEST_FRAMES).push(await readAll(await connect(served.path)));
    expect(noPort).toEqual({ type: FrameType.ERROR, message: 'this VM has no debug console port' });
    await served.close();
    served = await serveDebugConsole(dir, () => Promise.reject(new Error('ECONNREFUSED')), silentLogger());
    const [unreachable] = new ConsoleFrameDecoder(GUEST_FRAMES).push(await readAll(await connect(served.path)));
    expect(unreachable).toEqual({ type: FrameType.ERROR, message: expect.stringContaining('ECONNREFUSED') });
  });
});
