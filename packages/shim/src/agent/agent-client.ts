/**
 * The shim's typed client of the guest agent (grpc.AgentService + grpc.Health over ttrpc). Methods
 * take and return domain types; trans.ts converts; timeouts.ts sets every deadline. Errors are the
 * agent's statuses (NOT_FOUND, ...) or ClosedError (UNAVAILABLE) once the channel is gone.
 */
import type { Duplex } from 'node:stream';
import { bytesCodec, Client, createServiceClient, type ServiceClient } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { AGENT_TIMEOUTS_MS, type AgentRpc } from './timeouts';
import { agentRpcDurations } from '../metrics/rpc-durations';
import {
  createContainerToPb, createSandboxToPb, execProcessToPb, exitStatusFromPb, guestDetailsFromPb, interfaceFromPb, interfaceToPb, resourcesToPb,
  routeFromPb, routeToPb, statsFromPb,
} from './trans';
import type {
  ContainerStats, CreateContainerParams, CreateSandboxParams, ExecProcessParams, GuestDetails, NetInterface, NetRoute,
  OciLinuxResources,
} from './types';

const list = <T>(v: T[] | null | undefined): T[] => (Array.isArray(v) ? v : []);

/** Everything the shim asks of the agent. */
export interface AgentClient {
  check(timeoutMs?: number): Promise<void>;
  createSandbox(params: CreateSandboxParams): Promise<void>;
  destroySandbox(): Promise<void>;
  getGuestDetails(): Promise<GuestDetails>;
  /** Onlines hot-plugged CPUs (up to nbCpus; 0: all) and, unless cpuOnly, hot-plugged memory. */
  onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void>;
  /** Sets the guest's wall clock (a VM restored from a template wakes up with the template's time). */
  setGuestDateTime(now: Date): Promise<void>;
  createContainer(params: CreateContainerParams, timeoutMs?: number): Promise<void>;
  startContainer(containerId: string): Promise<void>;
  /** timeoutSec: how long the agent waits for the processes to die (0 = forever). */
  removeContainer(containerId: string, timeoutSec: number): Promise<void>;
  execProcess(params: ExecProcessParams): Promise<void>;
  /** execId "" with SIGKILL means every process of the container. */
  signalProcess(containerId: string, execId: string, signal: number): Promise<void>;
  /** Blocks until the process exits; its exit status (code, or 128+signal). */
  waitProcess(containerId: string, execId: string): Promise<number>;
  pauseContainer(containerId: string): Promise<void>;
  resumeContainer(containerId: string): Promise<void>;
  updateContainer(containerId: string, resources: OciLinuxResources): Promise<void>;
  statsContainer(containerId: string): Promise<ContainerStats>;
  /** Writes to stdin; returns bytes accepted. */
  writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number>;
  /** Reads up to `len` bytes; an empty result is EOF. */
  readStdout(containerId: string, execId: string, len: number): Promise<Uint8Array>;
  readStderr(containerId: string, execId: string, len: number): Promise<Uint8Array>;
  closeStdin(containerId: string, execId: string): Promise<void>;
  ttyWinResize(containerId: string, execId: string, rows: number, columns: number): Promise<void>;
  /** Blocks until a container of the sandbox hits OOM; its id. */
  getOOMEvent(): Promise<string>;
  /** Configures the guest NIC with this MAC; the interface as the guest now has it. */
  updateInterface(iface: NetInterface): Promise<NetInterface>;
  /** Replaces the guest's routes; the routes the guest now has. */
  updateRoutes(routes: NetRoute[]): Promise<NetRoute[]>;
  listInterfaces(): Promise<NetInterface[]>;
  listRoutes(): Promise<NetRoute[]>;
  /** The agent's and the guest's metrics, Prometheus text as the agent wrote it (not yet checked). */
  getMetrics(): Promise<string>;
  readonly closed: boolean;
  /**
   * One agent call as bytes in and out (the agent-ctl socket passes operators' calls through): the
   * reply is the agent's, undecoded; the agent's status comes back as the thrown TtrpcError.
   */
  forward(service: string, method: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Runs once when the channel to the agent closes. */
  onClose(listener: (err: Error | undefined) => void): void;
  close(): void;
}


/**
 * Largest reply the shim decodes from the agent. Real replies are a few KiB (stats, interfaces,
 * routes); protobuf decoding amplifies (a 4 MiB StatsContainer reply of empty network entries took
 * 416 MiB of heap and 3.6 s of the event loop), so the guest gets 256 KiB (by the same ratio, some
 * 26 MiB decoded at worst). Reads of stdout/stderr get what they asked for plus the envelope;
 * forward() (agent-ctl) decodes nothing and keeps the 4 MiB frame limit.
 */
export const AGENT_REPLY_MAX_BYTES = 256 << 10;
const READ_REPLY_OVERHEAD = 1024;

export interface KataAgentClientOptions {
  /** Overrides for entries of the timeout table (e.g. createContainer from the configuration). */
  timeoutsMs?: Partial<Record<AgentRpc, number>>;
}

/** AgentClient over one ttrpc connection to a Kata-compatible agent. */
export class KataAgentClient implements AgentClient {
  private readonly client: Client;
  private readonly agent: ServiceClient<typeof AgentService>;
  private readonly health: ServiceClient<typeof HealthService>;
  private readonly timeouts: Record<AgentRpc, number>;
  private readonly closeListeners: Array<(err: Error | undefined) => void> = [];
  private closeReason: { err: Error | undefined } | undefined;

  constructor(transport: Duplex, options: KataAgentClientOptions = {}) {
    this.client = new Client(transport, {
      onClose: (err) => {
        this.closeReason = { err };
        for (const l of this.closeListeners.splice(0)) l(err);
      },
      onCallEnd: (_service, method, ms) => agentRpcDurations.observe(method, ms),
    });
    this.agent = createServiceClient(this.client, AgentService);
    this.health = createServiceClient(this.client, HealthService);
    this.timeouts = { ...AGENT_TIMEOUTS_MS, ...options.timeoutsMs };
  }

  get closed(): boolean {
    return this.client.isClosed;
  }

  onClose(listener: (err: Error | undefined) => void): void {
    if (this.closeReason) listener(this.closeReason.err);
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.client.close();
  }

  forward(service: string, method: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.client.unary(service, { name: method, kind: 'unary', requestType: bytesCodec, responseType: bytesCodec }, request, { timeoutMs });
  }

  private opts(rpc: AgentRpc, override?: number, maxResponseBytes = AGENT_REPLY_MAX_BYTES): { timeoutMs: number; maxResponseBytes: number } {
    return { timeoutMs: override ?? this.timeouts[rpc], maxResponseBytes };
  }

  async check(timeoutMs?: number): Promise<void> {
    const r = await this.health.check({ service: '' }, this.opts('check', timeoutMs));
    // 1 = SERVING; the Kata agent never answers anything else, but a confused one might.
    if (r.status !== undefined && r.status !== null && r.status !== 1) throw new Error(`agent health: status ${r.status}`);
  }

  async createSandbox(params: CreateSandboxParams): Promise<void> {
    await this.agent.createSandbox(createSandboxToPb(params), this.opts('createSandbox'));
  }

  async destroySandbox(): Promise<void> {
    await this.agent.destroySandbox({}, this.opts('destroySandbox'));
  }

  async getGuestDetails(): Promise<GuestDetails> {
    return guestDetailsFromPb(await this.agent.getGuestDetails({ memBlockSize: true, memHotplugProbe: true }, this.opts('getGuestDetails')));
  }

  async onlineCpuMem(nbCpus: number, cpuOnly: boolean): Promise<void> {
    await this.agent.onlineCPUMem({ wait: true, nbCpus, cpuOnly }, this.opts('onlineCpuMem'));
  }

  async setGuestDateTime(now: Date): Promise<void> {
    const ms = now.getTime();
    await this.agent.setGuestDateTime({ Sec: Math.floor(ms / 1000), Usec: (ms % 1000) * 1000 }, this.opts('setGuestDateTime'));
  }

  async createContainer(params: CreateContainerParams, timeoutMs?: number): Promise<void> {
    await this.agent.createContainer(createContainerToPb(params), this.opts('createContainer', timeoutMs));
  }

  async startContainer(containerId: string): Promise<void> {
    await this.agent.startContainer({ containerId }, this.opts('startContainer'));
  }

  async removeContainer(containerId: string, timeoutSec: number): Promise<void> {
    const deadline = timeoutSec > 0 ? timeoutSec * 1000 + 5_000 : this.timeouts.removeContainer;
    await this.agent.removeContainer({ containerId, timeout: timeoutSec }, this.opts('removeContainer', deadline));
  }

  async execProcess(params: ExecProcessParams): Promise<void> {
    await this.agent.execProcess(execProcessToPb(params), this.opts('execProcess'));
  }

  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    await this.agent.signalProcess({ containerId, execId, signal }, this.opts('signalProcess'));
  }

  async waitProcess(containerId: string, execId: string): Promise<number> {
    const r = await this.agent.waitProcess({ containerId, execId }, this.opts('waitProcess'));
    return exitStatusFromPb(r.status);
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.agent.pauseContainer({ containerId }, this.opts('pauseContainer'));
  }

  async resumeContainer(containerId: string): Promise<void> {
    await this.agent.resumeContainer({ containerId }, this.opts('resumeContainer'));
  }

  async updateContainer(containerId: string, resources: OciLinuxResources): Promise<void> {
    await this.agent.updateContainer({ containerId, resources: resourcesToPb(resources) }, this.opts('updateContainer'));
  }

  async statsContainer(containerId: string): Promise<ContainerStats> {
    return statsFromPb(await this.agent.statsContainer({ containerId }, this.opts('statsContainer')));
  }

  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    const r = await this.agent.writeStdin({ containerId, execId, data }, this.opts('writeStdin'));
    return r.len ?? 0;
  }

  async readStdout(containerId: string, execId: string, len: number): Promise<Uint8Array> {
    const r = await this.agent.readStdout({ containerId, execId, len }, this.opts('readStdout', undefined, len + READ_REPLY_OVERHEAD));
    return r.data ?? new Uint8Array(0);
  }

  async readStderr(containerId: string, execId: string, len: number): Promise<Uint8Array> {
    const r = await this.agent.readStderr({ containerId, execId, len }, this.opts('readStderr', undefined, len + READ_REPLY_OVERHEAD));
    return r.data ?? new Uint8Array(0);
  }

  async closeStdin(containerId: string, execId: string): Promise<void> {
    await this.agent.closeStdin({ containerId, execId }, this.opts('closeStdin'));
  }

  async ttyWinResize(containerId: string, execId: string, rows: number, columns: number): Promise<void> {
    await this.agent.ttyWinResize({ containerId, execId, row: rows, column: columns }, this.opts('ttyWinResize'));
  }

  async getOOMEvent(): Promise<string> {
    const r = await this.agent.getOOMEvent({}, this.opts('getOOMEvent'));
    return r.containerId ?? '';
  }

  async updateInterface(iface: NetInterface): Promise<NetInterface> {
    return interfaceFromPb(await this.agent.updateInterface({ interface: interfaceToPb(iface) }, this.opts('updateInterface')));
  }

  async updateRoutes(routes: NetRoute[]): Promise<NetRoute[]> {
    const r = await this.agent.updateRoutes({ routes: { Routes: routes.map(routeToPb) } }, this.opts('updateRoutes'));
    return list(r.Routes).map(routeFromPb);
  }

  async listInterfaces(): Promise<NetInterface[]> {
    return list((await this.agent.listInterfaces({}, this.opts('listInterfaces'))).Interfaces).map(interfaceFromPb);
  }

  async listRoutes(): Promise<NetRoute[]> {
    return list((await this.agent.listRoutes({}, this.opts('listRoutes'))).Routes).map(routeFromPb);
  }

  async getMetrics(): Promise<string> {
    return (await this.agent.getMetrics({}, this.opts('getMetrics'))).metrics ?? '';
  }
}
