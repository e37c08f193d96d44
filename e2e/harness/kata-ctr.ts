/**
 * kata-ts containers through `ctr` with a configuration of the test's own (`--runtime-config-path`):
 * start detached, exec, find the sandbox's QEMU, remove. For tests that each need a variant of the
 * installed configuration (templates, virtio-fs).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PrivateContainerd } from './containerd';
import { run, type CommandResult } from './exec';
import { describeIfRoot, hostTestsRequired } from './host-requirements';
import { INSTALLED_CONFIGS, KATA_STATE_DIR, kataSkipReason } from './kata-install';
import { findLeftovers, NO_LEFTOVERS, type Footprint, type Leftovers } from './leftovers';
import { listProcesses, type ProcessInfo } from './procfs';
import { waitUntil } from './teardown';
import { ensureTestImage } from './test-image';

export const KATA_RUNTIME = 'io.containerd.kata.v2';
/** The installed defaults: the base the tests' configurations are derived from. */
export const INSTALLED_DEFAULTS = INSTALLED_CONFIGS[INSTALLED_CONFIGS.length - 1]!;

/** The installed configuration with `key = value` lines replaced (each key must be there). */
export function installedConfigWith(values: Record<string, string | boolean | number>): string {
  let text = readFileSync(INSTALLED_DEFAULTS, 'utf8');
  for (const [key, value] of Object.entries(values)) {
    const re = new RegExp(`^${key} = .*$`, 'm');
    if (!re.test(text)) throw new Error(`${INSTALLED_DEFAULTS} has no ${key}: reinstall (scripts/install.sh)`);
    text = text.replace(re, `${key} = ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return text;
}

/** stdout of a command that must succeed. */
export function okStdout(r: CommandResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr}`);
  return r.stdout;
}

/**
 * describe() for tests that need kata-ts installed: skipped with the reason when it is not (or when
 * `missing` names something else absent), except where host tests are required (CI), where it runs and fails.
 * `imageDir`: the guest image directory the suite boots (KATA_TS_E2E_IMAGE_DIR), when not the installed one.
 */
export function describeKata(name: string, fn: () => void, missing?: string, imageDir?: string): void {
  const reason = kataSkipReason(imageDir) ?? missing;
  if (reason && !hostTestsRequired()) describe.skip(`${name} [skipped: ${reason}]`, fn);
  else describeIfRoot(name, fn);
}

/** Waits (bounded) until nothing of the footprint is left, and returns what still is. */
export async function settledLeftovers(footprint: Footprint, timeoutMs = 20_000): Promise<Leftovers> {
  let left = await findLeftovers(footprint);
  await waitUntil(async () => {
    left = await findLeftovers(footprint);
    return JSON.stringify(left) === JSON.stringify(NO_LEFTOVERS);
  }, timeoutMs, 200);
  return left;
}

/** What sandboxes `ids` of `ctd` leave on the host if anything: their state directories and shim sockets. */
export function sandboxFootprint(ctd: PrivateContainerd, ids: readonly string[]): Footprint {
  return { paths: [...ids.map((id) => path.join(KATA_STATE_DIR, 'sbs', id)), ...ids.map((id) => ctd.shimSocketFor(id))] };
}

export class KataCtr {
  /** A private containerd with the busybox test image imported, and its KataCtr. */
  static async start(): Promise<{ ctd: PrivateContainerd; kata: KataCtr }> {
    const ctd = await PrivateContainerd.start();
    const img = await ensureTestImage();
    await ctd.importImage(img.tarPath);
    return { ctd, kata: new KataCtr(ctd, img.ref) };
  }

  constructor(private readonly ctd: PrivateContainerd, readonly image: string) {}

  /** `ctr run -d --null-io` with this configuration (and extra flags); returns once the task runs. */
  async runDetached(id: string, configPath: string, args: string[], flags: string[] = []): Promise<void> {
    okStdout(await run(this.ctd.program('ctr'), this.ctd.ctrArgs(['run', '-d', '--null-io',
      '--runtime', KATA_RUNTIME, '--runtime-config-path', configPath, ...flags, this.image, id, ...args]), { timeoutMs: 240_000 }));
  }

  async exec(id: string, execId: string, script: string): Promise<string> {
    return okStdout(await this.ctd.ctr(['task', 'exec', '--exec-id', execId, id, 'sh', '-c', script]));
  }

  /** The QEMU process of the sandbox (named sandbox-<id>). */
  async qemuOf(id: string): Promise<ProcessInfo> {
    const p = (await listProcesses()).find((q) => q.state !== 'Z' && q.argv.includes(`sandbox-${id}`));
    if (!p) throw new Error(`no QEMU for sandbox ${id}`);
    return p;
  }

  /** Kills the task, waits for it to stop, deletes task and container. */
  async remove(id: string): Promise<void> {
    await this.ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitUntil(async () => !(await this.ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
    await this.ctd.ctr(['task', 'delete', id]);
    await this.ctd.ctr(['containers', 'delete', id]);
  }
}
