import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { connectHybridVsock, HybridVsockError } from './hybrid-vsock';

/** A fake hybrid-vsock hypervisor socket: records each CONNECT line and answers with `reply`. */
interface FakeHybrid {
  path: string;
  requests: string[];
  close(): Promise<void>;
}

type Reply = (socket: net.Socket, request: string) => void;

async function fakeHybrid(reply: Reply): Promise<FakeHybrid> {
  const dir = mkdtempSync(path.join(tmpdir(), 'node-vsock-hybrid-'));
  const socketPath = path.join(dir, 'vsock.sock');
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => undefined);
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      socket.off('data', onData);
      const request = buffered.slice(0, newline);
      requests.push(request);
      reply(socket, request);
    };
    socket.on('data', onData);
  });
  server.listen(socketPath);
  await once(server, 'listening');
  return {
    path: socketPath,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads exactly n bytes from a socket that is handed over paused. */
async function readExactly(socket: net.Socket, n: number): Promise<string> {
  let data = Buffer.alloc(0);
  for await (const chunk of socket) {
    data = Buffer.concat([data, chunk as Buffer]);
    if (data.length >= n) break;
  }
  return data.subarray(0, n).toString();
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connectHybridVsock', () => {
  let fake: FakeHybrid | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('sends CONNECT <port> and hands back the socket after OK', async () => {
    fake = await fakeHybrid((socket) => {
      socket.write('OK 1073741824\n');
      socket.on('data', (chunk) => socket.write(chunk)); // then behave as the guest: echo
    });
    const socket = await connectHybridVsock({ path: fake.path, port: 1024 });
    expect(fake.requests).toEqual(['CONNECT 1024']);
    socket.write('ping');
    expect(await readExactly(socket, 4)).toBe('ping');
    socket.destroy();
  });

  it('keeps bytes that arrived in the same read as the OK line', async () => {
    fake = await fakeHybrid((socket) => socket.write('OK 5\nhello from the guest'));
    const socket = await connectHybridVsock({ path: fake.path, port: 5000 });
    expect(await readExactly(socket, 20)).toBe('hello from the guest');
    socket.destroy();
  });

  it('assembles an answer split across many reads', async () => {
    fake = await fakeHybrid(async (socket) => {
      for (const piece of ['O', 'K', ' 7', '7\r', '\nda', 'ta']) {
        socket.write(piece);
        await tick(5);
      }
    });
    const socket = await connectHybridVsock({ path: fake.path, port: 77 });
    expect(await readExactly(socket, 4)).toBe('data');
    socket.destroy();
  });

  it('rejects with the answer line when it does not start with OK', async () => {
    fake = await fakeHybrid((socket) => socket.end('FAILURE: no listener on port 1024\n'));
    const error = await connectHybridVsock({ path: fake.path, port: 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HybridVsockError);
    expect(error).toMatchObject({ code: 'ERR_HYBRID_VSOCK_HANDSHAKE', line: 'FAILURE: no listener on port 1024' });
    expect((error as Error).message).toContain('FAILURE: no listener on port 1024');
  });

  it('rejects when the hypervisor closes without answering', async () => {
    fake = await fakeHybrid((socket) => socket.end());
    await expect(connectHybridVsock({ path: fake.path, port: 1024 })).rejects.toMatchObject({
      code: 'ERR_HYBRID_VSOCK_HANDSHAKE',
      message: expect.stringContaining('closed before'),
    });
  });

  it('rejects an endless answer without a newline', async () => {
    fake = await fakeHybrid((socket) => socket.write('x'.repeat(4096)));
    await expect(connectHybridVsock({ path: fake.path, port: 1024 })).rejects.toMatchObject({
      code: 'ERR_HYBRID_VSOCK_HANDSHAKE',
      message: expect.stringContaining('without a newline'),
    });
  });

  it('times out with ETIMEDOUT when no answer comes', async () => {
    fake = await fakeHybrid(() => undefined);
    await expect(connectHybridVsock({ path: fake.path, port: 1024, timeout: 50 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('passes through the error of connecting to the unix socket', async () => {
    const missing = path.join(tmpdir(), `node-vsock-missing-${process.pid}.sock`);
    await expect(connectHybridVsock({ path: missing, port: 1024 })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a bad port before connecting', async () => {
    await expect(connectHybridVsock({ path: '/nonexistent', port: -1 })).rejects.toThrow(RangeError);
  });
});
