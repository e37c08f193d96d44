// Host-safe VsockSocket tests: argument checks, wrapping a connected descriptor, error mapping.
// Nothing here opens an AF_VSOCK connection (the machine's vsock peer is not ours); the connect
// path itself runs in the test VM (test/vm-loopback.mjs).
import { once } from 'node:events';
import { constants } from 'node:os';

import { native } from './native';
import { connectVsock, createConnection, VsockSocket } from './vsock-socket';

function socketPair(): [number, number] {
  const pair = native().socketPair();
  if (typeof pair === 'number') throw new Error(`socketpair failed: ${pair}`);
  return pair;
}

describe('VsockSocket', () => {
  it.each([
    [{ cid: -1, port: 1024 }, 'ERR_OUT_OF_RANGE'],
    [{ cid: 3, port: 2 ** 32 }, 'ERR_OUT_OF_RANGE'],
    [{ cid: 3, port: 1.5 }, 'ERR_OUT_OF_RANGE'],
    [{ cid: '3' as unknown as number, port: 1024 }, 'ERR_INVALID_ARG_TYPE'],
    [{ cid: 3, port: 1024, timeout: -5 }, 'ERR_OUT_OF_RANGE'],
  ])('rejects %p with %s before creating a socket', async (options, code) => {
    expect(() => createConnection(options)).toThrow(expect.objectContaining({ code }));
    await expect(connectVsock(options)).rejects.toMatchObject({ code });
  });

  it('wraps an already-connected descriptor given as fd', async () => {
    const [left, right] = socketPair();
    const a = new VsockSocket({ fd: left });
    const b = new VsockSocket({ fd: right });
    expect(a.pending).toBe(false);
    expect(a.connecting).toBe(false);
    // Not AF_VSOCK (a unix socketpair here), so there is no vsock address to report.
    expect(a.remoteAddress).toBeUndefined();
    expect(a.localAddress).toBeUndefined();
    a.end('hello');
    const [data] = (await once(b, 'data')) as [Buffer];
    expect(data.toString()).toBe('hello');
    a.destroy();
    b.destroy();
  });

  it('refuses connect() on a socket that is already connected', () => {
    const [left, right] = socketPair();
    const socket = new VsockSocket({ fd: left });
    expect(() => socket.connect({ cid: 3, port: 1024 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CONNECTED' }));
    socket.destroy();
    native().close(right);
  });

  it('reports a vsock connect reset as ECONNREFUSED, and other errors unchanged', () => {
    const socket = new VsockSocket();
    const map = (errno: number): number => (socket as unknown as { connectErrno(e: number): number }).connectErrno(errno);
    expect(map(-constants.errno.ECONNRESET)).toBe(-constants.errno.ECONNREFUSED);
    expect(map(-constants.errno.ETIMEDOUT)).toBe(-constants.errno.ETIMEDOUT);
    expect(map(-constants.errno.ENODEV)).toBe(-constants.errno.ENODEV);
  });

  it('has no descriptor before connect and after destroy', async () => {
    const socket = new VsockSocket();
    expect(socket.fd).toBe(-1);
    expect(socket.pending).toBe(true);
    socket.destroy();
    await once(socket, 'close');
    expect(socket.fd).toBe(-1);
  });
});
