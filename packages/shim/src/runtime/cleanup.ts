/**
 * The `delete` action's work for a container whose shim may be gone: when the container owned its
 * sandbox, kill what is left of it (the hypervisor, helpers, the shim daemon — each only after its
 * command line proves it belongs to this sandbox, since pids get reused), unmount anything under the
 * sandbox directory and remove it. Quick and idempotent: a second run finds nothing.
 */
import type { Logger } from '../framework/logging';
import { mountPoints, unmount } from '../fs/mount';
import { removeTree } from '../fs/safe-remove';
import { teardownRecordedNetwork } from '../network/pod-network';
import { readBundleRecord, readSandboxRecord } from './sandbox-files';
import { pidAlive as alive, processArgv } from '../framework/pid-alive';

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Kills `pid` if its argv passes `belongs`; waits for it to go. */
async function killIfOurs(pid: number, belongs: (argv: string[]) => boolean, graceMs: number, log: Logger): Promise<void> {
  const argv = await processArgv(pid);
  if (argv.length === 0 || !belongs(argv)) return;
  if (graceMs > 0 && (await waitGone(pid, graceMs))) return;
  log.warn({ pid, argv: argv.slice(0, 3) }, 'delete: killing a leftover process');
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, 2_000);
}

export interface CleanupOutcome {
  pid: number;
}

export async function cleanupContainer(bundle: string, containerId: string, log: Logger): Promise<CleanupOutcome> {
  const record = await readBundleRecord(bundle);
  if (!record?.ownsSandbox) return { pid: 0 };
  const dir = record.sandboxDir;
  const sandbox = await readSandboxRecord(dir);
  if (sandbox) {
    // The daemon usually exits by itself right after Shutdown; give it a moment before forcing it.
    await killIfOurs(sandbox.shimPid, (argv) => argv.includes('-id') && argv.includes(containerId) && sandbox.shimPid !== process.pid, 2_000, log);
    await killIfOurs(sandbox.hypervisorPid, (argv) => argv.includes(sandbox.hypervisorName ?? `sandbox-${record.sandboxId}`), 0, log);
    for (const pid of sandbox.helperPids) await killIfOurs(pid, (argv) => argv.some((a) => a.includes(dir)), 0, log);
  }
  // The taps and tc filters in the pod netns (QEMU, which held the taps, is gone by now).
  await teardownRecordedNetwork(dir, log).catch((err: Error) => log.warn({ err: err.message }, 'delete: network teardown failed'));
  // Mounts exist here only when the daemon did not run in a mount namespace of its own.
  const mounts = (await mountPoints().catch(() => [])).filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    await unmount(m).catch((err: Error) => log.warn({ mount: m, err: err.message }, 'delete: unmount failed'));
  }
  const left = await removeTree(dir).catch((err: Error) => [`${dir}: ${err.message}`]);
  if (left.length > 0) log.warn({ left }, 'delete: sandbox directory not fully removed');
  return { pid: sandbox?.hypervisorPid ?? 0 };
}
