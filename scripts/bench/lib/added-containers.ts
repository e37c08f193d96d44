/**
 * Memory per container added to a running pod: one pod (`sleep`), then --added more containers joined
 * to it the way the CRI joins them (annotations io.kubernetes.cri.container-type=container and
 * io.kubernetes.cri.sandbox-id=<pod>: kata-ts puts them in the pod's VM, the runc shim in the pod's
 * shim, runsc in the pod's sandbox). Reports, per added container, the growth of the pod's PSS (kata-ts:
 * its shim and QEMU; the others: the shim and everything under it) and the host's MemAvailable drop.
 */
import { run, waitUntil, type PrivateContainerd } from '../../../e2e/harness';
import { memAvailableMiB } from './memory';
import type { Runtime } from './io';

/** Containers settle (their first page faults, the guest's page cache) before a figure is read. */
const SETTLE_MS = 5_000;

export interface AddedContainerFigures {
  pssMiB: number;
  memAvailableMiB: number;
}

export async function addedContainerMemory(
  ctd: PrivateContainerd, rt: Runtime, image: string, podId: string, added: number, podPssMiB: (podId: string) => Promise<number>,
): Promise<AddedContainerFigures> {
  const ctr = (args: string[]) => run('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, ...args], { timeoutMs: 240_000 });
  const ids = [podId, ...Array.from({ length: added }, (_, i) => `${podId}-c${i}`)];
  const start = async (id: string, joinFlags: string[]) => {
    const r = await ctr(['run', '-d', '--null-io', ...rt.flags, ...joinFlags, image, id, 'sleep', '600']);
    if (r.code !== 0) throw new Error(`${rt.name}: container ${id}: ${r.stderr}`);
  };
  try {
    // The pod's own container says it is one (runsc joins later containers only to a sandbox made so).
    await start(podId, ['--annotation', 'io.kubernetes.cri.container-type=sandbox', '--annotation', `io.kubernetes.cri.sandbox-id=${podId}`]);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pss0 = await podPssMiB(podId);
    const mem0 = memAvailableMiB();
    const join = ['--annotation', 'io.kubernetes.cri.container-type=container', '--annotation', `io.kubernetes.cri.sandbox-id=${podId}`];
    for (const id of ids.slice(1)) await start(id, join);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { pssMiB: ((await podPssMiB(podId)) - pss0) / added, memAvailableMiB: (mem0 - memAvailableMiB()) / added };
  } finally {
    // The added containers first, the pod's own last (it owns the shim, VM or sandbox).
    for (const id of [...ids.slice(1), podId]) {
      await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      await waitUntil(async () => !(await ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
      await ctr(['task', 'delete', id]);
      await ctr(['containers', 'delete', id]);
    }
  }
}
