/**
 * A hostile guest for unit tests. HostileAgent sits on the agent channel between the shim's real
 * agent client and a well-behaved FakeAgent, below ttrpc-ts: it parses every frame itself, so a test
 * can answer a request on its own (well-formed or not), hold it forever, rewrite the agent's reply,
 * or write any bytes at all to the shim (frames over the limit, unknown stream ids, floods).
 * HostileGuest boots the shim's real Sandbox (health watch, death, stop) on that channel with a fake
 * hypervisor, for TaskHarness's `bootVm`. Only for tests: the real agent is packages/agent.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { FrameReader, MessageType, encodeFrame, type AnyMethod } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { silentLogger, type Logger } from '../framework/logging';
import type { Hypervisor, VmExit, VmSpec } from '../hypervisor/hypervisor';
import type { BootRequest } from '../runtime/pod-vm';
import { Sandbox, type SandboxShareLike } from '../runtime/sandbox';
import type { FakeAgent } from './fake-agent';
import { RecordingShare } from './fake-vm';

/** A request the shim sent, as the hostile agent saw it on the wire. */
export interface AgentRequest {
  streamId: number;
  service: string;
  method: string;
  timeoutNano: number;
  /** The decoded request message (undefined for a method this file does not know). */
  message: unknown;
}

/** What a request hook decides: pass it on to the well-behaved agent, or keep it (answered by the hook, or never). */
export type Verdict = 'forward' | 'hold';

const METHODS = new Map<string, AnyMethod>(
  [...Object.values(AgentService.methods), ...Object.values(HealthService.methods)].map((m) => [m.name, m as AnyMethod]),
);

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** One length-delimited protobuf field. */
function field(num: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((num << 3) | 2), ...varint(data.length)]), data]);
}

/** A ttrpc.Response envelope: status (google.rpc.Status) = 1, payload = 2. */
export function responseEnvelope(payload: Uint8Array, status?: { code: number; message: string }): Buffer {
  const parts: Buffer[] = [];
  if (status) parts.push(field(1, Buffer.concat([Buffer.from([0x08, ...varint(status.code)]), field(2, Buffer.from(status.message))])));
  parts.push(field(2, payload));
  return Buffer.concat(parts);
}

/** Reads a ttrpc.Request envelope (service = 1, method = 2, payload = 3, timeout_nano = 4). */
function parseRequest(streamId: number, data: Buffer): AgentRequest {
  const req: AgentRequest = { streamId, service: '', method: '', timeoutNano: 0, message: undefined };
  let payload: Buffer = Buffer.alloc(0);
  let pos = 0;
  const readVarint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = data[pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 0x80;
      if (b < 0x80) return v;
    }
  };
  while (pos < data.length) {
    const tag = readVarint();
    if ((tag & 7) === 0) {
      const v = readVarint();
      if (tag >>> 3 === 4) req.timeoutNano = v;
      continue;
    }
    const len = readVarint();
    const bytes = data.subarray(pos, pos + len);
    pos += len;
    if (tag >>> 3 === 1) req.service = bytes.toString();
    else if (tag >>> 3 === 2) req.method = bytes.toString();
    else if (tag >>> 3 === 3) payload = bytes;
  }
  req.message = METHODS.get(req.method)?.requestType.decode(payload);
  return req;
}

export interface HostileHooks {
  /** Sees every request first; 'hold' keeps it from the well-behaved agent. Default: forward. */
  onRequest?: (req: AgentRequest, agent: HostileAgent) => Verdict;
  /** Sees the well-behaved agent's reply (the frame's data); return other bytes to send instead, or null to drop it. */
  onReply?: (req: AgentRequest, data: Buffer) => Buffer | null | undefined;
}

export class HostileAgent {
  readonly socketPath: string;
  /** Every request the shim sent, in order. */
  readonly requests: AgentRequest[] = [];
  /** Requests the shim has had no Response frame for. */
  readonly unanswered = new Map<number, AgentRequest>();
  /** Connections the shim made (a reconnect would show here). */
  connections = 0;
  /** Bytes written to the shim (every frame, hostile or forwarded). */
  bytesToShim = 0;
  hooks: HostileHooks = {};
  private listener: net.Server | undefined;
  private shim: net.Socket | undefined;
  private upstreamSocket: net.Socket | undefined;
  private watchers: Array<() => void> = [];

  private constructor(private readonly dir: string, private readonly upstream: FakeAgent) {
    this.socketPath = path.join(dir, 'hostile.sock');
  }

  /** Listens in front of `upstream` (the well-behaved agent that answers what the hooks let through). */
  static async start(upstream: FakeAgent): Promise<HostileAgent> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-hostile-'));
    const agent = new HostileAgent(dir, upstream);
    agent.listener = net.createServer((s) => void agent.accept(s));
    await new Promise<void>((resolve) => agent.listener!.listen(agent.socketPath, resolve));
    return agent;
  }

  /** What a hypervisor's agent channel gives the shim: a connection to this agent. */
  connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.socketPath, () => resolve(s));
      s.once('error', reject);
    });
  }

  private async accept(shim: net.Socket): Promise<void> {
    this.connections++;
    this.shim = shim;
    this.notify();
    shim.on('error', () => undefined);
    const upstream = await this.upstream.connect();
    this.upstreamSocket = upstream;
    upstream.on('error', () => undefined);
    const fromShim = new FrameReader();
    const fromAgent = new FrameReader();
    shim.on('data', (chunk: Buffer) => {
      for (const ev of fromShim.push(chunk)) {
        if (ev.kind !== 'frame') continue;
        const f = ev.frame;
        if (f.type === MessageType.Request) {
          const req = parseRequest(f.streamId, f.data);
          this.requests.push(req);
          this.unanswered.set(f.streamId, req);
          this.notify();
          if ((this.hooks.onRequest?.(req, this) ?? 'forward') === 'hold') continue;
        }
        upstream.write(encodeFrame(f.streamId, f.type, f.flags, f.data));
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const ev of fromAgent.push(chunk)) {
        if (ev.kind !== 'frame') continue;
        const f = ev.frame;
        const req = this.unanswered.get(f.streamId);
        let data: Buffer | null | undefined = f.data;
        if (req && f.type === MessageType.Response) data = this.hooks.onReply?.(req, f.data) ?? f.data;
        if (data === null) continue;
        if (f.type === MessageType.Response) this.unanswered.delete(f.streamId);
        this.write(encodeFrame(f.streamId, f.type, f.flags, data));
      }
    });
    shim.once('close', () => upstream.destroy());
    upstream.once('close', () => shim.destroy());
  }

  private notify(): void {
    for (const w of this.watchers.splice(0)) w();
  }

  /** Resolves once `done()` holds, checked whenever a connection or request arrives. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((r) => this.watchers.push(r));
  }

  /** How many requests for `method` the shim has sent. */
  count(method: string): number {
    return this.requests.filter((r) => r.method === method).length;
  }

  /** Resolves with the n-th request (1-based) for `method`, once the shim has sent it. */
  async request(method: string, n = 1): Promise<AgentRequest> {
    for (;;) {
      const seen = this.requests.filter((r) => r.method === method);
      if (seen.length >= n) return seen[n - 1]!;
      await new Promise<void>((r) => this.watchers.push(r));
    }
  }

  /** Writes raw bytes to the shim; resolves once the socket took them (backpressure included). */
  write(bytes: Uint8Array): Promise<void> {
    const s = this.shim;
    if (!s || s.destroyed) return Promise.resolve();
    this.bytesToShim += bytes.length;
    return new Promise((resolve) => {
      s.write(bytes, () => resolve());
    });
  }

  /** Answers a request with a well-formed reply of its method's response type. */
  reply(req: AgentRequest, message: object): Promise<void> {
    const m = METHODS.get(req.method);
    if (!m) throw new Error(`unknown method ${req.method}`);
    return this.replyRaw(req.streamId, responseEnvelope(m.responseType.encode(message)));
  }

  /** Answers stream `streamId` with these envelope bytes (anything at all). */
  replyRaw(streamId: number, envelope: Uint8Array): Promise<void> {
    this.unanswered.delete(streamId);
    return this.write(encodeFrame(streamId, MessageType.Response, 0, envelope));
  }

  /** Drops the shim's connection (the listener stays: the channel "reopens"). */
  dropConnection(): void {
    this.shim?.destroy();
    this.upstreamSocket?.destroy();
  }

  async close(): Promise<void> {
    this.dropConnection();
    await new Promise<void>((r) => (this.listener ? this.listener.close(() => r()) : r()));
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

class FakeShare extends RecordingShare implements SandboxShareLike {
  readonly sharedDir = '/fake/shared';
  async setup(): Promise<void> {}
  async teardown(): Promise<void> {}
}

/** A hypervisor with no VM: its agent channel is a connection to a HostileAgent. */
export class FakeHypervisor implements Hypervisor {
  readonly pid = 4343;
  stops = 0;
  dials = 0;
  readonly added: number[] = [];
  private end!: (e: VmExit) => void;
  readonly exited = new Promise<VmExit>((r) => (this.end = r));
  constructor(private readonly dial: () => Promise<Duplex>) {}
  async start(): Promise<void> {}
  connectAgent(): Promise<Duplex> {
    this.dials++;
    return this.dial();
  }
  diagnostics(): string[] {
    return [];
  }
  helperPids(): number[] {
    return [];
  }
  async addMemory(mib: number): Promise<void> {
    this.added.push(mib);
  }
  async stop(): Promise<void> {
    this.stops++;
    this.end({ code: null, signal: 'SIGKILL' });
  }
}

export interface HostileGuestOptions {
  /** Seconds between Health.Checks (0: none, the default here) and for each to answer. */
  healthCheckInterval?: number;
  healthCheckTimeout?: number;
  /** The VM's memory: boot size, hot-plug ceiling and DIMM slots. */
  memory?: { memoryMiB: number; maxMemoryMiB: number; memorySlots: number };
  log?: Logger;
}

/** One pod's VM for TaskHarness's bootVm: the shim's real Sandbox on a HostileAgent's channel. */
export class HostileGuest {
  agent!: HostileAgent;
  hypervisor!: FakeHypervisor;
  sandbox!: Sandbox;
  /** Hooks to install on the agent as soon as it exists (before the boot's first call). */
  hooks: HostileHooks = {};

  constructor(private readonly opts: HostileGuestOptions = {}) {}

  readonly boot = async (upstream: FakeAgent, req: BootRequest, dir: string): Promise<Sandbox> => {
    this.agent = await HostileAgent.start(upstream);
    this.agent.hooks = this.hooks;
    this.hypervisor = new FakeHypervisor(() => this.agent.connect());
    const config = structuredClone(req.config);
    config.agent.dialTimeout = 5;
    config.agent.healthCheckInterval = this.opts.healthCheckInterval ?? 0;
    config.agent.healthCheckTimeout = this.opts.healthCheckTimeout ?? config.agent.healthCheckTimeout;
    const memory = this.opts.memory ?? { memoryMiB: 256, maxMemoryMiB: 256, memorySlots: 0 };
    this.sandbox = await Sandbox.create({
      id: req.sandboxId, dir, config, hostname: req.spec.hostname ?? '', log: this.opts.log ?? silentLogger(),
      // The channel is what the monitor names as the agent's URL; this agent is reached through the fake hypervisor.
      vmSpec: () => ({ ...memory, agentChannel: { kind: 'virtio-serial', socketPath: path.join(dir, 'agent.sock') } }) as VmSpec,
      createHypervisor: () => this.hypervisor, createShare: () => new FakeShare(),
    });
    return this.sandbox;
  };

  async close(): Promise<void> {
    await this.agent?.close();
  }
}
