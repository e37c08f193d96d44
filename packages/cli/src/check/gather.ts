/**
 * Collects the host facts with the shim's own code: its configuration lookup, its agent-channel and
 * share choices, and its accel probe with the probe's cache.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import {
  buildVmSpec, chooseAccel, chooseAgentChannel, kvmUsable, shareDevice, templateIneligibility, vmSizing, type ShimConfig,
} from '@kata-ts/shim';
import type { LoadedConfig } from '../config-lookup';
import type { HostFacts, PathFact } from './facts';
import { isExecutable, manifestVersions, outputLines, which } from './probe-tools';

export const SHIM_BINARY = 'containerd-shim-kata-v2';

export interface GatherOptions {
  /** Probe KVM again instead of trusting the cache (--no-cache). */
  refresh: boolean;
}

const pathFact = (file: string): PathFact => ({ path: file, exists: existsSync(file) });
const message = (err: unknown): string => (err as Error).message;

async function qemuFacts(qemu: string): Promise<HostFacts['qemu']> {
  try {
    const [line = ''] = await outputLines(qemu, ['-version']);
    return { path: qemu, version: line.replace(/^QEMU emulator version /, 'QEMU ') };
  } catch (err) {
    return { path: qemu, error: message(err) };
  }
}

async function accelFacts(config: ShimConfig, options: GatherOptions): Promise<HostFacts['accel']> {
  const h = config.hypervisor;
  const base = { configured: h.accel, kvmDevice: await kvmUsable(), cacheFile: path.join(config.runtime.stateDir, 'accel-probe.json') };
  // Probing without a kernel would cache "KVM unusable" for a reason that has nothing to do with KVM.
  if (h.accel === 'auto' && base.kvmDevice && !(await isExecutable(h.path))) return { ...base, skipped: `${h.path} is not executable` };
  if (h.accel === 'auto' && base.kvmDevice && !existsSync(h.kernel)) return { ...base, skipped: `the guest kernel ${h.kernel} is missing` };
  try {
    const decision = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir, refresh: options.refresh });
    return { ...base, decision };
  } catch (err) {
    return { ...base, error: message(err) };
  }
}

async function manifestFacts(kernel: string): Promise<HostFacts['manifest']> {
  const file = path.join(path.dirname(kernel), 'manifest.json');
  try {
    return { path: file, versions: manifestVersions(JSON.parse(await fs.readFile(file, 'utf8'))) };
  } catch (err) {
    return { path: file, error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : message(err) };
  }
}

/** VM templates: on or off, usable with this configuration's default sandbox, and which are ready. */
export async function templateFacts(config: ShimConfig, vhostVsock: boolean): Promise<HostFacts['templates']> {
  const f = config.factory;
  const facts: HostFacts['templates'] = { enabled: f.enableTemplate, path: f.templatePath, ready: [] };
  if (f.enableTemplate) {
    const sizing = vmSizing(config, { vcpus: 0, memoryMiB: 0 });
    const spec = buildVmSpec({ config, sandboxId: 'check', sandboxDir: '/nonexistent', sharedDir: '/nonexistent', accel: 'tcg', sizing, agentChannel: chooseAgentChannel('', vhostVsock) });
    const why = templateIneligibility(config, spec, sizing);
    if (why) facts.unusable = why;
  }
  for (const key of await fs.readdir(f.templatePath).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{32}$/.test(key)) continue;
    const dir = path.join(f.templatePath, key);
    const ready = await fs.readFile(path.join(dir, 'ready'), 'utf8').then((t) => JSON.parse(t) as { at?: string }, () => undefined);
    if (!ready) continue;
    const ram = await fs.stat(path.join(dir, 'memory')).then((st) => st.blocks * 512, () => 0);
    facts.ready.push({ key, madeAt: ready.at ?? 'unknown', ramBytes: ram });
  }
  facts.ready.sort((a, b) => b.madeAt.localeCompare(a.madeAt));
  return facts;
}

async function shimFacts(): Promise<HostFacts['shim']> {
  const file = await which(SHIM_BINARY);
  if (!file) return {};
  try {
    // `-v` prints "containerd-shim-kata-v2 (kata-ts):", "Version: x", "Revision: y".
    const lines = await outputLines(file, ['-v']);
    const field = (name: string) => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const version = field('Version');
    return version ? { path: file, version: `${version}, revision ${field('Revision') ?? 'unknown'}` } : { path: file, error: lines[0] };
  } catch (err) {
    return { path: file, error: message(err) };
  }
}

export async function gatherFacts(loaded: LoadedConfig, options: GatherOptions): Promise<HostFacts> {
  const { config } = loaded;
  const h = config.hypervisor;
  const vhostVsock = existsSync('/dev/vhost-vsock');
  const [qemu, accel, manifest, shim, templates] = await Promise.all([
    qemuFacts(h.path), accelFacts(config, options), manifestFacts(h.kernel), shimFacts(), templateFacts(config, vhostVsock),
  ]);
  return {
    config: { source: config.source, lookup: loaded.lookup, ...(loaded.error !== undefined ? { error: loaded.error } : {}) },
    qemu,
    accel,
    agentChannel: { kind: chooseAgentChannel('', vhostVsock).kind, vhostVsock },
    share: {
      configured: h.sharedFs,
      kind: shareDevice(config, '', '').kind,
      daemon: h.virtioFsDaemon,
      daemonExists: h.virtioFsDaemon !== '' && (await isExecutable(h.virtioFsDaemon)),
    },
    image: {
      kernel: pathFact(h.kernel),
      ...(h.initrd ? { initrd: pathFact(h.initrd) } : {}),
      ...(h.image ? { image: pathFact(h.image) } : {}),
    },
    manifest,
    shim,
    templates,
  };
}
