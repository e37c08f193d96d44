/**
 * Judges the host facts: one check per thing the shim needs, each ok, warn (works, but not the best
 * this host could do) or fail (a pod cannot run). Pure, so the rules are tested with injected facts.
 */
import type { HostFacts } from './facts';
import { DEFAULTS_SOURCE } from '../config-lookup';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: Status;
  reason: string;
  /** Machine-readable details for --json. */
  data?: Record<string, unknown>;
}

export function exitCode(checks: Check[]): number {
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

function configCheck(f: HostFacts['config']): Check {
  const data = { source: f.source, lookup: f.lookup };
  if (f.error) return { name: 'config', status: 'fail', reason: `cannot load the configuration: ${f.error}`, data };
  if (f.source === DEFAULTS_SOURCE) return { name: 'config', status: 'warn', reason: 'no configuration file found; using the built-in defaults', data };
  return { name: 'config', status: 'ok', reason: `loaded ${f.source}`, data };
}

function qemuCheck(f: HostFacts['qemu']): Check {
  const data = { path: f.path, version: f.version };
  if (!f.version) return { name: 'qemu', status: 'fail', reason: `${f.path}: ${f.error ?? 'no version'}`, data };
  return { name: 'qemu', status: 'ok', reason: `${f.path}: ${f.version}`, data };
}

function accelCheck(f: HostFacts['accel']): Check {
  const data = { configured: f.configured, choice: f.decision?.accel, cached: f.decision?.cached === true, kvmDevice: f.kvmDevice, reason: f.decision?.reason };
  const check = (status: Status, reason: string): Check => ({ name: 'accel', status, reason, data });
  if (f.configured === 'kvm' && !f.kvmDevice) return check('fail', 'accel = "kvm" but /dev/kvm is missing or not accessible');
  if (f.error) return check('warn', `accel = "${f.configured}": could not decide: ${f.error}`);
  if (!f.decision) return check('warn', `accel = "${f.configured}": not probed: ${f.skipped ?? 'unknown'}`);
  const d = f.decision;
  const from = d.cached ? `, cached in ${f.cacheFile}` : f.configured === 'auto' && f.kvmDevice ? ', probed now' : '';
  const why = `accel = "${f.configured}": ${d.reason}${from}`;
  if (d.accel === 'kvm') return check('ok', `KVM (${why})`);
  if (f.configured === 'tcg') return check('ok', `TCG (${why})`);
  return check('warn', `TCG software emulation, slower (${why})`);
}

function agentChannelCheck(f: HostFacts['agentChannel']): Check {
  const data = { ...f };
  if (f.kind === 'vsock') return { name: 'agent-channel', status: 'ok', reason: 'vhost-vsock (/dev/vhost-vsock exists)', data };
  return { name: 'agent-channel', status: 'ok', reason: 'virtio-serial (/dev/vhost-vsock is missing, so no vsock)', data };
}

function shareCheck(f: HostFacts['share']): Check {
  const data = { ...f };
  const check = (status: Status, reason: string): Check => ({ name: 'shared-fs', status, reason, data });
  if (f.kind === 'virtio-fs') {
    return f.daemonExists ? check('ok', `virtio-fs with ${f.daemon}`) : check('fail', `virtio-fs configured but virtio_fs_daemon ${f.daemon} does not exist`);
  }
  if (f.configured === 'virtio-fs') return check('warn', 'virtio-9p: shared_fs = "virtio-fs" but virtio_fs_daemon is empty');
  return check('ok', 'virtio-9p (built into QEMU)');
}

function imageCheck(f: HostFacts['image']): Check {
  const files = [['kernel', f.kernel], ['initrd', f.initrd], ['image', f.image]] as const;
  const present = files.filter((e) => e[1] !== undefined);
  const missing = present.filter(([, p]) => !p?.exists).map(([what, p]) => `${what} ${p?.path}`);
  const data = Object.fromEntries(present.map(([what, p]) => [what, p]));
  if (missing.length) return { name: 'guest-image', status: 'fail', reason: `missing: ${missing.join(', ')}`, data };
  return { name: 'guest-image', status: 'ok', reason: present.map(([what, p]) => `${what} ${p?.path}`).join(', '), data };
}

function manifestCheck(f: HostFacts['manifest']): Check {
  const v = f.versions;
  if (!v) return { name: 'image-manifest', status: 'warn', reason: `${f.path}: ${f.error ?? 'unreadable'}; image versions unknown`, data: { path: f.path } };
  const parts = [
    v.kernel && `kernel ${v.kernel}`, v.node && `node ${v.node}`, v.crun && `crun ${v.crun}`,
    v.agent && `agent ${v.agent.slice(0, 12)}`, v.format && `${v.format} format`,
  ].filter(Boolean);
  return { name: 'image-manifest', status: 'ok', reason: `${f.path}: ${parts.join(', ')}`, data: { path: f.path, ...v } };
}

function shimCheck(f: HostFacts['shim']): Check {
  const data = { ...f };
  if (!f.path) return { name: 'shim', status: 'fail', reason: 'containerd-shim-kata-v2 is not on PATH, so containerd cannot start io.containerd.kata.v2', data };
  if (!f.version) return { name: 'shim', status: 'warn', reason: `${f.path}: -v failed: ${f.error ?? 'no output'}`, data };
  return { name: 'shim', status: 'ok', reason: `${f.path} (${f.version})`, data };
}

function templatesCheck(f: HostFacts['templates']): Check {
  const data = { ...f };
  const check = (status: Status, reason: string): Check => ({ name: 'vm-templates', status, reason, data });
  if (!f.enabled) return check('ok', 'off ([factory] enable_template = false): every sandbox boots cold');
  if (f.unusable) return check('warn', `on, but unused with this configuration (${f.unusable}): sandboxes boot cold`);
  const mib = f.ready.reduce((sum, t) => sum + t.ramBytes, 0) / 1048576;
  const ready = f.ready.length
    ? `${f.ready.length} ready in ${f.path} (${mib.toFixed(0)} MiB of RAM files), newest made ${f.ready[0]!.madeAt}`
    : `none made yet in ${f.path}: the first sandbox makes one (a cold boot plus ~0.5 s)`;
  return check('ok', `on: sandboxes start as clones of a template VM; ${ready}`);
}

/** All checks, in the order they are printed. */
export function evaluate(facts: HostFacts): Check[] {
  return [
    configCheck(facts.config), qemuCheck(facts.qemu), accelCheck(facts.accel), agentChannelCheck(facts.agentChannel),
    shareCheck(facts.share), imageCheck(facts.image), manifestCheck(facts.manifest), shimCheck(facts.shim),
    templatesCheck(facts.templates),
  ];
}
