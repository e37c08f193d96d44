import { once } from 'node:events';
import { closeSync, mkdtempSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { errnoError } from './errors';
import { recvFds, sendFds } from './fd-passing';
import { native } from './native';

function pair(kind: 'socketPair' | 'pipe'): [number, number] {
  const result = native()[kind]();
  if (typeof result === 'number') throw errnoError(result, kind);
  return result;
}

/** Reads what is waiting in a (blocking) pipe. */
function readPipe(fd: number): string {
  const buffer = Buffer.alloc(256);
  return buffer.subarray(0, readSync(fd, buffer)).toString();
}

const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

/** FD_CLOEXEC as the kernel reports it in /proc/self/fdinfo (O_CLOEXEC in the octal flags). */
function isCloexec(fd: number): boolean {
  const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return (parseInt(flags![1]!, 8) & 0o2000000) !== 0;
}

describe('SCM_RIGHTS over raw descriptors', () => {
  it('passes a pipe read end that the receiver reads through', async () => {
    const [left, right] = pair('socketPair');
    const [pipeRead, pipeWrite] = pair('pipe');
    await sendFds(left, [pipeRead]);
    closeSync(pipeRead); // the receiver's copy is independent of ours
    const { data, fds } = await recvFds(right);
    expect(data).toEqual(Buffer.from([0]));
    expect(fds).toHaveLength(1);
    const received = fds[0]!;
    expect(isCloexec(received)).toBe(true);
    writeSync(pipeWrite, 'through the pipe');
    expect(readPipe(received)).toBe('through the pipe');
    for (const fd of [received, pipeWrite, left, right]) closeSync(fd);
  });

  it('passes several descriptors with custom data, and waits for a message that comes later', async () => {
    const [left, right] = pair('socketPair');
    const pipes = [pair('pipe'), pair('pipe')];
    const receiving = recvFds(right, { maxBytes: 16 });
    await new Promise((resolve) => setTimeout(resolve, 20)); // receiver is now polling (EAGAIN path)
    await sendFds(left, pipes.map(([r]) => r), Buffer.from('two'));
    const { data, fds } = await receiving;
    expect(data.toString()).toBe('two');
    expect(fds).toHaveLength(2);
    writeSync(pipes[1]![1], 'second');
    expect(readPipe(fds[1]!)).toBe('second');
    for (const fd of [...fds, ...pipes.flat(), left, right]) closeSync(fd);
  });

  it('closes everything and reports ERR_FDPASS_TRUNCATED when more descriptors arrive than allowed', async () => {
    const [left, right] = pair('socketPair');
    const [r, w] = pair('pipe');
    await sendFds(left, [r, r, r]);
    const before = openDescriptors();
    await expect(recvFds(right, { maxFds: 1 })).rejects.toMatchObject({ code: 'ERR_FDPASS_TRUNCATED' });
    expect(openDescriptors()).toBe(before); // the one that fitted was closed too
    for (const fd of [r, w, left, right]) closeSync(fd);
  });

  it('returns empty data and no descriptors at end of stream', async () => {
    const [left, right] = pair('socketPair');
    closeSync(left);
    await expect(recvFds(right)).resolves.toEqual({ data: Buffer.alloc(0), fds: [] });
    closeSync(right);
  });

  it('can be aborted while waiting', async () => {
    const [left, right] = pair('socketPair');
    const controller = new AbortController();
    const receiving = recvFds(right, { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(receiving).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    for (const fd of [left, right]) closeSync(fd);
  });

  it('rejects bad arguments', async () => {
    await expect(sendFds(0, [])).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(recvFds(0, { maxFds: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(recvFds(-1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });

  it('reports a send on a non-socket as an errno error', async () => {
    const [r, w] = pair('pipe');
    await expect(sendFds(w, [r])).rejects.toMatchObject({ code: 'ENOTSOCK', syscall: 'sendmsg' });
    for (const fd of [r, w]) closeSync(fd);
  });
});

describe('SCM_RIGHTS over net.Socket', () => {
  let dir: string;
  let server: net.Server;
  let socketPath: string;
  const sockets = new Set<net.Socket>();
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'node-vsock-fdpass-'));
    socketPath = path.join(dir, 'fds.sock');
    // pauseOnConnect: Node must not read the accepted socket before recvFds does.
    server = net.createServer({ pauseOnConnect: true }, (socket) => sockets.add(socket));
    server.listen(socketPath);
    await once(server, 'listening');
  });
  afterEach(async () => {
    for (const socket of sockets) socket.destroy(); // even when a test failed half-way
    sockets.clear();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function connectPair(): Promise<{ client: net.Socket; peer: net.Socket }> {
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(socketPath);
    sockets.add(client);
    await once(client, 'connect');
    const [peer] = await accepted;
    return { client, peer };
  }

  it('keeps order with data written through Node just before, and the pipe works across', async () => {
    const { client, peer } = await connectPair();
    const [pipeRead, pipeWrite] = pair('pipe');

    client.write('header:');
    await sendFds(client, [pipeRead], Buffer.from('!'));
    closeSync(pipeRead);

    // The kernel may return the plain bytes first; read until the descriptors arrive.
    let text = '';
    let fds: number[] = [];
    while (fds.length === 0) {
      const message = await recvFds(peer, { maxBytes: 64 });
      text += message.data.toString();
      fds = message.fds;
    }
    expect(text).toBe('header:!');
    writeSync(pipeWrite, 'via net.Socket');
    expect(readPipe(fds[0]!)).toBe('via net.Socket');

    // Afterwards the socket goes back to ordinary Node reading.
    client.write('after');
    peer.resume();
    const [chunk] = (await once(peer, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('after');
    for (const fd of [fds[0]!, pipeWrite]) closeSync(fd);
  });

  it('refuses to receive once Node has buffered data from the socket', async () => {
    const { client, peer } = await connectPair();
    client.write('early');
    peer.resume();
    peer.pause();
    await new Promise((resolve) => setTimeout(resolve, 20));
    peer.unshift(Buffer.from('x')); // make sure something is buffered whatever the timing
    await expect(recvFds(peer)).rejects.toMatchObject({ code: 'ERR_FDPASS_DATA_BUFFERED' });
  });

  it('refuses a socket without a descriptor', async () => {
    await expect(sendFds(new net.Socket(), [0])).rejects.toMatchObject({ code: 'ERR_FDPASS_NO_FD' });
  });
});
