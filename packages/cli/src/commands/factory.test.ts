import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TemplateProgress } from '@kata-ts/shim';
import { run } from '../cli';
import { Progress } from '../progress';
import { templateProgressView } from './factory';

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

  it('draws the template maker\'s progress as plain lines: one per phase, the save\'s percentage, the size and time', () => {
    let text = '';
    const view = templateProgressView(new Progress({ write: (t: string) => void (text += t), isTTY: false }, { prefix: 'factory init: ', plainDetailMs: 1_000, now: () => 0 }));
    const events: TemplateProgress[] = [
      { phase: 'booting', elapsedMs: 1 },
      { phase: 'kernel', elapsedMs: 210 },
      { phase: 'agent-up', elapsedMs: 6_840 },
      { phase: 'warming', elapsedMs: 6_841 },
      { phase: 'saving', elapsedMs: 7_350, transferredBytes: 0, totalBytes: 0, percent: 0 },
      { phase: 'saving', elapsedMs: 7_360, transferredBytes: 128_000, totalBytes: 532_480, percent: 24 },
      { phase: 'saving', elapsedMs: 7_370, transferredBytes: 209_920, totalBytes: 532_480, percent: 100 },
      { phase: 'saved', elapsedMs: 7_371 },
      { phase: 'done', elapsedMs: 7_400, made: true, key: 'k', dir: '/t/k', ramBytes: 512 * 1048576, diskBytes: 224 * 1048576 },
    ];
    for (const e of events) view(e);
    expect(text.split('\n')).toEqual([
      'factory init: [1/4] booting the VM cold',
      'factory init: [1/4] booting the VM cold: QEMU started at 0.2 s, the guest kernel is booting',
      'factory init: [2/4] agent up after 6.8 s, warming',
      "factory init: [3/4] saving the VM's state",
      "factory init: [3/4] saving the VM's state: 0%",
      // 24% came within plainDetailMs of 0%: skipped; 100% always shows.
      "factory init: [3/4] saving the VM's state: 100% (205 KiB written)",
      'factory init: [4/4] template made in 7.4 s: 512 MiB RAM file, 224 MiB on disk',
      '',
    ]);
    text = '';
    view({ phase: 'done', elapsedMs: 3, made: false, key: 'k', dir: '/t/k', ramBytes: 512 * 1048576, diskBytes: 1048576 });
    expect(text).toBe('factory init: template already made (512 MiB RAM file, 1.0 MiB on disk)\n');
  });

  it('draws no progress when there is nothing to make', async () => {
    let progress = '';
    const out = Object.assign(collect(), { progress: { write: (t: string) => void (progress += t), isTTY: true } });
    expect(await run(['factory', 'init', '--config', await config('enable_template = false\n')], out)).toBe(0);
    expect(out.text).toMatch(/templates are off/);
    expect(progress).toBe('');
  });
});
