/**
 * Running iproute2 inside the pod's network namespace. The namespace is a path (CRI's
 * /var/run/netns/cni-..., `ctr run --with-ns network:<path>`), so `ip -n <name>` does not fit;
 * `nsenter --net=<path>` enters it by path for one command. A container that asks for a new namespace
 * and has hooks to fill it (nerdctl) gets one the shim creates in the sandbox directory.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { unmount } from '../fs/mount';
import type { OciSpec } from '../oci/spec';

/** Runs one command (argv[0] + args) in the pod netns; resolves with its stdout. */
export type NetnsExec = (argv: readonly string[]) => Promise<string>;

const NSENTER = 'nsenter';
const COMMAND_TIMEOUT_MS = 10_000;

/** The network namespace path of a sandbox's spec, if it names one (no path: no pod network). */
export function netnsPathOf(spec: OciSpec): string | undefined {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  return ns?.path ? ns.path : undefined;
}

/** True when the spec asks for a network namespace of its own, without naming one (runc would create it). */
export function wantsNewNetns(spec: OciSpec): boolean {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  return !!ns && !ns.path;
}

/**
 * Creates a new network namespace kept alive by a bind mount on `file` (util-linux unshare). In the
 * shim's own mount namespace the mount, and with it the namespace, goes when the shim does.
 */
export async function createNetns(file: string): Promise<void> {
  await fs.writeFile(file, '', { flag: 'wx', mode: 0o600 });
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('unshare', [`--net=${file}`, 'true'], { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`unshare --net=${file}: ${(stderr || err.message).trim()}`));
        else resolve();
      });
    });
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
}

/** Removes a namespace createNetns made (its last interfaces go with it). Missing is fine. */
export async function removeNetns(file: string): Promise<void> {
  await unmount(file);
  await fs.rm(file, { force: true });
}

/** A NetnsExec for the namespace at `netnsPath`. */
export function netnsExec(netnsPath: string): NetnsExec {
  return (argv) =>
    new Promise((resolve, reject) => {
      execFile(NSENTER, [`--net=${netnsPath}`, '--', ...argv], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        if (!err) resolve(stdout);
        else reject(new Error(`${argv.join(' ')} (in ${netnsPath}): ${(stderr || err.message).trim().slice(0, 1000)}`));
      });
    });
}
