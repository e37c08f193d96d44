// On the development host only listening sockets are created: never connect from here (the
// machine's vsock peer is not ours). The accept/connect round trip runs in the test VM
// (test/vm-loopback.mjs).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { itNeeding } from '../../../e2e/harness/host-requirements';
import { VMADDR_CID_ANY, VMADDR_PORT_ANY } from './constants';
import { errnoError } from './errors';
import { native } from './native';
import { createServer, VsockServer } from './vsock-server';

/** Codes with which a machine without usable AF_VSOCK may refuse a listening socket. */
const UNAVAILABLE = ['EAFNOSUPPORT', 'ENODEV', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'ESOCKTNOSUPPORT'];

/**
 * Why this machine cannot listen on AF_VSOCK, or undefined when it can: decided at collection time
 * (socket, bind to any port, listen, close; nothing is connected), so that the tests which need a
 * listening socket are skipped by name, or fail where host tests are required.
 */
function vsockListenUnavailable(): string | undefined {
  const b = native();
  const fd = b.vsockSocket();
  if (fd < 0) return `no AF_VSOCK here (${errnoError(fd, 'socket').message})`;
  try {
    const bound = b.vsockBind(fd, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    if (bound < 0) return `no AF_VSOCK here (${errnoError(bound, 'bind').message})`;
    const listening = b.listen(fd, 1);
    if (listening < 0) return `no AF_VSOCK here (${errnoError(listening, 'listen').message})`;
    return undefined;
  } finally {
    b.close(fd);
  }
}

const noVsock = vsockListenUnavailable();

/** Listens on a kernel-chosen port; resolves with the error instead. */
async function listenAnyPort(server: VsockServer): Promise<Error | undefined> {
  server.listen({ port: VMADDR_PORT_ANY, cid: VMADDR_CID_ANY });
  const outcome = await Promise.race([once(server, 'listening').then(() => undefined), once(server, 'error').then(([e]) => e as Error)]);
  return outcome;
}

/** Listens on a kernel-chosen port, failing the test if it cannot (the gate said it can). */
async function listening(server: VsockServer): Promise<VsockServer> {
  const error = await listenAnyPort(server);
  if (error) throw error;
  return server;
}

/**
 * Runs a node process that listens with a VsockServer, then closes it from a timer that does not
 * itself hold the event loop. Its output says how far it got: a process that the server keeps alive
 * prints "closing"; one whose server lets go exits before that.
 */
async function childListening(setup: 'unref before listen, ref after' | 'ref, then unref after listen'): Promise<{ output: string; code: number | null }> {
  const before = setup === 'unref before listen, ref after' ? 'server.unref();' : 'server.ref();';
  const after = setup === 'unref before listen, ref after' ? 'server.ref();' : 'server.unref();';
  const script = `
    const { VsockServer } = require(${JSON.stringify(path.join(__dirname, 'vsock-server.ts'))});
    const server = new VsockServer();
    server.on('error', (e) => { console.error(e); process.exit(2); });
    ${before}
    server.listen({ port: ${VMADDR_PORT_ANY}, cid: ${VMADDR_CID_ANY} }, () => {
      ${after}
      process.stdout.write('listening\\n');
      setTimeout(() => { process.stdout.write('closing\\n'); server.close(); }, 1000).unref();
    });`;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(deadline);
  return { output, code };
}

describe('VsockServer (listen only)', () => {
  itNeeding(noVsock, 'listens, reports the kernel-chosen port, and closes its descriptor', async () => {
    const server = await listening(createServer());
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

  // The other side of the gate above: where vsock is missing, listen() must say why, Node-style.
  (noVsock ? it : it.skip)(`fails listen() with a clear errno error where AF_VSOCK is unavailable${noVsock ? '' : ' [skipped: AF_VSOCK works here]'}`, async () => {
    const server = createServer();
    const error = await listenAnyPort(server);
    expect(error).toMatchObject({ syscall: expect.stringMatching(/^(socket|bind|listen)$/) });
    expect(UNAVAILABLE).toContain((error as NodeJS.ErrnoException).code);
    expect(server.listening).toBe(false);
  });

  itNeeding(noVsock, 'reports EADDRINUSE for a port that is taken', async () => {
    const first = await listening(new VsockServer());
    const second = new VsockServer();
    second.listen(first.address()!.port);
    const [error] = (await once(second, 'error')) as [NodeJS.ErrnoException];
    expect(error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
    expect(error.message).toMatch(/^bind EADDRINUSE vsock:4294967295:\d+$/);
    expect(second.listening).toBe(false);
    first.close();
    await once(first, 'close');
  });

  itNeeding(noVsock, 'refuses a second listen() while listening', async () => {
    const server = await listening(new VsockServer());
    expect(() => server.listen(VMADDR_PORT_ANY)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }));
    server.close();
    await once(server, 'close');
  });

  // In a child process: whether a process exits by itself is the only observable of ref/unref.
  itNeeding(noVsock, 'lets unref() release the event loop, and ref() hold it again, before and after listen()', async () => {
    const unrefd = await childListening('ref, then unref after listen');
    expect(unrefd).toEqual({ output: 'listening\n', code: 0 });
    const refd = await childListening('unref before listen, ref after');
    expect(refd).toEqual({ output: 'listening\nclosing\n', code: 0 });
  }, 30_000);

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
