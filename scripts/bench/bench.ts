/**
 * The kata-ts benchmark: every figure next to runc and gVisor (runsc through the runc shim) measured
 * in the same run, through one private containerd with the busybox test image. Prints one table and
 * writes docs/bench/latest.{json,md} and docs/bench/chart.svg (the README shows them).
 *
 *   start    `ctr run --rm echo`, median of --runs after a warm-up run: runc, gVisor, and kata-ts three
 *            ways: from the warm pool (the default configuration; the run waits for the pool to be full
 *            before each sample, so each is a pool hit), as a template clone (vm_cache_number = 0) and
 *            cold (enable_template = false); each kata-ts way also split into phases from the shim's log
 *   burst    --burst (10) `ctr run --rm echo` at once: wall time until all exited, outputs checked, nothing left
 *   series   --series (50) `ctr run --rm echo` in a row: pods per minute
 *   io       stdout and stdin MB/s through `ctr run` (--mib, median of 3) and `ctr task exec` latency
 *   memory   --pods (5) idle pods (`sleep`) side by side: host MemAvailable drop per pod, and for kata-ts the
 *            PSS of each pod's shim and QEMU (pool: the pool is full before and after, so the drop is the pods')
 *   added    memory per container added to a running pod (--added (5) containers joined with the CRI's
 *            sandbox annotations): PSS growth of the pod and MemAvailable drop, per container (runc, kata-ts)
 *
 * kata-ts's pool is a `kata-ts factory serve` this run starts with its own socket (the installed one is
 * left alone). usage (as root, after scripts/install.sh):
 *   npx tsx scripts/bench/bench.ts [--runs 5] [--burst 10] [--series 50] [--pods 5] [--mib 16]
 *     [--only start,burst,series,io,memory,added] [--added 5]   (a partial run prints its rows and writes nothing)
 *     [--set key=value ...]                  (a configuration key for every kata-ts variant, e.g. tcg_tb_size=32)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { AgentService } from '@kata-ts/protocol/kata';
import { poolStatus } from '@kata-ts/shim';
import { Client, createServiceClient } from 'ttrpc-ts';
import { PrivateContainerd, ensureTestImage, installedConfigWith, run, waitUntil, which } from '../../e2e/harness';
import { barChart } from './lib/chart';
import { execLatency, stdinRate, stdoutRate, type Runtime } from './lib/io';
import { memAvailableMiB, pssMiB, treePssMiB } from './lib/memory';
import { addedContainerMemory, type AddedContainerFigures } from './lib/added-containers';
import { listProcesses } from '../../e2e/harness/procfs';
import { phasesOf, shimLines, type Phases } from './lib/phases';
import { median, numberArg } from './stats';

const REPO = path.resolve(__dirname, '..', '..');
const KATA_TS = '/usr/local/bin/kata-ts';
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface Bench {
  ctd: PrivateContainerd;
  image: string;
  fifo: string[];
  n: number;
}

const ctr = (b: Bench, args: string[], timeoutMs = 240_000) => run('ctr', ['--address', b.ctd.layout.address, '--namespace', b.ctd.namespace, ...args], { timeoutMs });

async function runEcho(b: Bench, rt: Runtime, id: string): Promise<number> {
  const t0 = now();
  const r = await ctr(b, ['run', '--rm', ...b.fifo, ...rt.flags, b.image, id, 'echo', 'hi']);
  if (r.code !== 0 || r.stdout !== 'hi\n') throw new Error(`${rt.name}: ctr run ${id} exited ${r.code}: ${r.stderr}`);
  return now() - t0;
}

/** The bench's own warm pool: a factory with this run's configuration and socket. */
class BenchPool {
  private child: ChildProcess | undefined;
  constructor(private readonly config: string, private readonly endpoint: string, private readonly logFile: string) {}

  async start(): Promise<void> {
    this.child = spawn(KATA_TS, ['factory', 'serve', '--config', this.config], { stdio: ['ignore', 'ignore', openSync(this.logFile, 'a')] });
    await this.full();
  }

  /** Waits until every pool VM is ready (bounded). */
  async full(): Promise<void> {
    const ok = await waitUntil(async () => {
      const s = await poolStatus(this.endpoint).catch(() => undefined);
      return !!s && (s.ready as unknown[]).length === s.target && s.starting === 0;
    }, 180_000, 200);
    if (!ok) throw new Error(`the bench's VM pool did not fill (log: ${this.logFile})`);
  }

  /**
   * The agent's own memory in a waiting (warmed, idle) pool VM, from its GetMetrics: dials the VM's
   * agent socket as a shim would, then hangs up (the agent reopens its port, the VM stays usable).
   */
  async agentMemory(): Promise<{ anonMiB: number; rssMiB: number }> {
    await this.full();
    const s = await poolStatus(this.endpoint);
    const vm = (s.ready as Array<{ name: string }>)[0]!;
    const socket = net.connect(path.join(path.dirname(this.endpoint), vm.name, 'vm', 'agent.sock'));
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new Client(socket);
    try {
      const { metrics } = await createServiceClient(client, AgentService).getMetrics({}, { timeoutMs: 30_000 });
      const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN) / 1048576;
      return { anonMiB: value('kata_agent_rss_anon'), rssMiB: value('kata_agent_total_rss') };
    } finally {
      client.close();
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
}

async function main(): Promise<void> {
  const runs = numberArg('runs', 5);
  const burst = numberArg('burst', 10);
  const series = numberArg('series', 50);
  const pods = numberArg('pods', 5);
  const added = numberArg('added', 5);
  const bytes = numberArg('mib', 16) * (1 << 20);
  const only = process.argv.includes('--only') ? new Set(process.argv[process.argv.indexOf('--only') + 1]!.split(',')) : undefined;
  const want = (section: string) => !only || only.has(section);
  if (process.getuid?.() !== 0) throw new Error('run as root');
  if (!which('containerd-shim-kata-v2')) throw new Error('containerd-shim-kata-v2 is not on PATH: run scripts/install.sh');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-bench-'));
  const endpoint = path.join(tmp, 'vm-cache', 'cache.sock');
  const configs = {
    pool: path.join(tmp, 'pool.toml'),
    clone: path.join(tmp, 'clone.toml'),
    cold: path.join(tmp, 'cold.toml'),
  };
  // --set key=value (repeatable): a configuration key changed for every kata-ts variant (e.g. tcg_tb_size=32).
  const extra: Record<string, string | number | boolean> = {};
  process.argv.forEach((a, i) => {
    if (a !== '--set') return;
    const [key, value = ''] = (process.argv[i + 1] ?? '').split('=');
    extra[key!] = value === 'true' || value === 'false' ? value === 'true' : /^\d+$/.test(value) ? Number(value) : value;
  });
  writeFileSync(configs.pool, installedConfigWith({ ...extra, vm_cache_number: 2, vm_cache_endpoint: endpoint }));
  writeFileSync(configs.clone, installedConfigWith({ ...extra, vm_cache_number: 0 }));
  writeFileSync(configs.cold, installedConfigWith({ ...extra, vm_cache_number: 0, enable_template: false }));
  const gvisorWrapper = path.join(tmp, 'runsc-wrapper');
  writeFileSync(gvisorWrapper, '#!/bin/sh\nexec runsc --network=none --ignore-cgroups "$@"\n', { mode: 0o755 });
  const kata = (name: string, file: string): Runtime => ({ name, flags: ['--runtime', 'io.containerd.kata.v2', '--runtime-config-path', file] });
  const runc: Runtime = { name: 'runc', flags: [] };
  const gvisor: Runtime | undefined = which('runsc') ? { name: 'gVisor', flags: ['--runc-binary', gvisorWrapper] } : undefined;
  const kataPool = kata('kata-ts', configs.pool);
  const peers = [runc, ...(gvisor ? [gvisor] : [])];
  const pool = new BenchPool(configs.pool, endpoint, path.join(tmp, 'factory.log'));

  const ctd = await PrivateContainerd.start();
  const result: Record<string, unknown> = { date: new Date().toISOString(), host: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) }, runs, burst, series, pods, added, mib: bytes / (1 << 20) };
  try {
    const img = await ensureTestImage();
    await ctd.importImage(img.tarPath);
    const b: Bench = { ctd, image: img.ref, fifo: ['--fifo-dir', path.join(ctd.layout.dir, 'fifo')], n: 0 };
    await pool.start();

    // start
    if (want('start')) {
      const start: Record<string, number> = {};
      const phaseIds: Record<string, string[]> = {};
      for (const rt of [...peers, kataPool, kata('kata-ts clone', configs.clone), kata('kata-ts cold', configs.cold)]) {
        const samples: number[] = [];
        phaseIds[rt.name] = [];
        for (let i = 0; i <= runs; i++) {
          if (rt === kataPool) await pool.full();
          const id = `start-${b.n++}`;
          const ms = await runEcho(b, rt, id);
          if (i > 0) {
            samples.push(ms);
            phaseIds[rt.name]!.push(id);
          }
        }
        start[rt.name] = median(samples);
        log(`start ${rt.name}: ${samples.map((s) => s.toFixed(0)).join(' ')} ms`);
      }
      const logText = readFileSync(ctd.layout.logFile, 'utf8');
      const phases: Record<string, Record<string, number | string | undefined>> = {};
      for (const [name, ids] of Object.entries(phaseIds)) {
        if (!name.startsWith('kata-ts')) continue;
        const samples = ids.map((id) => phasesOf(shimLines(logText, id), 0));
        const med = (k: keyof Phases) => {
          const xs = samples.map((s) => s[k]).filter((x): x is number => typeof x === 'number');
          return xs.length ? median(xs) : undefined;
        };
        phases[name] = { vm: samples.map((s) => s.vm).join(','), bootMs: med('bootMs'), agentCreateMs: med('agentCreateMs'), createRpcMs: med('createRpcMs'), startRpcMs: med('startRpcMs'), deleteRpcMs: med('deleteRpcMs') };
      }
      result.startMs = start;
      result.phases = phases;
    }

    // burst
    if (want('burst')) {
      const burstMs: Record<string, number> = {};
      for (const rt of [...peers, kataPool]) {
        if (rt === kataPool) await pool.full();
        const t0 = now();
        await Promise.all(Array.from({ length: burst }, () => runEcho(b, rt, `burst-${b.n++}`)));
        burstMs[rt.name] = now() - t0;
        const left = (await b.ctd.tasks()).length + (await ctr(b, ['containers', 'list', '-q'])).stdout.trim().split('\n').filter(Boolean).length;
        if (left > 0) throw new Error(`${rt.name}: ${left} tasks or containers left after the burst`);
        log(`burst ${rt.name}: ${burst} at once in ${burstMs[rt.name]!.toFixed(0)} ms`);
      }
      result.burstMs = burstMs;
    }

    // series
    if (want('series')) {
      const perMinute: Record<string, number> = {};
      for (const rt of [...peers, kataPool]) {
        if (rt === kataPool) await pool.full();
        const t0 = now();
        for (let i = 0; i < series; i++) await runEcho(b, rt, `series-${b.n++}`);
        perMinute[rt.name] = series / ((now() - t0) / 60_000);
        log(`series ${rt.name}: ${perMinute[rt.name]!.toFixed(1)} pods/min`);
      }
      result.podsPerMinute = perMinute;
    }

    // io
    if (want('io')) {
      const io: Record<string, { stdoutMBs: number; stdinMBs: number; execMs: number }> = {};
      for (const rt of [...peers, kataPool]) {
        const outs: number[] = [];
        const ins: number[] = [];
        for (let i = 0; i < 3; i++) {
          if (rt === kataPool) await pool.full();
          outs.push(await stdoutRate(ctd, rt, b.image, `io-${b.n++}`, bytes));
          ins.push(await stdinRate(ctd, rt, b.image, `io-${b.n++}`, bytes));
        }
        const execs = await execLatency(ctd, rt, b.image, `io-${b.n++}`, Math.max(runs, 5));
        io[rt.name] = { stdoutMBs: median(outs), stdinMBs: median(ins), execMs: median(execs) };
        log(`io ${rt.name}: stdout ${outs.map((x) => x.toFixed(1)).join(' ')} MB/s, stdin ${ins.map((x) => x.toFixed(1)).join(' ')} MB/s, exec ${execs.map((x) => x.toFixed(0)).join(' ')} ms`);
      }
      result.io = io;
    }

    // memory
    if (want('memory')) {
      const memory: Record<string, { perPodMiB: number; pssMiB?: number; shimPssMiB?: number; qemuPssMiB?: number }> = {};
      for (const rt of [...peers, kataPool, kata('kata-ts clone', configs.clone)]) {
        if (rt === kataPool) await pool.full();
        await new Promise((r) => setTimeout(r, 2000));
        const before = memAvailableMiB();
        const ids = Array.from({ length: pods }, () => `mem-${b.n++}`);
        for (const id of ids) {
          if (rt === kataPool) await pool.full();
          const r = await ctr(b, ['run', '-d', '--null-io', ...b.fifo, ...rt.flags, b.image, id, 'sleep', '600']);
          if (r.code !== 0) throw new Error(`${rt.name}: pod ${id}: ${r.stderr}`);
        }
        if (rt === kataPool) await pool.full();
        await new Promise((r) => setTimeout(r, 5000)); // let the guests settle
        const after = memAvailableMiB();
        const entry: { perPodMiB: number; pssMiB?: number; shimPssMiB?: number; qemuPssMiB?: number } = { perPodMiB: (before - after) / pods };
        if (!rt.name.startsWith('kata-ts')) {
          // The pod's shim and everything under it (runc: the container; gVisor: its sandbox and gofer).
          const procs = await listProcesses();
          entry.pssMiB = median(ids.map((id) => {
            const shim = procs.find((p) => p.argv.some((a) => a.includes('containerd-shim-runc-v2')) && p.argv.includes(id));
            if (!shim) throw new Error(`${rt.name}: no shim for ${id}`);
            return treePssMiB(shim.pid);
          }));
        } else {
          const pss = ids.map((id) => {
            const rec = JSON.parse(readFileSync(path.join('/run/kata-ts/sbs', id, 'sandbox.json'), 'utf8')) as { shimPid: number; hypervisorPid: number };
            return { shim: pssMiB(rec.shimPid), qemu: pssMiB(rec.hypervisorPid) };
          });
          entry.shimPssMiB = median(pss.map((p) => p.shim));
          entry.qemuPssMiB = median(pss.map((p) => p.qemu));
          entry.pssMiB = median(pss.map((p) => p.shim + p.qemu));
        }
        memory[rt.name] = entry;
        log(`memory ${rt.name}: ${entry.perPodMiB.toFixed(1)} MiB per pod (MemAvailable), PSS ${entry.pssMiB?.toFixed(1)}${entry.shimPssMiB !== undefined ? ` (PSS shim ${entry.shimPssMiB.toFixed(1)}, QEMU ${entry.qemuPssMiB!.toFixed(1)})` : ''}`);
        for (const id of ids) {
          await ctr(b, ['task', 'kill', '-s', 'SIGKILL', id]);
          await waitUntil(async () => !(await b.ctd.tasks()).some((t) => t.id === id && t.status !== 'STOPPED'), 30_000, 100);
          await ctr(b, ['task', 'delete', id]);
          await ctr(b, ['containers', 'delete', id]);
        }
      }
      result.memory = memory;
      result.agent = await pool.agentMemory();
      log(`agent in a warm pool VM: anonymous ${(result.agent as { anonMiB: number }).anonMiB.toFixed(1)} MiB`);
    }

    // memory per added container
    if (want('added')) {
      const perContainer: Record<string, AddedContainerFigures> = {};
      // Not gVisor: through ctr, runsc hangs creating the joining container (the sandbox's task runs, the
      // second stays UNKNOWN until ctr's deadline); the CRI sets up what runsc expects, ctr does not.
      for (const rt of [runc, kataPool]) {
        if (rt === kataPool) await pool.full();
        const podPss = async (podId: string): Promise<number> => {
          if (rt.name.startsWith('kata-ts')) {
            const rec = JSON.parse(readFileSync(path.join('/run/kata-ts/sbs', podId, 'sandbox.json'), 'utf8')) as { shimPid: number; hypervisorPid: number };
            return pssMiB(rec.shimPid) + pssMiB(rec.hypervisorPid);
          }
          const shim = (await listProcesses()).find((p) => p.argv.some((a) => a.includes('containerd-shim-runc-v2')) && p.argv.includes(podId));
          if (!shim) throw new Error(`${rt.name}: no shim for ${podId}`);
          return treePssMiB(shim.pid);
        };
        perContainer[rt.name] = await addedContainerMemory(ctd, rt, b.image, `added-${b.n++}`, added, podPss);
        log(`added containers ${rt.name}: PSS ${perContainer[rt.name]!.pssMiB.toFixed(1)} MiB, MemAvailable ${perContainer[rt.name]!.memAvailableMiB.toFixed(1)} MiB per container`);
      }
      result.addedContainer = perContainer;
    }
  } finally {
    await pool.stop();
    await ctd.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  report(result, !only);
}

/** The table (stdout and docs/bench/latest.md), the JSON and the chart. */
function report(r: Record<string, unknown>, writeDocs: boolean): void {
  const start = (r.startMs ?? {}) as Record<string, number>;
  const burstMs = (r.burstMs ?? {}) as Record<string, number>;
  const perMinute = (r.podsPerMinute ?? {}) as Record<string, number>;
  const io = (r.io ?? {}) as Record<string, { stdoutMBs: number; stdinMBs: number; execMs: number }>;
  const memory = (r.memory ?? {}) as Record<string, { perPodMiB: number; pssMiB?: number; shimPssMiB?: number; qemuPssMiB?: number }>;
  const phases = (r.phases ?? {}) as Record<string, Record<string, number | undefined>>;
  const addedC = (r.addedContainer ?? {}) as Record<string, { pssMiB: number; memAvailableMiB: number }>;
  const fmt = (x: number | undefined, d = 0) => (x === undefined ? 'n/a' : x.toFixed(d));
  // A base at or under 1 (a runc pod's memory within MemAvailable's noise) makes no ratio.
  const ratio = (k: number | undefined, base: number | undefined) => (k === undefined || base === undefined || base <= 1 ? 'n/a' : (k / base).toFixed(2));
  const row = (measure: string, runc: number | undefined, gvisor: number | undefined, kata: number | undefined, d: number, target: string) =>
    `| ${measure} | ${fmt(runc, d)} | ${fmt(gvisor, d)} | ${fmt(kata, d)} | ${ratio(kata, runc)} | ${target} |`;
  const kp = phases['kata-ts'] ?? {};
  const lines = [
    `kata-ts benchmark, ${String(r.date)} (${JSON.stringify(r.host)}; medians; one containerd, one run)`,
    '',
    '| measure | runc | gVisor | kata-ts | kata-ts/runc | target |',
    '|---|---|---|---|---|---|',
    row('`ctr run --rm echo`, ms (kata-ts: warm pool)', start.runc, start.gVisor, start['kata-ts'], 0, '≤ 1000 ms, ≤ 6× runc'),
    row('… kata-ts as a template clone, ms', start.runc, start.gVisor, start['kata-ts clone'], 0, ''),
    row('… kata-ts cold boot, ms', start.runc, start.gVisor, start['kata-ts cold'], 0, '≤ 2× bare-VM floor'),
    row(`${String(r.burst)} pods at once, ms (all exited)`, burstMs.runc, burstMs.gVisor, burstMs['kata-ts'], 0, 'all run, nothing left'),
    row(`pods per minute, ${String(r.series)} in a row`, perMinute.runc, perMinute.gVisor, perMinute['kata-ts'], 1, ''),
    row('stdout MB/s', io.runc?.stdoutMBs, io.gVisor?.stdoutMBs, io['kata-ts']?.stdoutMBs, 1, '≥ 50 % of runc'),
    row('stdin MB/s', io.runc?.stdinMBs, io.gVisor?.stdinMBs, io['kata-ts']?.stdinMBs, 1, '≥ 50 % of runc'),
    row('exec latency, ms', io.runc?.execMs, io.gVisor?.execMs, io['kata-ts']?.execMs, 0, '≤ 3× runc'),
    row(`host memory per idle pod, MemAvailable drop over ${String(r.pods)} pods, MiB`, memory.runc?.perPodMiB, memory.gVisor?.perPodMiB, memory['kata-ts']?.perPodMiB, 1, '≤ 80 MiB'),
    row('… kata-ts as template clones, MiB', memory.runc?.perPodMiB, memory.gVisor?.perPodMiB, memory['kata-ts clone']?.perPodMiB, 1, ''),
    row('PSS per idle pod (shim and what it runs; kata-ts: shim + QEMU), MiB', memory.runc?.pssMiB, memory.gVisor?.pssMiB, memory['kata-ts']?.pssMiB, 1, ''),
    row('… kata-ts as template clones, MiB', memory.runc?.pssMiB, memory.gVisor?.pssMiB, memory['kata-ts clone']?.pssMiB, 1, ''),
    `| shim PSS per pod, MiB | | | ${fmt(memory['kata-ts']?.shimPssMiB, 1)} | | ≤ 20 MiB |`,
    `| QEMU PSS per pod, MiB | | | ${fmt(memory['kata-ts']?.qemuPssMiB, 1)} | | |`,
    row(`memory per container added to a running pod, PSS growth over ${String(r.added)}, MiB`, addedC.runc?.pssMiB, addedC.gVisor?.pssMiB, addedC['kata-ts']?.pssMiB, 1, '≤ 10 MiB'),
    row('… MemAvailable drop, MiB', addedC.runc?.memAvailableMiB, addedC.gVisor?.memAvailableMiB, addedC['kata-ts']?.memAvailableMiB, 1, ''),
    `| agent anonymous memory (warm, idle VM), MiB | | | ${fmt((r.agent as { anonMiB?: number } | undefined)?.anonMiB, 1)} | | ≤ 16 MiB |`,
    '',
    'kata-ts pod start by phase (ms, median): ' + Object.entries(phases).map(([name, p]) =>
      `${name}: Create ${fmt(p.createRpcMs)} (VM ready ${fmt(p.bootMs)}, guest CreateContainer ${fmt(p.agentCreateMs)}), Start ${fmt(p.startRpcMs)}, Delete ${fmt(p.deleteRpcMs)}`).join('; '),
    `(kata-ts warm-pool runs came from: ${String(kp.vm ?? 'n/a')})`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!writeDocs) return; // a partial run (--only) leaves the published figures alone
  const docs = path.join(REPO, 'docs', 'bench');
  mkdirSync(docs, { recursive: true });
  writeFileSync(path.join(docs, 'latest.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(path.join(docs, 'latest.md'), `${lines.join('\n')}\n`);
  const names = ['runc', 'gVisor', 'kata-ts'];
  writeFileSync(path.join(docs, 'chart.svg'), barChart(`kata-ts vs runc and gVisor, ${String(r.date).slice(0, 10)} (2 cores, QEMU TCG)`, [
    { title: 'ctr run --rm echo', unit: 'ms, lower is better', bars: [...names.map((n) => ({ label: n, value: start[n] })), { label: 'kata-ts clone', value: start['kata-ts clone'] }, { label: 'kata-ts cold', value: start['kata-ts cold'] }] },
    { title: `${String(r.burst)} pods at once`, unit: 'ms, lower is better', bars: names.map((n) => ({ label: n, value: burstMs[n] })) },
    { title: 'pods per minute in a row', unit: 'higher is better', bars: names.map((n) => ({ label: n, value: perMinute[n] })) },
    { title: 'stdout', unit: 'MB/s, higher is better', bars: names.map((n) => ({ label: n, value: io[n]?.stdoutMBs })) },
    { title: 'stdin', unit: 'MB/s, higher is better', bars: names.map((n) => ({ label: n, value: io[n]?.stdinMBs })) },
    { title: 'exec latency', unit: 'ms, lower is better', bars: names.map((n) => ({ label: n, value: io[n]?.execMs })) },
    { title: 'PSS per idle pod (shim and what it runs)', unit: 'MiB, lower is better', bars: [...names.map((n) => ({ label: n, value: memory[n]?.pssMiB })), { label: 'kata-ts clone', value: memory['kata-ts clone']?.pssMiB }] },
  ]));
  log(`wrote ${path.relative(REPO, docs)}/latest.json, latest.md, chart.svg`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
