/**
 * kata-ts IO and exec benchmark, through one private containerd, kata-ts against runc in the same run:
 *   - stdout MB/s: `ctr run --rm <busybox> sh -c 'echo ready; head -c N /dev/zero'`, bytes counted by this
 *     process from the first byte after "ready" to EOF (so the VM's start is not in the figure);
 *   - stdin MB/s: `ctr run --rm <busybox> sh -c 'echo ready; exec wc -c'`, N bytes written after "ready",
 *     timed until wc prints its count (every byte went through to the container);
 *   - exec latency: `ctr task exec <running task> true`, median of --runs.
 * Medians of --runs (default 3) for the rates, ratios kata-ts / runc. Output is checked: the byte counts
 * must be exact.
 *
 * usage (as root, after scripts/install.sh): npx tsx scripts/bench/io-bench.ts [--mib N] [--runs N] [--json]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PrivateContainerd, ensureTestImage, run, waitUntil, which } from '../../e2e/harness';
import { median, numberArg } from './stats';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const READY = 'ready\n';

interface Runtime {
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

/** MB/s of stdout from a container, the ready line excluded. */
async function stdoutRate(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, bytes: number): Promise<number> {
  const { child, exited, stderr } = startReady(ctd, rt, image, id, `head -c ${bytes} /dev/zero`);
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

/** MB/s of stdin into a container (wc -c counts what arrived). */
async function stdinRate(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, bytes: number): Promise<number> {
  const { child, exited, stderr } = startReady(ctd, rt, image, id, 'exec wc -c');
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
  const counted = Number(out.slice(READY.length).trim());
  if (code !== 0 || counted !== bytes) throw new Error(`${rt.name}: stdin run exited ${code}, wc counted ${out.slice(READY.length).trim()} of ${bytes}: ${stderr()}`);
  return bytes / 1e6 / ((t1 - t0) / 1000);
}

/** ms per `ctr task exec ... true` on a running task. */
async function execLatency(ctd: PrivateContainerd, rt: Runtime, image: string, id: string, runs: number): Promise<number[]> {
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

async function main(): Promise<void> {
  const bytes = numberArg('mib', 32) * (1 << 20);
  const runs = numberArg('runs', 3);
  if (process.getuid?.() !== 0) throw new Error('run as root');
  if (!which('containerd-shim-kata-v2')) throw new Error('containerd-shim-kata-v2 is not on PATH: run scripts/install.sh');
  const runtimes: Runtime[] = [{ name: 'runc', flags: [] }, { name: 'kata-ts', flags: ['--runtime', 'io.containerd.kata.v2'] }];
  const ctd = await PrivateContainerd.start();
  const results: Record<string, { stdoutMBs: number; stdinMBs: number; execMs: number }> = {};
  try {
    const test = await ensureTestImage();
    await ctd.importImage(test.tarPath);
    let n = 0;
    for (const rt of runtimes) {
      const outs: number[] = [];
      const ins: number[] = [];
      for (let i = 0; i < runs; i++) {
        outs.push(await stdoutRate(ctd, rt, test.ref, `io-${n++}`, bytes));
        ins.push(await stdinRate(ctd, rt, test.ref, `io-${n++}`, bytes));
      }
      const execs = await execLatency(ctd, rt, test.ref, `io-${n++}`, Math.max(runs, 5));
      results[rt.name] = { stdoutMBs: median(outs), stdinMBs: median(ins), execMs: median(execs) };
      process.stderr.write(`${rt.name}: stdout ${outs.map((x) => x.toFixed(1)).join(' ')} MB/s; stdin ${ins.map((x) => x.toFixed(1)).join(' ')} MB/s; exec ${execs.map((x) => x.toFixed(0)).join(' ')} ms\n`);
    }
  } finally {
    await ctd.stop();
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ mib: bytes / (1 << 20), runs, results }, null, 2)}\n`);
    return;
  }
  const k = results['kata-ts']!;
  const r = results.runc!;
  process.stdout.write([
    `IO through ctr run (${bytes / (1 << 20)} MiB, median of ${runs}) and ctr task exec (median), one containerd:`,
    `  ${'measure'.padEnd(14)} ${'runc'.padStart(10)} ${'kata-ts'.padStart(10)}  kata-ts/runc`,
    `  ${'stdout MB/s'.padEnd(14)} ${r.stdoutMBs.toFixed(1).padStart(10)} ${k.stdoutMBs.toFixed(1).padStart(10)}  ${(k.stdoutMBs / r.stdoutMBs).toFixed(2)}`,
    `  ${'stdin MB/s'.padEnd(14)} ${r.stdinMBs.toFixed(1).padStart(10)} ${k.stdinMBs.toFixed(1).padStart(10)}  ${(k.stdinMBs / r.stdinMBs).toFixed(2)}`,
    `  ${'exec ms'.padEnd(14)} ${r.execMs.toFixed(0).padStart(10)} ${k.execMs.toFixed(0).padStart(10)}  ${(k.execMs / r.execMs).toFixed(2)}`,
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`io-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
