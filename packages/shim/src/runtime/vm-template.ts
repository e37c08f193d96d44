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
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KataAgentClient } from '../agent/agent-client';
import type { ShimConfig } from '../config/config';
import type { Logger } from '../framework/logging';
import type { VmSpec } from '../hypervisor/hypervisor';
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

export interface ObtainTemplateInput {
  config: ShimConfig;
  /** The sandbox's VM spec: the template gets the same shape with its own paths. */
  spec: VmSpec;
  log: Logger;
  store?: TemplateStore;
}

/** The template the sandbox's VM can be cloned from, making it first if needed. */
export async function obtainTemplate(input: ObtainTemplateInput): Promise<TemplateFiles> {
  const { config, spec, log } = input;
  const store = input.store ?? new TemplateStore(config.factory.templatePath, log.child({ subsystem: 'template' }));
  const key = templateKey(spec, config.hypervisor.path);
  const dialMs = config.agent.dialTimeout * 1000;
  return store.obtain(key, (work) => makeTemplate(config, spec, work, log), dialMs * 2);
}

async function makeTemplate(config: ShimConfig, sandboxSpec: VmSpec, work: string, log: Logger): Promise<void> {
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
  const hypervisor = new QemuHypervisor(spec, { binary: h.path, log: log.child({ subsystem: 'template' }), debug: h.enableDebug || config.runtime.enableDebug });
  log.info({ accel: spec.accel, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB }, 'booting a template VM');
  try {
    const started = Date.now();
    await hypervisor.start();
    const deadline = started + config.agent.dialTimeout * 1000;
    const agent = new KataAgentClient(await hypervisor.connectAgent(config.agent.dialTimeout * 1000));
    try {
      await waitForAgent(agent, hypervisor, deadline);
    } finally {
      agent.close();
    }
    log.info({ ms: Date.now() - started }, 'template VM agent is up');
    await new Promise((r) => setTimeout(r, SETTLE_BEFORE_SAVE_MS));
    await hypervisor.saveAsTemplate(path.join(work, 'state'));
  } finally {
    await hypervisor.stop();
  }
}

/**
 * `kata-ts factory init`: the template a default-sized sandbox of this configuration would clone,
 * made now when it is missing (as Kata's `kata-runtime factory init`), so the first pod does not pay
 * for it. Answers why not when this configuration's sandboxes cannot use templates.
 */
export async function prepareDefaultTemplate(config: ShimConfig, log: Logger): Promise<{ files: TemplateFiles } | { why: string }> {
  const h = config.hypervisor;
  const accel = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir });
  const sizing = vmSizing(config, { vcpus: 0, memoryMiB: 0 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kata-ts-factory-'));
  try {
    const spec = buildVmSpec({ config, sandboxId: 'factory', sandboxDir: dir, sharedDir: path.join(dir, 'shared'), accel: accel.accel, sizing, agentChannel: chooseAgentChannel(path.join(dir, 'vm')) });
    const why = templateIneligibility(config, spec, sizing);
    if (why) return { why };
    return { files: await obtainTemplate({ config, spec, log }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
