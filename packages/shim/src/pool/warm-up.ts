/**
 * Warms a pool VM before any pod gets it: one throw-away container through the real agent (create
 * with the share as its storage, start, an exec whose output is read, kill, wait, remove). Under TCG
 * a fresh QEMU has translated none of the guest's code yet: this makes QEMU translate the agent's,
 * crun's and the kernel's paths of a pod start once, in the pool, instead of in the pod's start.
 * The rootfs is a static busybox (Debian's busybox-static) copied into the VM's share.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AgentClient } from '../agent/agent-client';
import type { ShimConfig } from '../config/config';
import { guestRootfs } from '../fs/share';
import type { OciSpec } from '../oci/spec';
import { shareStorage } from '../runtime/sandbox';

export const WARM_CONTAINER_ID = 'kata-ts-warm-up';
const STATIC_BUSYBOX = '/bin/busybox';

/** The spec of the warm-up container, as the guest sees it. */
function warmSpec(): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: { args: ['/bin/busybox', 'sleep', '60'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } },
    root: { path: guestRootfs(WARM_CONTAINER_ID), readonly: true },
    hostname: 'warm-up',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
  } as OciSpec;
}

/** Whether this host can warm pool VMs (a static busybox to run in them). */
export function warmUpPossible(): boolean {
  return existsSync(STATIC_BUSYBOX);
}

/** Runs the warm-up container in the VM whose share's writable side is `mountsDir`; throws on any failure. */
export async function warmUp(agent: AgentClient, config: ShimConfig, mountsDir: string): Promise<void> {
  const hostRoot = path.join(mountsDir, WARM_CONTAINER_ID);
  await mkdir(path.join(hostRoot, 'rootfs', 'bin'), { recursive: true, mode: 0o755 });
  await copyFile(STATIC_BUSYBOX, path.join(hostRoot, 'rootfs', 'bin', 'busybox'));
  for (const dir of ['proc', 'dev']) await mkdir(path.join(hostRoot, 'rootfs', dir), { recursive: true });
  const id = WARM_CONTAINER_ID;
  try {
    await agent.createContainer({ containerId: id, execId: id, storages: [shareStorage(config)], spec: warmSpec(), sandboxPidns: false });
    await agent.startContainer(id);
    const execId = 'warm-up-exec';
    await agent.execProcess({ containerId: id, execId, process: { args: ['/bin/busybox', 'echo', 'warm'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } } });
    let out = '';
    for (;;) {
      const chunk = await agent.readStdout(id, execId, 65536);
      if (chunk.length === 0) break;
      out += Buffer.from(chunk).toString('utf8');
    }
    const status = await agent.waitProcess(id, execId);
    if (status !== 0 || out !== 'warm\n') throw new Error(`warm-up exec gave status ${status}, output ${JSON.stringify(out.slice(0, 100))}`);
    await agent.signalProcess(id, '', 9);
    await agent.waitProcess(id, id);
  } finally {
    await agent.removeContainer(id, 10).catch(() => undefined);
    await rm(hostRoot, { recursive: true, force: true });
  }
}
