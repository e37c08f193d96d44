// The I/O core of VsockSocket, exercised over AF_UNIX socketpairs: same syscalls, same libuv
// poll, no AF_VSOCK needed (the vsock round trip itself runs in the test VM, test/vm-loopback.mjs).
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:os';

import { FdSocket, type FdSocketOptions } from './fd-socket';
import { native } from './native';

function socketPair(left: FdSocketOptions = {}, right: FdSocketOptions = {}): [FdSocket, FdSocket] {
  const pair = native().socketPair();
  if (typeof pair === 'number') throw new Error(`socketpair failed: ${pair}`);
  return [new FdSocket({ ...left, fd: pair[0] }), new FdSocket({ ...right, fd: pair[1] })];
}

// Events rather than for-await: a finished async iterator destroys the stream, which would hide
// half-close behaviour.
function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Resolves once the stream has closed, including when it already has. */
const closed = (stream: FdSocket): Promise<unknown> => (stream.closed ? Promise.resolve() : once(stream, 'close'));

/** Drives the connect machinery without AF_VSOCK: a socketpair end stands in for a socket whose
 * non-blocking connect is in flight (it turns writable, SO_ERROR says 0: connected). */
class ConnectingSocket extends FdSocket {
  startConnecting(fd: number, timeoutMs?: number): this {
    this.attach(fd, 'connecting', 'test:peer');
    if (timeoutMs !== undefined) this.startConnectTimer(timeoutMs);
    return this;
  }
}

/** Fills a socket's send buffer so that it stops polling writable. */
function fillSendBuffer(fd: number): void {
  const chunk = Buffer.alloc(64 * 1024);
  while (native().send(fd, chunk) > 0);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const EBADF = -constants.errno.EBADF;

describe('FdSocket', () => {
  it('echoes 1 MiB intact through a peer with a tiny buffer (partial writes, EAGAIN, backpressure)', async () => {
    const [client, echo] = socketPair({}, { readableHighWaterMark: 1024, writableHighWaterMark: 1024 });
    echo.pipe(echo);
    const payload = randomBytes(1024 * 1024);
    const received = collect(client);
    client.end(payload);
    const data = await received;
    expect(data.length).toBe(payload.length);
    expect(sha256(data)).toBe(sha256(payload));
    expect(client.bytesWritten).toBe(payload.length);
    expect(echo.bytesRead).toBe(payload.length);
    await Promise.all([closed(client), closed(echo)]);
  });

  it('stops reading from the kernel while the consumer does not keep up', async () => {
    const [writer, reader] = socketPair({}, { readableHighWaterMark: 16 * 1024 });
    reader.pause();
    let blocked = false;
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 64 && !blocked; i++) blocked = !writer.write(chunk);
    expect(blocked).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // One read of at most 64 KiB may overshoot the high-water mark; nothing beyond.
    expect(reader.bytesRead).toBeLessThanOrEqual(16 * 1024 + 64 * 1024);
    const drained = once(writer, 'drain');
    reader.resume();
    await drained;
    writer.destroy();
    reader.destroy();
  });

  it('half-closes with end(): the peer sees EOF and can still answer', async () => {
    const [a, b] = socketPair({ allowHalfOpen: true }, { allowHalfOpen: true });
    const fromA = collect(b);
    a.end('question');
    expect((await fromA).toString()).toBe('question');
    const fromB = collect(a);
    b.end('answer');
    expect((await fromB).toString()).toBe('answer');
    await Promise.all([closed(a), closed(b)]);
  });

  it('ends its own side once the peer ends, unless allowHalfOpen', async () => {
    // Default: b sees EOF and ends its writable side by itself (nobody calls b.end()), so a reads EOF.
    const [a, b] = socketPair();
    const bEnded = once(b, 'end');
    const bFinished = once(b, 'finish');
    const aEnded = once(a, 'end');
    b.resume();
    a.resume();
    a.end();
    await bEnded;
    await bFinished;
    expect(b.writableEnded).toBe(true);
    await aEnded;
    await Promise.all([closed(a), closed(b)]);

    // allowHalfOpen: d sees EOF but keeps its writable side open until it ends it; c reads what d
    // writes after the EOF, and sees EOF only when d ends.
    const [c, d] = socketPair({}, { allowHalfOpen: true });
    const dEnded = once(d, 'end');
    let cEnded = false;
    c.once('end', () => (cEnded = true));
    const fromD = collect(c);
    d.resume();
    c.end();
    await dEnded;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(d.writableEnded).toBe(false);
    expect(d.writable).toBe(true);
    expect(cEnded).toBe(false);
    d.end('after your EOF');
    expect((await fromD).toString()).toBe('after your EOF');
    await Promise.all([closed(c), closed(d)]);
  });

  it('closes its descriptor on destroy and emits close exactly once', async () => {
    const [a, b] = socketPair();
    const fd = a.fd;
    let closes = 0;
    a.on('close', () => closes++);
    a.destroy();
    expect(native().read(fd, Buffer.alloc(1))).toBe(EBADF);
    expect(a.fd).toBe(-1);
    await once(a, 'close');
    a.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closes).toBe(1);
    b.destroy();
  });

  it('reports a write to a vanished peer as an errno error with a code', async () => {
    const [a, b] = socketPair();
    b.destroy();
    a.write(Buffer.alloc(1024));
    const [error] = (await once(a, 'error')) as [NodeJS.ErrnoException];
    expect(['EPIPE', 'ECONNRESET']).toContain(error.code);
    expect(error.syscall).toBe('write');
    expect(a.destroyed).toBe(true);
  });

  it('calls back a write still waiting for room when destroyed', async () => {
    const [a, b] = socketPair();
    const big = Buffer.alloc(8 * 1024 * 1024);
    const result = new Promise<Error | null | undefined>((resolve) => a.write(big, resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
    a.destroy();
    await expect(result).resolves.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    b.destroy();
  });

  it('refuses a descriptor that libuv already watches', async () => {
    const [a, b] = socketPair();
    a.resume();
    await new Promise((resolve) => setImmediate(resolve)); // reading, so the fd is in the loop
    expect(() => new FdSocket({ fd: a.fd })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    a.destroy();
    b.destroy();
  });

  it('queues writes and end() made before the connection is up, then flushes them in order', async () => {
    const [left, right] = native().socketPair() as [number, number];
    const socket = new ConnectingSocket();
    socket.write('early ');
    socket.end('bird');
    const events: string[] = [];
    socket.on('connect', () => events.push('connect')).on('ready', () => events.push('ready'));
    expect(socket.pending).toBe(true);
    socket.startConnecting(left);
    expect(socket.connecting).toBe(true);
    const peer = new FdSocket({ fd: right });
    const received = collect(peer);
    await once(socket, 'connect');
    expect(events).toEqual(['connect', 'ready']);
    expect(socket.connecting).toBe(false);
    expect((await received).toString()).toBe('early bird');
    socket.resume();
    await Promise.all([closed(socket), closed(peer)]);
  });

  it('fails a connect that does not complete in time with ETIMEDOUT', async () => {
    const [left, right] = native().socketPair() as [number, number];
    fillSendBuffer(left); // never writable: the "connect" never completes
    const socket = new ConnectingSocket().startConnecting(left, 30);
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error).toMatchObject({ code: 'ETIMEDOUT', syscall: 'connect', message: 'connect ETIMEDOUT test:peer' });
    expect(socket.fd).toBe(-1);
    native().close(right);
  });

  it('rejects a descriptor that is not a number', () => {
    expect(() => new FdSocket({ fd: -1 })).toThrow(RangeError);
  });
});
