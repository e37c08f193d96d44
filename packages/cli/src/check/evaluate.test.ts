import { evaluate, exitCode, type Check } from './evaluate';
import type { HostFacts } from './facts';
import { formatJson, formatText } from './format';

/** A host where everything is in place and KVM is unusable (this project's CI machines). */
function facts(over: Partial<{ [K in keyof HostFacts]: Partial<HostFacts[K]> }> = {}): HostFacts {
  const base: HostFacts = {
    config: { source: '/etc/kata-ts/configuration.toml', lookup: [{ from: 'default path', path: '/etc/kata-ts/configuration.toml', state: 'loaded' }] },
    qemu: { path: '/usr/bin/qemu-system-x86_64', version: 'QEMU 7.2.22' },
    accel: {
      configured: 'auto', kvmDevice: true, cacheFile: '/run/kata-ts/accel-probe.json',
      decision: { accel: 'tcg', reason: 'KVM unusable: a KVM guest did not finish booting in 8000 ms', cached: true },
    },
    agentChannel: { kind: 'virtio-serial', vhostVsock: false },
    share: { configured: 'virtio-9p', kind: 'virtio-9p', daemon: '', daemonExists: false },
    image: { kernel: { path: '/k', exists: true }, initrd: { path: '/i', exists: true } },
    manifest: { path: '/m.json', versions: { kernel: '6.1.0', node: 'v20', crun: '1.8', agent: 'abcdef0123456789', format: 'disk' } },
    shim: { path: '/usr/local/bin/containerd-shim-kata-v2', version: '0.1.0, revision abc' },
    templates: { enabled: true, path: '/run/kata-ts/template', ready: [{ key: 'a'.repeat(32), madeAt: '2026-11-23T21:00:00.000Z', ramBytes: 150 * 1048576 }] },
  };
  const merged = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) merged[k] = { ...(base as unknown as Record<string, object>)[k], ...v };
  return merged as unknown as HostFacts;
}

const byName = (checks: Check[], name: string): Check => {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name}`);
  return c;
};

describe('kata-ts check verdicts', () => {
  it('passes a complete host that falls back to TCG, with a warning that says why and that the answer was cached', () => {
    const checks = evaluate(facts());
    expect(exitCode(checks)).toBe(0);
    expect(checks.map((c) => c.name)).toEqual(['config', 'qemu', 'accel', 'agent-channel', 'shared-fs', 'guest-image', 'image-manifest', 'shim', 'vm-templates']);
    const accel = byName(checks, 'accel');
    expect(accel).toMatchObject({ status: 'warn', data: { configured: 'auto', choice: 'tcg', cached: true } });
    expect(accel.reason).toMatch(/did not finish booting.*cached in \/run\/kata-ts\/accel-probe.json/);
    expect(checks.filter((c) => c.name !== 'accel').every((c) => c.status === 'ok')).toBe(true);
  });

  it('reports KVM as ok, and a forced accel as configured', () => {
    const kvm = byName(evaluate(facts({ accel: { decision: { accel: 'kvm', reason: 'a KVM guest kernel booted' } } })), 'accel');
    expect(kvm).toMatchObject({ status: 'ok', data: { choice: 'kvm', cached: false } });
    expect(kvm.reason).toMatch(/probed now/);
    const tcg = byName(evaluate(facts({ accel: { configured: 'tcg', decision: { accel: 'tcg', reason: 'accel = "tcg" in the configuration' } } })), 'accel');
    expect(tcg.status).toBe('ok');
  });

  it('fails accel = "kvm" without /dev/kvm', () => {
    const checks = evaluate(facts({ accel: { configured: 'kvm', kvmDevice: false, decision: { accel: 'kvm', reason: 'x' } } }));
    expect(byName(checks, 'accel').status).toBe('fail');
    expect(exitCode(checks)).toBe(1);
  });

  it('fails without QEMU, the guest image, the shim on PATH, or a loadable configuration', () => {
    const cases: [Partial<{ [K in keyof HostFacts]: Partial<HostFacts[K]> }>, string, RegExp][] = [
      [{ qemu: { version: undefined, error: 'not found' } }, 'qemu', /not found/],
      [{ image: { kernel: { path: '/k', exists: false } } }, 'guest-image', /missing: kernel \/k/],
      [{ shim: { path: undefined, version: undefined } }, 'shim', /not on PATH/],
      [{ config: { error: 'configuration /x (from KATA_CONF_FILE) does not exist' } }, 'config', /does not exist/],
      [{ share: { configured: 'virtio-fs', kind: 'virtio-fs', daemon: '/v', daemonExists: false } }, 'shared-fs', /\/v does not exist/],
    ];
    for (const [over, name, reason] of cases) {
      const checks = evaluate(facts(over));
      expect(exitCode(checks)).toBe(1);
      expect(byName(checks, name)).toMatchObject({ status: 'fail', reason: expect.stringMatching(reason) });
      expect(checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([name]);
    }
  });

  it('warns without failing: built-in defaults, no manifest, 9p in place of an unset virtio-fs daemon, accel not probed', () => {
    const checks = evaluate(facts({
      config: { source: 'built-in defaults' },
      manifest: { versions: undefined, error: 'missing' },
      share: { configured: 'virtio-fs', kind: 'virtio-9p', daemon: '' },
      accel: { decision: undefined, skipped: 'the guest kernel /k is missing' },
    }));
    expect(exitCode(checks)).toBe(0);
    for (const name of ['config', 'image-manifest', 'shared-fs', 'accel']) expect(byName(checks, name).status).toBe('warn');
    expect(byName(checks, 'accel').reason).toMatch(/not probed: the guest kernel/);
  });

  it('names vhost-vsock when the host has it', () => {
    const c = byName(evaluate(facts({ agentChannel: { kind: 'vsock', vhostVsock: true } })), 'agent-channel');
    expect(c.reason).toMatch(/^vhost-vsock/);
  });
});

describe('kata-ts check output', () => {
  it('prints one line per check, the lookup order and a verdict', () => {
    const text = formatText(evaluate(facts({ shim: { path: undefined } })));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ok {4}config {10}loaded \/etc\/kata-ts\/configuration.toml$/);
    expect(lines.filter((l) => /^(ok|warn|fail) /.test(l))).toHaveLength(9);
    expect(text).toContain('1. /etc/kata-ts/configuration.toml: loaded');
    expect(text.trimEnd().split('\n').pop()).toBe('kata-ts cannot run pods on this host: shim failed');
  });

  it('prints JSON with the exit code and every check', () => {
    const doc = JSON.parse(formatJson(evaluate(facts())));
    expect(doc).toMatchObject({ ok: true, exitCode: 0 });
    expect(doc.checks).toHaveLength(9);
  });

  it('says whether sandboxes start from VM templates, and why not', () => {
    expect(byName(evaluate(facts()), 'vm-templates')).toMatchObject({ status: 'ok', reason: expect.stringMatching(/^on: .*1 ready in \/run\/kata-ts\/template \(150 MiB/) });
    expect(byName(evaluate(facts({ templates: { ready: [] } })), 'vm-templates').reason).toMatch(/none made yet/);
    expect(byName(evaluate(facts({ templates: { enabled: false } })), 'vm-templates')).toMatchObject({ status: 'ok', reason: expect.stringMatching(/^off/) });
    expect(byName(evaluate(facts({ templates: { unusable: 'the agent channel is vsock' } })), 'vm-templates'))
      .toMatchObject({ status: 'warn', reason: expect.stringMatching(/unused .*vsock/) });
  });
});
