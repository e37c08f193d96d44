/**
 * One warm pool VM, from the factory's side: a clone of the default template, started in its own
 * mount namespace with its share prepared (pool-launch.ts), its agent channel served by QEMU (so
 * the shim that adopts it just dials), the guest clock set, one throw-away container run through
 * the agent (warm-up.ts), and the agent connection dropped again, ready to change hands.
 */
import { mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KataAgentClient } from '../agent/agent-client';
import type { ShimConfig } from '../config/config';
import type { Logger } from '../framework/logging';
import type { VmSpec } from '../hypervisor/hypervisor';
import { QemuHypervisor } from '../hypervisor/qemu';
import type { TemplateFiles } from '../hypervisor/template-store';
import { waitForAgent } from '../runtime/sandbox';
import { cloneSpec } from '../runtime/vm-template';
import { poolLaunch } from './pool-launch';
import type { PooledVm } from './pool-protocol';
import { warmUp, warmUpPossible } from './warm-up';

/** A pool VM waits at this CPU priority (nice) so filling the pool yields to running pods. */
export const POOL_NICE = 10;
/** After the host hangs up, the agent reopens its port: give it that moment before a shim dials. */
const SETTLE_AFTER_HANGUP_MS = 300;

export interface PoolVmInput {
  config: ShimConfig;
  /** The default sandbox's VM spec for a VM directory (sizes, kernel, channel kind...). */
  specFor: (name: string, dir: string) => VmSpec;
  template: TemplateFiles;
  dir: string;
  name: string;
  log: Logger;
}

export class PoolVm {
  readonly readyAt = Date.now();

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly hypervisor: QemuHypervisor,
    readonly handover: PooledVm,
    readonly startMs: number,
  ) {}

  /** Starts, warms and releases a pool VM; stops it again on any failure. */
  static async start(input: PoolVmInput): Promise<PoolVm> {
    const { config, dir, name, log } = input;
    const started = Date.now();
    const vmDir = path.join(dir, 'vm');
    const mountsDir = path.join(dir, 'mounts');
    const sharedDir = path.join(dir, 'shared');
    for (const d of [vmDir, mountsDir, sharedDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    const agentSocket = path.join(vmDir, 'agent.sock');
    const base = input.specFor(name, dir);
    const spec: VmSpec = {
      ...cloneSpec({ ...base, dir: vmDir }, input.template),
      share: { kind: 'virtio-9p', hostPath: sharedDir, msize: config.hypervisor.msize9p },
      agentChannel: { kind: 'virtio-serial', socketPath: agentSocket, qemuListens: true },
    };
    const h = config.hypervisor;
    const hypervisor = new QemuHypervisor(spec, {
      binary: h.path,
      log: log.child({ vm: name }),
      debug: h.enableDebug || config.runtime.enableDebug,
      restoreState: input.template.state,
      launch: poolLaunch(mountsDir, sharedDir, POOL_NICE),
    });
    try {
      await hypervisor.start();
      const deadline = Date.now() + config.agent.dialTimeout * 1000;
      const agent = new KataAgentClient(await hypervisor.connectAgent(config.agent.dialTimeout * 1000));
      try {
        await waitForAgent(agent, hypervisor, deadline);
        await agent.setGuestDateTime(new Date());
        if (warmUpPossible()) await warmUp(agent, config, mountsDir);
        else log.warn({ vm: name }, 'no static busybox (/bin/busybox): pool VMs are not warmed up');
      } finally {
        agent.close();
      }
      await new Promise((r) => setTimeout(r, SETTLE_AFTER_HANGUP_MS));
      const handover: PooledVm = { qemuPid: hypervisor.pid, name: `sandbox-${name}`, qmpSocket: spec.qmpSocket!, agentSocket, dir, key: input.template.key };
      return new PoolVm(name, dir, hypervisor, handover, Date.now() - started);
    } catch (err) {
      await hypervisor.stop();
      throw err;
    }
  }

  /** Gives every QEMU thread its normal CPU priority back (the VM now runs a pod). */
  async promote(): Promise<void> {
    const tids = await readdir(`/proc/${this.hypervisor.pid}/task`).catch(() => [] as string[]);
    for (const tid of tids) {
      try {
        os.setPriority(Number(tid), 0);
      } catch {
        // a thread that ended meanwhile
      }
    }
  }
}
