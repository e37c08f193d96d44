/**
 * The QEMU driver: spawns qemu-system-x86_64 as a child of the shim (no -daemonize), logs its
 * console and stderr (rate-limited: the guest controls them), accepts the agent channel's
 * connection, and reports the process's end at once through `exited`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { LimitedLogger, type Logger } from '../framework/logging';
import type { Hypervisor, VmExit, VmSpec } from './hypervisor';
import { qemuArgs } from './qemu-args';
import { restoreVmState, saveVmState, type MigrationProgress } from './migration';
import { hotplugNics } from './nic-hotplug';
import { hotplugDimm } from './memory-hotplug';
import { LineTail } from './process-output';
import { QmpClient } from './qmp';
import { dialUnix } from './unix-dial';
import { Virtiofsd } from './virtiofsd';

export interface QemuOptions {
  /** qemu-system-x86_64 */
  binary: string;
  log: Logger;
  /** Log the guest console at info instead of debug. */
  debug: boolean;
  /** Set when the share is virtio-fs: the daemon to run (its socket is spec.share.socketPath). */
  virtiofsd?: { binary: string; sharedDir: string; cache: string; extraArgs: string[] };
  /** Dials vsock (cid, port); injected so this module loads no native addon unless vsock is used. */
  dialVsock?: (cid: number, port: number, timeoutMs: number) => Promise<Duplex>;
  /** Device state of the template this VM is a clone of (spec.incoming): loaded before the guest runs. */
  restoreState?: string;
  /** Wraps QEMU's command line (the warm pool starts it in a mount namespace of its own); must exec QEMU, same pid. */
  launch?: (file: string, argv: string[]) => [string, string[]];
}

/** How long QEMU may take to connect its agent chardev after it starts. */
const CHARDEV_CONNECT_TIMEOUT_MS = 30_000;
/** How long QMP, and a template's device state save or load, may take. */
const QMP_TIMEOUT_MS = 30_000;

export class QemuHypervisor implements Hypervisor {
  private child: ChildProcess | undefined;
  private exitResolve!: (e: VmExit) => void;
  readonly exited: Promise<VmExit> = new Promise((resolve) => (this.exitResolve = resolve));
  private agentSocket: Promise<net.Socket> | undefined;
  private agentServer: net.Server | undefined;
  private virtiofsd: Virtiofsd | undefined;
  private stderrTail: LineTail | undefined;
  private stopping: Promise<void> | undefined;
  /** DIMMs hot-plugged so far (their ids). */
  private dimms = 0;

  constructor(private readonly spec: VmSpec, private readonly options: QemuOptions) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async start(): Promise<void> {
    const { spec, options } = this;
    const log = options.log;
    if (options.virtiofsd && spec.share.kind === 'virtio-fs') {
      this.virtiofsd = new Virtiofsd({ ...options.virtiofsd, socketPath: spec.share.socketPath, log: log.child({ subsystem: 'virtiofsd' }) });
      await this.virtiofsd.start();
    }
    if (spec.agentChannel.kind === 'virtio-serial' && !spec.agentChannel.qemuListens) this.agentSocket = this.listenForChardev(spec.agentChannel.socketPath);

    const args = qemuArgs(spec);
    log.info({ subsystem: 'qemu', binary: options.binary, args }, 'starting QEMU');
    // With NICs, QEMU runs in the pod netns where their taps are (see qemu-nic-args.ts); nsenter execs it, same pid.
    const [inNetns, netnsArgv] = spec.netnsPath && spec.nics?.length ? ['nsenter', [`--net=${spec.netnsPath}`, '--', options.binary, ...args]] : [options.binary, args];
    const [file, argv] = options.launch ? options.launch(inNetns, netnsArgv) : [inNetns, netnsArgv];
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const consoleLog = new LimitedLogger(log.child({ subsystem: 'console' }), { lines: 200, windowMs: 10_000 });
    const qemuLog = new LimitedLogger(log.child({ subsystem: 'qemu' }));
    new LineTail(child.stdout, (line) => (options.debug ? consoleLog.info({ line }, 'guest console') : consoleLog.debug({ line }, 'guest console')));
    this.stderrTail = new LineTail(child.stderr, (line) => qemuLog.warn({ line }, 'qemu stderr'));
    child.once('exit', (code, signal) => {
      log.info({ subsystem: 'qemu', code, signal, qemuPid: child.pid }, 'QEMU exited');
      this.agentServer?.close();
      void this.virtiofsd?.stop();
      this.exitResolve({ code, signal });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => {
        this.exitResolve({ code: null, signal: null });
        reject(new Error(`cannot start ${options.binary}: ${err.message}`));
      });
    });
    if (this.agentSocket) {
      // QEMU connects its chardev while it initialises; if it dies first, say why.
      await Promise.race([
        this.agentSocket,
        this.exited.then(() => {
          throw new Error(`QEMU exited while starting: ${this.stderrTail?.lines().join(' | ') ?? ''}`);
        }),
      ]);
    }
    if (spec.incoming) {
      if (!options.restoreState) throw new Error('an incoming VM needs the device state to restore');
      const started = Date.now();
      await this.withQmp(async (qmp) => {
        await restoreVmState(qmp, options.restoreState!, QMP_TIMEOUT_MS);
        if (spec.nics?.length) await hotplugNics(qmp, spec.nics, spec.hotplugPorts ?? 0);
      });
      log.info({ subsystem: 'qemu', ms: Date.now() - started, state: options.restoreState }, 'VM restored from its template');
    }
  }

  /** Runs fn with a QMP session (spec.qmpSocket), failing at once if QEMU dies meanwhile. */
  private async withQmp<T>(fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
    if (!this.spec.qmpSocket) throw new Error('this VM has no QMP socket');
    const died = this.exited.then(() => {
      throw new Error(`QEMU exited: ${this.stderrTail?.lines().join(' | ') ?? ''}`);
    });
    const qmp = await Promise.race([QmpClient.connect(this.spec.qmpSocket, QMP_TIMEOUT_MS), died]);
    try {
      return await Promise.race([fn(qmp), died]);
    } finally {
      qmp.close();
    }
  }

  async addMemory(mib: number): Promise<void> {
    const n = this.dimms++;
    await this.withQmp((qmp) => hotplugDimm(qmp, n, mib, QMP_TIMEOUT_MS));
    this.options.log.info({ subsystem: 'qemu', mib, dimm: n }, 'memory hot-plugged');
  }

  /**
   * Turns this running VM into a template: pauses it, writes its device state to `file` (its RAM is
   * already in spec.memoryFile) and ends QEMU. `onProgress` hears QEMU's migration status as it goes.
   */
  async saveAsTemplate(file: string, onProgress?: (p: MigrationProgress) => void): Promise<void> {
    if (!this.spec.memoryFile?.shared) throw new Error('only a VM whose RAM is a shared file can become a template');
    await this.withQmp((qmp) => saveVmState(qmp, file, QMP_TIMEOUT_MS, onProgress));
    // The state is complete once the migration says so; the paused VM has nothing left to do.
    await this.stop();
  }

  /** Listens on the agent chardev socket and resolves with QEMU's one connection. */
  private listenForChardev(socketPath: string): Promise<net.Socket> {
    const server = net.createServer();
    this.agentServer = server;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('QEMU did not connect the agent channel')), CHARDEV_CONNECT_TIMEOUT_MS);
      server.once('connection', (socket) => {
        clearTimeout(timer);
        server.close();
        void fs.rm(socketPath, { force: true });
        resolve(socket);
      });
      server.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      server.listen(socketPath);
    });
  }

  async connectAgent(timeoutMs: number): Promise<Duplex> {
    const channel = this.spec.agentChannel;
    if (channel.kind === 'virtio-serial') {
      if (channel.qemuListens) return dialUnix(channel.socketPath, timeoutMs);
      if (!this.agentSocket) throw new Error('QEMU is not started');
      return this.agentSocket;
    }
    if (!this.options.dialVsock) throw new Error('vsock agent channel needs a vsock dialer');
    return this.options.dialVsock(channel.cid, channel.port, timeoutMs);
  }

  async connectLog(timeoutMs: number): Promise<Duplex | undefined> {
    return this.spec.logSocket ? dialUnix(this.spec.logSocket, timeoutMs) : undefined;
  }

  async connectConsole(timeoutMs: number): Promise<Duplex | undefined> {
    return this.spec.consoleSocket ? dialUnix(this.spec.consoleSocket, timeoutMs) : undefined;
  }

  helperPids(): number[] {
    return this.virtiofsd?.pid ? [this.virtiofsd.pid] : [];
  }

  diagnostics(): string[] {
    return this.stderrTail?.lines() ?? [];
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      this.agentServer?.close();
      if (child) await this.exited;
      await this.virtiofsd?.stop();
    })();
    return this.stopping;
  }
}
