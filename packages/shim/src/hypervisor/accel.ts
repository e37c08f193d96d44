/**
 * Choosing KVM or TCG. `accel = "auto"` uses KVM only when it can really run a guest: /dev/kvm can
 * exist and still hang or abort a real kernel (nested setups such as kvm_pvm), so the probe boots
 * the configured guest kernel with no initrd under KVM; the kernel panics at once for want of a root
 * filesystem and, with panic=-1 and -no-reboot, QEMU exits 0. Anything else within the time limit
 * means no KVM. The answer is cached (per boot, QEMU, kernel and host kernel) because probing costs
 * up to PROBE_TIMEOUT_MS.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Accel } from '../config/config';

/** How long a KVM guest kernel may take to reach its panic. A working KVM needs well under a second. */
export const PROBE_TIMEOUT_MS = 8_000;

export interface AccelDecision {
  accel: 'kvm' | 'tcg';
  /** Why, for logs and `kata-ts check`. */
  reason: string;
  /** True when the answer came from the cache. */
  cached?: boolean;
}

interface CacheEntry extends AccelDecision {
  key: string;
}

async function bootId(): Promise<string> {
  return (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}

/** Whether /dev/kvm exists and this process may open it (not whether a guest runs: see chooseAccel). */
export async function kvmUsable(): Promise<boolean> {
  try {
    await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Boots `kernel` under KVM; resolves with why it failed, or undefined when it ran. */
export function bootProbe(qemu: string, kernel: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  const args = [
    '-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '128M', '-smp', '1',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-kernel', kernel, '-append', 'panic=-1 quiet console=ttyS0',
  ];
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(`cannot run ${qemu}: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else if (signal === 'SIGKILL') resolve(`a KVM guest did not finish booting in ${timeoutMs} ms`);
      else resolve(`a KVM guest failed (exit ${code ?? signal}): ${stderr.trim().split('\n').pop() ?? ''}`);
    });
  });
}

export interface ChooseAccelOptions {
  qemu: string;
  kernel: string;
  /** Directory of the cache file (the runtime state dir). */
  cacheDir: string;
  /** Replaces the boot probe (tests). */
  probe?: (qemu: string, kernel: string) => Promise<string | undefined>;
  kvmAvailable?: () => Promise<boolean>;
  /** Probe again even when the cache has an answer (`kata-ts check --no-cache`); the new answer is cached. */
  refresh?: boolean;
}

/** Resolves the configured accel to kvm or tcg. */
export async function chooseAccel(configured: Accel, options: ChooseAccelOptions): Promise<AccelDecision> {
  if (configured === 'kvm') return { accel: 'kvm', reason: 'accel = "kvm" in the configuration' };
  if (configured === 'tcg') return { accel: 'tcg', reason: 'accel = "tcg" in the configuration' };
  if (!(await (options.kvmAvailable ?? kvmUsable)())) return { accel: 'tcg', reason: '/dev/kvm is missing or not accessible' };

  // A probe without its kernel proves nothing about KVM: answer TCG for now, cache nothing.
  const kernel = await fs.stat(options.kernel).catch(() => undefined);
  if (!kernel) return { accel: 'tcg', reason: `KVM not probed: guest kernel ${options.kernel} is missing` };
  const cacheFile = path.join(options.cacheDir, 'accel-probe.json');
  // The kernel file's size and mtime are in the key, so a reinstalled kernel is probed again.
  const key = JSON.stringify([await bootId(), os.release(), options.qemu, options.kernel, kernel.size, kernel.mtimeMs]);
  try {
    const entry = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as CacheEntry;
    const hit = !options.refresh && entry.key === key && (entry.accel === 'kvm' || entry.accel === 'tcg');
    if (hit) return { accel: entry.accel, reason: entry.reason, cached: true };
  } catch {
    // no cache yet
  }
  const failure = await (options.probe ?? bootProbe)(options.qemu, options.kernel);
  const decision: AccelDecision = failure
    ? { accel: 'tcg', reason: `KVM unusable: ${failure}` }
    : { accel: 'kvm', reason: 'a KVM guest kernel booted' };
  // The cache only saves the next shim a probe: a state directory that cannot take it (full) costs nothing
  // here, and the half-written temporary file is removed, not left behind.
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    await fs.mkdir(options.cacheDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(tmp, JSON.stringify({ ...decision, key }));
    await fs.rename(tmp, cacheFile);
  } catch {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
  return decision;
}
