/**
 * A fake guest agent for unit tests: a ttrpc-ts Server implementing the grpc.AgentService and
 * grpc.Health calls the shim makes, with scripted "processes" instead of containers. A process's
 * behaviour comes from its args:
 *   echo <words...>   prints the words on stdout, exits 0
 *   exit <n>          exits n
 *   stderr <text>     prints text on stderr, exits 0
 *   cat               copies stdin to stdout until stdin closes, exits 0
 *   sleep             runs until signalled (exit 128+signal); SIGKILL/SIGTERM end it
 * Only for unit tests: the real agent is packages/agent.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Code, Server, TtrpcError, type CallContext } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';

class FakeProcess {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  exitCode: number | undefined;
  stdinClosed = false;
  started = false;
  private waiters: Array<() => void> = [];

  constructor(readonly args: string[], readonly terminal: boolean) {}

  notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  run(): void {
    this.started = true;
    const [cmd, ...rest] = this.args;
    switch (cmd) {
      case 'echo':
        this.stdout.push(Buffer.from(`${rest.join(' ')}\n`));
        this.exit(0);
        break;
      case 'exit':
        this.exit(Number(rest[0] ?? 0));
        break;
      case 'stderr':
        this.stderr.push(Buffer.from(rest.join(' ')));
        this.exit(0);
        break;
      default:
        this.notify();
    }
  }

  write(data: Uint8Array): void {
    if (this.args[0] === 'cat') {
      this.stdout.push(Buffer.from(data));
      this.notify();
    }
  }

  closeStdin(): void {
    this.stdinClosed = true;
    if (this.args[0] === 'cat') this.exit(0);
  }

  /** A created (never started) init dies of SIGKILL or SIGTERM only, as the real agent's does. */
  signal(sig: number): void {
    if (this.exitCode !== undefined) return;
    if (this.started || sig === 9 || sig === 15) this.exit(128 + sig);
  }

  exit(code: number): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = code;
    this.notify();
  }
}

class FakeContainer {
  readonly processes = new Map<string, FakeProcess>();
  paused = false;
  constructor(readonly id: string, readonly spec: unknown) {}
}

export interface FakeAgentCalls {
  method: string;
  request: unknown;
}

export class FakeAgent {
  readonly socketPath: string;
  readonly calls: FakeAgentCalls[] = [];
  readonly containers = new Map<string, FakeContainer>();
  private readonly server = new Server();
  private listener: net.Server | undefined;
  private oomWaiters: Array<(id: string) => void> = [];
  /** Set to make Health.Check fail. */
  unhealthy = false;

  private constructor(dir: string) {
    this.socketPath = path.join(dir, 'agent.sock');
    const record = (method: string, request: unknown) => this.calls.push({ method, request });
    const container = (id: string | null | undefined) => {
      const c = this.containers.get(id ?? '');
      if (!c) throw new TtrpcError(Code.NOT_FOUND, `container ${id} not found`);
      return c;
    };
    const proc = (cid: string | null | undefined, eid: string | null | undefined) => {
      const c = container(cid);
      const key = !eid || eid === cid ? '' : eid;
      const p = c.processes.get(key);
      if (!p) throw new TtrpcError(Code.NOT_FOUND, `process ${eid} not found`);
      return p;
    };
    const read = async (which: 'stdout' | 'stderr', req: { containerId?: string | null; execId?: string | null; len?: number | null }, ctx: CallContext) => {
      const p = proc(req.containerId, req.execId);
      for (;;) {
        const q = p[which];
        if (q.length > 0) {
          const chunk = q.shift() as Buffer;
          const len = req.len ?? chunk.length;
          if (chunk.length > len) q.unshift(chunk.subarray(len));
          return { data: chunk.subarray(0, len) };
        }
        if (p.exitCode !== undefined || ctx.signal.aborted) return { data: new Uint8Array(0) };
        await p.changed(ctx.signal);
      }
    };
    this.server.register(HealthService, {
      check: (req) => {
        record('Check', req);
        if (this.unhealthy) throw new TtrpcError(Code.UNAVAILABLE, 'unhealthy');
        return { status: 1 };
      },
      version: () => ({ agentVersion: 'fake', grpcVersion: '0' }),
    });
    this.server.register(AgentService, {
      createSandbox: (req) => (record('CreateSandbox', req), {}),
      destroySandbox: (req) => (record('DestroySandbox', req), {}),
      getGuestDetails: () => ({ agentDetails: { version: 'fake' } }),
      onlineCPUMem: (req) => (record('OnlineCPUMem', req), {}),
      createContainer: (req) => {
        record('CreateContainer', req);
        const id = req.containerId ?? '';
        if (this.containers.has(id)) throw new TtrpcError(Code.ALREADY_EXISTS, `container ${id} exists`);
        const c = new FakeContainer(id, req.OCI);
        c.processes.set('', new FakeProcess(req.OCI?.Process?.Args ?? [], !!req.OCI?.Process?.Terminal));
        this.containers.set(id, c);
        return {};
      },
      startContainer: (req) => {
        record('StartContainer', req);
        proc(req.containerId, '').run();
        return {};
      },
      execProcess: (req) => {
        record('ExecProcess', req);
        const c = container(req.containerId);
        const p = new FakeProcess(req.process?.Args ?? [], !!req.process?.Terminal);
        c.processes.set(req.execId ?? '', p);
        p.run();
        return {};
      },
      signalProcess: (req) => {
        record('SignalProcess', req);
        const c = container(req.containerId);
        if (!req.execId) {
          if (req.signal === 9) for (const p of c.processes.values()) p.signal(9);
          else proc(req.containerId, '').signal(req.signal ?? 0);
        } else proc(req.containerId, req.execId).signal(req.signal ?? 0);
        return {};
      },
      waitProcess: async (req, ctx) => {
        record('WaitProcess', req);
        const p = proc(req.containerId, req.execId);
        while (p.exitCode === undefined && !ctx.signal.aborted) await p.changed(ctx.signal);
        const c = container(req.containerId);
        const key = !req.execId || req.execId === req.containerId ? '' : req.execId;
        if (key) c.processes.delete(key);
        return { status: p.exitCode ?? 255 };
      },
      readStdout: (req, ctx) => read('stdout', req, ctx),
      readStderr: (req, ctx) => read('stderr', req, ctx),
      writeStdin: (req) => {
        const p = proc(req.containerId, req.execId);
        p.write(req.data ?? new Uint8Array(0));
        return { len: req.data?.length ?? 0 };
      },
      closeStdin: (req) => {
        record('CloseStdin', req);
        proc(req.containerId, req.execId).closeStdin();
        return {};
      },
      ttyWinResize: (req) => (record('TtyWinResize', req), proc(req.containerId, req.execId), {}),
      pauseContainer: (req) => {
        record('PauseContainer', req);
        container(req.containerId).paused = true;
        return {};
      },
      resumeContainer: (req) => {
        record('ResumeContainer', req);
        container(req.containerId).paused = false;
        return {};
      },
      removeContainer: (req) => {
        record('RemoveContainer', req);
        container(req.containerId);
        this.containers.delete(req.containerId ?? '');
        return {};
      },
      updateContainer: (req) => (record('UpdateContainer', req), container(req.containerId), {}),
      statsContainer: (req) => {
        container(req.containerId);
        return {
          cgroupStats: {
            cpuStats: { cpuUsage: { totalUsage: 5_000_000, usageInUsermode: 3_000_000, usageInKernelmode: 2_000_000 } },
            memoryStats: { usage: { usage: 1 << 20, limit: 1 << 30, maxUsage: 2 << 20 }, stats: { anon: 4096, file: 8192 } },
            pidsStats: { current: 2, limit: 100 },
          },
          networkStats: [{ name: 'eth0', rxBytes: 10, txBytes: 20 }],
        };
      },
      getOOMEvent: (_req, ctx) =>
        new Promise((resolve, reject) => {
          this.oomWaiters.push((id) => resolve({ containerId: id }));
          ctx.signal.addEventListener('abort', () => reject(new TtrpcError(Code.CANCELLED, 'cancelled')), { once: true });
        }),
    });
  }

  /** Starts a fake agent on a unix socket in a temp dir. */
  static async start(): Promise<FakeAgent> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-fake-agent-'));
    const agent = new FakeAgent(dir);
    agent.listener = await agent.server.listen(agent.socketPath);
    return agent;
  }

  /** Connects a client transport (what a hypervisor's agent channel would give). */
  connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.socketPath, () => resolve(s));
      s.once('error', reject);
    });
  }

  /** Makes a container "OOM" (GetOOMEvent returns its id). */
  oom(containerId: string): void {
    for (const w of this.oomWaiters.splice(0)) w(containerId);
  }

  /** The fake process behind a container (and exec). */
  process(containerId: string, execId = ''): FakeProcess | undefined {
    return this.containers.get(containerId)?.processes.get(execId);
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  /** Drops every connection, as a dying VM would. */
  async kill(): Promise<void> {
    await this.server.close();
  }

  async close(): Promise<void> {
    await this.server.close();
    this.listener?.close();
    await fs.rm(path.dirname(this.socketPath), { recursive: true, force: true });
  }
}
