import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../framework/logging';
import type { VmSpec } from './hypervisor';
import { templateKey, TemplateStore } from './template-store';

const spec: VmSpec = {
  sandboxId: 'a', dir: '/run/kata-ts/sbs/a/vm', accel: 'tcg', vcpus: 1, memoryMiB: 512, kernel: '/nonexistent/vmlinux',
  kernelParams: ['console=ttyS0'], agentChannel: { kind: 'virtio-serial', socketPath: '/run/kata-ts/sbs/a/vm/agent.sock' },
  share: { kind: 'virtio-9p', hostPath: '/run/kata-ts/sbs/a/shared', msize: 524288 }, cpuFeatures: '', entropySource: '/dev/urandom',
};

async function fakeMake(work: string): Promise<void> {
  await fs.writeFile(path.join(work, 'memory'), 'ram');
  await fs.writeFile(path.join(work, 'state'), 'devices');
  await fs.writeFile(path.join(work, 'agent.sock'), ''); // a leftover of the template VM
}

describe('templateKey', () => {
  it('ignores per-VM paths and names but not the VM shape', () => {
    const other = { ...spec, sandboxId: 'b', dir: '/x/vm', agentChannel: { kind: 'virtio-serial' as const, socketPath: '/x/a.sock' },
      share: { kind: 'virtio-9p' as const, hostPath: '/x/shared', msize: 524288 } };
    expect(templateKey(other, '/usr/bin/qemu')).toBe(templateKey(spec, '/usr/bin/qemu'));
    expect(templateKey({ ...spec, memoryMiB: 1024 }, '/usr/bin/qemu')).not.toBe(templateKey(spec, '/usr/bin/qemu'));
    expect(templateKey({ ...spec, kernelParams: ['console=ttyS0', 'agent.log=debug'] }, '/usr/bin/qemu')).not.toBe(templateKey(spec, '/usr/bin/qemu'));
    expect(templateKey(spec, '/other/qemu')).not.toBe(templateKey(spec, '/usr/bin/qemu'));
    expect(templateKey({ ...spec, hotplugPorts: 4 }, '/usr/bin/qemu')).not.toBe(templateKey(spec, '/usr/bin/qemu'));
    // A clone or pool VM of a template without the debug console's port would silently lack it.
    const withConsole = templateKey({ ...spec, consoleSocket: '/x/vm/console.sock' }, '/usr/bin/qemu');
    expect(withConsole).not.toBe(templateKey(spec, '/usr/bin/qemu'));
    expect(templateKey({ ...other, consoleSocket: '/y/vm/console.sock' }, '/usr/bin/qemu')).toBe(withConsole);
  });
});

describe('TemplateStore', () => {
  let root: string;
  beforeEach(async () => {
    root = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-tpl-')), 'templates');
  });
  afterEach(async () => {
    await fs.rm(path.dirname(root), { recursive: true, force: true });
  });

  it('makes a template once, even when two callers want it at the same time', async () => {
    const make = jest.fn(async (work: string) => {
      await new Promise((r) => setTimeout(r, 150));
      await fakeMake(work);
    });
    const key = 'a'.repeat(32);
    const waits: number[] = [];
    const [one, two] = await Promise.all([
      new TemplateStore(root, silentLogger()).obtain(key, make, 5_000, (pid) => waits.push(pid)),
      new TemplateStore(root, silentLogger()).obtain(key, make, 5_000, (pid) => waits.push(pid)),
    ]);
    expect(make).toHaveBeenCalledTimes(1);
    // The one that waited heard it once, with the maker's pid (this process).
    expect(waits).toEqual([process.pid]);
    expect(one).toEqual(two);
    expect(await fs.readFile(one.memory, 'utf8')).toBe('ram');
    expect(await fs.readFile(one.state, 'utf8')).toBe('devices');
    // Only the template's files are published; the maker's work directory and lock are gone.
    expect((await fs.readdir(one.dir)).sort()).toEqual(['memory', 'ready', 'state']);
    expect(await fs.readdir(root)).toEqual([key]);
    expect((await fs.stat(root)).mode & 0o777).toBe(0o700);
  });

  it('takes over the lock of a maker that died, and leaves nothing when making fails', async () => {
    const store = new TemplateStore(root, silentLogger());
    const key = 'b'.repeat(32);
    await fs.mkdir(root, { mode: 0o700 });
    await fs.writeFile(path.join(root, `${key}.lock`), '999999999'); // no such pid
    await expect(store.obtain(key, async () => {
      throw new Error('QEMU exploded');
    }, 1_000)).rejects.toThrow('QEMU exploded');
    expect(await fs.readdir(root)).toEqual([]);
    const files = await store.obtain(key, fakeMake, 1_000);
    expect(await fs.readFile(files.state, 'utf8')).toBe('devices');
  });

  it('gives up waiting for a live maker after the deadline', async () => {
    const key = 'c'.repeat(32);
    await fs.mkdir(root, { mode: 0o700 });
    await fs.writeFile(path.join(root, `${key}.lock`), String(process.pid));
    await expect(new TemplateStore(root, silentLogger()).obtain(key, fakeMake, 300)).rejects.toThrow(/timed out waiting for template/);
  });

  it('keeps one older template besides the new one', async () => {
    const store = new TemplateStore(root, silentLogger());
    for (const k of ['1', '2', '3']) {
      await store.obtain(k.repeat(32), fakeMake, 1_000);
      await new Promise((r) => setTimeout(r, 20)); // distinct last-use times
    }
    expect((await fs.readdir(root)).sort()).toEqual(['2'.repeat(32), '3'.repeat(32)]);
  });

  it('refuses a template directory others can write to', async () => {
    await fs.mkdir(root, { mode: 0o755 });
    await fs.chmod(root, 0o777);
    await expect(new TemplateStore(root, silentLogger()).obtain('d'.repeat(32), fakeMake, 1_000)).rejects.toThrow(/mode 0700/);
  });
});
