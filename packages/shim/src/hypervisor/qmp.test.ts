import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { restoreVmState, saveVmState } from './migration';
import { hotplugNics } from './nic-hotplug';
import { QmpClient, QmpError } from './qmp';

/** A QMP peer that answers from a script: command name -> reply (or a function of the arguments). */
function fakeQemu(sock: string, replies: Record<string, (args: unknown) => unknown>, log: string[]): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.write('{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: unknown };
        buf = buf.slice(nl + 1);
        log.push(req.arguments ? `${req.execute} ${JSON.stringify(req.arguments)}` : req.execute);
        const reply = replies[req.execute]?.(req.arguments);
        // An event in between must not be taken for the reply.
        s.write('{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}\n');
        s.write(`${JSON.stringify(reply ?? { error: { class: 'CommandNotFound', desc: `The command ${req.execute} has not been found` } })}\n`);
      }
    });
  });
  return new Promise((resolve) => server.listen(sock, () => resolve(server)));
}

describe('QmpClient and VM state migration', () => {
  let dir: string;
  let server: net.Server | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-qmp-'));
  });
  afterEach(async () => {
    server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('negotiates capabilities, matches replies in order, keeps events apart and reports errors', async () => {
    const log: string[] = [];
    const sock = path.join(dir, 'qmp.sock');
    // QEMU creates its socket a moment after it starts: connect retries meanwhile.
    const late = new Promise<net.Server>((r) => setTimeout(() => r(fakeQemu(sock, { qmp_capabilities: () => ({ return: {} }), 'query-status': () => ({ return: { status: 'running' } }) }, log)), 50));
    const qmp = await QmpClient.connect(sock, 2_000);
    server = await late;
    expect(await qmp.execute('query-status')).toEqual({ status: 'running' });
    await expect(qmp.execute('bogus')).rejects.toThrow(QmpError);
    await expect(qmp.execute('bogus')).rejects.toThrow(/CommandNotFound/);
    expect(qmp.events.map((e) => e.event)).toContain('RESUME');
    expect(log).toEqual(['qmp_capabilities', 'query-status', 'bogus', 'bogus']);
    qmp.close();
    await expect(qmp.execute('query-status')).rejects.toThrow(/closed/);
  });

  it('saves and restores device state with shared RAM left out of the stream', async () => {
    const log: string[] = [];
    let polls = 0;
    const sock = path.join(dir, 'qmp.sock');
    server = await fakeQemu(sock, {
      qmp_capabilities: () => ({ return: {} }),
      stop: () => ({ return: {} }),
      cont: () => ({ return: {} }),
      'migrate-set-capabilities': () => ({ return: {} }),
      migrate: () => ({ return: {} }),
      'migrate-incoming': () => ({ return: {} }),
      'query-migrate': () => {
        ++polls;
        return { return: polls % 3 === 0 ? { status: 'completed', ram: { transferred: 300, total: 500 } } : polls === 1 ? { status: 'setup' } : { status: 'active', ram: { transferred: 100, total: 500 } } };
      },
    }, log);
    const qmp = await QmpClient.connect(sock, 1_000);
    const progress: unknown[] = [];
    await saveVmState(qmp, '/run/t/state', 5_000, (p) => progress.push(p));
    // Every poll is heard, RAM figures as QEMU gave them (none yet during setup).
    expect(progress).toEqual([
      { status: 'setup', transferredBytes: 0, totalBytes: 0 },
      { status: 'active', transferredBytes: 100, totalBytes: 500 },
      { status: 'completed', transferredBytes: 300, totalBytes: 500 },
    ]);
    await restoreVmState(qmp, '/run/t/state', 5_000);
    const ignoreShared = 'migrate-set-capabilities {"capabilities":[{"capability":"x-ignore-shared","state":true}]}';
    expect(log.filter((l) => l !== 'query-migrate')).toEqual([
      'qmp_capabilities', 'stop', ignoreShared, 'migrate {"uri":"exec:cat > /run/t/state"}',
      ignoreShared, 'migrate-incoming {"uri":"exec:cat /run/t/state"}', 'cont',
    ]);
    // A path the shell would interpret never reaches QEMU.
    await expect(saveVmState(qmp, '/run/t/state; rm -rf /', 1_000)).rejects.toThrow(/unsafe path/);
    qmp.close();
  });

  it('fails a migration that QEMU reports as failed', async () => {
    const sock = path.join(dir, 'qmp.sock');
    server = await fakeQemu(sock, {
      qmp_capabilities: () => ({ return: {} }),
      'migrate-set-capabilities': () => ({ return: {} }),
      'migrate-incoming': () => ({ return: {} }),
      'query-migrate': () => ({ return: { status: 'failed', 'error-desc': 'Unknown savevm section' } }),
    }, []);
    const qmp = await QmpClient.connect(sock, 1_000);
    await expect(restoreVmState(qmp, '/run/t/state', 1_000)).rejects.toThrow(/migration failed: Unknown savevm section/);
    qmp.close();
  });
});

describe('NIC hot-plug into a clone', () => {
  it('adds each tap netdev and its virtio-net device on its own root port, refusing more NICs than ports', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-qmp-'));
    const log: string[] = [];
    const sock = path.join(dir, 'qmp.sock');
    const server = await fakeQemu(sock, { qmp_capabilities: () => ({ return: {} }), netdev_add: () => ({ return: {} }), device_add: () => ({ return: {} }) }, log);
    try {
      const qmp = await QmpClient.connect(sock, 1_000);
      const nics = [0, 1].map((i) => ({ id: `net${i}`, tap: `tap${i}_kata`, mac: `02:00:00:00:00:0${i}`, vhost: false, pciSlot: 0x10 + i }));
      await hotplugNics(qmp, nics, 4);
      expect(log.slice(1)).toEqual([
        'netdev_add {"type":"tap","id":"net0","ifname":"tap0_kata","script":"no","downscript":"no","vhost":false}',
        'device_add {"driver":"virtio-net-pci","netdev":"net0","mac":"02:00:00:00:00:00","bus":"hp0","id":"net0-nic","romfile":""}',
        'netdev_add {"type":"tap","id":"net1","ifname":"tap1_kata","script":"no","downscript":"no","vhost":false}',
        'device_add {"driver":"virtio-net-pci","netdev":"net1","mac":"02:00:00:00:00:01","bus":"hp1","id":"net1-nic","romfile":""}',
      ]);
      await expect(hotplugNics(qmp, nics, 1)).rejects.toThrow(/only 1 hot-plug ports/);
      qmp.close();
    } finally {
      server.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
