/**
 * kata-ts conformance: critest's CRI validation suite against containerd 2.x and CRI-O, each with the
 * kata-ts handler and with runc, from imitation images served by a local registry, all inside one
 * test-owned network namespace; then a table and the specs kata-ts fails where runc passes.
 *
 * usage (as root, after scripts/install.sh and scripts/install-peers.sh; scripts/conformance.sh wraps it):
 *   tsx scripts/conformance/run.ts [--daemons containerd,crio] [--runtimes kata,runc] [--focus RE] [--skip RE]
 *                                  [--parallel N] [--results DIR] [--skip-excluded]
 *   tsx scripts/conformance/run.ts --summarize DIR      (re-prints the summary of an earlier run)
 * Results (ginkgo JSON + JUnit per run, critest and daemon logs, the registry's request log,
 * summary.txt, runs.json, run.json) go to DIR, default /var/tmp/kata-ts-conformance/<UTC timestamp>.
 * --skip-excluded leaves the specs of vm-exclusions.txt out of the kata-ts runs (they only fail, several
 * of them by a 60 s timeout each): the gate in scripts/test.sh does not need them run.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableContainerds, builtPeers, run, runOk } from '../../e2e/harness';
import { REPO_ROOT } from '../../e2e/harness/test-image';
import { TestNetns } from '../../e2e/harness/test-netns';
import { critestPath, runCritest } from './critest';
import { startContainerd, startCrioDaemon, type ConformanceDaemon, type DaemonOptions } from './daemons';
import { excludedOn, readExclusions, skipExpression } from './exclusions';
import { startRegistryProcess, type RegistryProcess } from './registry-process';
import { readGinkgoJson, renderSummary, type RunReport } from './report';

const DAEMONS = ['containerd', 'crio'] as const;
const RUNTIMES = ['kata', 'runc'] as const;
type DaemonName = (typeof DAEMONS)[number];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** --skip, plus the excluded specs of a kata-ts run on this daemon with --skip-excluded. */
function skipFor(daemon: DaemonName, runtime: string): string | undefined {
  const parts = [option('skip')];
  if (runtime === 'kata' && process.argv.includes('--skip-excluded')) parts.push(skipExpression(excludedOn(daemon, readExclusions())));
  const present = parts.filter((p): p is string => !!p);
  return present.length > 0 ? present.map((p) => `(${p})`).join('|') : undefined;
}

function listOption<T extends string>(name: string, all: readonly T[]): T[] {
  const value = option(name);
  if (!value) return [...all];
  const chosen = value.split(',').map((s) => s.trim());
  const unknown = chosen.filter((c) => !all.includes(c as T));
  if (unknown.length > 0) throw new Error(`--${name}: unknown ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return chosen as T[];
}

const t0 = Date.now();
/** SIGINT/SIGTERM: stop the critest that runs, start no other, clean up. */
const interrupt = new AbortController();
const say = (msg: string) => process.stdout.write(`conformance [${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}\n`);

/** What the run tested with, for run.json. */
async function versions(): Promise<Record<string, string>> {
  const first = async (file: string, args: string[]) => (await run(file, args, { timeoutMs: 10_000 }).catch(() => undefined))?.stdout.trim().split('\n')[0] ?? '';
  const peers = builtPeers();
  const rev = await first('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD']);
  const dirty = (await first('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'])) ? ' (uncommitted changes)' : '';
  return {
    kataTs: rev + dirty,
    shim: (await run('containerd-shim-kata-v2', ['--version'], { timeoutMs: 10_000 }).catch(() => undefined))?.stdout.trim().split('\n').slice(1).map((l) => l.trim()).join(', ') ?? '',
    critest: peers['cri-tools']?.version ?? '',
    containerd: peers.containerd2?.version ?? '',
    crio: peers.crio?.version ?? '',
    runc: await first('runc', ['--version']),
  };
}

/** Starts one daemon; undefined (with the reason said) when it cannot run here. */
async function startDaemon(name: DaemonName, options: DaemonOptions): Promise<ConformanceDaemon | undefined> {
  if (name === 'containerd') {
    const flavour = availableContainerds().flavours.find((f) => f.label === '2.x');
    if (!flavour) return void say('containerd 2.x was not built (scripts/install-peers.sh containerd2): skipped');
    return startContainerd(flavour, options);
  }
  const { crioSkipReason } = await import('../../e2e/harness/crio');
  const why = crioSkipReason();
  if (why) return void say(`CRI-O cannot run here: ${why}: skipped`);
  return startCrioDaemon(options);
}

async function conformance(resultsDir: string): Promise<RunReport[]> {
  const daemons = listOption('daemons', DAEMONS);
  const runtimes = listOption('runtimes', RUNTIMES);
  if (!critestPath()) throw new Error('critest was not built (scripts/install-peers.sh cri-tools)');
  const mounts = process.env.KATA_TS_CONFORMANCE_MOUNTS ?? "the caller's mount namespace";
  say(`mounts: ${mounts}`);
  const meta = { command: process.argv.slice(2), mounts, started: new Date().toISOString(), versions: await versions() };
  writeFileSync(path.join(resultsDir, 'run.json'), JSON.stringify(meta, null, 2));

  say('building the imitation images');
  const store = (await runOk(path.join(__dirname, 'build-images.sh'), [], { timeoutMs: 600_000 })).trim().split('\n').pop()!;
  const work = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-conformance-'));
  const reports: RunReport[] = [];
  let netns: TestNetns | undefined;
  let registry: RegistryProcess | undefined;
  try {
    netns = await TestNetns.create('katats-conf');
    registry = await startRegistryProcess(store, netns.path, path.join(resultsDir, 'registry.log'));
    say(`netns ${netns.name}, registry on 127.0.0.1:${registry.port} there`);
    for (const [i, name] of daemons.entries()) {
      if (interrupt.signal.aborted) break;
      const network = { name: `kata-ts-conf-${name}`, bridge: `katatsconf${i}`, subnet: `10.88.${90 + i}.0/24`, ipamDir: path.join(work, `ipam-${name}`) };
      say(`starting ${name}`);
      const daemon = await startDaemon(name, { netnsPath: netns.path, network, registryPort: registry.port, workDir: work });
      if (!daemon) continue;
      try {
        for (const runtime of runtimes) {
          if (interrupt.signal.aborted) break;
          say(`critest: ${daemon.label}, ${runtime} (log: ${path.join(resultsDir, `${name}-${runtime}.log`)})`);
          const r = await runCritest({
            name: `${name}-${runtime}`, endpoint: daemon.endpoint, handler: runtime === 'kata' ? daemon.kataHandler : undefined,
            netnsPath: netns.path, outDir: resultsDir, focus: option('focus'), skip: skipFor(name, runtime), parallel: Number(option('parallel') ?? 1),
            signal: interrupt.signal,
          });
          const report: RunReport = { daemon: daemon.label, name, runtime, specs: [], seconds: r.seconds, file: path.basename(r.jsonReport) };
          if (existsSync(r.jsonReport)) report.specs = readGinkgoJson(r.jsonReport);
          else report.error = `critest exited ${r.code} without a report; see ${r.logFile}`;
          reports.push(report);
          writeFileSync(path.join(resultsDir, 'runs.json'), JSON.stringify(reports.map(({ specs: _s, ...rest }) => rest), null, 2));
          say(`critest: ${daemon.label}, ${runtime}: exit ${r.code} after ${(r.seconds / 60).toFixed(1)} min`);
        }
      } finally {
        if (existsSync(daemon.logFile)) copyFileSync(daemon.logFile, path.join(resultsDir, `${name}-daemon.log`));
        say(`stopping ${name}`);
        await daemon.stop().catch((err: unknown) => say(`stopping ${name}: ${String(err)}`));
      }
    }
  } finally {
    await registry?.stop();
    await netns?.delete();
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(path.join(resultsDir, 'run.json'), JSON.stringify({ ...meta, finished: new Date().toISOString(), seconds: (Date.now() - t0) / 1000 }, null, 2));
  return reports;
}

/** What a run tested with, from its run.json: one line per fact. */
function header(resultsDir: string): string {
  const file = path.join(resultsDir, 'run.json');
  if (!existsSync(file)) return '';
  const meta = JSON.parse(readFileSync(file, 'utf8')) as { started?: string; seconds?: number; mounts?: string; versions?: Record<string, string> };
  const v = meta.versions ?? {};
  return [
    `run: ${meta.started ?? '?'}${meta.seconds ? `, ${(meta.seconds / 60).toFixed(1)} min` : ''}; mounts: ${meta.mounts ?? '?'}`,
    `kata-ts ${v.kataTs ?? '?'}; shim: ${v.shim ?? '?'}`,
    `critest ${v.critest ?? '?'}; containerd ${v.containerd ?? '?'}; CRI-O ${v.crio ?? '?'}; ${v.runc ?? 'runc ?'}`,
  ].join('\n');
}

/** Rebuilds the reports of an earlier run from its runs.json and ginkgo reports. */
function reportsOf(resultsDir: string): RunReport[] {
  const runs = JSON.parse(readFileSync(path.join(resultsDir, 'runs.json'), 'utf8')) as Omit<RunReport, 'specs'>[];
  return runs.map((r) => ({ ...r, specs: r.file && existsSync(path.join(resultsDir, r.file)) ? readGinkgoJson(path.join(resultsDir, r.file)) : [] }));
}

async function main(): Promise<void> {
  const earlier = option('summarize');
  if (earlier) {
    process.stdout.write(`${header(earlier)}\n\n${renderSummary(reportsOf(earlier))}\n`);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('run as root (it starts daemons, a netns and VMs)');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      say(`${sig}: stopping after the current critest, then cleaning up`);
      interrupt.abort();
    });
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const resultsDir = option('results') ?? path.join('/var/tmp/kata-ts-conformance', stamp);
  mkdirSync(resultsDir, { recursive: true });
  say(`results: ${resultsDir}`);
  const reports = await conformance(resultsDir);
  const summary = `${header(resultsDir)}\n\n${renderSummary(reports)}`;
  writeFileSync(path.join(resultsDir, 'summary.txt'), `${summary}\n`);
  process.stdout.write(`\n${summary}\n`);
  say(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} min; raw results (ginkgo JSON + JUnit, logs) in ${resultsDir}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`conformance: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
