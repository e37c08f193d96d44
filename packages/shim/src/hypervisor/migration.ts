/**
 * Saving and restoring a VM's device state through QMP migration, for VM templates. Guest RAM is
 * not in the stream: it lives in a memory-backend-file that the template shares with its clones,
 * and the x-ignore-shared capability tells QEMU to skip it (Kata's factory does the same). What is
 * written is only device and CPU state, a few hundred KiB.
 */
import type { QmpClient } from './qmp';

const POLL_MS = 10;

/** QEMU runs `exec:` URIs through /bin/sh: only plain path characters are allowed in them. */
function shellSafePath(file: string): string {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(file)) throw new Error(`unsafe path for a QEMU migration URI: ${file}`);
  return file;
}

async function ignoreSharedMemory(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
}

/** What query-migrate said on one poll: the RAM figures of the stream (bytes; 0 when QEMU gave none). */
export interface MigrationProgress {
  status: string;
  transferredBytes: number;
  totalBytes: number;
}

interface QueryMigrate {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number; total?: number };
}

async function waitForMigration(qmp: QmpClient, timeoutMs: number, onProgress?: (p: MigrationProgress) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = (await qmp.execute('query-migrate')) as QueryMigrate;
    onProgress?.({ status: info.status ?? 'none', transferredBytes: info.ram?.transferred ?? 0, totalBytes: info.ram?.total ?? 0 });
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new Error(`migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
    }
    if (Date.now() >= deadline) throw new Error(`migration did not finish within ${timeoutMs} ms (status ${info.status ?? 'none'})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Pauses the VM and writes its device state to `file` (the VM stays paused). `onProgress` hears every
 * poll of query-migrate (every 10 ms until it completes).
 */
export async function saveVmState(qmp: QmpClient, file: string, timeoutMs: number, onProgress?: (p: MigrationProgress) => void): Promise<void> {
  const target = shellSafePath(file);
  await qmp.execute('stop');
  await ignoreSharedMemory(qmp);
  await qmp.execute('migrate', { uri: `exec:cat > ${target}` });
  await waitForMigration(qmp, timeoutMs, onProgress);
}

/** Loads device state into a QEMU started with `-incoming defer`, then lets the VM run. */
export async function restoreVmState(qmp: QmpClient, file: string, timeoutMs: number): Promise<void> {
  const source = shellSafePath(file);
  await ignoreSharedMemory(qmp);
  await qmp.execute('migrate-incoming', { uri: `exec:cat ${source}` });
  await waitForMigration(qmp, timeoutMs);
  await qmp.execute('cont');
}
