/**
 * VM templating (Kata's [factory] enable_template): the first sandbox of a given VM shape boots a
 * template VM until its agent answers, saves it (RAM file + device state) and every sandbox of that
 * shape then starts as a clone: QEMU maps the template's RAM copy-on-write, loads the device state
 * and resumes a guest whose kernel and agent are already up. Under TCG that turns ~7 s of boot into
 * well under a second.
 *
 * Trade-offs (README "VM templates"): clones start from identical memory (the kernel reseeds its
 * RNG from the VM generation id when a clone resumes; KASLR offsets are shared between clones), and
 * the template's RAM file stays on the host (its touched pages only, shared by all clones).
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KataAgentClient } from '../agent/agent-client';
import type { ShimConfig } from '../config/config';
import type { Logger } from '../framework/logging';
import type { Hypervisor, VmSpec } from '../hypervisor/hypervisor';
import type { MigrationProgress } from '../hypervisor/migration';
import { QemuHypervisor } from '../hypervisor/qemu';
import { templateKey, TemplateStore, type TemplateFiles } from '../hypervisor/template-store';
import { waitForAgent } from './sandbox';
import { chooseAccel } from '../hypervisor/accel';
import { CONSOLE_SOCKET, LOG_SOCKET } from '../hypervisor/qemu-args';
import { buildVmSpec, chooseAgentChannel, vmSizing, type VmSizing } from './vm-config';

/**
 * After the host hangs up, the agent reopens its port; the VM must not be frozen in between, or every
 * clone would wake up in the middle of that and drop the shim's first call.
 */
const SETTLE_BEFORE_SAVE_MS = 500;

/** Why this VM cannot be a template clone, or undefined when it can. */
export function templateIneligibility(config: ShimConfig, spec: VmSpec, sizing: VmSizing): string | undefined {
  const h = config.hypervisor;
  if (!config.factory.enableTemplate) return 'enable_template is off';
  if (spec.share.kind !== 'virtio-9p') return 'the share is virtio-fs (its daemon cannot be part of a template)';
  // A vhost-vsock CID is read by the guest at boot: every clone would keep the template's.
  if (spec.agentChannel.kind !== 'virtio-serial') return 'the agent channel is vsock';
  // Clones have the template's devices: NICs are hot-plugged into its empty ports after the restore.
  if ((spec.nics?.length ?? 0) > (spec.hotplugPorts ?? 0)) return `the pod has more NICs than the ${spec.hotplugPorts ?? 0} hot-plug ports`;
  if (sizing.vcpus !== h.defaultVcpus || sizing.memoryMiB !== h.defaultMemory) return 'the sandbox asks for a non-default VM size';
  return undefined;
}

/** The sandbox's own VM spec turned into a clone of the template. */
export function cloneSpec(spec: VmSpec, files: TemplateFiles): VmSpec {
  return { ...spec, memoryFile: { path: files.memory, shared: false }, incoming: true, qmpSocket: path.join(spec.dir, 'qmp.sock') };
}

/**
 * How far the making of a template is, for whoever waits on it (`kata-ts factory init` draws it; the
 * shim itself logs). elapsedMs counts from the start of obtainTemplate. In order: booting, kernel,
 * agent-up, warming, saving (repeated; percent never goes down), saved, done. A template already
 * there (or made meanwhile by another process, after waiting) gives only done (made: false).
 */
export type TemplateProgress =
  | { phase: 'waiting'; elapsedMs: number; ownerPid: number }
  | { phase: 'booting'; elapsedMs: number }
  | { phase: 'kernel'; elapsedMs: number }
  | { phase: 'agent-up'; elapsedMs: number }
  | { phase: 'warming'; elapsedMs: number }
  | { phase: 'saving'; elapsedMs: number; transferredBytes: number; totalBytes: number; percent: number }
  | { phase: 'saved'; elapsedMs: number }
  | { phase: 'done'; elapsedMs: number; made: boolean; key: string; dir: string; ramBytes: number; diskBytes: number };

/** What the template maker needs of a VM: a Hypervisor that can save itself as a template. */
export type TemplateVm = Hypervisor & { saveAsTemplate(file: string, onProgress?: (p: MigrationProgress) => void): Promise<void> };

export interface ObtainTemplateInput {
  config: ShimConfig;
  /** The sandbox's VM spec: the template gets the same shape with its own paths. */
  spec: VmSpec;
  log: Logger;
  store?: TemplateStore;
  /** Hears how far the making is (see TemplateProgress); must not throw. */
  onProgress?: (p: TemplateProgress) => void;
  /** The template VM (tests inject a fake; default QEMU). */
  createVm?: (spec: VmSpec) => TemplateVm;
}

/** The template the sandbox's VM can be cloned from, making it first if needed. */
export async function obtainTemplate(input: ObtainTemplateInput): Promise<TemplateFiles> {
  const { config, spec, log } = input;
  const started = Date.now();
  const store = input.store ?? new TemplateStore(config.factory.templatePath, log.child({ subsystem: 'template' }));
  const key = templateKey(spec, config.hypervisor.path);
  const dialMs = config.agent.dialTimeout * 1000;
  const progress = input.onProgress;
  let made = false;
  const files = await store.obtain(key, (work) => {
    made = true;
    return makeTemplate({ config, sandboxSpec: spec, work, log, started, onProgress: progress, createVm: input.createVm });
  }, dialMs * 2, progress && ((ownerPid) => progress({ phase: 'waiting', elapsedMs: Date.now() - started, ownerPid })));
  if (progress) progress({ phase: 'done', elapsedMs: Date.now() - started, made, key, dir: files.dir, ...(await templateSize(files)) });
  return files;
}

/** The RAM file's size (the guest's memory) and what the template takes on disk (allocated blocks). */
async function templateSize(files: TemplateFiles): Promise<{ ramBytes: number; diskBytes: number }> {
  const [memory, state] = await Promise.all([stat(files.memory).catch(() => undefined), stat(files.state).catch(() => undefined)]);
  return { ramBytes: memory?.size ?? 0, diskBytes: (memory?.blocks ?? 0) * 512 + (state?.blocks ?? 0) * 512 };
}

interface MakeTemplateInput {
  config: ShimConfig;
  sandboxSpec: VmSpec;
  work: string;
  log: Logger;
  /** When obtainTemplate began (Date.now()): progress and log lines count from it. */
  started: number;
  onProgress?: (p: TemplateProgress) => void;
  createVm?: (spec: VmSpec) => TemplateVm;
}

async function makeTemplate(input: MakeTemplateInput): Promise<void> {
  const { config, sandboxSpec, work, log, started } = input;
  const elapsedMs = () => Date.now() - started;
  const emit = input.onProgress ?? (() => undefined);
  const vmDir = path.join(work, 'vm');
  await mkdir(vmDir, { mode: 0o700 });
  await mkdir(path.join(work, 'shared'), { mode: 0o700 });
  const spec: VmSpec = {
    ...sandboxSpec,
    sandboxId: 'template',
    dir: vmDir,
    agentChannel: { kind: 'virtio-serial', socketPath: path.join(vmDir, 'agent.sock') },
    share: { kind: 'virtio-9p', hostPath: path.join(work, 'shared'), msize: config.hypervisor.msize9p },
    memoryFile: { path: path.join(work, 'memory'), shared: true },
    qmpSocket: path.join(vmDir, 'qmp.sock'),
    logSocket: sandboxSpec.logSocket ? path.join(vmDir, LOG_SOCKET) : undefined,
    consoleSocket: sandboxSpec.consoleSocket ? path.join(vmDir, CONSOLE_SOCKET) : undefined,
    incoming: false,
  };
  if (templateKey(spec, config.hypervisor.path) !== templateKey(sandboxSpec, config.hypervisor.path)) {
    throw new Error('internal: the template VM would not match the sandbox VM');
  }
  const h = config.hypervisor;
  const tlog = log.child({ subsystem: 'template' });
  const hypervisor = input.createVm?.(spec) ?? new QemuHypervisor(spec, { binary: h.path, log: tlog, debug: h.enableDebug || config.runtime.enableDebug });
  log.info({ accel: spec.accel, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB }, 'booting a template VM');
  emit({ phase: 'booting', elapsedMs: elapsedMs() });
  try {
    const booted = Date.now();
    await hypervisor.start();
    log.info({ ms: elapsedMs(), qemuPid: hypervisor.pid }, 'template VM: QEMU started, the guest kernel is booting');
    emit({ phase: 'kernel', elapsedMs: elapsedMs() });
    const deadline = booted + config.agent.dialTimeout * 1000;
    const agent = new KataAgentClient(await hypervisor.connectAgent(config.agent.dialTimeout * 1000));
    try {
      await waitForAgent(agent, hypervisor, deadline);
    } finally {
      agent.close();
    }
    log.info({ ms: elapsedMs() }, 'template VM agent is up');
    emit({ phase: 'agent-up', elapsedMs: elapsedMs() });
    emit({ phase: 'warming', elapsedMs: elapsedMs() });
    await new Promise((r) => setTimeout(r, SETTLE_BEFORE_SAVE_MS));
    log.info({ ms: elapsedMs() }, 'template VM: saving its state');
    let percent = 0;
    await hypervisor.saveAsTemplate(path.join(work, 'state'), (m) => {
      // QEMU's total can grow while it runs: the share done never goes back.
      const now = m.status === 'completed' ? 100 : m.totalBytes > 0 ? Math.min(99, Math.floor((m.transferredBytes / m.totalBytes) * 100)) : 0;
      percent = Math.max(percent, now);
      emit({ phase: 'saving', elapsedMs: elapsedMs(), transferredBytes: m.transferredBytes, totalBytes: m.totalBytes, percent });
    });
    emit({ phase: 'saved', elapsedMs: elapsedMs() });
  } finally {
    await hypervisor.stop();
  }
}

/**
 * `kata-ts factory init`: the template a default-sized sandbox of this configuration would clone,
 * made now when it is missing (as Kata's `kata-runtime factory init`), so the first pod does not pay
 * for it. Answers why not when this configuration's sandboxes cannot use templates.
 */
export async function prepareDefaultTemplate(
  config: ShimConfig,
  log: Logger,
  onProgress?: (p: TemplateProgress) => void,
): Promise<{ files: TemplateFiles } | { why: string }> {
  const h = config.hypervisor;
  const accel = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir });
  const sizing = vmSizing(config, { vcpus: 0, memoryMiB: 0 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kata-ts-factory-'));
  try {
    const spec = buildVmSpec({ config, sandboxId: 'factory', sandboxDir: dir, sharedDir: path.join(dir, 'shared'), accel: accel.accel, sizing, agentChannel: chooseAgentChannel(path.join(dir, 'vm')) });
    const why = templateIneligibility(config, spec, sizing);
    if (why) return { why };
    return { files: await obtainTemplate({ config, spec, log, onProgress }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
