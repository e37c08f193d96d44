/**
 * What loading crun costs in the guest, with and without a fixed address layout (the reason the agent
 * runs crun through `kata-runner --fixed-layout` / `kata-runner fixed` under TCG): QEMU reuses a
 * translated block only at the same virtual address, so with ASLR every crun run is translated anew.
 * Runs `crun --version` in a sandbox VM's debug console (a private containerd, a configuration with
 * debug_console_enabled), directly and through the runner; prints the medians in ms per run.
 *
 *   flock /tmp/kata-ts-vm.lock npx tsx scripts/bench/guest-crun.ts [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KataCtr, installedConfigWith } from '../../e2e/harness/kata-ctr';
import { median } from './stats';

const RUNNER = '/usr/lib/kata-ts/native/kata-runner';

/**
 * A shell script timing `rounds` loops of `perRound` runs of `cmd` with busybox `time` (10 ms
 * resolution, hence loops), one "<label> <seconds per loop>" line per round.
 */
function timedRounds(label: string, cmd: string, rounds: number, perRound: number): string {
  const loop = `sh -c 'for i in $(seq ${perRound}); do ${cmd} >/dev/null 2>&1; done'`;
  return `for r in $(seq ${rounds}); do echo "${label} $( { time ${loop}; } 2>&1 | sed -n 's/^real[^0-9]*0m \\([0-9.]*\\)s/\\1/p')"; done`;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 5;
  const perRound = 5;
  const { ctd, kata } = await KataCtr.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guest-crun-'));
  const config = path.join(dir, 'console.toml');
  writeFileSync(config, installedConfigWith({ debug_console_enabled: true }));
  const id = `guest-crun-${process.pid}`;
  try {
    await kata.runDetached(id, config, ['sleep', '100000']);
    const script = [timedRounds('direct', 'crun --version', rounds, perRound), timedRounds('fixed', `${RUNNER} fixed -- crun --version`, rounds, perRound), 'exit 0', ''].join('\n');
    const r = spawnSync('kata-ts', ['exec', id, '--config', config], { input: script, encoding: 'utf8', timeout: 300_000 });
    const samples = new Map<string, number[]>();
    for (const m of r.stdout.matchAll(/^(direct|fixed) ([0-9.]+)\s*$/gm)) {
      samples.set(m[1]!, [...(samples.get(m[1]!) ?? []), Math.round((Number(m[2]) * 1000) / perRound)]);
    }
    const direct = samples.get('direct') ?? [];
    const fixed = samples.get('fixed') ?? [];
    if (!direct.length || !fixed.length) throw new Error(`no timings from the debug console (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    console.log(`crun --version in the guest, ms per run (median of ${rounds} rounds of ${perRound}): with ASLR ${median(direct)}, through kata-runner fixed ${median(fixed)} (ratio ${(median(direct) / median(fixed)).toFixed(1)})`);
    console.log(`  samples: with ASLR ${direct.join(' ')}; fixed ${fixed.join(' ')}`);
  } finally {
    await kata.remove(id).catch(() => undefined);
    await ctd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
