// On the development host only listening sockets are created: never connect from here (the
// machine's vsock peer is not ours). The accept/connect round trip runs in the test VM
// (test/vm-loopback.mjs).
import { once } from 'node:events';

import { VMADDR_CID_ANY, VMADDR_PORT_ANY } from './constants';
import { native } from './native';
import { createServer, VsockServer } from './vsock-server';

/** Codes with which a machine without usable AF_VSOCK may refuse a listening socket. */
const UNAVAILABLE = ['EAFNOSUPPORT', 'ENODEV', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'ESOCKTNOSUPPORT'];

/** Listens on a kernel-chosen port; resolves with the error instead when vsock is unavailable. */
async function listenAnyPort(server: VsockServer): Promise<Error | undefined> {
  server.listen({ port: VMADDR_PORT_ANY, cid: VMADDR_CID_ANY });
  const outcome = await Promise.race([once(server, 'listening').then(() => undefined), once(server, 'error').then(([e]) => e as Error)]);
  return outcome;
}

describe('VsockServer (listen only)', () => {
  it('listens, reports the kernel-chosen port, and closes its descriptor, or fails with a clear errno error', async () => {
    const server = createServer();
    const error = await listenAnyPort(server);
    if (error) {
      // Not every machine has vsock; then the error must say why, Node-style.
      expect(error).toMatchObject({ syscall: expect.stringMatching(/^(socket|bind|listen)$/) });
      expect(UNAVAILABLE).toContain((error as NodeJS.ErrnoException).code);
      expect(server.listening).toBe(false);
      return;
    }
    expect(server.listening).toBe(true);
    const address = server.address()!;
    expect(address.cid).toBe(VMADDR_CID_ANY);
    expect(address.port).not.toBe(VMADDR_PORT_ANY);
    const fd = (server as unknown as { watcher: { fd: number } }).watcher.fd;
    const closed = new Promise<Error | undefined>((resolve) => server.close(resolve));
    expect(native().close(fd)).toBe(-9); // EBADF: close() released the descriptor at once
    await expect(closed).resolves.toBeUndefined();
    expect(server.address()).toBeNull();
  });

  it('reports EADDRINUSE for a port that is taken', async () => {
    const first = new VsockServer();
    if (await listenAnyPort(first)) return; // no vsock here: covered by the test above
    const second = new VsockServer();
    second.listen(first.address()!.port);
    const [error] = (await once(second, 'error')) as [NodeJS.ErrnoException];
    expect(error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
    expect(error.message).toMatch(/^bind EADDRINUSE vsock:4294967295:\d+$/);
    expect(second.listening).toBe(false);
    first.close();
    await once(first, 'close');
  });

  it('refuses a second listen() while listening', async () => {
    const server = new VsockServer();
    if (await listenAnyPort(server)) return;
    expect(() => server.listen(VMADDR_PORT_ANY)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }));
    server.close();
    await once(server, 'close');
  });

  it('lets unref() release the event loop (checked by not hanging jest)', async () => {
    const server = new VsockServer().unref();
    if (await listenAnyPort(server)) return;
    server.ref().unref();
    server.close();
    await once(server, 'close');
  });

  it('answers close() on a server that is not listening with ERR_SERVER_NOT_RUNNING', async () => {
    const error = await new Promise<Error | undefined>((resolve) => new VsockServer().close(resolve));
    expect(error).toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING' });
  });

  it('validates its arguments before touching the kernel', () => {
    expect(() => new VsockServer().listen(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new VsockServer().listen({ port: 1024, cid: 2 ** 32 })).toThrow(RangeError);
    expect(() => new VsockServer().listen({ port: 'x' as unknown as number })).toThrow(TypeError);
  });

  it('passes a connection listener given to createServer', () => {
    const listener = jest.fn();
    const server = createServer(listener);
    expect(server.listeners('connection')).toEqual([listener]);
  });
});
