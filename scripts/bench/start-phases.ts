/**
 * Where a pod start goes: `ctr run --rm <busybox> echo hi` with kata-ts, --runs times (after one warm-up
 * run) through one private containerd, each run split into phases from the shim's own log lines
 * ("VM restored from its template", "agent is up", "container created" with its bootMs / rootfsMs /
 * agentCreateMs, and the Start and Delete RPCs with their durations). Prints the median of each phase,
 * and what is left (containerd, ctr, the shim's own start and stop, output and exit) as "outside the shim".
 *
 * usage (as root, after scripts/install.sh): npx tsx scripts/bench/start-phases.ts [--runs N] [--json]
 */
import { readFileSync } from 'node:fs';
import { PrivateContainerd, ensureTestImage, run } from '../../e2e/harness';
import { phasesOf, shimLines, type Phases } from './lib/phases';
import { median, numberArg } from './stats';

async function main(): Promise<void> {
  const runs = numberArg('runs', 5);
  const ctd = await PrivateContainerd.start();
  const timed: Array<{ id: string; totalMs: number }> = [];
  let logText = '';
  try {
    const image = await ensureTestImage();
    await ctd.importImage(image.tarPath);
    for (let i = 0; i <= runs; i++) {
      const id = `phases-${i}`;
      const t0 = performance.now();
      const r = await run('ctr', ['--address', ctd.layout.address, '--namespace', ctd.namespace, 'run', '--rm', '--runtime', 'io.containerd.kata.v2', image.ref, id, 'echo', 'hi'], { timeoutMs: 180_000 });
      const totalMs = performance.now() - t0;
      if (r.code !== 0 || r.stdout !== 'hi\n') throw new Error(`run ${id}: exit ${r.code}: ${r.stderr}`);
      if (i > 0) timed.push({ id, totalMs }); // run 0 warms the image, the accelerator probe and the template
    }
    logText = readFileSync(ctd.layout.logFile, 'utf8');
  } finally {
    await ctd.stop();
  }
  const samples = timed.map(({ id, totalMs }) => phasesOf(shimLines(logText, id), totalMs));
  const med = (k: keyof Phases) => {
    const xs = samples.map((s) => s[k]).filter((x): x is number => typeof x === 'number');
    return xs.length ? median(xs) : undefined;
  };
  const result = Object.fromEntries((['totalMs', 'restoreMs', 'agentUpMs', 'bootMs', 'rootfsMs', 'agentCreateMs', 'createRpcMs', 'startRpcMs', 'deleteRpcMs'] as const).map((k) => [k, med(k)]));
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ runs, medians: result, samples }, null, 2)}\n`);
    return;
  }
  const f = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x)} ms`);
  const outside = (result.totalMs ?? 0) - (result.createRpcMs ?? 0) - (result.startRpcMs ?? 0) - (result.deleteRpcMs ?? 0);
  process.stdout.write([
    `kata-ts pod start, ctr run --rm echo, median of ${runs}:`,
    `  total                         ${f(result.totalMs)}`,
    `  Create RPC                    ${f(result.createRpcMs)}`,
    `    VM (clone restore)          ${f(result.restoreMs)}`,
    `    VM start to agent up        ${f(result.agentUpMs)}`,
    `    VM ready (+CreateSandbox)   ${f(result.bootMs)}`,
    `    rootfs share                ${f(result.rootfsMs)}`,
    `    guest CreateContainer       ${f(result.agentCreateMs)}`,
    `  Start RPC (crun start)        ${f(result.startRpcMs)}`,
    `  Delete RPC                    ${f(result.deleteRpcMs)}`,
    `  outside the shim's RPCs       ${f(outside)}   (ctr, containerd, shim start/stop, output, exit)`,
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`start-phases: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
