/**
 * A pod's VM: the shared directory, the hypervisor, the agent connection and the health watch.
 * create() boots it and brings the agent to CreateSandbox; stop() tears everything down. Its death
 * (hypervisor exit, agent channel closed, failed Health.Check) is reported once through onDeath.
 */
import type { Duplex } from 'node:stream';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KataAgentClient, type AgentClient } from '../agent/agent-client';
import type { Storage } from '../agent/types';
import type { ShimConfig } from '../config/config';
import type { Logger } from '../framework/logging';
import { messageOf, UnavailableError } from '../errors';
import { GUEST_SHARE_DIR, SandboxShare } from '../fs/share';
import type { Hypervisor, NicSpec, VmSpec } from '../hypervisor/hypervisor';
import { SHARE_MOUNT_TAG } from '../hypervisor/qemu-args';
import { makeDirs } from '../fs/make-dirs';
import { removeTree } from '../fs/safe-remove';
import { writeSandboxRecord } from './sandbox-files';
import type { ShareLike } from './pod-vm';
import { serveAgentCtl, type AgentCtlSocket } from '../agent-proxy/agent-ctl-socket';
import { serveDebugConsole, type DebugConsoleSocket } from '../agent-proxy/debug-console-socket';
import { forwardGuestLog } from './guest-log';
import { SandboxMetrics } from '../metrics/sandbox-metrics';
import { serveMonitor, type MonitorSocket } from '../metrics/monitor-socket';

/** Linux onlines hot-plugged memory in blocks of this size (x86-64). */
const MEMORY_BLOCK_MIB = 128;

interface MemoryState {
  currentMiB: number;
  maxMiB: number;
  slotsLeft: number;
}

/** Builds the hypervisor for a VM (QEMU in production, a fake in tests). */
export type HypervisorFactory = (spec: VmSpec) => Hypervisor;

/** The share as the sandbox drives it (SandboxShare; a recording fake in tests, which cannot mount). */
export interface SandboxShareLike extends ShareLike {
  readonly sharedDir: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

/** The pod network as the sandbox drives it (network/pod-network.ts's PodNetwork). */
export interface SandboxNetwork {
  readonly netnsPath: string;
  nics(): NicSpec[];
  /** Tells the agent the guest's interfaces and routes (before CreateSandbox). */
  configureGuest(agent: AgentClient): Promise<void>;
  /** Removes the host-side wiring; never throws. */
  teardown(): Promise<void>;
}

export interface SandboxInit {
  id: string;
  /** <state_dir>/sbs/<id> */
  dir: string;
  config: ShimConfig;
  hostname: string;
  /** Builds the VM spec once the share exists. */
  /** Given the pod's NICs: a clone of a template when they fit its hot-plug ports, else a cold boot. */
  vmSpec: (share: SandboxShareLike, nics: readonly NicSpec[]) => VmSpec;
  createHypervisor: HypervisorFactory;
  /** CreateSandbox's dns lines (Kata: the pod's resolv.conf). */
  dns?: string[];
  /** Wires the pod network on the host (after the sandbox directory exists); none: no NIC. */
  setupNetwork?: () => Promise<SandboxNetwork | undefined>;
  /** Default: a SandboxShare (real mounts) in the sandbox directory. */
  createShare?: (dir: string, log: Logger) => SandboxShareLike;
  log: Logger;
}

/** QEMU serves the log socket from its start: a dial that takes longer than this finds nothing. */
const GUEST_LOG_DIAL_MS = 2_000;

/** How long one readiness Check may take while the guest boots. */
const READY_CHECK_TIMEOUT_MS = 2_000;

export class Sandbox {
  private deathListeners: Array<(reason: string) => void> = [];
  private deadReason: string | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private agentCtl: AgentCtlSocket | undefined;
  private debugConsole: DebugConsoleSocket | undefined;
  private monitor: MonitorSocket | undefined;

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly hostname: string,
    readonly share: SandboxShareLike,
    readonly hypervisor: Hypervisor,
    readonly agent: AgentClient,
    private readonly config: ShimConfig,
    private readonly log: Logger,
    private readonly network?: SandboxNetwork,
    private readonly memory: MemoryState = { currentMiB: 0, maxMiB: 0, slotsLeft: 0 },
  ) {}

  private memoryChange: Promise<void> = Promise.resolve();

  get guestSeccomp(): boolean {
    return !this.config.runtime.disableGuestSeccomp;
  }

  /**
   * Grows the VM's RAM to at least totalMiB: one hot-plugged DIMM of whole 128 MiB blocks (Linux
   * onlines memory in blocks of that size on x86), capped by maxmem, then onlined by the agent.
   * Calls are serialised; a VM at its limit keeps what it has (logged).
   */
  ensureMemory(totalMiB: number): Promise<void> {
    const run = this.memoryChange.then(async () => {
      this.ensureAlive();
      const m = this.memory;
      if (totalMiB <= m.currentMiB) return;
      const add = Math.min(Math.ceil((totalMiB - m.currentMiB) / MEMORY_BLOCK_MIB), Math.floor((m.maxMiB - m.currentMiB) / MEMORY_BLOCK_MIB)) * MEMORY_BLOCK_MIB;
      if (add <= 0 || m.slotsLeft <= 0) {
        this.log.warn({ wantMiB: totalMiB, haveMiB: m.currentMiB, maxMiB: m.maxMiB, slotsLeft: m.slotsLeft }, 'cannot grow the VM memory any further');
        return;
      }
      await this.hypervisor.addMemory(add);
      m.currentMiB += add;
      m.slotsLeft--;
      await this.agent.onlineCpuMem(0, false);
      this.log.info({ addedMiB: add, memoryMiB: m.currentMiB }, 'VM memory grown');
    });
    this.memoryChange = run.catch(() => undefined);
    return run;
  }

  /** Boots the VM and prepares the guest; on any failure everything started is undone. */
  static async create(init: SandboxInit): Promise<Sandbox> {
    const { config, log } = init;
    await makeDirs(path.join(init.dir, 'vm'), 0o700);
    await fs.chmod(init.dir, 0o700);
    const share = (init.createShare ?? ((dir, l) => new SandboxShare(dir, l)))(init.dir, log.child({ subsystem: 'share' }));
    let hypervisor: Hypervisor | undefined;
    let agent: AgentClient | undefined;
    let network: SandboxNetwork | undefined;
    let guestLog: Duplex | undefined;
    try {
      await share.setup();
      network = await init.setupNetwork?.();
      const nics = network?.nics() ?? [];
      const spec = init.vmSpec(share, nics);
      if (network && nics.length > 0) {
        spec.nics = nics;
        spec.netnsPath = network.netnsPath;
      }
      const fromTemplate = !!spec.incoming;
      hypervisor = init.createHypervisor(spec);
      // A cold boot takes seconds (under TCG many): its phases are logged at info so an operator
      // reading containerd's log can follow it. Clones and adopted pool VMs (named) stay quiet.
      const cold = !fromTemplate && hypervisor.name === undefined;
      const started = Date.now();
      await hypervisor.start();
      if (cold) log.info({ ms: Date.now() - started, qemuPid: hypervisor.pid, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB }, 'cold boot: QEMU started, the guest kernel is booting');
      await writeSandboxRecord(init.dir, { sandboxId: init.id, shimPid: process.pid, hypervisorPid: hypervisor.pid, hypervisorName: hypervisor.name, helperPids: hypervisor.helperPids() });
      // The agent's log lines, as soon as it writes them (its start-up included); a VM without the port logs to its console.
      guestLog = await hypervisor.connectLog?.(GUEST_LOG_DIAL_MS).catch((err: Error) => {
        log.warn({ err: err.message }, 'guest log port not connected');
        return undefined;
      });
      if (guestLog) forwardGuestLog(guestLog, log.child({ subsystem: 'agent' }));
      const deadline = started + config.agent.dialTimeout * 1000;
      const transport = await hypervisor.connectAgent(config.agent.dialTimeout * 1000);
      agent = new KataAgentClient(transport, { timeoutsMs: { createContainer: config.runtime.createContainerTimeout * 1000 } });
      if (cold) log.info({ ms: Date.now() - started, channel: spec.agentChannel.kind }, 'cold boot: agent channel connected, waiting for the agent to answer');
      await waitForAgent(agent, hypervisor, deadline);
      log.info({ ms: Date.now() - started, qemuPid: hypervisor.pid, fromTemplate }, 'agent is up');
      // The clock RPC goes out together with the next ones (ttrpc multiplexes; under TCG a round
      // trip costs tens of milliseconds).
      const clock = fromTemplate ? agent.setGuestDateTime(new Date()) : Promise.resolve();
      clock.catch(() => undefined); // awaited below; a failure must not surface as unhandled first
      await network?.configureGuest(agent);
      await agent.createSandbox({
        sandboxId: init.id,
        hostname: init.hostname,
        dns: init.dns ?? [],
        storages: [shareStorage(config)],
        sandboxPidns: false,
        kernelModules: config.agent.kernelModules.map((line) => {
          const [name = '', ...parameters] = line.split(/\s+/).filter(Boolean);
          return { name, parameters };
        }),
      });
      await clock;
      const memory = { currentMiB: spec.memoryMiB, maxMiB: spec.maxMemoryMiB ?? spec.memoryMiB, slotsLeft: spec.memorySlots ?? 0 };
      const sandbox = new Sandbox(init.id, init.dir, init.hostname, share, hypervisor, agent, config, log, network, memory);
      sandbox.watch();
      // An operator's door to the agent (kata-ts agent-ctl); the pod runs without it if it cannot open.
      const ctlLog = log.child({ subsystem: 'agent-ctl' });
      sandbox.agentCtl = await serveAgentCtl(init.dir, agent, ctlLog).catch((err: Error) => {
        ctlLog.warn({ err: err.message }, 'agent-ctl socket not served');
        return undefined;
      });
      // The debug console (kata-ts exec): only a VM given the console port ([agent.kata] debug_console_enabled).
      if (spec.consoleSocket) {
        const vm = hypervisor;
        const consoleLog = log.child({ subsystem: 'debug-console' });
        sandbox.debugConsole = await serveDebugConsole(init.dir, (ms) => vm.connectConsole?.(ms) ?? Promise.resolve(undefined), consoleLog).catch((err: Error) => {
          consoleLog.warn({ err: err.message }, 'debug console socket not served');
          return undefined;
        });
      }
      // Its metrics for `kata-ts monitor` (and Prometheus behind it); optional in the same way.
      const monitorLog = log.child({ subsystem: 'monitor' });
      const metrics = new SandboxMetrics({ sandboxId: init.id, hypervisorPid: hypervisor.pid, helperPids: () => sandbox.hypervisor.helperPids(), agent });
      sandbox.monitor = await serveMonitor(init.dir, metrics, agentUrl(spec.agentChannel), monitorLog).catch((err: Error) => {
        monitorLog.warn({ err: err.message }, 'monitor socket not served');
        return undefined;
      });
      return sandbox;
    } catch (err) {
      log.error({ err: messageOf(err) }, 'sandbox creation failed, cleaning up');
      guestLog?.destroy();
      agent?.close();
      await hypervisor?.stop().catch(() => undefined);
      await network?.teardown();
      await share.teardown().catch(() => undefined);
      await removeTree(init.dir).catch(() => undefined);
      await fs.rmdir(path.dirname(init.dir)).catch(() => undefined);
      throw err;
    }
  }

  get pid(): number {
    return this.hypervisor.pid;
  }

  get alive(): boolean {
    return this.deadReason === undefined;
  }

  /** Runs once when the VM is found dead (never after stop()). */
  onDeath(listener: (reason: string) => void): void {
    if (this.deadReason !== undefined) listener(this.deadReason);
    else this.deathListeners.push(listener);
  }

  /** Throws UNAVAILABLE when the VM is gone. */
  ensureAlive(): void {
    if (this.deadReason !== undefined) throw new UnavailableError(`sandbox ${this.id} is dead: ${this.deadReason}`);
  }

  private watch(): void {
    void this.hypervisor.exited.then((e) => this.died(`hypervisor exited (code ${e.code ?? 'none'}, signal ${e.signal ?? 'none'})`));
    this.agent.onClose((err) => this.died(`agent channel closed${err ? `: ${err.message}` : ''}`));
    const intervalMs = this.config.agent.healthCheckInterval * 1000;
    if (intervalMs > 0) this.scheduleHealthCheck(intervalMs);
  }

  private scheduleHealthCheck(intervalMs: number): void {
    this.healthTimer = setTimeout(() => {
      this.agent.check(this.config.agent.healthCheckTimeout * 1000).then(
        () => {
          if (this.alive && !this.stopping) this.scheduleHealthCheck(intervalMs);
        },
        (err: Error) => this.died(`agent health check failed: ${err.message}`),
      );
    }, intervalMs);
    this.healthTimer.unref();
  }

  private died(reason: string): void {
    if (this.deadReason !== undefined || this.stopping) return;
    this.deadReason = reason;
    this.log.error({ reason }, 'sandbox VM is dead');
    clearTimeout(this.healthTimer);
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  /** Stops the VM (asking the agent to wind down first when it is alive) and removes every host trace. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.healthTimer);
      await this.agentCtl?.close().catch(() => undefined);
      await this.debugConsole?.close().catch(() => undefined);
      await this.monitor?.close().catch(() => undefined);
      // DestroySandbox lets the agent unmount the share (flushing mmap'd writes) before the VM goes.
      if (this.deadReason === undefined && !this.agent.closed) {
        await this.agent.destroySandbox().catch((err: Error) => this.log.warn({ err: err.message }, 'DestroySandbox failed'));
      }
      this.agent.close();
      await this.hypervisor.stop();
      await this.network?.teardown();
      await this.share.teardown();
      const left = await removeTree(this.dir);
      if (left.length > 0) this.log.warn({ left }, 'sandbox directory not fully removed');
      // The parent sbs/ goes too once the last sandbox of the host is gone.
      await fs.rmdir(path.dirname(this.dir)).catch(() => undefined);
      this.log.info('sandbox stopped');
    })();
    return this.stopping;
  }
}

/** The sandbox storage that mounts the share in the guest (Kata's setupStorages). */
export function shareStorage(config: ShimConfig): Storage {
  const h = config.hypervisor;
  if (h.sharedFs === 'virtio-fs' && h.virtioFsDaemon) {
    return { driver: 'virtio-fs', source: SHARE_MOUNT_TAG, fstype: 'virtiofs', options: [], mountPoint: GUEST_SHARE_DIR };
  }
  return {
    driver: '9p',
    source: SHARE_MOUNT_TAG,
    fstype: '9p',
    options: ['trans=virtio,version=9p2000.L,cache=mmap', 'nodev', `msize=${h.msize9p}`],
    mountPoint: GUEST_SHARE_DIR,
  };
}

/** Health.Check until the agent answers, the deadline passes, or the VM dies. */
export async function waitForAgent(agent: AgentClient, hypervisor: Hypervisor, deadline: number): Promise<void> {
  let vmExited = false;
  void hypervisor.exited.then(() => (vmExited = true));
  let last: unknown;
  while (Date.now() < deadline && !vmExited && !agent.closed) {
    try {
      await agent.check(Math.min(READY_CHECK_TIMEOUT_MS, Math.max(100, deadline - Date.now())));
      return;
    } catch (err) {
      last = err;
      // A timeout already waited; an immediate refusal should not spin.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (vmExited) {
    const said = hypervisor.diagnostics().slice(-3).join(' | ');
    throw new UnavailableError(`the VM exited before its agent answered${said ? `: ${said}` : ''}`);
  }
  throw new UnavailableError(`the agent did not answer within the dial timeout: ${messageOf(last)}`);
}

/** The agent's address as the monitor's /agent-url reports it (Kata: vsock://<cid>:<port>). */
function agentUrl(channel: VmSpec['agentChannel']): string {
  return channel.kind === 'vsock' ? `vsock://${channel.cid}:${channel.port}` : `virtio-serial://${channel.socketPath}`;
}
