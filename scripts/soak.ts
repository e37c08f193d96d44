/**
 * The soak (issue 11 item 4): N pods through a private containerd 1.6 (CRI plugin on), P at a time,
 * three kinds in turn, every pod's output and exit code checked:
 *   run   `ctr run --rm` of `sh -c 'echo soak-<i>; exit <i % 7>'`: stdout and exit code exactly
 *   cri   a CRI pod (RuntimeClass handler kata, host network) with two containers: one prints and exits
 *         with a known code (its CRI log and exit code checked), one sleeps; ExecSync into the sleeper in the
 *         middle (stdout, stderr, exit code); then either StopContainer (exit 137) + RemoveContainer +
 *         StopPodSandbox + RemovePodSandbox, or StopPodSandbox + RemovePodSandbox straight away
 *   exec  `ctr run -d` of `sleep`, a `ctr task exec` in the middle (output and code), `ctr task kill -s SIGKILL`
 *         (exit 137 through `ctr task delete`), `ctr containers delete`
 * Before and after (the after-snapshot waits up to --settle seconds for the host to come back) it snapshots
 * the host: kata-related processes, containerd's open descriptors (shims: none may be left), mounts,
 * network devices and namespaces, files under the kata-ts state directory (sbs/ and the rest; the template
 * directory and vm-cache belong to the factory and are compared apart), containerd's task state directories
 * and objects for the two namespaces, the shim sockets of every pod, cgroup directories, template files.
 * It prints the counts before and after, every leaked item, pods per minute and each failure, and exits 1
 * if any pod failed or anything leaked.
 *
 * Uses the installed shim and configuration (scripts/install.sh); a warm pool factory may be running or not
 * (the VM source of each pod is counted from the shim's log lines). As root:
 *   flock /tmp/kata-ts-vm.lock npx tsx scripts/soak.ts [--pods 200] [--parallel 4] [--settle 30] [--keep-log FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pb } from '@kata-ts/protocol/cri';
import {
  CRI_NAMESPACE, CriClient, INSTALLED_DEFAULTS, KATA_RUNTIME, KATA_STATE_DIR, PrivateContainerd, ensurePauseImage, ensureTestImage,
  run, waitUntil,
} from '../e2e/harness';
import { cgroupMountPoints, listProcesses } from '../e2e/harness/procfs';
import { numberArg } from './bench/stats';

const v1 = pb.runtime.v1;
const HANDLER = 'kata';
/** The namespace of the ctr pods (the CRI's are in k8s.io). */
const CTR_NAMESPACE = 'kata-soak';
/** Programs whose processes are compared by name (basename of argv[0]). */
const WATCHED_PROGRAMS = ['containerd-shim-kata-v2', 'qemu-system-x86_64', 'virtiofsd', 'kata-runner', 'kata-agent', 'kata-ts',
  'containerd-shim-runc-v2', 'containerd-shim', 'crun', 'runc', 'ctr', 'nsenter'];

const log = (line: string) => process.stderr.write(`soak: ${line}\n`);
const stringArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

/**** Host snapshots ****/

/** One category of the snapshot: its items (a multiset: the same item may appear more than once). */
type Snapshot = Record<string, string[]>;

interface Proc { pid: number; ppid: number; argv: string[] }

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const p of await listProcesses()) {
    if (p.state === 'Z' || p.argv.length === 0) continue;
    const stat = await readFile(`/proc/${p.pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
    out.push({ pid: p.pid, ppid, argv: p.argv });
  }
  return out;
}

/** The factory (`kata-ts factory serve`) and its descendants: the warm pool's VMs come and go with it. */
function factoryPids(procs: readonly Proc[]): Set<number> {
  const owned = new Set(procs.filter((p) => p.argv.some((a) => a.endsWith('kata-ts')) && p.argv.includes('factory') && p.argv.includes('serve')).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (owned.has(p.pid) || !owned.has(p.ppid)) continue;
      owned.add(p.pid);
      grew = true;
    }
  }
  return owned;
}

/** What a descriptor points at, with the per-object part dropped from sockets, pipes and anon inodes. */
function fdKind(target: string): string {
  const m = /^(socket|pipe|anon_inode):/.exec(target);
  if (m) return target.replace(/\[\d+\]$/, '[…]');
  return target;
}

async function fdTargets(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const out: string[] = [];
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
    if (target !== undefined) out.push(fdKind(target));
  }
  return out;
}

/** Every path under `dir` (relative, directories with a trailing /), symlinks not followed, `skip` names left out at the top. */
async function walk(dir: string, skip: readonly string[] = [], depth = 6): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string, level: number): Promise<void> => {
    const entries = await readdir(path.join(dir, rel)).catch(() => [] as string[]);
    for (const name of entries.sort()) {
      if (level === 0 && skip.includes(name)) continue;
      const child = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(dir, child)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        out.push(`${child}/`);
        if (level < depth) await visit(child, level + 1);
      } else out.push(child);
    }
  };
  await visit('', 0);
  return out;
}

async function cgroupDirs(): Promise<string[]> {
  const out: string[] = [];
  for (const mp of await cgroupMountPoints()) {
    const visit = async (dir: string, level: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        out.push(path.join(dir, e.name));
        if (level < 5) await visit(path.join(dir, e.name), level + 1);
      }
    };
    await visit(mp, 0);
  }
  return out.sort();
}

/** The template directory of the installed configuration (where the factory's templates live). */
function templateDir(): string {
  const m = /^template_path = "(.*)"$/m.exec(readFileSync(INSTALLED_DEFAULTS, 'utf8'));
  return m?.[1] ?? path.join(KATA_STATE_DIR, 'template');
}

interface Context {
  ctd: PrivateContainerd;
  cri: CriClient;
  /** Every pod id (ctr container id or CRI sandbox id) and its namespace, for the shim socket check. */
  podIds: Array<{ id: string; ns: string }>;
}

async function lines(file: string, args: string[]): Promise<string[]> {
  const r = await run(file, args, { timeoutMs: 15_000 });
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

async function snapshot(ctx: Context): Promise<Snapshot> {
  const { ctd } = ctx;
  // containerd's descriptors first, before this snapshot's own ctr and CRI calls open connections to it.
  const containerdFds = await fdTargets(ctd.pid);
  const procs = await processes();
  const factory = factoryPids(procs);
  const watched = procs.filter((p) => p.pid !== process.pid &&
    (WATCHED_PROGRAMS.includes(path.basename(p.argv[0] ?? '')) || p.argv.some((a) => a.includes(ctd.layout.dir) || a.includes(KATA_STATE_DIR))));
  const describe = (p: Proc) => `${p.pid} ${p.argv.join(' ').slice(0, 160)}`;
  const shims = watched.filter((p) => path.basename(p.argv[0] ?? '') === 'containerd-shim-kata-v2');
  const shimFds: string[] = [];
  for (const s of shims) shimFds.push(...(await fdTargets(s.pid)).map((t) => `shim ${s.pid}: ${t}`));

  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(Boolean).map((line) => {
    const [before, after = ''] = line.split(' - ');
    const f = (before ?? '').split(' ');
    const [fstype, source] = after.split(' ');
    return `${f[4]} (root ${f[3]}) ${fstype} ${source}`;
  });
  const links = (await lines('ip', ['-o', 'link'])).map((l) => l.split(':')[1]?.trim().replace(/@.*$/, '') ?? l);
  const netns = [...(await lines('ip', ['netns', 'list'])).map((l) => `ip netns: ${l.split(' ')[0]}`),
    ...(await readdir('/run/netns').catch(() => [] as string[])).map((n) => `/run/netns/${n}`)];

  const tmpl = templateDir();
  const stateFiles = await walk(KATA_STATE_DIR, tmpl.startsWith(`${KATA_STATE_DIR}/`) ? [path.relative(KATA_STATE_DIR, tmpl).split('/')[0]!, 'vm-cache'] : ['vm-cache']);

  const ctdState: string[] = [];
  for (const ns of [CRI_NAMESPACE, CTR_NAMESPACE]) {
    for (const base of [ctd.layout.state, ctd.layout.root]) {
      const dir = path.join(base, 'io.containerd.runtime.v2.task', ns);
      ctdState.push(...(await walk(dir, [], 1)).map((p) => `${path.relative(ctd.layout.dir, dir)}/${p}`));
    }
    for (const [what, args] of [['container', ['containers', 'ls', '-q']], ['task', ['task', 'ls', '-q']], ['snapshot', ['snapshots', 'ls']], ['lease', ['leases', 'ls', '-q']]] as const) {
      const out = await ctd.ctr(args, { namespace: ns });
      const rows = out.stdout.split('\n').filter(Boolean).slice(what === 'snapshot' ? 1 : 0);
      ctdState.push(...rows.map((r) => `${ns} ${what} ${r.trim().split(/\s+/)[0]}`));
    }
  }
  ctdState.push(...(await walk(path.join(ctd.layout.dir, 'fifo'))).map((p) => `fifo/${p}`));
  const cri = [...(await ctx.cri.listPodSandbox()).map((p) => `pod ${p.id} ${p.metadata?.name}`),
    ...(await ctx.cri.listContainers()).map((c) => `container ${c.id} ${c.metadata?.name}`)];
  const shimSockets = ctx.podIds.map(({ id, ns }) => ctd.shimSocketFor(id, ns)).filter((s) => existsSync(s));

  return {
    'processes (kata, shims, QEMU, ctr...)': watched.filter((p) => !factory.has(p.pid)).map(describe),
    'factory and its pool VMs': procs.filter((p) => factory.has(p.pid)).map(describe),
    'containerd fds': containerdFds,
    'kata shims and their fds': [...shims.map((s) => `shim ${describe(s)}`), ...shimFds],
    'mounts': mounts,
    'network devices': links,
    'network namespaces': netns,
    [`files under ${KATA_STATE_DIR} (not template, vm-cache)`]: stateFiles,
    'template files': await walk(tmpl),
    'vm-cache files': await walk(path.join(KATA_STATE_DIR, 'vm-cache')),
    'containerd state and objects (k8s.io, kata-soak)': ctdState,
    'CRI pods and containers': cri,
    'shim sockets of the pods': shimSockets,
    'cgroup directories': await cgroupDirs(),
  };
}

interface Diff { added: string[]; removed: string[] }

/** Multiset difference; processes are matched by pid and argv, so a new process with the same argv counts. */
function diff(before: readonly string[], after: readonly string[]): Diff {
  const count = new Map<string, number>();
  for (const x of before) count.set(x, (count.get(x) ?? 0) + 1);
  const added: string[] = [];
  for (const x of after) {
    const n = count.get(x) ?? 0;
    if (n > 0) count.set(x, n - 1);
    else added.push(x);
  }
  const removed = [...count.entries()].flatMap(([x, n]) => Array<string>(n).fill(x));
  return { added, removed };
}

/** Categories whose additions are not leaks: the factory's pool is refilled, its templates may be remade. */
const NOT_LEAKS = new Set(['factory and its pool VMs', 'template files', 'vm-cache files']);

function leaksOf(before: Snapshot, after: Snapshot): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(before)) {
    if (NOT_LEAKS.has(key)) continue;
    const { added } = diff(before[key]!, after[key]!);
    if (added.length) out[key] = added;
  }
  // The factory's pool: more processes than before and than a full pool is a leak (adopted VMs stay its children).
  const poolBefore = before['factory and its pool VMs']!.length;
  const poolAfter = after['factory and its pool VMs']!.length;
  const poolMax = Number(/^vm_cache_number = (\d+)/m.exec(readFileSync(INSTALLED_DEFAULTS, 'utf8'))?.[1] ?? 0);
  if (poolAfter > Math.max(poolBefore, poolAfter > 0 ? poolMax * 2 + 1 : 0)) out['factory and its pool VMs'] = diff(before['factory and its pool VMs']!, after['factory and its pool VMs']!).added;
  return out;
}

/**** Pods ****/

type Kind = 'run' | 'cri' | 'exec';
interface Failure { i: number; kind: Kind; error: string }

const hostNetwork = { namespaceOptions: { network: v1.NamespaceMode.NODE, pid: v1.NamespaceMode.CONTAINER, ipc: v1.NamespaceMode.POD } };

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

interface PodEnv extends Context { image: string; logRoot: string; runId: string }

async function ctrRunPod(env: PodEnv, i: number): Promise<void> {
  const id = `soak-run-${env.runId}-${i}`;
  env.podIds.push({ id, ns: CTR_NAMESPACE });
  const r = await env.ctd.runContainer({ id, image: env.image, runtime: KATA_RUNTIME, namespace: CTR_NAMESPACE, args: ['sh', '-c', `echo soak-${i}; exit ${i % 7}`], timeoutMs: 300_000 });
  if (r.timedOut) throw new Error(`ctr run --rm timed out: ${r.stderr}`);
  expectEqual(`ctr run --rm: exit code (stderr ${JSON.stringify(r.stderr.slice(0, 300))})`, r.code, i % 7);
  expectEqual('ctr run --rm: stdout', r.stdout, `soak-${i}\n`);
}

async function ctrExecPod(env: PodEnv, i: number): Promise<void> {
  const id = `soak-exec-${env.runId}-${i}`;
  env.podIds.push({ id, ns: CTR_NAMESPACE });
  const ctr = (args: string[], timeoutMs = 60_000) => env.ctd.ctr(args, { namespace: CTR_NAMESPACE, timeoutMs });
  try {
    const r = await env.ctd.runContainer({ id, image: env.image, runtime: KATA_RUNTIME, namespace: CTR_NAMESPACE, detach: true, args: ['sleep', '600'], timeoutMs: 300_000 });
    expectEqual(`ctr run -d: exit code (stderr ${JSON.stringify(r.stderr.slice(0, 300))})`, r.code, 0);
    const code = i % 5;
    const exec = await ctr(['task', 'exec', '--exec-id', `x${i}`, id, 'sh', '-c', `echo exec-${i}; echo err-${i} >&2; exit ${code}`]);
    expectEqual('ctr task exec: [code, stdout, stderr]', [exec.code, exec.stdout, exec.stderr], [code, `exec-${i}\n`, `err-${i}\n`]);
    const kill = await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    expectEqual(`ctr task kill: exit code (${kill.stderr.trim()})`, kill.code, 0);
    let status = '';
    await waitUntil(async () => (status = (await env.ctd.tasks(CTR_NAMESPACE)).find((t) => t.id === id)?.status ?? 'gone') === 'STOPPED', 30_000, 200);
    expectEqual('task status after SIGKILL', status, 'STOPPED');
    const del = await ctr(['task', 'delete', id]);
    // ctr 1.6's `task delete` exits 0 and warns with the task's exit status: SIGKILL is 128 + 9.
    const exitStatus = /exit with non-zero exit code (\d+)/.exec(del.stderr)?.[1];
    expectEqual(`ctr task delete: [code, task exit status] (${del.stderr.trim()})`, [del.code, exitStatus], [0, '137']);
  } finally {
    await ctr(['task', 'delete', '--force', id]).catch(() => undefined);
    await ctr(['containers', 'delete', id]).catch(() => undefined);
  }
}

async function criPod(env: PodEnv, i: number): Promise<void> {
  const { cri } = env;
  const logDirectory = path.join(env.logRoot, String(i));
  const sandboxConfig: pb.runtime.v1.PodSandboxConfig.$Properties = {
    metadata: { name: `soak-${i}`, namespace: 'default', uid: `soak-${env.runId}-${i}`, attempt: 0 },
    hostname: `soak-${i}`,
    logDirectory,
    linux: { securityContext: hostNetwork },
  };
  const container = (name: string, command: string[]): pb.runtime.v1.ContainerConfig.$Properties => ({
    metadata: { name, attempt: 0 }, image: { image: env.image }, command, logPath: `${name}.log`, linux: { securityContext: hostNetwork },
  });
  const pod = await cri.runPodSandbox(sandboxConfig, HANDLER);
  env.podIds.push({ id: pod, ns: CRI_NAMESPACE });
  try {
    const sleeper = await cri.createContainer(pod, container('sleeper', ['sleep', '600']), sandboxConfig);
    await cri.startContainer(sleeper);
    const code = (i % 6) + 1;
    const exiter = await cri.createContainer(pod, container('exiter', ['sh', '-c', `echo cri-${i}; exit ${code}`]), sandboxConfig);
    await cri.startContainer(exiter);
    let status = await cri.containerStatus(exiter);
    await waitUntil(async () => (status = await cri.containerStatus(exiter)).state === v1.ContainerState.CONTAINER_EXITED, 60_000, 200);
    expectEqual('exiter: [state, exit code]', [status.state, status.exitCode], [v1.ContainerState.CONTAINER_EXITED, code]);
    const logText = readFileSync(path.join(logDirectory, 'exiter.log'), 'utf8');
    if (!logText.endsWith(` stdout F cri-${i}\n`)) throw new Error(`exiter's CRI log: ${JSON.stringify(logText)}`);
    expectEqual('sleeper state', (await cri.containerStatus(sleeper)).state, v1.ContainerState.CONTAINER_RUNNING);
    const execCode = i % 4;
    const exec = await cri.execSync(sleeper, ['sh', '-c', `echo exec-${i}; echo err-${i} >&2; exit ${execCode}`]);
    expectEqual('ExecSync', exec, { stdout: `exec-${i}\n`, stderr: `err-${i}\n`, exitCode: execCode });
    if (i % 2 === 0) {
      // As the kubelet does: stop and remove the containers, then the pod.
      await cri.stopContainer(sleeper, 0);
      const st = await cri.containerStatus(sleeper);
      expectEqual('sleeper after StopContainer: [state, exit code]', [st.state, st.exitCode], [v1.ContainerState.CONTAINER_EXITED, 137]);
      for (const id of [sleeper, exiter]) await cri.removeContainer(id);
      expectEqual('containers left in the pod', await cri.listContainers({ podSandboxId: pod }), []);
    }
    // Otherwise straight to StopPodSandbox: it kills the sleeper, RemovePodSandbox removes both containers.
    await cri.stopPodSandbox(pod);
    await cri.removePodSandbox(pod);
    const left = (await cri.listPodSandbox()).filter((p) => p.id === pod);
    expectEqual('pod listed after RemovePodSandbox', left.length, 0);
  } catch (err) {
    await cri.stopPodSandbox(pod).catch(() => undefined);
    await cri.removePodSandbox(pod).catch(() => undefined);
    throw err;
  } finally {
    rmSync(logDirectory, { recursive: true, force: true });
  }
}

const KINDS: Kind[] = ['run', 'cri', 'exec'];
const RUNNERS: Record<Kind, (env: PodEnv, i: number) => Promise<void>> = { run: ctrRunPod, cri: criPod, exec: ctrExecPod };

/**** Report ****/

function countVmSources(logText: string): Record<string, number> {
  const count = (re: RegExp) => (logText.match(re) ?? []).length;
  return {
    'warm pool VM': count(/adopted a warm pool VM/g),
    'template clone': count(/VM restored from its template/g),
    'cold boot': count(/cold boot \(no VM template\)|no VM template: cold boot|starting from the VM template failed: booting cold/g),
  };
}

/** The shim's own warnings and errors (not the guest agent's) in containerd's log, by message, with the first error of each. */
function shimWarnings(logText: string): Array<{ msg: string; count: number; err?: string }> {
  const byMsg = new Map<string, { msg: string; count: number; err?: string }>();
  for (const line of logText.split('\n')) {
    const start = line.indexOf('{"level"');
    if (start < 0) continue;
    let entry: { level?: number; msg?: string; err?: string; subsystem?: string };
    try {
      entry = JSON.parse(line.slice(start)) as typeof entry;
    } catch {
      continue; // not a shim line
    }
    if ((entry.level ?? 0) < 40 || entry.subsystem === 'agent' || !entry.msg) continue;
    const seen = byMsg.get(entry.msg) ?? { msg: entry.msg, count: 0, err: entry.err };
    seen.count++;
    byMsg.set(entry.msg, seen);
  }
  return [...byMsg.values()].sort((a, b) => b.count - a.count);
}

function printReport(before: Snapshot, after: Snapshot, leaks: Record<string, string[]>): void {
  const width = Math.max(...Object.keys(before).map((k) => k.length));
  process.stdout.write(`\n${'what'.padEnd(width)}  before  after  leaked\n`);
  for (const key of Object.keys(before)) {
    const leaked = NOT_LEAKS.has(key) && !leaks[key] ? '-' : String(leaks[key]?.length ?? 0);
    process.stdout.write(`${key.padEnd(width)}  ${String(before[key]!.length).padStart(6)}  ${String(after[key]!.length).padStart(5)}  ${leaked.padStart(6)}\n`);
  }
  for (const [key, items] of Object.entries(leaks)) {
    process.stdout.write(`\nLEAKED ${key} (${items.length}):\n`);
    for (const item of items.slice(0, 50)) process.stdout.write(`  + ${item}\n`);
    if (items.length > 50) process.stdout.write(`  ... and ${items.length - 50} more\n`);
  }
  for (const key of Object.keys(before)) {
    const { removed } = diff(before[key]!, after[key]!);
    const added = NOT_LEAKS.has(key) ? diff(before[key]!, after[key]!).added : [];
    if (removed.length || added.length) {
      process.stdout.write(`\nchanged (not a leak) ${key}:\n`);
      for (const item of removed.slice(0, 20)) process.stdout.write(`  - ${item}\n`);
      for (const item of added.slice(0, 20)) process.stdout.write(`  + ${item}\n`);
    }
  }
}

async function main(): Promise<void> {
  const pods = numberArg('pods', 200);
  const parallel = numberArg('parallel', 4);
  const settleS = numberArg('settle', 30);
  const keepLog = stringArg('keep-log');
  if (!(pods > 0 && parallel > 0)) throw new Error('--pods and --parallel must be positive');
  if (process.getuid?.() !== 0) throw new Error('run as root');

  const [pause, image] = await Promise.all([ensurePauseImage(), ensureTestImage()]);
  const ctd = await PrivateContainerd.start({
    namespace: CRI_NAMESPACE,
    cri: { sandboxImage: pause.ref, runtimes: { [HANDLER]: { runtimeType: KATA_RUNTIME } } },
  });
  const logRoot = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-soak-logs-'));
  const cri = new CriClient(ctd.layout.address);
  let exitCode = 1;
  try {
    await ctd.importImage(pause.tarPath);
    await ctd.importImage(image.tarPath);
    await ctd.importImage(image.tarPath, CTR_NAMESPACE);
    await cri.waitReady();
    const env: PodEnv = { ctd, cri, podIds: [], image: image.ref, logRoot, runId: process.pid.toString(36) };

    const before = await snapshot(env);
    log(`containerd ${ctd.pid} at ${ctd.layout.dir}; ${pods} pods, ${parallel} at a time (kinds in turn: ${KINDS.join(', ')})`);
    const failures: Failure[] = [];
    const done: Record<Kind, number> = { run: 0, cri: 0, exec: 0 };
    let next = 0;
    let finished = 0;
    const t0 = Date.now();
    const worker = async () => {
      for (let i = next++; i < pods; i = next++) {
        const kind = KINDS[i % KINDS.length]!;
        const started = Date.now();
        try {
          await RUNNERS[kind](env, i);
          done[kind]++;
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          failures.push({ i, kind, error });
          log(`pod ${i} (${kind}) FAILED after ${Date.now() - started} ms: ${error}`);
        }
        finished++;
        if (finished % 10 === 0 || finished === pods) {
          const min = (Date.now() - t0) / 60_000;
          log(`${finished}/${pods} pods in ${min.toFixed(1)} min (${(finished / min).toFixed(1)}/min), ${failures.length} failed`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, pods) }, worker));
    const elapsedMin = (Date.now() - t0) / 60_000;

    log(`pods done; waiting up to ${settleS} s for the host to settle`);
    let after = await snapshot(env);
    let leaks = leaksOf(before, after);
    const settleStart = Date.now();
    await waitUntil(async () => {
      after = await snapshot(env);
      leaks = leaksOf(before, after);
      return Object.keys(leaks).length === 0;
    }, settleS * 1_000, 1_000);
    const settledS = (Date.now() - settleStart) / 1_000;

    const containerdLog = readFileSync(ctd.layout.logFile, 'utf8');
    if (keepLog) writeFileSync(keepLog, containerdLog);
    printReport(before, after, leaks);
    const leakCount = Object.values(leaks).reduce((n, items) => n + items.length, 0);
    const sources = countVmSources(containerdLog);
    process.stdout.write(`\npods: ${pods} (ctr run --rm ${done.run}, CRI 2-container ${done.cri}, ctr run -d + exec ${done.exec} ok), ` +
      `${parallel} at a time, ${elapsedMin.toFixed(1)} min: ${(pods / elapsedMin).toFixed(1)} pods/min\n`);
    process.stdout.write(`VM sources (shim log): ${Object.entries(sources).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
    const warnings = shimWarnings(containerdLog);
    process.stdout.write(`shim warnings and errors (the pods recovered from these): ${warnings.length ? '' : 'none'}\n`);
    for (const w of warnings) process.stdout.write(`  ${w.count} × ${w.msg}${w.err ? ` (first: ${w.err})` : ''}\n`);
    process.stdout.write(`settled in ${settledS.toFixed(0)} s; leaked items: ${leakCount}; failures: ${failures.length}\n`);
    for (const f of failures.sort((a, b) => a.i - b.i)) process.stdout.write(`  FAILED pod ${f.i} (${f.kind}): ${f.error}\n`);
    exitCode = failures.length === 0 && leakCount === 0 ? 0 : 1;
  } finally {
    cri.close();
    await ctd.stop();
    rmSync(logRoot, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
