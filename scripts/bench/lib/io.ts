/**
 * IO and exec measurements through `ctr` (shared by io-bench.ts and bench.ts): stdout and stdin MB/s
 * of a `ctr run --rm` container after it printed "ready" (so its start is not in the figure; byte
 * counts checked exactly), and `ctr task exec ... true` latency on a running task.
 *
 * The container end of each stream is `dd` with 64 KiB blocks. busybox's `head -c` and `wc -c` move a
 * byte at a time through stdio: under TCG they cap a guest at about 30 MB/s (head) and 26 MB/s (wc)
 * before any runtime is involved, while `dd bs=64k | dd` in the same guest moves about 130 MB/s; the
 * figure is meant to measure the runtime's path, not busybox's inner loop.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { run, waitUntil, type PrivateContainerd } from '../../../e2e/harness';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const READY = 'ready\n';

/** A runtime as ctr selects it (flags after `ctr run`). */
export interface Runtime {
  name: string;
  flags: string[];
}

/** Spawns `ctr run --rm`; resolves once the container printed "ready", with its process. */
function startReady(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, script: string) {
  const child = spawn('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, 'run', '--rm', '--fifo-dir', path.join(ctd.layout.dir, 'fifo'), ...rt.flags, image, id, 'sh', '-c', `echo ready; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** dd's block size: byte counts are whole blocks, so `N+0 records` proves an exact count. */
const BLOCK = 64 * 1024;

function blocks(bytes: number): number {
  if (bytes % BLOCK !== 0) throw new Error(`byte count ${bytes} is not a multiple of ${BLOCK}`);
  return bytes / BLOCK;
}

/** MB/s of stdout from a container, the ready line excluded. */
export async function stdoutRate(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, bytes: number): Promise<number> {
  const { child, exited, stderr } = startReady(ctd, rt, image, id, `dd if=/dev/zero bs=${BLOCK} count=${blocks(bytes)} 2>/dev/null`);
  child.stdin.end();
  let seen = 0;
  let t0 = 0;
  let t1 = 0;
  child.stdout.on('data', (d: Buffer) => {
    if (t0 === 0) {
      t0 = now();
      seen -= READY.length;
    }
    seen += d.length;
    t1 = now();
  });
  const code = await exited;
  if (code !== 0 || seen !== bytes) throw new Error(`${rt.name}: stdout run exited ${code} with ${seen} of ${bytes} bytes: ${stderr()}`);
  return bytes / 1e6 / ((t1 - t0) / 1000);
}

/** MB/s of stdin into a container (dd counts the whole blocks that arrived). */
export async function stdinRate(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, bytes: number): Promise<number> {
  const { child, exited, stderr } = startReady(ctd, rt, image, id, `exec dd bs=${BLOCK} iflag=fullblock of=/dev/null 2>&1`);
  let out = '';
  let ready: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith(READY)) ready();
  });
  await isReady;
  const t0 = now();
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
    if (!child.stdin.write(piece)) await new Promise((r) => child.stdin.once('drain', r));
  }
  child.stdin.end();
  const code = await exited;
  const t1 = now();
  const report = out.slice(READY.length);
  if (code !== 0 || !report.includes(`${blocks(bytes)}+0 records in`)) throw new Error(`${rt.name}: stdin run exited ${code}, dd said ${JSON.stringify(report)} for ${blocks(bytes)} blocks: ${stderr()}`);
  return bytes / 1e6 / ((t1 - t0) / 1000);
}

/** ms per `ctr task exec ... true` on a running task. */
export async function execLatency(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, runs: number): Promise<number[]> {
  const base = ['--address', ctd.layout.address, '--namespace', ctd.namespace];
  const r = await run('ctr', [...base, 'run', '-d', '--null-io', ...rt.flags, image, id, 'sleep', '600'], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`${rt.name}: ${r.stderr}`);
  const samples: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const t0 = now();
      const e = await run('ctr', [...base, 'task', 'exec', '--exec-id', `x${i}`, id, 'true'], { timeoutMs: 60_000 });
      if (e.code !== 0) throw new Error(`${rt.name}: exec exited ${e.code}: ${e.stderr}`);
      if (i > 0) samples.push(now() - t0); // the first exec warms the paths
    }
  } finally {
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
    await waitUntil(async () => !(await ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
    await ctd.ctr(['task', 'delete', id]).catch(() => undefined);
    await ctd.ctr(['containers', 'delete', id]).catch(() => undefined);
  }
  return samples;
}
