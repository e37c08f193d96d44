import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../cli';
import { CONTAINERD_V2, CONTAINERD_V3 } from '../deploy/test-configs';
import { getPath, parseToml, sameValue, withoutPath } from '../deploy/toml-tree';
import { deployCommand, type DeployArgs } from './deploy';

function collect() {
  const out = { text: '', err: '', write: (t: string) => void (out.text += t), error: (t: string) => void (out.err += t) };
  return out;
}

const V2_KATA = ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'kata'];

describe('kata-ts deploy / undeploy containerd', () => {
  let dir: string;
  let config: string;
  let kataConfig: string;
  const kataTs = async (...argv: string[]) => {
    const out = collect();
    const code = await run([...argv, '--kata-config', kataConfig], out);
    return { code, ...out };
  };
  const backups = async () => (await fs.readdir(dir)).filter((n) => n.endsWith('.bak'));
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-deploy-'));
    config = path.join(dir, 'config.toml');
    kataConfig = path.join(dir, 'configuration.toml');
    await fs.writeFile(kataConfig, '');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('adds the handler, keeps a backup and the mode, keeps every other setting, and a rerun changes nothing', async () => {
    await fs.writeFile(config, CONTAINERD_V2, { mode: 0o640 });
    const first = await kataTs('deploy', 'containerd', '--config', config);
    expect(first.code).toBe(0);
    expect(first.text).toContain(`kata-ts deploy containerd: added runtime handler "kata" to ${config}\n`);
    expect(first.text).toContain('next: restart containerd to load it: systemctl restart containerd\n');
    expect(first.err).toBe('');
    const written = await fs.readFile(config, 'utf8');
    expect((await fs.stat(config)).mode & 0o7777).toBe(0o640);
    expect(sameValue(withoutPath(parseToml(written), V2_KATA), withoutPath(parseToml(CONTAINERD_V2), V2_KATA))).toBe(true);
    expect(getPath(parseToml(written), [...V2_KATA, 'options', 'ConfigPath'])).toBe(kataConfig);
    const [backup] = await backups();
    expect(await fs.readFile(path.join(dir, backup as string), 'utf8')).toBe(CONTAINERD_V2);

    const again = await kataTs('deploy', 'containerd', '--config', config);
    expect(again.code).toBe(0);
    expect(again.text).toContain('already has runtime handler "kata" as kata-ts writes it: nothing changed');
    expect(again.text).not.toContain('next:');
    expect(await fs.readFile(config, 'utf8')).toBe(written);
    expect(await backups()).toHaveLength(1);
  });

  it('undeploy gives back the original bytes, then has nothing left to remove', async () => {
    await fs.writeFile(config, CONTAINERD_V3);
    expect((await kataTs('deploy', 'containerd', '--config', config)).code).toBe(0);
    const removed = await kataTs('undeploy', 'containerd', '--config', config);
    expect(removed.code).toBe(0);
    expect(removed.text).toContain(`removed runtime handler "kata" from ${config}`);
    expect(await fs.readFile(config, 'utf8')).toBe(CONTAINERD_V3);
    const again = await kataTs('undeploy', 'containerd', '--config', config);
    expect(again.text).toContain('has no runtime handler "kata": nothing changed');
    expect(await backups()).toHaveLength(2);
  });

  it('creates a missing file for the containerd version given, with the sandboxer asked for', async () => {
    const created = await kataTs('deploy', 'containerd', '--config', path.join(dir, 'etc', 'config.toml'), '--containerd-version', '2.1', '--sandboxer', 'shim');
    expect(created.code).toBe(0);
    expect(created.text).toContain('created ');
    const doc = parseToml(await fs.readFile(path.join(dir, 'etc', 'config.toml'), 'utf8'));
    expect(doc['version']).toBe(3n);
    expect(getPath(doc, ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes', 'kata', 'sandboxer'])).toBe('shim');
    expect(await backups()).toEqual([]);
  });

  it('--dry-run prints the diff and writes nothing', async () => {
    await fs.writeFile(config, CONTAINERD_V2);
    const dry = await kataTs('deploy', 'containerd', '--config', config, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.text).toContain('dry run, nothing written: would have added runtime handler "kata"');
    expect(dry.text).toContain('+[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n');
    expect(dry.text).not.toContain('next:');
    expect(await fs.readFile(config, 'utf8')).toBe(CONTAINERD_V2);
    expect(await fs.readdir(dir)).toEqual(['config.toml', 'configuration.toml']);
    const missing = await kataTs('deploy', 'containerd', '--config', path.join(dir, 'none.toml'), '--dry-run', '--containerd-version', '1.7');
    expect(missing.text).toContain('version = 2\n');
    expect(await fs.readdir(dir)).toEqual(['config.toml', 'configuration.toml']);
  });

  it.each([
    ['malformed TOML', 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\nx = 1\n', /is not valid TOML \(line 2/],
    ['an unknown version', 'version = 7\n[plugins]\n', /unknown config version 7/],
  ])('refuses %s with exit 1 and leaves the file byte for byte', async (_what, text, message) => {
    await fs.writeFile(config, text);
    for (const verb of ['deploy', 'undeploy']) {
      const r = await kataTs(verb, 'containerd', '--config', config);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^kata-ts ${verb} containerd: ${config.replace(/[.]/g, '\\.')}`));
      expect(r.err).toMatch(message);
    }
    expect(await fs.readFile(config, 'utf8')).toBe(text);
    expect(await backups()).toEqual([]);
  });

  it('refuses a directory in place of the file', async () => {
    await fs.mkdir(config);
    const r = await kataTs('deploy', 'containerd', '--config', config);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`kata-ts deploy containerd: cannot read ${config}: it is a directory, not a file; nothing was changed\n`);
  });

  it('refuses a handler name that RuntimeClass would not accept', async () => {
    const r = await kataTs('deploy', 'containerd', '--config', config, '--handler', 'Kata_QEMU');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--handler "Kata_QEMU" is not a RuntimeClass handler name/);
  });

  it('asks containerd for its version only when it needs to, and warns about a missing kata-ts configuration', async () => {
    const args: DeployArgs = { target: 'containerd', dryRun: true, config, sandboxer: 'podsandbox', crioDropinDir: dir, handler: 'kata', runtimePath: '/x' };
    const detectContainerd = jest.fn(async () => ({ major: 2, minor: 0, text: 'v2.0.0' }));
    const out = collect();
    expect(await deployCommand('deploy', args, out, { detectContainerd, exists: () => false, now: () => new Date() })).toBe(0);
    expect(out.text).toContain('containerd v2.0.0 is installed: config version 3');
    expect(out.err).toContain('/usr/share/defaults/kata-ts/configuration.toml does not exist');
    expect(detectContainerd).toHaveBeenCalledTimes(1);
  });
});

describe('kata-ts deploy / undeploy crio', () => {
  let dir: string;
  let dropins: string;
  const kataTs = async (...argv: string[]) => {
    const out = collect();
    const code = await run([...argv, '--crio-dropin-dir', dropins, '--kata-config', path.join(dir, 'configuration.toml'), '--runtime-path', process.execPath], out);
    return { code, ...out };
  };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-deploy-crio-'));
    dropins = path.join(dir, 'crio.conf.d');
    await fs.writeFile(path.join(dir, 'configuration.toml'), '');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes the drop-in (making the directory), does nothing the second time, and undeploy removes it', async () => {
    const first = await kataTs('deploy', 'crio');
    expect(first.code).toBe(0);
    expect(first.text).toContain(`wrote ${path.join(dropins, '50-kata-ts.toml')} with runtime handler "kata"`);
    expect(first.text).toContain('next: restart CRI-O to load it: systemctl restart crio');
    const file = path.join(dropins, '50-kata-ts.toml');
    const written = await fs.readFile(file, 'utf8');
    expect(getPath(parseToml(written), ['crio', 'runtime', 'runtimes', 'kata', 'runtime_path'])).toBe(process.execPath);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o644);
    expect((await kataTs('deploy', 'crio')).text).toContain('nothing changed');
    expect(await fs.readdir(dropins)).toEqual(['50-kata-ts.toml']);

    const removed = await kataTs('undeploy', 'crio');
    expect(removed.text).toContain(`removed ${file}`);
    expect(await fs.readdir(dropins)).toEqual([]);
    expect((await kataTs('undeploy', 'crio')).text).toContain('does not exist: nothing to remove');
  });

  it('--dry-run writes nothing; a later drop-in overriding ours gets a warning', async () => {
    await fs.mkdir(dropins);
    await fs.writeFile(path.join(dropins, '99-site.toml'), '[crio.runtime.runtimes.kata]\nruntime_type = "vm"\n');
    const dry = await kataTs('deploy', 'crio', '--dry-run');
    expect(dry.text).toContain('[crio.runtime.runtimes.kata]\nruntime_path = ');
    expect(dry.err).toMatch(/99-site\.toml also defines runtime handler "kata" and sorts after 50-kata-ts\.toml/);
    expect(await fs.readdir(dropins)).toEqual(['99-site.toml']);
  });

  it('refuses a directory where the drop-in file should be, for deploy and undeploy', async () => {
    await fs.mkdir(path.join(dropins, '50-kata-ts.toml'), { recursive: true });
    for (const verb of ['deploy', 'undeploy']) {
      const r = await kataTs(verb, 'crio');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/50-kata-ts\.toml: it is a directory, not a file/);
    }
  });
});

describe('deploy/runtimeclass-kata.yaml', () => {
  it('names the handler deploy writes by default, with a fixed overhead', async () => {
    const manifest = await fs.readFile(path.resolve(__dirname, '../../../../deploy/runtimeclass-kata.yaml'), 'utf8');
    expect(manifest).toMatch(/^apiVersion: node\.k8s\.io\/v1$/m);
    expect(manifest).toMatch(/^kind: RuntimeClass$/m);
    expect(manifest).toMatch(/^handler: kata$/m);
    expect(manifest).toMatch(/^ {4}memory: "\d+Mi"$/m);
    expect(manifest).toMatch(/^ {4}cpu: "\d+m"$/m);
  });
});
