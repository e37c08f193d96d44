import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerdTypeUrl, codecs } from '@kata-ts/protocol/containerd';
import { applyAnnotations } from './annotations';
import { configToml, defaultConfig, parseConfig, type ShimConfig } from './config';
import { loadConfig, runtimeOptionsFrom } from './load';

describe('configuration', () => {
  it('reads Kata key names over the defaults', () => {
    const c = parseConfig(`
[hypervisor.qemu]
path = "/opt/qemu"
accel = "tcg"
default_vcpus = 2
default_memory = 1024
shared_fs = "virtio-fs"
virtio_fs_daemon = "/usr/libexec/virtiofsd"
kernel_params = "foo=1"
unknown_key = true
[agent.kata]
dial_timeout = 10
debug_console_enabled = true
[runtime]
create_container_timeout = 30
`, 'test.toml');
    expect(c.hypervisor).toMatchObject({ path: '/opt/qemu', accel: 'tcg', defaultVcpus: 2, defaultMemory: 1024, sharedFs: 'virtio-fs', kernelParams: 'foo=1' });
    expect(c.hypervisor.msize9p).toBe(defaultConfig().hypervisor.msize9p);
    expect(c.agent.dialTimeout).toBe(10);
    expect(c.agent.debugConsoleEnabled).toBe(true);
    expect(c.runtime.createContainerTimeout).toBe(30);
    expect(c.source).toBe('test.toml');
  });

  it('parses the shipped configuration template', async () => {
    const template = await fs.readFile(path.join(__dirname, '..', '..', 'config', 'configuration.toml.in'), 'utf8');
    const c = parseConfig(template.replace(/@QEMU@/g, '/usr/bin/qemu').replace(/@ASSETS@/g, '/a').replace(/@KERNEL@/g, 'vmlinux')
      .replace(/@INITRD@/g, '/a/initrd').replace(/@IMAGE@/g, '').replace(/@ROOTFS_TYPE@/g, 'erofs'), 'template');
    expect(c.hypervisor).toMatchObject({ path: '/usr/bin/qemu', kernel: '/a/vmlinux', initrd: '/a/initrd', accel: 'auto', sharedFs: 'virtio-9p' });
    expect(c.agent.healthCheckInterval).toBe(5);
    expect(c.agent.healthCheckTimeout).toBe(15);
    // The debug console is a root shell in every VM: only when asked for.
    expect(c.agent.debugConsoleEnabled).toBe(false);
    expect(c.runtime.stateDir).toBe('/run/kata-ts');
    expect(c.runtime.disableGuestSeccomp).toBe(false);
  });

  it('writes every setting back as TOML that parses to the same configuration', () => {
    const c: ShimConfig = {
      hypervisor: {
        path: '/q', kernel: '/k', initrd: '/i', image: '/img', rootfsType: 'ext4', machineType: 'q35', firmware: '/fw', accel: 'tcg',
        kernelParams: 'x=1', cpuFeatures: 'pmu=on', defaultVcpus: 2, defaultMaxVcpus: 4, defaultMemory: 1024, sharedFs: 'virtio-fs',
        virtioFsDaemon: '/v', virtioFsCache: 'never', virtioFsExtraArgs: ['-d'], msize9p: 8192, tcgTbSizeMiB: 64, reclaimGuestFreedMemory: true, entropySource: '/dev/random',
        enableDebug: true, enableAnnotations: ['.*'], validHypervisorPaths: ['/q'],
      },
      agent: { enableDebug: true, dialTimeout: 9, kernelModules: ['m'], healthCheckInterval: 0, healthCheckTimeout: 4, debugConsoleEnabled: true },
      runtime: { enableDebug: true, createContainerTimeout: 7, stateDir: '/s', disableGuestSeccomp: true },
      factory: { enableTemplate: false, templatePath: '/t', vmCacheNumber: 3, vmCacheEndpoint: '/x/cache.sock' },
      source: 'round trip',
    };
    const d = defaultConfig();
    // Every value differs from its default, so a key configToml forgets fails the comparison.
    for (const section of ['hypervisor', 'agent', 'runtime', 'factory'] as const) {
      for (const [key, value] of Object.entries(c[section])) {
        if (key !== 'machineType') expect([key, value]).not.toEqual([key, (d[section] as unknown as Record<string, unknown>)[key]]);
      }
    }
    expect(parseConfig(configToml(c), 'round trip')).toEqual(c);
  });

  it('names the key of a bad value', () => {
    expect(() => parseConfig('[hypervisor.qemu]\naccel = "xen"', 'f')).toThrow(/hypervisor.qemu.accel/);
    expect(() => parseConfig('[hypervisor.qemu]\ndefault_vcpus = "two"', 'f')).toThrow(/default_vcpus/);
    expect(() => parseConfig('[agent.kata]\ndebug_console_enabled = "yes"', 'f')).toThrow(/agent.kata.debug_console_enabled/);
    expect(() => parseConfig('[hypervisor.qemu', 'f')).toThrow(/^f:/);
  });

  it('looks the file up in the documented order', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-conf-'));
    const a = path.join(dir, 'a.toml');
    const b = path.join(dir, 'b.toml');
    await fs.writeFile(a, '[hypervisor.qemu]\ndefault_memory = 700');
    await fs.writeFile(b, '[hypervisor.qemu]\ndefault_memory = 800');
    expect((await loadConfig({ configPath: a }, { KATA_CONF_FILE: b })).hypervisor.defaultMemory).toBe(700);
    expect((await loadConfig({}, { KATA_CONF_FILE: b })).hypervisor.defaultMemory).toBe(800);
    expect((await loadConfig({ configBody: '[hypervisor.qemu]\ndefault_memory = 900' }, {})).hypervisor.defaultMemory).toBe(900);
    await expect(loadConfig({ configPath: path.join(dir, 'missing.toml') }, {})).rejects.toThrow(/does not exist/);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('takes config_path from runtimeoptions.v1.Options and ignores other option types', () => {
    const any = { type_url: ContainerdTypeUrl.RuntimeOptions, value: codecs.runtimeOptions.encode({ configPath: '/x.toml' }) };
    expect(runtimeOptionsFrom(any)).toEqual({ configPath: '/x.toml', configBody: undefined });
    expect(runtimeOptionsFrom({ type_url: 'containerd.runc.v1.Options', value: new Uint8Array(0) })).toEqual({});
    expect(runtimeOptionsFrom(undefined)).toEqual({});
  });

  it('applies only allow-listed annotations', () => {
    const base = defaultConfig();
    base.hypervisor.enableAnnotations = ['default_vcpus', 'kernel_.*', 'path'];
    base.hypervisor.validHypervisorPaths = ['/opt/ok-qemu'];
    const { config, rejected } = applyAnnotations(base, {
      'io.katacontainers.config.hypervisor.default_vcpus': '3',
      'io.katacontainers.config.hypervisor.default_memory': '4096',
      'io.katacontainers.config.hypervisor.kernel_params': 'x=1',
      'io.katacontainers.config.hypervisor.path': '/tmp/evil',
      'io.katacontainers.config.hypervisor.nonsense': '1',
      'unrelated': 'y',
    });
    expect(config.hypervisor.defaultVcpus).toBe(3);
    expect(config.hypervisor.defaultMemory).toBe(base.hypervisor.defaultMemory);
    expect(config.hypervisor.kernelParams).toBe('x=1');
    expect(config.hypervisor.path).toBe(base.hypervisor.path);
    expect(rejected.map((r) => r.key.split('.').pop())).toEqual(['default_memory', 'path', 'nonsense']);
    expect(base.hypervisor.defaultVcpus).toBe(1);
  });
});
