/**
 * Boots a pod's VM in production: resolves the accelerator (auto → a cached KVM probe), sizes the
 * VM, picks the agent channel, and starts QEMU through Sandbox.create.
 */
import type { Duplex } from 'node:stream';
import { connectVsock } from 'node-vsock';
import type { Logger } from '../framework/logging';
import { chooseAccel } from '../hypervisor/accel';
import { QemuHypervisor } from '../hypervisor/qemu';
import { requestedSizing } from '../oci/annotations';
import type { BootRequest, PodVm } from './pod-vm';
import { Sandbox } from './sandbox';
import { sandboxDir } from './sandbox-files';
import { buildVmSpec, chooseAgentChannel, vmSizing } from './vm-config';
import path from 'node:path';

/** Dials the agent's vsock port until it accepts or the time is up. */
async function dialVsock(cid: number, port: number, timeoutMs: number): Promise<Duplex> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectVsock({ cid, port, timeout: Math.max(100, Math.min(2_000, deadline - Date.now())) });
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function bootQemuSandbox(req: BootRequest, log: Logger): Promise<PodVm> {
  const { config } = req;
  const h = config.hypervisor;
  const dir = sandboxDir(config.runtime.stateDir, req.sandboxId);
  const accel = await chooseAccel(h.accel, { qemu: h.path, kernel: h.kernel, cacheDir: config.runtime.stateDir });
  const sizing = vmSizing(config, requestedSizing(req.spec, req.kind));
  log.info({ accel: accel.accel, reason: accel.reason, ...sizing }, 'VM settings');
  const agentChannel = chooseAgentChannel(path.join(dir, 'vm'));
  const useVirtiofs = h.sharedFs === 'virtio-fs' && !!h.virtioFsDaemon;
  return Sandbox.create({
    id: req.sandboxId,
    dir,
    config,
    hostname: req.spec.hostname ?? '',
    log,
    vmSpec: (share) => buildVmSpec({ config, sandboxId: req.sandboxId, sandboxDir: dir, sharedDir: share.sharedDir, accel: accel.accel, sizing, agentChannel }),
    createHypervisor: (spec) =>
      new QemuHypervisor(spec, {
        binary: h.path,
        log,
        debug: h.enableDebug || config.runtime.enableDebug,
        virtiofsd: useVirtiofs ? { binary: h.virtioFsDaemon, sharedDir: path.join(dir, 'shared'), cache: h.virtioFsCache, extraArgs: h.virtioFsExtraArgs } : undefined,
        dialVsock,
      }),
  });
}
