import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { native } from './native';
import { isSameUser, peerCredentials } from './peer-credentials';
import { itNeeding, rootSkipReason } from '../../../e2e/harness/host-requirements';

describe('peerCredentials (SO_PEERCRED)', () => {
  let dir: string;
  let server: net.Server;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'node-vsock-peercred-'));
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A unix socket server; resolves with the server side of one connection from this process. */
  const accepted = async (): Promise<{ serverSide: net.Socket; client: net.Socket }> => {
    const sock = path.join(dir, 's.sock');
    const got = new Promise<net.Socket>((resolve) => {
      server = net.createServer((s) => resolve(s));
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const client = net.connect(sock);
    await new Promise((resolve) => client.once('connect', resolve));
    return { serverSide: await got, client };
  };

  it('names this process as the peer of a connection it made, on both ends', async () => {
    const { serverSide, client } = await accepted();
    const expected = { pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() };
    expect(peerCredentials(serverSide)).toEqual(expected);
    expect(peerCredentials(client)).toEqual(expected);
    expect(isSameUser(serverSide)).toBe(true);
    client.destroy();
    serverSide.destroy();
  });

  it('works on a raw descriptor of a socketpair', () => {
    const pair = native().socketPair();
    if (typeof pair === 'number') throw new Error(`socketpair failed: ${pair}`);
    try {
      expect(peerCredentials(pair[0])).toMatchObject({ pid: process.pid, uid: process.geteuid!() });
    } finally {
      for (const fd of pair) native().close(fd);
    }
  });

  it('fails with ENOTSOCK on a pipe and with a coded error on a closed socket', async () => {
    const pipe = native().pipe();
    if (typeof pipe === 'number') throw new Error(`pipe failed: ${pipe}`);
    try {
      expect(() => peerCredentials(pipe[0])).toThrow(expect.objectContaining({ code: 'ENOTSOCK', syscall: 'getsockopt(SO_PEERCRED)' }));
    } finally {
      for (const fd of pipe) native().close(fd);
    }
    const { serverSide, client } = await accepted();
    client.destroy();
    serverSide.destroy();
    expect(() => peerCredentials(serverSide)).toThrow(expect.objectContaining({ code: 'ERR_PEERCRED_NO_FD' }));
  });

  // Needs root to run the peer as another user: skipped by name elsewhere, a failure where host tests are required.
  itNeeding(rootSkipReason(), 'reports a peer of another user as such', async () => {
    const sock = path.join(dir, 'other.sock');
    const got = new Promise<net.Socket>((resolve) => {
      server = net.createServer((s) => resolve(s));
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    chmodSync(dir, 0o755);
    chmodSync(sock, 0o777);
    const child = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(sock)}).on('connect', () => setTimeout(() => process.exit(0), 500))`], { uid: 65534, gid: 65534, stdio: 'ignore' });
    const serverSide = await got;
    expect(peerCredentials(serverSide)).toEqual({ pid: child.pid, uid: 65534, gid: 65534 });
    expect(isSameUser(serverSide)).toBe(false);
    serverSide.destroy();
    await new Promise((resolve) => child.once('exit', resolve));
  });

  it('rejects a descriptor that is not a non-negative integer', () => {
    expect(() => peerCredentials(-1)).toThrow(expect.objectContaining({ code: 'ERR_PEERCRED_NO_FD' }));
  });
});
