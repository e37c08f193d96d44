import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Server, createServiceClient } from 'ttrpc-ts';
import { TaskService } from '@kata-ts/protocol/containerd';
import { silentLogger } from './logging';
import { sameUserOnly } from './peer-check';
import { itNeeding, rootSkipReason } from '../../../../e2e/harness/host-requirements';

describe('sameUserOnly', () => {
  let dir: string;
  let server: Server;
  const warnings: string[] = [];

  beforeEach(async () => {
    warnings.length = 0;
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-peer-'));
    const log = silentLogger();
    log.warn = ((_obj: unknown, msg?: string) => void warnings.push(msg ?? '')) as typeof log.warn;
    server = new Server({ accept: sameUserOnly(log) }).register(TaskService, { connect: () => ({ shimPid: process.pid }) });
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(path.join(dir, 'shim.sock'), resolve));
    await server.listenOn(listener);
  });

  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a peer with the same uid and gid', async () => {
    const client = await Client.connect(path.join(dir, 'shim.sock'));
    expect(await createServiceClient(client, TaskService).connect({ id: 'x' })).toMatchObject({ shimPid: process.pid });
    client.close();
    expect(warnings).toEqual([]);
  });

  // Needs root to run the peer as another user: skipped by name elsewhere, a failure where host tests are required.
  itNeeding(rootSkipReason(), 'closes the connection of another user', async () => {
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'shim.sock'), 0o777);
    const script = `const s = require('net').connect(${JSON.stringify(path.join(dir, 'shim.sock'))});
      s.on('error', () => undefined);
      s.on('connect', () => s.write(Buffer.alloc(10)));
      s.on('close', () => process.stdout.write('closed', () => process.exit(0)));
      setTimeout(() => process.exit(1), 4000);`;
    const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(out).toBe('closed');
    expect(warnings).toEqual(['connection from another user refused']);
  });
});
