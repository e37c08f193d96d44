import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { canConnect, listenShimSocket, socketAddress, socketPath } from './socket';

describe('shim socket', () => {
  it('hashes address/namespace/group like containerd (filepath.Join, sha256, hex)', () => {
    const expected = createHash('sha256').update('/run/containerd/containerd.sock/k8s.io/sandbox1').digest('hex');
    expect(socketAddress('/run/containerd/containerd.sock', 'k8s.io', 'sandbox1')).toBe(`unix:///run/containerd/s/${expected}`);
    // CRI-O passes an empty address: Join("", ns, id) = "ns/id".
    const crio = createHash('sha256').update('default/c1').digest('hex');
    expect(socketAddress('', 'default', 'c1', '/tmp/s')).toBe(`unix:///tmp/s/${crio}`);
    expect(socketPath('unix:///x/y')).toBe('/x/y');
  });

  it('listens in a 0700 directory with a 0600 socket, detects a live shim, replaces a stale socket', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-sock-'));
    const address = socketAddress('/a', 'ns', 'id', path.join(dir, 's'));
    const first = await listenShimSocket(address);
    expect(first.kind).toBe('listening');
    expect((await fs.stat(path.join(dir, 's'))).mode & 0o777).toBe(0o700);
    expect((await fs.stat(socketPath(address))).mode & 0o777).toBe(0o600);
    expect(await canConnect(socketPath(address))).toBe(true);
    expect((await listenShimSocket(address)).kind).toBe('in-use');
    // A socket file nobody serves is stale.
    const server = (first as { server: net.Server }).server;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThan(2);
    await new Promise<void>((r) => server.close(() => r()));
    await fs.writeFile(socketPath(address), '').catch(() => undefined);
    const again = await listenShimSocket(address);
    expect(again.kind).toBe('listening');
    await new Promise<void>((r) => (again as { server: net.Server }).server.close(() => r()));
    await fs.rm(dir, { recursive: true, force: true });
  });
});
