/**
 * The bundled kata-ts command on this host: `check --json` (with the probe cache, never a forced
 * re-probe), `env` and `version`. With the image installed (scripts/install.sh) a pod can run here and
 * the accel choice follows the probe (KVM where a KVM guest booted, TCG otherwise); without it, check
 * exits 1 and names what failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PKG = path.resolve(__dirname, '..');
const INSTALLED_CONFIG = '/usr/share/defaults/kata-ts/configuration.toml';
let dir: string;
let cli: string;

function kataTs(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface CheckJson {
  ok: boolean;
  exitCode: number;
  checks: { name: string; status: string; reason: string; data?: Record<string, unknown> }[];
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-cli-itest-'));
  cli = path.join(dir, 'kata-ts.js');
  execFileSync(process.execPath, [path.join(PKG, 'scripts', 'bundle.mjs'), cli], { stdio: 'pipe' });
}, 15_000);
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/**
 * The accel a decision must have picked given its reason: what the configuration says, else KVM
 * exactly when the probe booted a KVM guest (shim hypervisor/accel.ts), TCG for every other reason.
 */
function expectedAccel(d: { configured: string; kvmDevice: boolean; reason?: string }): 'kvm' | 'tcg' {
  if (d.configured === 'kvm' || d.configured === 'tcg') return d.configured;
  return d.kvmDevice && d.reason === 'a KVM guest kernel booted' ? 'kvm' : 'tcg';
}

describe('kata-ts (bundled) on this host', () => {
  it('check --json reports every check and exits 0 exactly when nothing failed', () => {
    const r = kataTs('check', '--json');
    const report = JSON.parse(r.stdout) as CheckJson;
    expect(r.code).toBe(report.exitCode);
    expect(report.checks.map((c) => c.name)).toEqual(['config', 'qemu', 'accel', 'agent-channel', 'shared-fs', 'guest-image', 'image-manifest', 'shim', 'vm-templates']);
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
    if (existsSync(INSTALLED_CONFIG) && !process.env.KATA_CONF_FILE) {
      expect({ code: r.code, failed }).toEqual({ code: 0, failed: [] });
      const accel = report.checks.find((c) => c.name === 'accel')?.data as { configured: string; choice?: string; kvmDevice: boolean; reason?: string };
      expect(accel.choice).toBeDefined();
      expect(accel).toMatchObject({ choice: expectedAccel(accel) });
      expect(report.checks.find((c) => c.name === 'config')?.data).toMatchObject({ source: INSTALLED_CONFIG });
    } else {
      // Not installed: the built-in defaults point at a guest image that is not there.
      expect(r.code).toBe(1);
      expect(failed).toContain('guest-image');
    }
  });

  it('check prints one line per check and a verdict', () => {
    const r = kataTs('check');
    const lines = r.stdout.split('\n').filter((l) => /^(ok|warn|fail) /.test(l));
    expect(lines).toHaveLength(9);
    expect(r.stdout).toMatch(r.code === 0 ? /kata-ts can run pods on this host/ : /kata-ts cannot run pods on this host: .* failed/);
  });

  it('env prints the configuration and which file won; version prints the version', () => {
    const env = kataTs('env', '--json');
    expect(env.code).toBe(0);
    const doc = JSON.parse(env.stdout) as { source: string; lookup: { state: string }[]; config: { hypervisor: { qemu: { accel: string } } } };
    expect(doc.lookup.filter((e) => e.state === 'loaded')).toHaveLength(1);
    expect(['auto', 'kvm', 'tcg']).toContain(doc.config.hypervisor.qemu.accel);
    expect(kataTs('version').stdout).toMatch(/^kata-ts \d+\.\d+\.\d+ \(revision \w+/);
    const bad = kataTs('nonsense');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Unknown argument|Unknown command/);
  });
});

/** containerd on this host (scripts/install-deps.sh installs Debian's), to read back what deploy wrote. */
const containerd = spawnSync('containerd', ['--version'], { encoding: 'utf8' }).status === 0;

describe('kata-ts (bundled) deploy containerd, read back by containerd itself', () => {
  const runtimesIn = (config: string) => {
    // `config dump` loads the file as the daemon would (no daemon needed) and prints the merged configuration.
    const dump = execFileSync('containerd', ['--config', config, 'config', 'dump'], { encoding: 'utf8' });
    return [...dump.matchAll(/^\s*\[plugins\.(?:"io\.containerd\.grpc\.v1\.cri"|'io\.containerd\.cri\.v1\.runtime')\.containerd\.runtimes\.([\w-]+)\]$/gm)].map((m) => m[1]);
  };

  (containerd ? it : it.skip)('adds kata beside runc to `containerd config default` and to a file with no runtimes; undeploy restores the bytes', async () => {
    const defaults = path.join(dir, 'default.toml');
    const original = execFileSync('containerd', ['config', 'default'], { encoding: 'utf8' });
    await fs.writeFile(defaults, original);
    const bare = path.join(dir, 'bare.toml');
    await fs.writeFile(bare, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".cni]\n  conf_dir = "/etc/cni/net.d"\n');
    for (const config of [defaults, bare]) {
      const before = await fs.readFile(config, 'utf8');
      expect(kataTs('deploy', 'containerd', '--config', config, '--kata-config', INSTALLED_CONFIG).code).toBe(0);
      expect(runtimesIn(config).sort()).toEqual(['kata', 'runc']);
      const dump = execFileSync('containerd', ['--config', config, 'config', 'dump'], { encoding: 'utf8' });
      expect(dump).toContain('runtime_type = "io.containerd.kata.v2"');
      expect(dump).toContain(`ConfigPath = "${INSTALLED_CONFIG}"`);
      expect(kataTs('deploy', 'containerd', '--config', config, '--kata-config', INSTALLED_CONFIG).stdout).toContain('nothing changed');
      expect(kataTs('undeploy', 'containerd', '--config', config).code).toBe(0);
      expect(await fs.readFile(config, 'utf8')).toBe(before);
    }
  });
});
