/**
 * The daemon's side of a warm pool VM: `start` claimed it and started this daemon inside its
 * QEMU's mount namespace; here the VM is leased (so the factory kills it if this daemon dies),
 * checked to be of the sandbox's shape, and brought up as the sandbox's VM: the agent is already
 * answering, so what remains is CreateSandbox. Any failure stops the VM; the caller clones instead.
 */
import type { Logger } from '../framework/logging';
import { SandboxShare } from '../fs/share';
import { AdoptedQemu } from '../hypervisor/adopted-qemu';
import type { VmSpec } from '../hypervisor/hypervisor';
import { templateKey } from '../hypervisor/template-store';
import type { PodVm } from '../runtime/pod-vm';
import { Sandbox, type SandboxInit } from '../runtime/sandbox';
import { leasePoolVm } from './pool-client';
import type { PooledVm } from './pool-protocol';

export interface AdoptInput {
  pooled: PooledVm;
  /** The sandbox's own VM spec for a shared directory (what a clone of it would have been). */
  specFor: (sharedDir: string) => VmSpec;
  /** The rest of the sandbox's creation (id, dir, config, dns, network...). */
  init: Omit<SandboxInit, 'vmSpec' | 'createHypervisor' | 'createShare'>;
  log: Logger;
}

export async function adoptPoolVm(input: AdoptInput): Promise<PodVm> {
  const { pooled, init, log } = input;
  const hypervisor = new AdoptedQemu(pooled, log);
  try {
    await leasePoolVm(init.config.factory.vmCacheEndpoint, pooled.name);
    const share = new SandboxShare(pooled.dir, log.child({ subsystem: 'share' }), { premade: true });
    const spec = input.specFor(share.sharedDir);
    if (templateKey(spec, init.config.hypervisor.path) !== pooled.key) throw new Error('the pool VM was cloned from another VM shape than this sandbox needs');
    return await Sandbox.create({
      ...init,
      createShare: () => share,
      vmSpec: (_share, nics) => {
        if (nics.length > 0) throw new Error('a pool VM cannot take NICs');
        return { ...spec, agentChannel: { kind: 'virtio-serial', socketPath: pooled.agentSocket, qemuListens: true }, qmpSocket: pooled.qmpSocket, incoming: false };
      },
      createHypervisor: () => hypervisor,
    });
  } catch (err) {
    await hypervisor.stop();
    throw err;
  }
}
