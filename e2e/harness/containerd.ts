/**
 * A private containerd for tests: its own config, root, state and sockets in a mkdtemp directory, a
 * namespace of its own, and a teardown that leaves nothing behind (tasks, shims, mounts, cgroups,
 * sockets, the directory). Use as a fixture: `ctd = await PrivateContainerd.start()` in beforeAll,
 * `await ctd.stop()` in afterAll, then `findLeftovers(ctd.footprint())` to prove it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandError, CommandResult, run } from './exec';
import { ConfigOptions, ContainerdLayout, containerdLayout, renderConfig } from './containerd-config';
import type { ContainerdFlavour } from './containerd-versions';
import { Footprint } from './leftovers';
import { endOwnedProcesses, removeOwnedCgroups, terminate, unmountUnder, waitUntil } from './teardown';

export interface PrivateContainerdOptions extends ConfigOptions {
  /** Namespace ctr() uses by default. Default: a fresh "kata-ts-<hex>", so cgroups and runc state are ours alone. */
  namespace?: string;
  /** How long containerd may take to answer `ctr version`. Default 15 s. */
  startTimeoutMs?: number;
  /** Which containerd (its binaries and config schema). Default: Debian's 1.6 on PATH. */
  flavour?: ContainerdFlavour;
}

export interface CtrOptions {
  namespace?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  input?: string | Uint8Array;
}

/** One row of `ctr task ls`. */
export interface TaskRow {
  id: string;
  pid: number;
  status: string;
}

export interface RunContainerOptions {
  id: string;
  image: string;
  args?: readonly string[];
  /** `-d` with `--null-io`: returns once the task runs. Default false (waits for it, with --rm). */
  detach?: boolean;
  /** Runtime name, e.g. io.containerd.kata.v2. Default containerd's (io.containerd.runc.v2). */
  runtime?: string;
  /** More `ctr run` flags, placed before the image. */
  flags?: readonly string[];
  namespace?: string;
  timeoutMs?: number;
}

/** Where containerd 1.6/1.7's runc shim puts sockets (`socketRoot/s`), whatever the config says. */
const SHIM_SOCKET_DIR = '/run/containerd/s';
/** Where the runc shim keeps runc state by default: /run/containerd/runc/<namespace>. */
const RUNC_ROOT = '/run/containerd/runc';

export class PrivateContainerd {
  private child: ChildProcess;
  private exited = false;
  private stopping: Promise<void> | undefined;
  /** Shim socket paths this containerd's shims use or used (they live outside the temp dir). */
  private readonly shimSockets = new Set<string>();

  private constructor(
    readonly layout: ContainerdLayout,
    readonly namespace: string,
    /** True when the namespace was made up here, so its cgroups and runc root are this fixture's alone. */
    private readonly ownsNamespace: boolean,
    private readonly options: ConfigOptions,
    /** The containerd this fixture runs. */
    readonly flavour: ContainerdFlavour,
  ) {
    writeFileSync(layout.configFile, renderConfig(layout, options));
    if (options.cri) mkdirSync(layout.cniDir, { recursive: true });
    if (typeof options.cri === 'object' && options.cri.cni) {
      writeFileSync(path.join(layout.cniDir, '10-kata-ts.conflist'), JSON.stringify(options.cri.cni.conflist, null, 2));
    }
    this.child = this.spawnDaemon();
  }

  private spawnDaemon(): ChildProcess {
    const log = openSync(this.layout.logFile, 'a');
    let child: ChildProcess;
    try {
      const argv = [this.program('containerd'), '--config', this.layout.configFile];
      // In a test-owned network namespace, CNI's bridges and veths (and the daemon's sockets) stay there.
      if (this.options.netnsPath) argv.unshift('nsenter', `--net=${this.options.netnsPath}`, '--');
      // The daemon finds its runc shim on PATH: the flavour's own comes first.
      const env = this.flavour.binDir ? { ...process.env, PATH: `${this.flavour.binDir}:${process.env.PATH ?? ''}` } : process.env;
      child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log], env });
    } finally {
      closeSync(log);
    }
    this.exited = false;
    child.once('exit', () => (this.exited = true));
    child.once('error', () => (this.exited = true));
    return child;
  }

  /**
   * Stops containerd (SIGTERM to its pid, or SIGKILL with `crash`, as an OOM kill or a node's
   * watchdog does; shims and their tasks keep running) and starts it again with the same config,
   * root and state, as a node's containerd restart does.
   */
  async restart(startTimeoutMs = 15_000, crash = false): Promise<void> {
    if (this.child.pid && crash) process.kill(this.child.pid, 'SIGKILL');
    else if (this.child.pid) await terminate(this.child.pid, 10_000);
    await waitUntil(() => this.exited, 5_000);
    this.child = this.spawnDaemon();
    await this.waitReady(startTimeoutMs);
  }

  /** Starts containerd and waits until it answers. On failure everything started is torn down. */
  static async start(options: PrivateContainerdOptions = {}): Promise<PrivateContainerd> {
    const dir = mkdtempSync(path.join(tmpdir(), 'kata-ts-ctd-'));
    const namespace = options.namespace ?? `kata-ts-${randomBytes(4).toString('hex')}`;
    const flavour = options.flavour ?? { label: '1.6', configVersion: 2 };
    const ctd = new PrivateContainerd(containerdLayout(dir), namespace, options.namespace === undefined, { configVersion: flavour.configVersion, ...options }, flavour);
    try {
      await ctd.waitReady(options.startTimeoutMs ?? 15_000);
    } catch (err) {
      await ctd.stop();
      throw err;
    }
    return ctd;
  }

  /** The path of one of this containerd's programs (containerd, ctr, containerd-shim-runc-v2). */
  program(name: 'containerd' | 'ctr' | 'containerd-shim-runc-v2'): string {
    return this.flavour.binDir ? path.join(this.flavour.binDir, name) : name;
  }

  /** `ctr` arguments that address this containerd (and a namespace, default ours). */
  ctrArgs(args: readonly string[], namespace = this.namespace): string[] {
    return ['--address', this.layout.address, '--namespace', namespace, ...args];
  }

  /** containerd's pid. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Runs `ctr --address <ours> --namespace <ns> ...args`; resolves whatever the exit code. */
  ctr(args: readonly string[], options: CtrOptions = {}): Promise<CommandResult> {
    return run(this.program('ctr'), this.ctrArgs(args, options.namespace), {
      timeoutMs: options.timeoutMs ?? 30_000,
      input: options.input,
    });
  }

  /** Like ctr() but the command must succeed; returns its stdout. */
  async ctrOk(args: readonly string[], options: CtrOptions = {}): Promise<string> {
    const result = await this.ctr(args, options);
    if (result.code !== 0) throw new CommandError(['ctr', ...args], result);
    return result.stdout;
  }

  /** Imports an image tarball (OCI layout or docker save) and unpacks it. */
  async importImage(tarPath: string, namespace?: string): Promise<void> {
    await this.ctrOk(['images', 'import', tarPath], { namespace, timeoutMs: 60_000 });
  }

  /** `ctr run`, with ctr's stdio FIFOs kept in the temp dir. */
  runContainer(options: RunContainerOptions): Promise<CommandResult> {
    const ns = options.namespace ?? this.namespace;
    this.shimSockets.add(this.shimSocketFor(options.id, ns));
    const flags = ['--fifo-dir', path.join(this.layout.dir, 'fifo')];
    flags.push(...(options.detach ? ['-d', '--null-io'] : ['--rm']));
    if (options.runtime) flags.push('--runtime', options.runtime);
    flags.push(...(options.flags ?? []));
    return this.ctr(['run', ...flags, options.image, options.id, ...(options.args ?? [])], { namespace: ns, timeoutMs: options.timeoutMs });
  }

  /** The rows of `ctr task ls`. */
  async tasks(namespace?: string): Promise<TaskRow[]> {
    const out = await this.ctrOk(['task', 'ls'], { namespace });
    return out.split('\n').slice(1).filter((l) => l.trim()).map((line) => {
      const [id = '', pid = '0', status = ''] = line.trim().split(/\s+/);
      return { id, pid: Number(pid), status };
    });
  }

  /** The bundle directory containerd made for a task. */
  bundleDir(id: string, namespace = this.namespace): string {
    return path.join(this.layout.state, 'io.containerd.runtime.v2.task', namespace, id);
  }

  /**
   * The socket path of a task's shim: from the `address` file the shim wrote in the bundle (unix://...),
   * or, for a pod container containerd 2.x joined to a v3 shim without running `start`, from the
   * bootstrap.json containerd wrote there instead.
   */
  shimSocket(id: string, namespace = this.namespace): string {
    const bundle = this.bundleDir(id, namespace);
    const address = existsSync(path.join(bundle, 'address'))
      ? readFileSync(path.join(bundle, 'address'), 'utf8').trim()
      : (JSON.parse(readFileSync(path.join(bundle, 'bootstrap.json'), 'utf8')) as { address: string }).address;
    const socket = address.replace(/^unix:\/\//, '');
    this.shimSockets.add(socket);
    return socket;
  }

  /**
   * Where a 1.6/1.7 runc-style shim puts its socket: /run/containerd/s/hex(sha256(<address>/<ns>/<group id>))
   * (runtime/v2/shim/util_unix.go SocketAddress).
   */
  shimSocketFor(groupId: string, namespace = this.namespace): string {
    const digest = createHash('sha256').update(path.join(this.layout.address, namespace, groupId)).digest('hex');
    return path.join(SHIM_SOCKET_DIR, digest);
  }

  /** What belongs to this fixture, for findLeftovers(). */
  footprint(): Footprint {
    return {
      paths: [this.layout.dir, ...this.shimSockets, ...(this.ownsNamespace ? [path.join(RUNC_ROOT, this.namespace)] : [])],
      cgroupName: this.ownsNamespace ? this.namespace : undefined,
      pids: this.child.pid ? [this.child.pid] : [],
    };
  }

  /** Stops containerd and everything it started, and removes all it left. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    await this.recordShimSockets();
    if (!this.exited) await this.removeAllContainers();
    if (this.child.pid) await terminate(this.child.pid, 5_000);
    const footprint = this.footprint();
    await endOwnedProcesses(footprint, 3_000);
    const stuck = await unmountUnder(this.layout.dir);
    await removeOwnedCgroups(footprint);
    for (const p of footprint.paths) {
      if (p === this.layout.dir && stuck.length > 0) continue; // never rm -rf through a live mount
      await rm(p, { recursive: true, force: true });
    }
    if (stuck.length > 0) throw new Error(`containerd fixture: could not unmount ${stuck.join(', ')}; left ${this.layout.dir}`);
  }

  /** Best effort: kill and delete every task and container in every namespace, so shims exit cleanly. */
  private async removeAllContainers(): Promise<void> {
    const opts = { timeoutMs: 10_000 };
    const nsList = await this.ctr(['namespaces', 'ls', '-q'], opts);
    for (const ns of nsList.stdout.split('\n').filter(Boolean)) {
      const tasks = await this.ctr(['task', 'ls', '-q'], { ...opts, namespace: ns });
      for (const id of tasks.stdout.split('\n').filter(Boolean)) {
        await this.ctr(['task', 'delete', '--force', id], { ...opts, namespace: ns });
      }
      const containers = await this.ctr(['containers', 'ls', '-q'], { ...opts, namespace: ns });
      for (const id of containers.stdout.split('\n').filter(Boolean)) {
        await this.ctr(['containers', 'delete', id], { ...opts, namespace: ns });
      }
    }
  }

  /** Reads the `address` file of every bundle still present. */
  private async recordShimSockets(): Promise<void> {
    const tasksDir = path.join(this.layout.state, 'io.containerd.runtime.v2.task');
    for (const ns of await readdir(tasksDir).catch(() => [])) {
      for (const id of await readdir(path.join(tasksDir, ns)).catch(() => [])) {
        const address = await readFile(path.join(tasksDir, ns, id, 'address'), 'utf8').catch(() => '');
        if (address.startsWith('unix://')) this.shimSockets.add(address.trim().slice('unix://'.length));
      }
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    let last: CommandResult | undefined;
    const ready = await waitUntil(async () => {
      if (this.exited) return true;
      last = await run(this.program('ctr'), ['--address', this.layout.address, 'version'], { timeoutMs: 2_000 });
      return last.code === 0;
    }, timeoutMs, 100);
    if (this.exited || !ready) {
      const log = existsSync(this.layout.logFile) ? readFileSync(this.layout.logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
      const why = this.exited ? 'exited' : `did not answer in ${timeoutMs} ms (${last?.stderr.trim()})`;
      throw new Error(`private containerd ${why}; log tail:\n${log}`);
    }
  }
}
