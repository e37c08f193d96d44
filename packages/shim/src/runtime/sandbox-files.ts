/**
 * Where a sandbox keeps its host files, and the small records that let the `delete` action clean
 * up after a shim that is gone:
 *   <state_dir>/sbs/<sandbox id>/          0700: vm/ (sockets, qemu.pid), mounts/, shared/, sandbox.json
 *   <bundle>/kata-ts.json                  which sandbox directory a container belongs to
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface SandboxRecord {
  sandboxId: string;
  shimPid: number;
  hypervisorPid: number;
  /** QEMU's -name, when it is not sandbox-<sandboxId> (an adopted pool VM). */
  hypervisorName?: string;
  /** Host pids of helpers (virtiofsd) to kill with the VM. */
  helperPids: number[];
}

export interface BundleRecord {
  sandboxId: string;
  sandboxDir: string;
  /** True for the container that created the sandbox (its delete tears the sandbox down). */
  ownsSandbox: boolean;
}

export const BUNDLE_RECORD = 'kata-ts.json';
const SANDBOX_RECORD = 'sandbox.json';

export function sandboxDir(stateDir: string, sandboxId: string): string {
  return path.join(stateDir, 'sbs', sandboxId);
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await fs.rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const writeSandboxRecord = (dir: string, r: SandboxRecord) => writeJson(path.join(dir, SANDBOX_RECORD), r);
export const readSandboxRecord = (dir: string) => readJson<SandboxRecord>(path.join(dir, SANDBOX_RECORD));
export const writeBundleRecord = (bundle: string, r: BundleRecord) => writeJson(path.join(bundle, BUNDLE_RECORD), r);
export const readBundleRecord = (bundle: string) => readJson<BundleRecord>(path.join(bundle, BUNDLE_RECORD));
