import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../cli';

function collect() {
  const out = { text: '', err: '', write: (t: string) => void (out.text += t), error: (t: string) => void (out.err += t) };
  return out;
}

describe('kata-ts factory', () => {
  let dir: string;
  let templates: string;
  const config = (extra: string) => {
    const file = path.join(dir, `c${Math.random().toString(16).slice(2)}.toml`);
    return fs.writeFile(file, `[factory]\ntemplate_path = ${JSON.stringify(templates)}\n${extra}`).then(() => file);
  };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-factory-'));
    templates = path.join(dir, 'templates');
    const ready = path.join(templates, 'a'.repeat(32));
    await fs.mkdir(ready, { recursive: true });
    await fs.writeFile(path.join(ready, 'memory'), Buffer.alloc(4096, 1));
    await fs.writeFile(path.join(ready, 'state'), 'x');
    await fs.writeFile(path.join(ready, 'ready'), JSON.stringify({ at: '2026-11-23T00:00:00.000Z' }));
    await fs.mkdir(path.join(templates, 'not-a-template'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('lists the ready templates and removes them (and only them) on destroy', async () => {
    const file = await config('');
    const status = collect();
    expect(await run(['factory', 'status', '--json', '--config', file], status)).toBe(0);
    expect(JSON.parse(status.text)).toMatchObject({ enabled: true, path: templates, ready: [{ key: 'a'.repeat(32), madeAt: '2026-11-23T00:00:00.000Z' }] });
    const destroy = collect();
    expect(await run(['factory', 'destroy', '--config', file], destroy)).toBe(0);
    expect(destroy.text).toBe(`removed 1 template(s) from ${templates}\n`);
    expect(await fs.readdir(templates)).toEqual(['not-a-template']);
  });

  it('makes nothing when templates are off or unusable, and says why', async () => {
    const off = collect();
    expect(await run(['factory', 'init', '--config', await config('enable_template = false\n')], off)).toBe(0);
    expect(off.text).toMatch(/templates are off/);
    const unusable = collect();
    const virtiofs = await config('[hypervisor.qemu]\nshared_fs = "virtio-fs"\nvirtio_fs_daemon = "/usr/lib/qemu/virtiofsd"\naccel = "tcg"\n');
    expect(await run(['factory', 'init', '--json', '--config', virtiofs], unusable)).toBe(0);
    expect(JSON.parse(unusable.text)).toEqual({ made: false, reason: expect.stringMatching(/virtio-fs/) });
  });
});
