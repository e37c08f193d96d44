/**
 * kata-ts IO and exec benchmark, through one private containerd, kata-ts against runc in the same run:
 *   - stdout MB/s: `ctr run --rm <busybox> sh -c 'echo ready; dd if=/dev/zero bs=64k count=N'`, bytes
 *     counted by this process from the first byte after "ready" to EOF (so the VM's start is not in the figure);
 *   - stdin MB/s: `ctr run --rm <busybox> sh -c 'echo ready; exec dd bs=64k iflag=fullblock of=/dev/null'`,
 *     N bytes written after "ready", timed until dd reports its block count (every byte reached the container);
 *   - exec latency: `ctr task exec <running task> true`, median of --runs.
 * Medians of --runs (default 3) for the rates, ratios kata-ts / runc. Output is checked: the byte counts
 * must be exact.
 *
 * usage (as root, after scripts/install.sh): npx tsx scripts/bench/io-bench.ts [--mib N] [--runs N] [--json]
 */
import { PrivateContainerd, ensureTestImage, which } from '../../e2e/harness';
import { execLatency, stdinRate, stdoutRate, type Runtime } from './lib/io';
import { median, numberArg } from './stats';

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
