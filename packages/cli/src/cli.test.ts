import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '@kata-ts/shim';
import { run } from './cli';
import { manifestVersions } from './check/probe-tools';

function collect() {
  const out = { text: '', err: '', write: (t: string) => void (out.text += t), error: (t: string) => void (out.err += t) };
  return out;
}

describe('kata-ts env and version', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-cli-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('prints the effective configuration as TOML with the lookup order', async () => {
    const file = path.join(dir, 'c.toml');
    await fs.writeFile(file, '[hypervisor.qemu]\ndefault_memory = 777\n');
    const out = collect();
    expect(await run(['env', '--config', file], out)).toBe(0);
    expect(out.text).toContain(`#   1. runtime options config_path (${file}): loaded`);
    expect(out.text).toContain('#   6. built-in defaults: not reached');
    const printed = parseConfig(out.text, 'printed');
    expect(printed.hypervisor.defaultMemory).toBe(777);
    expect(printed.runtime.stateDir).toBe('/run/kata-ts');
  });

  it('prints JSON, and fails naming a missing file', async () => {
    const ok = collect();
    expect(await run(['env', '--json', '--config', path.join(dir, 'c.toml')], ok)).toBe(0);
    expect(JSON.parse(ok.text)).toMatchObject({ source: path.join(dir, 'c.toml'), config: { hypervisor: { qemu: { default_memory: 777 } } } });
    const bad = collect();
    expect(await run(['env', '--config', path.join(dir, 'missing.toml')], bad)).toBe(1);
    expect(bad.err).toMatch(/missing.toml .* does not exist/);
  });

  it('prints its version', async () => {
    const out = collect();
    expect(await run(['version', '--json'], out)).toBe(0);
    expect(JSON.parse(out.text)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });
});

describe('manifestVersions', () => {
  it('reads the versions of an images/out manifest and ignores what is absent', () => {
    const m = { kernel: { version: '6.1.0-56-amd64' }, default: { format: 'disk' }, packages: { crun: '1.8.1' }, rootfs: { node: { version: 'v20.20.2' }, agent: {} } };
    expect(manifestVersions(m)).toEqual({ kernel: '6.1.0-56-amd64', format: 'disk', crun: '1.8.1', node: 'v20.20.2' });
    expect(manifestVersions(null)).toEqual({});
  });
});
